//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/test/e2e/framework"
)

// lastMeasurement is the newest measurement of a release's first batch's only check, if any.
func lastMeasurement(r *v1alpha1.Release) (v1alpha1.Measurement, bool) {
	if len(r.Status.Batches) == 0 || len(r.Status.Batches[0].Analysis) != 1 {
		return v1alpha1.Measurement{}, false
	}
	ms := r.Status.Batches[0].Analysis[0].Measurements
	if len(ms) == 0 {
		return v1alpha1.Measurement{}, false
	}
	return ms[len(ms)-1], true
}

// measuredAfter waits until the first batch's check has a measurement taken after since that says want
// (a part of its message) and has phase.
func measuredAfter(t *testing.T, ctx context.Context, c *framework.Cluster, ns, name string, since time.Time, phase v1alpha1.AnalysisPhase, want string) *v1alpha1.Release {
	t.Helper()
	return framework.WaitRelease(t, ctx, c, ns, name, fmt.Sprintf("a %s measurement after %s saying %q", phase, since.Format(time.RFC3339), want), func(r *v1alpha1.Release) bool {
		m, ok := lastMeasurement(r)
		return ok && m.Time.After(since) && m.Phase == phase && strings.Contains(m.Message, want)
	})
}

// setFail sets (or, with "", removes) kwok's failure annotation of a pod: never-ready makes its containers
// not ready, as a failing readiness probe would.
func setFail(t *testing.T, ctx context.Context, c *framework.Cluster, ns, pod, mode string) {
	t.Helper()
	value := "null"
	if mode != "" {
		value = fmt.Sprintf("%q", mode)
	}
	_, err := c.Kube.CoreV1().Pods(ns).Patch(ctx, pod, types.MergePatchType,
		[]byte(fmt.Sprintf(`{"metadata":{"annotations":{"kwok.triton.io/fail":%s}}}`, value)), metav1.PatchOptions{})
	require.NoError(t, err)
}

// podHealth compares the canary with the CloneSet's other pods over the same time: a readiness loss of
// the canary is excused while the others lost theirs as often (their mean per pod, rounded up), and fails
// the batch once it is more. The bed serves no metrics API: the measurements say CPU and memory are not
// compared.
func TestPodHealthJudgesReadinessLostAgainstTheOthers(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(4*time.Minute), framework.CloneSet("nginx", 3))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx

	rel := framework.UpdateTo("nginx:1.28", 0, intstr.FromInt32(1), v1alpha1.ModeAuto)
	tolerated := intstr.FromString("100%")
	rel.Spec.Strategy.MaxFailedPods = &tolerated
	rel = withAnalysis(rel, 600, v1alpha1.AnalysisCheck{Name: "pods", PodHealth: &v1alpha1.PodHealthCheck{}})
	_, err := s.Releases.Create(ctx, rel, metav1.CreateOptions{})
	require.NoError(t, err)
	framework.WaitRelease(t, ctx, admin, ns, rel.Name, "batch 1 (the canary) Baking, its check passing", func(r *v1alpha1.Release) bool {
		return r.Status.Batches[0].Phase == v1alpha1.BatchBaking && len(r.Status.Batches[0].Analysis) == 1 &&
			r.Status.Batches[0].Analysis[0].PassingSince != nil
	})
	canary := framework.PodsAt(t, ctx, admin, ns, "nginx:1.28")
	require.Len(t, canary, 1)
	old := framework.PodsAt(t, ctx, admin, ns, "nginx:1.27")
	require.Len(t, old, 2)
	measuredAfter(t, ctx, admin, ns, rel.Name, time.Now(), v1alpha1.AnalysisPassed,
		"restarts 0 (others 0 a pod), readiness lost 0 (others 0 a pod), cpu and memory not compared: the metrics API (metrics.k8s.io) is not served")

	// One of the two others loses its readiness: the others' mean is 0.5 a pod.
	setFail(t, ctx, admin, ns, old[0].Name, "never-ready")
	framework.WaitPodCondition(t, ctx, admin, ns, old[0].Name, corev1.ContainersReady, corev1.ConditionFalse)
	measuredAfter(t, ctx, admin, ns, rel.Name, time.Now(), v1alpha1.AnalysisPassed, "readiness lost 0 (others 0.5 a pod)")

	// The canary loses its readiness once, as the others did: excused.
	setFail(t, ctx, admin, ns, canary[0].Name, "never-ready")
	framework.WaitPodCondition(t, ctx, admin, ns, canary[0].Name, corev1.ContainersReady, corev1.ConditionFalse)
	measuredAfter(t, ctx, admin, ns, rel.Name, time.Now(), v1alpha1.AnalysisPassed, "readiness lost 1 (others 0.5 a pod)")
	setFail(t, ctx, admin, ns, canary[0].Name, "")
	framework.WaitPodCondition(t, ctx, admin, ns, canary[0].Name, corev1.ContainersReady, corev1.ConditionTrue)
	r := measuredAfter(t, ctx, admin, ns, rel.Name, time.Now(), v1alpha1.AnalysisPassed, "readiness lost 1 (others 0.5 a pod)")
	assert.Equal(t, v1alpha1.BatchBaking, r.Status.Batches[0].Phase)

	// And a second time: more than the others, the batch fails.
	setFail(t, ctx, admin, ns, canary[0].Name, "never-ready")
	r = framework.WaitRelease(t, ctx, admin, ns, rel.Name, "finished", finished)
	require.Equal(t, v1alpha1.ReleaseFailed, r.Status.Phase, "%+v", r.Status.Conditions)
	assert.Equal(t, v1alpha1.BatchFailed, r.Status.Batches[0].Phase)
	m, ok := lastMeasurement(r)
	require.True(t, ok)
	assert.Equal(t, v1alpha1.AnalysisFailed, m.Phase)
	assert.Equal(t, "0", m.Value, "no restart: the readiness losses failed it")
	assert.Equal(t, fmt.Sprintf("pod %s lost its readiness 2 times in traffic; at most 1 (maxRestarts 0, the others 0.5 a pod)", canary[0].Name), m.Message)
	assert.Contains(t, framework.LastHistory(r).Reason, `analysis check "pods" failed`)
}

