package metrics

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/component-base/metrics/legacyregistry"
	"k8s.io/component-base/metrics/testutil"
)

// setUp registers the metrics (a second Register must not panic) and zeroes what earlier tests recorded.
func setUp(t *testing.T) {
	t.Helper()
	Register()
	Register()
	legacyregistry.Reset()
}

// expect compares what /metrics would show for the named metrics with want (the exposition format).
func expect(t *testing.T, want string, names ...string) {
	t.Helper()
	if err := testutil.GatherAndCompare(legacyregistry.DefaultGatherer, strings.NewReader(want), names...); err != nil {
		t.Fatal(err)
	}
}

func TestActionCallsAndDuration(t *testing.T) {
	setUp(t)
	ObserveAction("next", 200, 30*time.Millisecond)
	ObserveAction("next", 200, 3*time.Millisecond)
	ObserveAction("next", 409, 2*time.Millisecond)
	ObserveAction("pause", 403, 3*time.Second)

	expect(t, `
# HELP triton_release_action_calls_total [ALPHA] Calls of the release action subresources (pause, resume, next, cancel), by verb and the HTTP status code answered.
# TYPE triton_release_action_calls_total counter
triton_release_action_calls_total{code="200",verb="next"} 2
triton_release_action_calls_total{code="409",verb="next"} 1
triton_release_action_calls_total{code="403",verb="pause"} 1
`, "triton_release_action_calls_total")

	expect(t, `
# HELP triton_release_action_duration_seconds [ALPHA] Latency of the release action subresources (pause, resume, next, cancel), by verb.
# TYPE triton_release_action_duration_seconds histogram
triton_release_action_duration_seconds_bucket{verb="next",le="0.005"} 2
triton_release_action_duration_seconds_bucket{verb="next",le="0.01"} 2
triton_release_action_duration_seconds_bucket{verb="next",le="0.025"} 2
triton_release_action_duration_seconds_bucket{verb="next",le="0.05"} 3
triton_release_action_duration_seconds_bucket{verb="next",le="0.1"} 3
triton_release_action_duration_seconds_bucket{verb="next",le="0.25"} 3
triton_release_action_duration_seconds_bucket{verb="next",le="0.5"} 3
triton_release_action_duration_seconds_bucket{verb="next",le="1"} 3
triton_release_action_duration_seconds_bucket{verb="next",le="2.5"} 3
triton_release_action_duration_seconds_bucket{verb="next",le="5"} 3
triton_release_action_duration_seconds_bucket{verb="next",le="10"} 3
triton_release_action_duration_seconds_bucket{verb="next",le="+Inf"} 3
triton_release_action_duration_seconds_sum{verb="next"} 0.035
triton_release_action_duration_seconds_count{verb="next"} 3
triton_release_action_duration_seconds_bucket{verb="pause",le="0.005"} 0
triton_release_action_duration_seconds_bucket{verb="pause",le="0.01"} 0
triton_release_action_duration_seconds_bucket{verb="pause",le="0.025"} 0
triton_release_action_duration_seconds_bucket{verb="pause",le="0.05"} 0
triton_release_action_duration_seconds_bucket{verb="pause",le="0.1"} 0
triton_release_action_duration_seconds_bucket{verb="pause",le="0.25"} 0
triton_release_action_duration_seconds_bucket{verb="pause",le="0.5"} 0
triton_release_action_duration_seconds_bucket{verb="pause",le="1"} 0
triton_release_action_duration_seconds_bucket{verb="pause",le="2.5"} 0
triton_release_action_duration_seconds_bucket{verb="pause",le="5"} 1
triton_release_action_duration_seconds_bucket{verb="pause",le="10"} 1
triton_release_action_duration_seconds_bucket{verb="pause",le="+Inf"} 1
triton_release_action_duration_seconds_sum{verb="pause"} 3
triton_release_action_duration_seconds_count{verb="pause"} 1
`, "triton_release_action_duration_seconds")
}

func TestReconcileDuration(t *testing.T) {
	setUp(t)
	ObserveReconcile(nil, 3*time.Millisecond)
	ObserveReconcile(nil, 5*time.Millisecond)
	ObserveReconcile(errors.New("CloneSet web: connection refused"), 20*time.Second)
	ObserveReconcile(apierrors.NewConflict(schema.GroupResource{Resource: "releases"}, "web-v2", errors.New("changed")), time.Millisecond)
	ObserveReconcile(fmt.Errorf("writing the status: %w",
		apierrors.NewConflict(schema.GroupResource{Resource: "releases"}, "web-v2", errors.New("changed"))), time.Millisecond)

	for result, want := range map[string]uint64{"success": 2, "conflict": 2, "error": 1} {
		h, err := testutil.GetHistogramMetricCount(reconcileDuration.WithLabelValues(result))
		if err != nil {
			t.Fatal(err)
		}
		if h != want {
			t.Errorf("reconciles with result %s: got %d, want %d", result, h, want)
		}
	}
	vec, err := testutil.GetHistogramVecFromGatherer(legacyregistry.DefaultGatherer,
		"triton_release_controller_reconcile_duration_seconds", map[string]string{"result": "error"})
	if err != nil {
		t.Fatal(err)
	}
	if got := vec.GetAggregatedSampleSum(); got != 20 {
		t.Errorf("error reconciles took %vs in all, want 20s", got)
	}
	// 20 s is past the last bucket (16.384 s): only +Inf counts it.
	if n := len(vec[0].Bucket); n != 15 {
		t.Errorf("got %d buckets, want 15 (1 ms .. 16 s)", n)
	}
	for _, b := range vec[0].Bucket {
		if b.GetCumulativeCount() != 0 {
			t.Errorf("bucket le=%v holds %d error reconciles, want 0", b.GetUpperBound(), b.GetCumulativeCount())
		}
	}
}

func TestQueueDepth(t *testing.T) {
	setUp(t)
	SetQueueDepth(3)
	expect(t, `
# HELP triton_release_controller_queue_depth [ALPHA] Releases waiting in the release controller's workqueue, as of its last dequeue (0 when not the leader).
# TYPE triton_release_controller_queue_depth gauge
triton_release_controller_queue_depth 3
`, "triton_release_controller_queue_depth")
	SetQueueDepth(0)
	if v, err := testutil.GetGaugeMetricValue(queueDepth); err != nil || v != 0 {
		t.Errorf("queue depth: got %v (%v), want 0", v, err)
	}
}

func TestNamedWorkqueuesAreOnMetrics(t *testing.T) {
	setUp(t)
	q := workqueue.NewTypedWithConfig(workqueue.TypedQueueConfig[string]{Name: "metrics_test_queue"})
	defer q.ShutDown()
	q.Add("ns/a")
	q.Add("ns/b")
	item, _ := q.Get()
	q.Done(item)
	expect(t, `
# HELP workqueue_adds_total [BETA] Total number of adds handled by workqueue
# TYPE workqueue_adds_total counter
workqueue_adds_total{name="metrics_test_queue"} 2
`, "workqueue_adds_total")
}
