package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	kruisefake "github.com/openkruise/kruise-api/client/clientset/versioned/fake"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/yaml"

	"github.com/triton-io/triton/pkg/release/cloneset"
	"github.com/triton-io/triton/pkg/release/controller"
)

// kruise-api's generated informers do not tell client-go that a fake clientset cannot stream a watch-list:
// without this, the controller's caches over fake clientsets (TestAlertsReadOnlyExportedMetrics) never
// sync. Read once, when client-go first asks.
func init() { _ = os.Setenv("KUBE_FEATURE_WatchListClient", "false") }

// kubeAPIServerMetrics are the metrics the alerts and the dashboard read from elsewhere than
// triton-apiserver; every other name must be on triton-apiserver's /metrics.
var kubeAPIServerMetrics = map[string]string{
	// kube-apiserver's aggregator: 1 while an APIService's server cannot be reached.
	"aggregator_unavailable_apiservice": "kube-apiserver",
	// Prometheus's own series for each target it scrapes: 1 when the scrape succeeded.
	"up": "Prometheus",
}

const monitoringDir = "../../artifacts/deploy/components/monitoring"

// TestAlertsReadOnlyExportedMetrics scrapes a real triton-apiserver with a release in it and a release
// controller running (on fake CloneSets: the server itself runs none without a cluster), and checks that
// every alert of the monitoring component and every query of its dashboard parse as PromQL and read only
// metrics that exist: a renamed metric would leave an alert that never fires.
func TestAlertsReadOnlyExportedMetrics(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// A server of its own: the controller below writes the status of every release it finds.
	srv, err := startServer(t.TempDir())
	require.NoError(t, err)
	defer srv.stop()

	releases := srv.client.ReleasesV1alpha1().Releases("shop")
	_, err = releases.Create(ctx, updateRelease("web-v2", "web"), metav1.CreateOptions{})
	require.NoError(t, err)
	replicas := int32(3)
	cs := &kruiseappsv1alpha1.CloneSet{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web", UID: "web-uid"},
		Spec: kruiseappsv1alpha1.CloneSetSpec{Replicas: &replicas}}
	driver := &cloneset.Driver{Kruise: kruisefake.NewSimpleClientset(cs), Kube: kubefake.NewClientset(), LevelTriggered: true}
	ctrlCtx, stopController := context.WithCancel(ctx)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		controller.New(srv.client, driver, nil).Run(ctrlCtx, 1)
	}()
	defer func() { stopController(); <-stopped }()

	var exported map[string]bool
	var body string
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		raw, err := srv.client.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
		if err != nil {
			return false, nil
		}
		body = string(raw)
		exported = metricNames(body)
		return strings.Contains(body, `triton_release_info{`) && strings.Contains(body, `release="web-v2"`), nil
	})
	require.NoError(t, err, "the release's series never showed on /metrics")
	for _, name := range []string{"triton_build_info", "triton_releases", "triton_release_phase", "triton_release_current_batch",
		"triton_release_batches", "triton_release_awaiting_next_seconds", "triton_release_action_calls_total",
		"triton_release_batch_machine_seconds_bucket", "triton_release_batch_wait_seconds_bucket",
		"triton_embedded_etcd_db_size_bytes", "workqueue_depth"} {
		require.True(t, exported[name], "%s is not on /metrics:\n%s", name, grepLines(body, "triton_"))
	}

	known := func(name string) bool { _, ok := kubeAPIServerMetrics[name]; return ok || exported[name] }

	// The alerts.
	rule := struct {
		Spec struct {
			Groups []struct {
				Rules []struct {
					Alert       string            `json:"alert"`
					Expr        string            `json:"expr"`
					Labels      map[string]string `json:"labels"`
					Annotations map[string]string `json:"annotations"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"spec"`
	}{}
	raw, err := os.ReadFile(filepath.Join(monitoringDir, "prometheusrule.yaml"))
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(raw, &rule))
	docs, err := os.ReadFile("../../docs/monitoring.md")
	require.NoError(t, err)
	alerts := 0
	for _, g := range rule.Spec.Groups {
		for _, r := range g.Rules {
			alerts++
			names, err := selectedMetrics(r.Expr)
			require.NoError(t, err, "alert %s: %s", r.Alert, r.Expr)
			require.NotEmpty(t, names, "alert %s reads no metric", r.Alert)
			for _, name := range names {
				assert.True(t, known(name), "alert %s reads %s, which triton-apiserver does not export", r.Alert, name)
			}
			assert.Contains(t, []string{"critical", "warning", "info"}, r.Labels["severity"], "alert %s", r.Alert)
			assert.NotEmpty(t, r.Annotations["summary"], "alert %s", r.Alert)
			assert.NotEmpty(t, r.Annotations["description"], "alert %s", r.Alert)
			assert.True(t, strings.HasSuffix(r.Annotations["runbook_url"], "docs/monitoring.md#"+strings.ToLower(r.Alert)),
				"alert %s: runbook_url %q", r.Alert, r.Annotations["runbook_url"])
			assert.Contains(t, string(docs), "### "+r.Alert+"\n", "docs/monitoring.md explains alert %s", r.Alert)
		}
	}
	assert.GreaterOrEqual(t, alerts, 9)

	// The dashboard's queries, with Grafana's variables as Grafana fills them.
	raw, err = os.ReadFile(filepath.Join(monitoringDir, "dashboard.json"))
	require.NoError(t, err)
	var dashboard any
	require.NoError(t, json.Unmarshal(raw, &dashboard))
	grafana := strings.NewReplacer("$__rate_interval", "1m", "$__interval", "30s", "$__range", "6h")
	queries := 0
	walkExprs(dashboard, func(expr string) {
		queries++
		names, err := selectedMetrics(grafana.Replace(expr))
		require.NoError(t, err, "dashboard query %s", expr)
		for _, name := range names {
			assert.True(t, known(name), "the dashboard reads %s, which triton-apiserver does not export: %s", name, expr)
		}
	})
	assert.GreaterOrEqual(t, queries, 15)

	// Every metric of triton's own is documented.
	var undocumented []string
	for name := range exported {
		family := regexp.MustCompile(`_(bucket|sum|count)$`).ReplaceAllString(name, "")
		if strings.HasPrefix(name, "triton_") && !strings.Contains(string(docs), "`"+family) {
			undocumented = append(undocumented, family)
		}
	}
	sort.Strings(undocumented)
	assert.Empty(t, undocumented, "metrics on /metrics that docs/monitoring.md does not describe")
}

// metricNames are the names of the series an exposition holds, as PromQL selects them (a histogram's
// name_bucket, name_sum and name_count).
func metricNames(exposition string) map[string]bool {
	names := map[string]bool{}
	s := bufio.NewScanner(strings.NewReader(exposition))
	s.Buffer(make([]byte, 1<<20), 1<<20)
	for s.Scan() {
		line := s.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if i := strings.IndexAny(line, "{ "); i > 0 {
			names[line[:i]] = true
		}
	}
	return names
}

// selectedMetrics parses a PromQL expression and returns the metric names its selectors read.
func selectedMetrics(expr string) ([]string, error) {
	e, err := parser.ParseExpr(expr)
	if err != nil {
		return nil, err
	}
	var names []string
	parser.Inspect(e, func(node parser.Node, _ []parser.Node) error {
		if vs, ok := node.(*parser.VectorSelector); ok {
			name := vs.Name
			for _, m := range vs.LabelMatchers {
				if m.Name == "__name__" {
					name = m.Value
				}
			}
			names = append(names, name)
		}
		return nil
	})
	return names, nil
}

// walkExprs calls f with each "expr" of a Grafana dashboard (its panels' targets, nested rows too).
func walkExprs(v any, f func(string)) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && k == "expr" {
				f(s)
				continue
			}
			walkExprs(x, f)
		}
	case []any:
		for _, x := range v {
			walkExprs(x, f)
		}
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
