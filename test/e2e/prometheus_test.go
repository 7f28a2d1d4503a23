//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/triton-io/triton/test/e2e/framework"
)

// The bed's Prometheus, which analysis queries, scrapes a target the moment a file naming it is dropped
// into its targets directory, and a change of the target's value is read through the query API within
// seconds, with the labels its file gave it (the namespace here).
func TestTheBedsPrometheusScrapesATargetDroppedIntoItsDirectory(t *testing.T) {
	t.Parallel()
	prom := framework.LocalPrometheus(t)
	ctx := framework.Context(t, 2*time.Minute)
	ns := fmt.Sprintf("e2e-prometheus-%d", time.Now().UnixNano())

	// An exporter the test controls: a counter of failed requests, set by the test.
	var failed atomic.Int64
	failed.Store(3)
	exporter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = fmt.Fprintf(w, "# TYPE e2e_requests_total counter\ne2e_requests_total{code=\"500\"} %d\ne2e_requests_total{code=\"200\"} 100\n", failed.Load())
	}))
	t.Cleanup(exporter.Close)
	prom.AddTarget(t, ns, strings.TrimPrefix(exporter.URL, "http://"), map[string]string{"namespace": ns})

	query := fmt.Sprintf(`e2e_requests_total{namespace=%q, code="500"}`, ns)
	value := func(want string) {
		t.Helper()
		framework.WaitUntil(t, ctx, fmt.Sprintf("Prometheus to read %s = %s", query, want), func(ctx context.Context) ([]framework.Sample, bool, string) {
			samples, err := prom.Query(ctx, query)
			if err != nil {
				return nil, false, err.Error()
			}
			return samples, len(samples) == 1 && samples[0].Value == want, fmt.Sprintf("%+v", samples)
		}, framework.Every(250*time.Millisecond), framework.Within(30*time.Second))
	}
	value("3")
	failed.Store(7)
	value("7")

	// Both series of the target carry the labels of its file.
	framework.WaitUntil(t, ctx, "the target's series", func(ctx context.Context) ([]framework.Sample, bool, string) {
		samples, err := prom.Query(ctx, fmt.Sprintf(`e2e_requests_total{namespace=%q}`, ns))
		if err != nil {
			return nil, false, err.Error()
		}
		return samples, len(samples) == 2, fmt.Sprintf("%+v", samples)
	}, framework.Within(10*time.Second))
}
