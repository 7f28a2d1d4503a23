package runner

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	metricsfake "k8s.io/metrics/pkg/client/clientset/versioned/fake"

	"github.com/triton-io/triton/pkg/analysis/httpcheck"
	"github.com/triton-io/triton/pkg/analysis/prometheus"
	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

var clock = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func now() time.Time { return clock }

// shopRelease is release web-v2 of CloneSet web in namespace shop, bringing revision web-7d9f.
func shopRelease() *releases.Release {
	r := &releases.Release{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-v2"}}
	r.Spec.CloneSetName = "web"
	r.Spec.Action = releases.ActionUpdate
	r.Status.CloneSet = &releases.CloneSetObservation{UpdateRevision: "web-7d9f"}
	return r
}

func TestSubstitute(t *testing.T) {
	r := shopRelease()
	got := Substitute(`sum(rate(x{ns="${namespace}",release="${release}",cs="${cloneSet}",batch="${batch}",rev="${revision}"}[1m])) + ${unknown}`, r, 3)
	assert.Equal(t, `sum(rate(x{ns="shop",release="web-v2",cs="web",batch="3",rev="web-7d9f"}[1m])) + ${unknown}`, got)
	r.Status.CloneSet = nil
	assert.Equal(t, `rev=""`, Substitute(`rev="${revision}"`, r, 1), "no revision observed yet")
}

// fakePrometheus answers every query with its body and records the queries.
type fakePrometheus struct {
	mu      sync.Mutex
	body    string
	queries []string
}

func (f *fakePrometheus) client(t *testing.T) *prometheus.Client {
	t.Helper()
	return f.clientWith(t, "")
}

// clientWith is a client of f whose series name their namespace with label.
func (f *fakePrometheus) clientWith(t *testing.T, label string) *prometheus.Client {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/query" {
			http.NotFound(w, r)
			return
		}
		_ = r.ParseForm()
		f.mu.Lock()
		f.queries = append(f.queries, r.PostForm.Get("query"))
		body := f.body
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprint(w, body)
	}))
	t.Cleanup(s.Close)
	c, err := prometheus.New(prometheus.Options{Address: s.URL, NamespaceLabel: label})
	require.NoError(t, err)
	return c
}

func vector(values ...string) string {
	var samples []string
	for i, v := range values {
		samples = append(samples, fmt.Sprintf(`{"metric":{"pod":"p%d"},"value":[1700000000.1,%q]}`, i, v))
	}
	return `{"status":"success","data":{"resultType":"vector","result":[` + strings.Join(samples, ",") + `]}}`
}

func promCheck(query, cond string) Due {
	return Due{Batch: 2, Check: releases.AnalysisCheck{Name: "errors", SuccessCondition: cond,
		Prometheus: &releases.PrometheusCheck{Query: query}}}
}

func TestPrometheusCheck(t *testing.T) {
	ctx := context.Background()
	query := `sum(rate(http_requests_total{code="500",release="${release}",batch="${batch}"}[1m]))`
	for _, tc := range []struct {
		name, body, cond string
		phase            releases.AnalysisPhase
		value, message   string
	}{
		{"passes", vector("0.002"), "result < 0.01", releases.AnalysisPassed, "0.002", ""},
		{"fails", vector("0.5"), "result < 0.01", releases.AnalysisFailed, "0.5", "result < 0.01 is false"},
		{"a list", vector("0.001", "0.2"), "result.all(r, r < 0.01)", releases.AnalysisFailed, "[0.001, 0.2]", "result.all(r, r < 0.01) is false"},
		{"an empty vector is no pass", vector(), "result < 0.01", releases.AnalysisError, "", "prometheus: no data: the query's vector is empty"},
		{"NaN is no pass", vector("NaN"), "result < 0.01", releases.AnalysisError, "", "prometheus: no data: the query's value is NaN"},
		{"a condition that does not apply to a list", vector("1", "2"), "result < 0.01", releases.AnalysisError, "[1, 2]", ""},
		{"a condition that does not compile", vector("1"), "result <", releases.AnalysisError, "1", ""},
		{"no condition", vector("1"), "", releases.AnalysisError, "1", "the check has no successCondition"},
		{"Prometheus says no", `{"status":"error","errorType":"bad_data","error":"parse error"}`, "result < 1", releases.AnalysisError, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakePrometheus{body: tc.body}
			c := &Checks{Prometheus: f.client(t), Now: now}
			m := c.Measure(ctx, shopRelease(), promCheck(query, tc.cond))
			assert.Equal(t, tc.phase, m.Phase, m.Message)
			assert.Equal(t, tc.value, m.Value)
			if tc.message != "" {
				assert.Equal(t, tc.message, m.Message)
			}
			if tc.phase != releases.AnalysisPassed {
				assert.NotEmpty(t, m.Message)
			}
			assert.Equal(t, metav1.NewTime(clock), m.Time)
			// The query sent: its placeholders substituted, every selector kept inside the namespace.
			assert.Equal(t, []string{`sum(rate(http_requests_total{batch="2",code="500",namespace="shop",release="web-v2"}[1m]))`}, f.queries)
		})
	}
}

