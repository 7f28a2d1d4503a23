package podhealth

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	k8stesting "k8s.io/client-go/testing"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	metricsfake "k8s.io/metrics/pkg/client/clientset/versioned/fake"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func pod(name string, restarts int32, ready bool, since time.Time) *corev1.Pod {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name, UID: types.UID("uid-" + name)},
		Status: corev1.PodStatus{
			ContainerStatuses: []corev1.ContainerStatus{{Name: "app", RestartCount: restarts}},
			Conditions:        []corev1.PodCondition{{Type: corev1.ContainersReady, Status: status, LastTransitionTime: metav1.NewTime(since)}},
		},
	}
}

// A pod counts what it did since the window's first look at it: restarts, and readiness lost whether
// seen lost, or lost and back between two looks (its condition's transition moved).
func TestTrackerCountsFromTheFirstLook(t *testing.T) {
	var tr Tracker
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	steps := []struct {
		name             string
		pod              *corev1.Pod
		restarts, losses int32
	}{
		{"first look: 2 restarts before do not count", pod("web-a", 2, true, at(0)), 0, 0},
		{"nothing happened", pod("web-a", 2, true, at(0)), 0, 0},
		{"seen not ready", pod("web-a", 2, false, at(12)), 0, 1},
		{"still not ready: the same loss", pod("web-a", 2, false, at(12)), 0, 1},
		{"back", pod("web-a", 2, true, at(25)), 0, 1},
		{"restarted, lost and back between two looks", pod("web-a", 3, true, at(31)), 1, 2},
		{"back, lost again between two looks", pod("web-a", 3, false, at(44)), 1, 3},
		{"an older count (a new container status) counts as none", pod("web-a", 0, false, at(44)), 0, 3},
	}
	for i, s := range steps {
		c := tr.Observe("r1/1", s.pod, at(10*i))
		assert.Equal(t, Counts{Pod: "web-a", Restarts: s.restarts, ReadinessLosses: s.losses}, c, s.name)
	}
	// Another window starts from its own first look.
	assert.Equal(t, Counts{Pod: "web-a"}, tr.Observe("r1/2", pod("web-a", 3, false, at(44)), at(100)))
	assert.Equal(t, 2, tr.Len())
}

// A pod seen not ready at the first look has lost nothing yet; once ready, a loss counts.
func TestTrackerANotReadyPodAtTheFirstLook(t *testing.T) {
	var tr Tracker
	assert.Zero(t, tr.Observe("w", pod("web-a", 0, false, t0), t0).ReadinessLosses)
	assert.Zero(t, tr.Observe("w", pod("web-a", 0, true, t0.Add(time.Second)), t0).ReadinessLosses)
	assert.Equal(t, int32(1), tr.Observe("w", pod("web-a", 0, false, t0.Add(2*time.Second)), t0).ReadinessLosses)
}

// A full tracker forgets the pods it has not looked at for an hour, and only those.
func TestTrackerIsBounded(t *testing.T) {
	tr := Tracker{MaxPods: 2}
	tr.Observe("w", pod("old", 0, true, t0), t0)
	tr.Observe("w", pod("recent", 0, true, t0), t0.Add(90*time.Minute))
	tr.Observe("w", pod("new", 0, true, t0), t0.Add(2*time.Hour))
	assert.Equal(t, 2, tr.Len())
	assert.Equal(t, Counts{Pod: "recent"}, tr.Observe("w", pod("recent", 5, true, t0), t0.Add(2*time.Hour)).withRestarts(0))
}

func (c Counts) withRestarts(n int32) Counts { c.Restarts = n; return c }

