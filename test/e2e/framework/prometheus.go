//go:build e2e

package framework

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// Query runs an instant query through Prometheus's HTTP API.
func (p *Prometheus) Query(ctx context.Context, query string) ([]Sample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+"/api/v1/query?query="+url.QueryEscape(query), nil)
	if err != nil {
		return nil, err
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	var answer struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]interface{}    `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		return nil, fmt.Errorf("query %q: HTTP %d: %w", query, resp.StatusCode, err)
	}
	if answer.Status != "success" {
		return nil, fmt.Errorf("query %q: %s", query, answer.Error)
	}
	if answer.Data.ResultType != "vector" {
		return nil, fmt.Errorf("query %q: a %s, not an instant vector", query, answer.Data.ResultType)
	}
	var out []Sample
	for _, r := range answer.Data.Result {
		out = append(out, Sample{Labels: r.Metric, Value: fmt.Sprint(r.Value[1])})
	}
	return out, nil
}