func TestAPrometheusCheckKeepsToItsNamespace(t *testing.T) {
	f := &fakePrometheus{body: vector("1")}
	c := &Checks{Prometheus: f.client(t)}
	m := c.Measure(context.Background(), shopRelease(), promCheck(`up{namespace="bank"}`, "result > 0"))
	assert.Equal(t, releases.AnalysisError, m.Phase)
	assert.Contains(t, m.Message, "queries read only its own namespace")
	assert.Empty(t, f.queries, "not sent")

	m = c.Measure(context.Background(), shopRelease(), promCheck(`up{namespace="${namespace}"} + ignoring(namespace) vector(1)`, "result > 0"))
	assert.Equal(t, releases.AnalysisPassed, m.Phase, m.Message)
	assert.Equal(t, []string{`up{namespace="shop",namespace="shop"} + ignoring (namespace) vector(1)`}, f.queries)

	// Another label names the namespace on this Prometheus.
	f = &fakePrometheus{body: vector("1")}
	c = &Checks{Prometheus: f.clientWith(t, "kubernetes_namespace"), NamespaceLabel: "kubernetes_namespace"}
	m = c.Measure(context.Background(), shopRelease(), promCheck(`up{kubernetes_namespace="bank"}`, "result > 0"))
	assert.Equal(t, releases.AnalysisError, m.Phase)
	assert.Empty(t, f.queries, "not sent")
	m = c.Measure(context.Background(), shopRelease(), promCheck(`up{namespace="bank"}`, "result > 0"))
	assert.Equal(t, releases.AnalysisPassed, m.Phase, m.Message)
	assert.Equal(t, []string{`up{kubernetes_namespace="shop",namespace="bank"}`}, f.queries)
}

func TestAPrometheusCheckWithoutPrometheus(t *testing.T) {
	m := (&Checks{}).Measure(context.Background(), shopRelease(), promCheck("up", "result > 0"))
	assert.Equal(t, releases.AnalysisError, m.Phase)
	assert.Equal(t, "no Prometheus is configured: the server's --analysis-prometheus-address", m.Message)
}

// A Prometheus that does not answer gives an Error once the measurement's time is up.
func TestAPrometheusCheckEndsWithItsContext(t *testing.T) {
	stop := make(chan struct{})
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-stop:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(stop); s.Close() })
	p, err := prometheus.New(prometheus.Options{Address: s.URL})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	m := (&Checks{Prometheus: p}).Measure(ctx, shopRelease(), promCheck("up", "result > 0"))
	assert.Equal(t, releases.AnalysisError, m.Phase)
	assert.Contains(t, m.Message, "context deadline exceeded")
	assert.NotContains(t, m.Message, s.URL, "the admin's address is not repeated")
}

// The Service metrics of namespace shop, port 80 served by pod web-1 on addr (host:port).
func shopService(t *testing.T, addr string, ready bool) []runtime.Object {
	t.Helper()
	host, portText, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	port, err := strconv.Atoi(portText)
	require.NoError(t, err)
	name, target := "http", int32(port)
	return []runtime.Object{
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "metrics"},
			Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}},
		&discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "metrics-abc",
			Labels: map[string]string{discoveryv1.LabelServiceName: "metrics"}},
			AddressType: discoveryv1.AddressTypeIPv4, Ports: []discoveryv1.EndpointPort{{Name: &name, Port: &target}},
			Endpoints: []discoveryv1.Endpoint{{Addresses: []string{host}, Conditions: discoveryv1.EndpointConditions{Ready: &ready},
				TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: "shop", Name: "web-1"}}}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-1"},
			Status: corev1.PodStatus{PodIP: host, PodIPs: []corev1.PodIP{{IP: host}}}},
	}
}