func TestJudge(t *testing.T) {
	batch := []Counts{{Pod: "web-b", Restarts: 1}, {Pod: "web-a", Restarts: 1, ReadinessLosses: 2}}
	quiet := []Counts{{Pod: "web-x"}, {Pod: "web-y"}, {Pod: "web-z"}}
	restless := []Counts{{Pod: "web-x", Restarts: 2, ReadinessLosses: 3}, {Pod: "web-y", Restarts: 1, ReadinessLosses: 2}}
	used := Usage{Pods: 2, CPUMilli: 300, MemoryBytes: 64 << 20}
	usual := Usage{Pods: 3, CPUMilli: 100, MemoryBytes: 60 << 20}
	for _, tc := range []struct {
		name    string
		in      Input
		limits  Limits
		failed  string
		summary string
	}{
		{"restarts beyond maxRestarts fail; the pod named is the first by name",
			Input{Batch: batch, Others: quiet, UsageSkipped: ErrNotServed.Error()}, Limits{},
			"pod web-a restarted 1 times in traffic; at most 0 (maxRestarts 0, the others 0 a pod); pod web-a lost its readiness 2 times in traffic; at most 0 (maxRestarts 0, the others 0 a pod)",
			"restarts 1 (others 0 a pod), readiness lost 2 (others 0 a pod), cpu and memory not compared: the metrics API (metrics.k8s.io) is not served"},
		{"within maxRestarts",
			Input{Batch: batch, Others: quiet, UsageSkipped: "x"}, Limits{MaxRestarts: 2}, "",
			"restarts 1 (others 0 a pod), readiness lost 2 (others 0 a pod), cpu and memory not compared: x"},
		{"others that restart as much excuse the batch (their mean, rounded up)",
			Input{Batch: batch, Others: restless, UsageSkipped: "x"}, Limits{}, "",
			"restarts 1 (others 1.5 a pod), readiness lost 2 (others 2.5 a pod), cpu and memory not compared: x"},
		{"no others: the batch alone",
			Input{Batch: batch, BatchUsage: used}, Limits{MaxRestarts: 2, MaxRatio: 1.5}, "",
			"restarts 1 (others 0 a pod), readiness lost 2 (others 0 a pod), cpu and memory not compared: no pod of the CloneSet is outside the release"},
		{"cpu and memory shown, not judged without maxRatio",
			Input{Batch: batch, Others: quiet, BatchUsage: used, OthersUsage: usual}, Limits{MaxRestarts: 2}, "",
			"restarts 1 (others 0 a pod), readiness lost 2 (others 0 a pod), cpu 3x (300m against 100m a pod), memory 1.07x (64.0Mi against 60.0Mi a pod)"},
		{"cpu beyond maxRatio fails",
			Input{Batch: batch, Others: quiet, BatchUsage: used, OthersUsage: usual}, Limits{MaxRestarts: 2, MaxRatio: 1.5},
			"the batch's pods use 3x the others' cpu (300m against 100m a pod); at most 1.5x",
			"restarts 1 (others 0 a pod), readiness lost 2 (others 0 a pod), cpu 3x (300m against 100m a pod), memory 1.07x (64.0Mi against 60.0Mi a pod)"},
		{"within maxRatio",
			Input{Batch: batch, Others: quiet, BatchUsage: used, OthersUsage: usual}, Limits{MaxRestarts: 2, MaxRatio: 3}, "", ""},
		{"no metrics of the batch yet",
			Input{Batch: batch, Others: quiet, OthersUsage: usual}, Limits{MaxRestarts: 2, MaxRatio: 1.5}, "",
			"restarts 1 (others 0 a pod), readiness lost 2 (others 0 a pod), cpu and memory not compared: no metrics of the batch's pods yet"},
		{"no metrics of the others",
			Input{Batch: batch, Others: quiet, BatchUsage: used}, Limits{MaxRestarts: 2, MaxRatio: 1.5}, "",
			"restarts 1 (others 0 a pod), readiness lost 2 (others 0 a pod), cpu and memory not compared: no metrics of the other pods"},
		{"others that use no cpu: memory only",
			Input{Batch: batch, Others: quiet, BatchUsage: used, OthersUsage: Usage{Pods: 3, MemoryBytes: 32 << 20}}, Limits{MaxRestarts: 2, MaxRatio: 1.5},
			"the batch's pods use 2x the others' memory (64.0Mi against 32.0Mi a pod); at most 1.5x",
			"restarts 1 (others 0 a pod), readiness lost 2 (others 0 a pod), cpu not compared: the others use none, memory 2x (64.0Mi against 32.0Mi a pod)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Judge(tc.in, tc.limits)
			assert.Equal(t, int32(1), r.MostRestarts)
			assert.Equal(t, tc.failed, r.Failed)
			if tc.summary != "" {
				assert.Equal(t, tc.summary, r.Summary)
			}
			assert.LessOrEqual(t, len(r.Summary), 256, "fits a measurement's message")
		})
	}
}

func podMetrics(name string, containers ...string) *metricsv1beta1.PodMetrics {
	m := &metricsv1beta1.PodMetrics{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name}}
	for i := 0; i+1 < len(containers); i += 2 {
		m.Containers = append(m.Containers, metricsv1beta1.ContainerMetrics{Name: "c", Usage: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse(containers[i]), corev1.ResourceMemory: resource.MustParse(containers[i+1])}})
	}
	return m
}

func TestReadUsage(t *testing.T) {
	// The fake clientset's tracker keeps PodMetrics under a resource the client does not list (pods):
	// the list is answered here, as metrics-server would.
	list := &metricsv1beta1.PodMetricsList{}
	for _, m := range []*metricsv1beta1.PodMetrics{
		podMetrics("web-a", "200m", "40Mi", "100m", "20Mi"), // a pod of two containers: their sum
		podMetrics("web-b", "100m", "20Mi"),
		podMetrics("web-x", "50m", "30Mi"),
		podMetrics("web-y"),                 // no container sampled yet: not counted
		podMetrics("other-app", "4", "1Gi"), // not the CloneSet's
	} {
		list.Items = append(list.Items, *m)
	}
	client := metricsfake.NewSimpleClientset()
	var namespace string
	client.PrependReactor("list", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		namespace = a.GetNamespace()
		return true, list, nil
	})
	b, o, err := ReadUsage(context.Background(), client, "shop", []string{"web-a", "web-b"}, []string{"web-x", "web-y", "web-z"})
	require.NoError(t, err)
	assert.Equal(t, Usage{Pods: 2, CPUMilli: 200, MemoryBytes: 40 << 20}, b)
	assert.Equal(t, Usage{Pods: 1, CPUMilli: 50, MemoryBytes: 30 << 20}, o)
	assert.Equal(t, "shop", namespace)
}

// Where the cluster serves no metrics API (404), CPU and memory are not compared; another error is one.
func TestReadUsageWithoutTheMetricsAPI(t *testing.T) {
	_, _, err := ReadUsage(context.Background(), nil, "shop", nil, nil)
	assert.ErrorIs(t, err, ErrNotServed)

	client := metricsfake.NewSimpleClientset()
	client.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewNotFound(schema.GroupResource{Group: "metrics.k8s.io", Resource: "pods"}, "")
	})
	_, _, err = ReadUsage(context.Background(), client, "shop", nil, nil)
	assert.ErrorIs(t, err, ErrNotServed)

	client = metricsfake.NewSimpleClientset()
	client.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewServiceUnavailable("metrics-server is starting")
	})
	_, _, err = ReadUsage(context.Background(), client, "shop", nil, nil)
	require.Error(t, err)
	assert.False(t, errors.Is(err, ErrNotServed))
	assert.Contains(t, err.Error(), "metrics-server is starting")
}