// metricsAPI serves the metrics API (metrics.k8s.io/v1beta1) for the pods of ns, as metrics-server would,
// with the CPU cpu says for each pod (and 64Mi of memory), and registers it with kube-apiserver through
// an APIService (and a Service for localhost) until the test ends. Registering it changes what every
// client of the cluster sees: the test that calls it must not run in parallel with any other.
func metricsAPI(t *testing.T, ctx context.Context, admin *framework.Cluster, ns string, cpu func(corev1.Pod) int64) *atomic.Int64 {
	t.Helper()
	var lists atomic.Int64
	server := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/apis/metrics.k8s.io/v1beta1":
			_ = json.NewEncoder(w).Encode(metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"},
				GroupVersion: "metrics.k8s.io/v1beta1", APIResources: []metav1.APIResource{
					{Name: "pods", Namespaced: true, Kind: "PodMetrics", Verbs: metav1.Verbs{"get", "list"}}}})
		case strings.HasPrefix(r.URL.Path, "/apis/metrics.k8s.io/v1beta1/namespaces/") && strings.HasSuffix(r.URL.Path, "/pods"):
			list := metricsv1beta1.PodMetricsList{TypeMeta: metav1.TypeMeta{Kind: "PodMetricsList", APIVersion: "metrics.k8s.io/v1beta1"}}
			if strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/apis/metrics.k8s.io/v1beta1/namespaces/"), "/pods") == ns {
				lists.Add(1)
				pods, err := admin.Kube.CoreV1().Pods(ns).List(r.Context(), metav1.ListOptions{})
				if err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
				for _, p := range pods.Items {
					list.Items = append(list.Items, metricsv1beta1.PodMetrics{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: p.Name},
						Timestamp: metav1.Now(), Window: metav1.Duration{Duration: 15 * time.Second},
						Containers: []metricsv1beta1.ContainerMetrics{{Name: "nginx", Usage: corev1.ResourceList{
							corev1.ResourceCPU:    *resource.NewMilliQuantity(cpu(p), resource.DecimalSI),
							corev1.ResourceMemory: resource.MustParse("64Mi")}}}})
				}
			}
			_ = json.NewEncoder(w).Encode(list)
		default:
			http.NotFound(w, r)
		}
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	server.Listener = ln
	server.StartTLS()
	t.Cleanup(server.Close)
	port := ln.Addr().(*net.TCPAddr).Port

	manifest := fmt.Sprintf(`apiVersion: v1
kind: Service
metadata:
  name: metrics-server
  namespace: %[1]s
spec:
  type: ExternalName
  externalName: localhost
  ports:
  - name: https
    port: %[2]d
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata:
  name: v1beta1.metrics.k8s.io
spec:
  group: metrics.k8s.io
  version: v1beta1
  service:
    name: metrics-server
    namespace: %[1]s
    port: %[2]d
  insecureSkipTLSVerify: true
  groupPriorityMinimum: 100
  versionPriority: 100
`, ns, port)
	file := filepath.Join(t.TempDir(), "metrics-api.yaml")
	require.NoError(t, os.WriteFile(file, []byte(manifest), 0o600))
	_, err = admin.Kube.Discovery().ServerResourcesForGroupVersion("metrics.k8s.io/v1beta1")
	require.Error(t, err, "the bed serves no metrics API of its own")
	out, err := admin.Kubectl(ctx, "apply", "-f", file)
	require.NoError(t, err, out)
	t.Cleanup(func() {
		// Before the namespace and the server go: an APIService that does not answer would hold up
		// every namespace's deletion in the bed.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := admin.Kubectl(ctx, "delete", "apiservice", "v1beta1.metrics.k8s.io", "--wait")
		assert.NoError(t, err, out)
	})
	out, err = admin.Kubectl(ctx, "wait", "--for", "condition=Available", "--timeout", "60s", "apiservice/v1beta1.metrics.k8s.io")
	require.NoError(t, err, out)
	return &lists
}