func httpCheck(path, jsonPath, cond string) Due {
	return Due{Batch: 1, Check: releases.AnalysisCheck{Name: "stats", SuccessCondition: cond,
		HTTP: &releases.HTTPCheck{Service: "metrics", Port: 80, Path: path, JSONPath: jsonPath}}}
}

func TestHTTPCheck(t *testing.T) {
	var mu sync.Mutex
	var asked []string
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked = append(asked, r.URL.RequestURI())
		mu.Unlock()
		switch r.URL.Path {
		case "/stats":
			_, _ = fmt.Fprint(w, `{"errorRate": 0.002}`)
		default:
			http.Error(w, "down", http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(server.Close)
	addr := strings.TrimPrefix(server.URL, "http://")
	c := &Checks{Kube: kubefake.NewClientset(shopService(t, addr, true)...), HTTP: httpcheck.NewClient(time.Second), Now: now}
	ctx := context.Background()

	m := c.Measure(ctx, shopRelease(), httpCheck("/stats?window=1m", "{.errorRate}", "result < 0.01"))
	assert.Equal(t, releases.Measurement{Time: metav1.NewTime(clock), Value: "0.002", Phase: releases.AnalysisPassed}, m)
	m = c.Measure(ctx, shopRelease(), httpCheck("/stats", "{.errorRate}", "result < 0.001"))
	assert.Equal(t, releases.AnalysisFailed, m.Phase)
	assert.Equal(t, "0.002", m.Value)
	m = c.Measure(ctx, shopRelease(), httpCheck("/broken", "", "result < 0.01"))
	assert.Equal(t, releases.AnalysisError, m.Phase)
	assert.Contains(t, m.Message, "HTTP 503")
	assert.Equal(t, []string{"/stats?window=1m", "/stats", "/broken"}, asked)

	// Without a ready endpoint, nothing is asked.
	c.Kube = kubefake.NewClientset(shopService(t, addr, false)...)
	m = c.Measure(ctx, shopRelease(), httpCheck("/stats", "{.errorRate}", "result < 0.01"))
	assert.Equal(t, releases.AnalysisError, m.Phase)
	assert.Equal(t, "no ready endpoint of service metrics", m.Message)
	c.Kube = kubefake.NewClientset()
	m = c.Measure(ctx, shopRelease(), httpCheck("/stats", "{.errorRate}", "result < 0.01"))
	assert.Equal(t, releases.AnalysisError, m.Phase)
	assert.Equal(t, "service shop/metrics does not exist", m.Message)
	assert.Len(t, asked, 3)
}

// batchPod is pod name of batch of release web-v2, its containers restarted restarts times.
func batchPod(name, batch string, restarts ...int32) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name,
		Labels: map[string]string{v1alpha1.ReleaseLabel: "web-v2", v1alpha1.BatchLabel: batch}}}
	for i, n := range restarts {
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{Name: "c" + strconv.Itoa(i), RestartCount: n})
	}
	return p
}

// podLister lists pods as a cache would, recording the selectors asked.
type podLister struct {
	pods      []*corev1.Pod
	selectors []string
}

func (l *podLister) list(namespace string, selector labels.Selector) ([]*corev1.Pod, error) {
	l.selectors = append(l.selectors, selector.String())
	var out []*corev1.Pod
	for _, p := range l.pods {
		if p.Namespace == namespace && selector.Matches(labels.Set(p.Labels)) {
			out = append(out, p)
		}
	}
	return out, nil
}

func podHealth(batch int32, maxRestarts int32, cond string) Due {
	return Due{Batch: batch, Check: releases.AnalysisCheck{Name: "pods", SuccessCondition: cond,
		PodHealth: &releases.PodHealthCheck{MaxRestarts: &maxRestarts}}}
}

