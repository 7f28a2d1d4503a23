//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triton-io/triton/pkg/analysis/condition"
	"github.com/triton-io/triton/pkg/analysis/prometheus"
	"github.com/triton-io/triton/pkg/analysis/promql"
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
	exporter(t, prom, ns, &failed, 100)

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

// exporter serves e2e_requests_total{code="500"} at *failed and {code="200"} at ok, and is scraped by the
// bed's Prometheus with the label namespace=ns until the test ends.
func exporter(t *testing.T, prom *framework.Prometheus, ns string, failed *atomic.Int64, ok int) {
	t.Helper()
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = fmt.Fprintf(w, "# TYPE e2e_requests_total counter\ne2e_requests_total{code=\"500\"} %d\ne2e_requests_total{code=\"200\"} %d\n", failed.Load(), ok)
	}))
	t.Cleanup(server.Close)
	prom.AddTarget(t, ns, strings.TrimPrefix(server.URL, "http://"), map[string]string{"namespace": ns})
}

// A query scoped to a namespace (promql.Scope, what analysis sends) reads nothing of another namespace's
// series on the real Prometheus, whatever the query names: another namespace outright, every metric name,
// a sum, a relabelling. Two namespaces' exporters are scraped; every answer is made of the first one's
// values only. The client analysis measures with (package prometheus) sends the same, and its numbers
// feed a successCondition.
func TestAScopedQueryReadsNothingOfAnotherNamespace(t *testing.T) {
	t.Parallel()
	prom := framework.LocalPrometheus(t)
	ctx := framework.Context(t, 2*time.Minute)
	stamp := time.Now().UnixNano()
	mine, theirs := fmt.Sprintf("e2e-mine-%d", stamp), fmt.Sprintf("e2e-theirs-%d", stamp)
	var mineFailed, theirsFailed atomic.Int64
	mineFailed.Store(3)
	theirsFailed.Store(1000)
	exporter(t, prom, mine, &mineFailed, 100)
	exporter(t, prom, theirs, &theirsFailed, 2000)
	// Both are scraped before anything is asserted: an empty answer must mean scoped, not not-yet-scraped.
	for _, ns := range []string{mine, theirs} {
		framework.WaitUntil(t, ctx, "Prometheus to scrape "+ns, func(ctx context.Context) ([]framework.Sample, bool, string) {
			samples, err := prom.Query(ctx, fmt.Sprintf(`e2e_requests_total{namespace=%q}`, ns))
			if err != nil {
				return nil, false, err.Error()
			}
			return samples, len(samples) == 2, fmt.Sprintf("%+v", samples)
		}, framework.Every(250*time.Millisecond), framework.Within(30*time.Second))
	}

	for _, tc := range []struct {
		query string
		want  []string // the values of the answer, sorted
	}{
		{`e2e_requests_total`, []string{"100", "3"}},
		{fmt.Sprintf(`e2e_requests_total{namespace=%q}`, theirs), nil},
		{fmt.Sprintf(`e2e_requests_total{namespace=~%q}`, ".*"), []string{"100", "3"}},
		{`{__name__=~"e2e_requests_.*"}`, []string{"100", "3"}},
		{`sum(e2e_requests_total)`, []string{"103"}},
		{`sum without (namespace, code) (e2e_requests_total)`, []string{"103"}},
		{fmt.Sprintf(`label_replace(e2e_requests_total, "namespace", %q, "", "")`, theirs), []string{"100", "3"}},
		{`max_over_time(e2e_requests_total{code="500"}[1m:1s])`, []string{"3"}},
	} {
		scoped, err := promql.Scope(tc.query, "namespace", mine)
		require.NoError(t, err, tc.query)
		// Waited for, not read once: a subquery's steps lie on a grid, and the series is only seconds old.
		// A query that read the other namespace never gets the answer wanted.
		framework.WaitUntil(t, ctx, fmt.Sprintf("%s (scoped: %s) to answer %v", tc.query, scoped, tc.want), func(ctx context.Context) ([]string, bool, string) {
			samples, err := prom.Query(ctx, scoped)
			if err != nil {
				return nil, false, err.Error()
			}
			var got []string
			for _, s := range samples {
				got = append(got, s.Value)
			}
			sort.Strings(got)
			return got, assert.ObjectsAreEqual(tc.want, got), fmt.Sprintf("%+v", samples)
		}, framework.Every(250*time.Millisecond), framework.Within(15*time.Second))
	}

	// The client analysis measures with: the same scoping, a number or a list, and nothing is no data.
	client, err := prometheus.New(prometheus.Options{Address: prom.URL})
	require.NoError(t, err)
	failing, err := client.Measure(ctx, `e2e_requests_total{code="500"}`, mine)
	require.NoError(t, err)
	assert.Equal(t, 3.0, failing.Value())
	all, err := client.Measure(ctx, `e2e_requests_total`, mine)
	require.NoError(t, err)
	assert.Equal(t, []float64{100, 3}, all.Value(), "code 200, then code 500")
	_, err = client.Measure(ctx, fmt.Sprintf(`e2e_requests_total{namespace=%q}`, theirs), mine)
	assert.ErrorIs(t, err, prometheus.ErrNoData)
	ratio, err := client.Measure(ctx, `sum(e2e_requests_total{code="500"}) / sum(e2e_requests_total)`, mine)
	require.NoError(t, err)
	below, err := condition.Compile("result < 0.05")
	require.NoError(t, err)
	holds, err := below.Holds(ratio.Value())
	require.NoError(t, err)
	assert.True(t, holds, "3 of 103 failed: %s", ratio)
}