// Where the cluster serves the metrics API, podHealth compares the batch's CPU and memory with the
// others' and shows the ratio; with maxRatio, a batch that uses more fails. The metrics API here is the
// test's own, registered through an APIService as metrics-server is: kube-apiserver proxies the server's
// reads to it. It registers the metrics API for the whole bed: no t.Parallel.
func TestPodHealthComparesCPUWithTheOthersWhereTheMetricsAPIIsServed(t *testing.T) {
	s := framework.Setup(t, framework.Timeout(4*time.Minute), framework.CloneSet("nginx", 3))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	var canaryCPU atomic.Int64
	canaryCPU.Store(120)
	lists := metricsAPI(t, ctx, admin, ns, func(p corev1.Pod) int64 {
		if p.Labels[v1alpha1.ReleaseLabel] == "nginx-update" {
			return canaryCPU.Load()
		}
		return 100
	})

	rel := framework.UpdateTo("nginx:1.28", 0, intstr.FromInt32(1), v1alpha1.ModeAuto)
	rel = withAnalysis(rel, 600, v1alpha1.AnalysisCheck{Name: "pods", PodHealth: &v1alpha1.PodHealthCheck{MaxRatio: "2"}})
	_, err := s.Releases.Create(ctx, rel, metav1.CreateOptions{})
	require.NoError(t, err)
	r := measuredAfter(t, ctx, admin, ns, rel.Name, time.Time{}, v1alpha1.AnalysisPassed,
		"cpu 1.2x (120m against 100m a pod), memory 1x (64.0Mi against 64.0Mi a pod)")
	assert.Equal(t, v1alpha1.BatchBaking, r.Status.Batches[0].Phase)
	assert.Positive(t, lists.Load(), "the server read the metrics API")

	// The canary's CPU goes up to 5 times the others': the batch fails.
	canaryCPU.Store(500)
	r = framework.WaitRelease(t, ctx, admin, ns, rel.Name, "finished", finished)
	require.Equal(t, v1alpha1.ReleaseFailed, r.Status.Phase, "%+v", r.Status.Conditions)
	m, ok := lastMeasurement(r)
	require.True(t, ok)
	assert.Equal(t, v1alpha1.AnalysisFailed, m.Phase)
	assert.Equal(t, "the batch's pods use 5x the others' cpu (500m against 100m a pod); at most 2x", m.Message)
	assert.Contains(t, framework.LastHistory(r).Reason, "5x the others' cpu")
	assert.Len(t, framework.PodsAt(t, ctx, admin, ns, "nginx:1.28"), 1, "no pod beyond the canary was updated")
}