func TestPodHealthCheck(t *testing.T) {
	pods := &podLister{pods: []*corev1.Pod{
		batchPod("web-a", "1", 0, 0),
		batchPod("web-b", "2", 1, 2), // 3 restarts in all
		batchPod("web-c", "2", 1),
		batchPod("web-d", "3"),
	}}
	other := batchPod("web-e", "2", 9)
	other.Labels[v1alpha1.ReleaseLabel] = "web-v1"
	pods.pods = append(pods.pods, other)
	c := &Checks{Pods: pods.list, Now: now}
	ctx := context.Background()
	// What the pods had when they went into traffic (web-b's 1 restart from an in-place update) does not
	// count: restarts are counted from the first measurement of each pod.
	counts := map[*corev1.Pod][]int32{}
	for _, p := range pods.pods {
		for i := range p.Status.ContainerStatuses {
			counts[p] = append(counts[p], p.Status.ContainerStatuses[i].RestartCount)
			p.Status.ContainerStatuses[i].RestartCount = 0
		}
	}
	pods.pods[1].Status.ContainerStatuses[0].RestartCount = 1
	for _, batch := range []int32{1, 2, 3} {
		c.Measure(ctx, shopRelease(), podHealth(batch, 0, ""))
	}
	for p, n := range counts {
		for i := range n {
			p.Status.ContainerStatuses[i].RestartCount = n[i]
		}
	}
	pods.pods[1].Status.ContainerStatuses[0].RestartCount = 2 // one restart in traffic, with the 2 of the other container
	pods.selectors = nil
	for _, tc := range []struct {
		name           string
		due            Due
		phase          releases.AnalysisPhase
		value, message string
	}{
		{"no restart", podHealth(1, 0, ""), releases.AnalysisPassed, "0", "restarts 0 (others 0 a pod), readiness lost 0 (others 0 a pod), cpu and memory not compared"},
		{"no container yet", podHealth(3, 0, ""), releases.AnalysisPassed, "0", "restarts 0"},
		{"too many restarts", podHealth(2, 2, ""), releases.AnalysisFailed, "3", "pod web-b restarted 3 times in traffic; at most 2 (maxRestarts 2, the others 0 a pod)"},
		{"few enough", podHealth(2, 3, ""), releases.AnalysisPassed, "3", "restarts 3 (others 0 a pod)"},
		{"and the condition", podHealth(2, 3, "result < 2"), releases.AnalysisFailed, "3", "result < 2 is false"},
		{"maxRestarts with the condition", podHealth(2, 2, "result < 5"), releases.AnalysisFailed, "3", "pod web-b restarted 3 times in traffic; at most 2"},
		{"no pod", podHealth(4, 0, ""), releases.AnalysisError, "", "no pod of batch 4 yet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := c.Measure(ctx, shopRelease(), tc.due)
			assert.Equal(t, clock, m.Time.Time)
			assert.Equal(t, tc.value, m.Value)
			assert.Equal(t, tc.phase, m.Phase)
			assert.True(t, strings.HasPrefix(m.Message, tc.message), "%q begins with %q", m.Message, tc.message)
		})
	}
	assert.Equal(t, "releases.triton.io/batch=1,releases.triton.io/release=web-v2", pods.selectors[0])
}

// The green pods of a blue/green release are all labelled batch "preview".
func TestPodHealthOfABlueGreenRelease(t *testing.T) {
	pods := &podLister{pods: []*corev1.Pod{batchPod("web-a", v1alpha1.PreviewBatch, 0), batchPod("web-b", "1", 0)}}
	r := shopRelease()
	r.Spec.Strategy.Type = releases.StrategyBlueGreen
	c := &Checks{Pods: pods.list}
	c.Measure(context.Background(), r, podHealth(1, 1, ""))
	pods.pods[0].Status.ContainerStatuses[0].RestartCount = 2
	pods.pods[1].Status.ContainerStatuses[0].RestartCount = 5
	m := c.Measure(context.Background(), r, podHealth(1, 1, ""))
	assert.Equal(t, releases.AnalysisFailed, m.Phase)
	assert.Equal(t, "pod web-a restarted 2 times in traffic; at most 1 (maxRestarts 1, the others 0 a pod)", m.Message)
}

