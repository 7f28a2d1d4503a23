package app_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/analysis/runner"
	"github.com/triton-io/triton/pkg/apis/releases"
)

func TestAnalysisFlags(t *testing.T) {
	o := parse(t)
	assert.Equal(t, "namespace", o.Analysis.NamespaceLabel)
	assert.Empty(t, o.Analysis.PrometheusAddress)
	checks, err := o.Analysis.Checks()
	require.NoError(t, err)
	assert.Nil(t, checks.Prometheus, "no Prometheus unless one is named")

	o = parse(t, "--analysis-prometheus-address=https://prometheus.monitoring:9090",
		"--analysis-prometheus-ca-file=/etc/prometheus/ca.crt", "--analysis-prometheus-token-file=/var/run/token",
		"--analysis-namespace-label=kubernetes_namespace")
	require.NoError(t, o.Validate())
	assert.Equal(t, "https://prometheus.monitoring:9090", o.Analysis.PrometheusAddress)
	assert.Equal(t, "/etc/prometheus/ca.crt", o.Analysis.PrometheusCAFile)
	assert.Equal(t, "/var/run/token", o.Analysis.PrometheusTokenFile)
	assert.Equal(t, "kubernetes_namespace", o.Analysis.NamespaceLabel)
}

func TestAnalysisFlagsValidate(t *testing.T) {
	for _, tc := range []struct {
		args []string
		flag string
	}{
		{[]string{"--analysis-prometheus-address=prometheus:9090"}, "--analysis-prometheus-address"},
		{[]string{"--analysis-prometheus-address=ftp://prometheus:9090"}, "--analysis-prometheus-address"},
		{[]string{"--analysis-prometheus-address=http://"}, "--analysis-prometheus-address"},
		{[]string{"--analysis-prometheus-token-file=/var/run/token"}, "--analysis-prometheus-token-file"},
		{[]string{"--analysis-prometheus-ca-file=/etc/ca.crt"}, "--analysis-prometheus-ca-file"},
		{[]string{"--analysis-namespace-label=kubernetes-namespace"}, "--analysis-namespace-label"},
		{[]string{"--analysis-namespace-label="}, "--analysis-namespace-label"},
	} {
		err := parse(t, tc.args...).Validate()
		require.Error(t, err, "%v", tc.args)
		assert.Contains(t, err.Error(), tc.flag)
	}
}

// The measurer the flags make queries their Prometheus with their token, keeping each query inside the
// release's namespace by their label.
func TestAnalysisFlagsMakeAPrometheusClient(t *testing.T) {
	var mu sync.Mutex
	var queries, tokens []string
	prom := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		mu.Lock()
		queries = append(queries, r.PostForm.Get("query"))
		tokens = append(tokens, r.Header.Get("Authorization"))
		mu.Unlock()
		_, _ = fmt.Fprint(w, `{"status":"success","data":{"resultType":"scalar","result":[1700000000,"0.001"]}}`)
	}))
	t.Cleanup(prom.Close)
	token := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(token, []byte("s3cret\n"), 0o600))
	o := parse(t, "--analysis-prometheus-address="+prom.URL, "--analysis-prometheus-token-file="+token,
		"--analysis-namespace-label=kubernetes_namespace")
	require.NoError(t, o.Validate())
	checks, err := o.Analysis.Checks()
	require.NoError(t, err)
	r := &releases.Release{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-v2"}}
	m := checks.Measure(context.Background(), r, runner.Due{Batch: 1, Check: releases.AnalysisCheck{Name: "errors",
		SuccessCondition: "result < 0.01", Prometheus: &releases.PrometheusCheck{Query: `errors{release="${release}"}`}}})
	assert.Equal(t, releases.AnalysisPassed, m.Phase, m.Message)
	assert.Equal(t, []string{`errors{kubernetes_namespace="shop",release="web-v2"}`}, queries)
	assert.Equal(t, []string{"Bearer s3cret"}, tokens)

	o = parse(t, "--analysis-prometheus-address="+prom.URL, "--analysis-prometheus-ca-file="+filepath.Join(t.TempDir(), "missing"))
	_, err = o.Analysis.Checks()
	assert.Error(t, err, "a CA file that cannot be read")
}
