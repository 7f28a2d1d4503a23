//go:build e2e

package framework

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
)

// Prometheus is the local control plane's Prometheus (hack/local-up.sh): its address, and the directory
// whose *.json files list the targets it scrapes (file-based service discovery).
type Prometheus struct {
	URL     string
	Targets string
}

// LocalPrometheus returns the bed's Prometheus; the test fails when the bed has none.
func LocalPrometheus(t *testing.T) *Prometheus {
	t.Helper()
	dir := filepath.Join(Local, "prometheus")
	raw, err := os.ReadFile(filepath.Join(dir, "url"))
	require.NoError(t, err, "the local control plane runs no Prometheus (make up)")
	return &Prometheus{URL: strings.TrimSpace(string(raw)), Targets: filepath.Join(dir, "targets")}
}

// AddTarget makes Prometheus scrape addr (host:port, path /metrics) with labels until the test ends:
// a file named name.json in the targets directory, written whole before Prometheus can read it.
func (p *Prometheus) AddTarget(t *testing.T, name, addr string, labels map[string]string) {
	t.Helper()
	data, err := json.Marshal([]map[string]interface{}{{"targets": []string{addr}, "labels": labels}})
	require.NoError(t, err)
	file := filepath.Join(p.Targets, name+".json")
	tmp := filepath.Join(p.Targets, "."+name+".tmp") // not *.json: Prometheus never reads it half written
	require.NoError(t, os.WriteFile(tmp, data, 0o644))
	require.NoError(t, os.Rename(tmp, file))
	t.Cleanup(func() { _ = os.Remove(file) })
}

// Sample is one series of an instant query's answer: its labels and its value as Prometheus wrote it.
type Sample struct {
	Labels map[string]string
	Value  string
}

// Query runs an instant query through Prometheus's HTTP API (client_golang's client); the answer must be
// an instant vector.
func (p *Prometheus) Query(ctx context.Context, query string) ([]Sample, error) {
	client, err := api.NewClient(api.Config{Address: p.URL})
	if err != nil {
		return nil, err
	}
	value, _, err := promv1.NewAPI(client).Query(ctx, query, time.Now(), promv1.WithTimeout(10*time.Second))
	if err != nil {
		return nil, fmt.Errorf("query %q: %w", query, err)
	}
	vector, ok := value.(model.Vector)
	if !ok {
		return nil, fmt.Errorf("query %q: a %s, not an instant vector", query, value.Type())
	}
	var out []Sample
	for _, s := range vector {
		labels := map[string]string{}
		for k, v := range s.Metric {
			labels[string(k)] = string(v)
		}
		out = append(out, Sample{Labels: labels, Value: s.Value.String()})
	}
	return out, nil
}