// Without a cache, the pods come from kube-apiserver.
func TestPodHealthReadsLiveWithoutPods(t *testing.T) {
	a := batchPod("web-a", "1", 0)
	kube := kubefake.NewClientset(a, batchPod("web-b", "2", 4))
	c := &Checks{Kube: kube}
	c.Measure(context.Background(), shopRelease(), podHealth(1, 0, ""))
	a.Status.ContainerStatuses[0].RestartCount = 1
	_, err := kube.CoreV1().Pods(a.Namespace).UpdateStatus(context.Background(), a, metav1.UpdateOptions{})
	require.NoError(t, err)
	m := c.Measure(context.Background(), shopRelease(), podHealth(1, 0, ""))
	assert.Equal(t, releases.AnalysisFailed, m.Phase)
	assert.Equal(t, "1", m.Value)
}

func TestAValueAndAMessageFitTheStatus(t *testing.T) {
	f := &fakePrometheus{body: vector(strings.Split(strings.Repeat("123456789.123456789,", 40), ",")[:40]...)}
	c := &Checks{Prometheus: f.client(t)}
	long := "result.all(r, r < 1) || '''" + strings.Repeat("é\n", 300) + "''' == ''"
	m := c.Measure(context.Background(), shopRelease(), promCheck("up", long))
	assert.Equal(t, releases.AnalysisFailed, m.Phase)
	assert.LessOrEqual(t, len(m.Value), MaxValue)
	assert.LessOrEqual(t, len(m.Message), MaxMessage)
	assert.True(t, utf8.ValidString(m.Message))
	assert.NotContains(t, m.Message, "\n")
	assert.True(t, strings.HasSuffix(m.Message, "..."))
	assert.Equal(t, "ab c", clip("ab\x1bc", 10, ""))
	assert.Equal(t, "éé", clip("ééé", 5, ""), "cut between runes")
}

// A restart before the batch was in traffic, as an in-place update's, does not count: only restarts since
// podHealth first measured the pod do.
func TestPodHealthCountsRestartsInTrafficOnly(t *testing.T) {
	pod := batchPod("web-a", "1", 1) // restarted once by its in-place update
	pods := &podLister{pods: []*corev1.Pod{pod}}
	c := &Checks{Pods: pods.list}
	m := c.Measure(context.Background(), shopRelease(), podHealth(1, 0, ""))
	assert.Equal(t, releases.AnalysisPassed, m.Phase, "the update's restart is not a failure")
	pod.Status.ContainerStatuses[0].RestartCount = 2
	m = c.Measure(context.Background(), shopRelease(), podHealth(1, 0, ""))
	assert.Equal(t, releases.AnalysisFailed, m.Phase, "a restart in traffic is")
	assert.Equal(t, "1", m.Value)
}

// ownedBy makes p a pod of the CloneSet name.
func ownedBy(p *corev1.Pod, cloneSet string) *corev1.Pod {
	yes := true
	p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps.kruise.io/v1alpha1", Kind: "CloneSet", Name: cloneSet, Controller: &yes}}
	return p
}

// metricsOf answers the metrics API's list of pods with cpu (millicores) by pod name, or with err.
func metricsOf(cpu map[string]int64, err error) *metricsfake.Clientset {
	client := metricsfake.NewSimpleClientset()
	client.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		if err != nil {
			return true, nil, err
		}
		list := &metricsv1beta1.PodMetricsList{}
		for name, milli := range cpu {
			list.Items = append(list.Items, metricsv1beta1.PodMetrics{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name},
				Containers: []metricsv1beta1.ContainerMetrics{{Name: "app", Usage: corev1.ResourceList{
					corev1.ResourceCPU: *resource.NewMilliQuantity(milli, resource.DecimalSI), corev1.ResourceMemory: resource.MustParse("32Mi")}}}})
		}
		return true, list, nil
	})
	return client
}

// The batch is compared with the CloneSet's pods not in the release, and only those: not another
// CloneSet's, not a pod on its way out, not a pod of another batch of the release.
func TestPodHealthComparesTheBatchWithTheOthers(t *testing.T) {
	gone := ownedBy(batchPod("web-gone", "", 0), "web")
	gone.Labels = map[string]string{v1alpha1.ReleaseLabel: "web-v1"}
	gone.DeletionTimestamp = &metav1.Time{Time: clock}
	old1 := ownedBy(batchPod("web-old1", "", 0), "web")
	old1.Labels = map[string]string{v1alpha1.ReleaseLabel: "web-v1", v1alpha1.BatchLabel: "1"}
	old2 := ownedBy(batchPod("web-old2", "", 0), "web")
	old2.Labels = nil
	pods := &podLister{pods: []*corev1.Pod{
		ownedBy(batchPod("web-a", "2", 0), "web"),
		ownedBy(batchPod("web-first", "1", 0), "web"), // an earlier batch of the release
		old1, old2, gone,
		ownedBy(batchPod("api-x", "", 0), "api"),
	}}
	pods.pods[5].Labels = nil
	cpu := map[string]int64{"web-a": 400, "web-first": 900, "web-old1": 100, "web-old2": 100, "web-gone": 5000, "api-x": 5000}
	c := &Checks{Pods: pods.list, Metrics: metricsOf(cpu, nil), Now: now}
	check := podHealth(2, 0, "")
	check.Check.PodHealth.MaxRatio = "3.5"
	m := c.Measure(context.Background(), shopRelease(), check)
	assert.Equal(t, releases.AnalysisFailed, m.Phase)
	assert.Equal(t, "the batch's pods use 4x the others' cpu (400m against 100m a pod); at most 3.5x", m.Message)

	check.Check.PodHealth.MaxRatio = "4"
	m = c.Measure(context.Background(), shopRelease(), check)
	assert.Equal(t, releases.AnalysisPassed, m.Phase, m.Message)
	assert.Equal(t, "restarts 0 (others 0 a pod), readiness lost 0 (others 0 a pod), cpu 4x (400m against 100m a pod), memory 1x (32.0Mi against 32.0Mi a pod)", m.Message)

	// The others restart as much as the batch: not the new version's doing.
	pods.pods[0].Status.ContainerStatuses[0].RestartCount = 1
	old1.Status.ContainerStatuses[0].RestartCount = 1
	m = c.Measure(context.Background(), shopRelease(), check)
	assert.Equal(t, releases.AnalysisPassed, m.Phase, m.Message)
	assert.Equal(t, "1", m.Value)
	assert.Contains(t, m.Message, "restarts 1 (others 0.5 a pod)")
}

// CPU and memory where the metrics API does not answer: said so, and an Error only when maxRatio asks for
// them to be judged.
func TestPodHealthWithoutMetrics(t *testing.T) {
	pods := &podLister{pods: []*corev1.Pod{ownedBy(batchPod("web-a", "1", 0), "web"), ownedBy(batchPod("web-b", "", 0), "web")}}
	pods.pods[1].Labels = nil
	for _, tc := range []struct {
		name     string
		metrics  *metricsfake.Clientset
		maxRatio string
		phase    releases.AnalysisPhase
		message  string
	}{
		{"no client", nil, "2", releases.AnalysisPassed, "cpu and memory not compared: the metrics API (metrics.k8s.io) is not served"},
		{"not served", metricsOf(nil, apierrors.NewNotFound(schema.GroupResource{Group: "metrics.k8s.io", Resource: "pods"}, "")), "2",
			releases.AnalysisPassed, "cpu and memory not compared: the metrics API (metrics.k8s.io) is not served"},
		{"not answering, not judged", metricsOf(nil, apierrors.NewServiceUnavailable("starting")), "",
			releases.AnalysisPassed, "cpu and memory not compared: the metrics API: starting"},
		{"not answering, judged", metricsOf(nil, apierrors.NewServiceUnavailable("starting")), "2",
			releases.AnalysisError, "the metrics API: starting"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &Checks{Pods: pods.list, Now: now}
			if tc.metrics != nil {
				c.Metrics = tc.metrics
			}
			check := podHealth(1, 0, "")
			check.Check.PodHealth.MaxRatio = tc.maxRatio
			m := c.Measure(context.Background(), shopRelease(), check)
			assert.Equal(t, tc.phase, m.Phase)
			assert.True(t, strings.HasSuffix(m.Message, tc.message), "%q ends with %q", m.Message, tc.message)
		})
	}
}
