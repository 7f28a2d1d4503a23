//go:build bench

package bench

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/release/controller"
	"github.com/triton-io/triton/test/bench/stats"
)

// concurrentReleases is how many releases the concurrent scenario runs at once (BENCH_CONCURRENT, default
// 200).
func concurrentReleases() int {
	if n, err := strconv.Atoi(os.Getenv("BENCH_CONCURRENT")); err == nil && n > 0 {
		return n
	}
	return 200
}

// concurrentReplicas is the size of each CloneSet of the concurrent scenario: two batches of one pod.
const concurrentReplicas = 2

// concurrent: BENCH_CONCURRENT small CloneSets (2 kwok pods each) released at once, Auto in two batches;
// meanwhile pause and resume, one call at a time, on a side release (a Manual one waiting for next, as in
// the actions scenario), against the same calls on it while nothing else runs, measured first. Goals: the
// p99 of each at most twice the idle p99, and every release Succeeded.
func concurrent(t *testing.T, ctx context.Context, c *cluster) []stats.Row {
	controllerBack(t, ctx, c)
	ns := c.namespace(t, ctx, "bench-concurrent")
	n := concurrentReleases()
	name := func(i int) string { return fmt.Sprintf("c-%03d", i) }
	interleavedSides(t, 16, n, 1, func(i, _ int) error {
		_, err := c.kruise.AppsV1alpha1().CloneSets(ns).Create(ctx, newCloneSet(name(i), concurrentReplicas, "app:0"), metav1.CreateOptions{})
		return err
	})
	require.NoError(t, wait.PollUntilContextTimeout(ctx, 2*time.Second, 20*time.Minute, true, func(ctx context.Context) (bool, error) {
		list, err := c.kruise.AppsV1alpha1().CloneSets(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		ready := 0
		for _, cs := range list.Items {
			if cs.Status.ReadyReplicas == concurrentReplicas {
				ready++
			}
		}
		return ready == n, nil
	}), "%d CloneSets of %d Ready pods", n, concurrentReplicas)
	side := newLane(t, ctx, c, ns, 0)
	side.start(t, ctx, c)
	releases := c.releases.ReleasesV1alpha1().Releases(ns)
	call := func(verb string, into *stats.Series) {
		start := time.Now()
		var err error
		if verb == "pause" {
			_, err = releases.Pause(ctx, side.release, &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{})
		} else {
			_, err = releases.Resume(ctx, side.release, &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{})
		}
		require.NoError(t, err, "%s %s", verb, side.release)
		into.Samples = append(into.Samples, time.Since(start))
	}
	idle := map[string]*stats.Series{"pause": {Name: "pause, idle"}, "resume": {Name: "resume, idle"}}
	busy := map[string]*stats.Series{"pause": {Name: fmt.Sprintf("pause, %d releases running", n)},
		"resume": {Name: fmt.Sprintf("resume, %d releases running", n)}}
	side.waiting(t, ctx, c)
	for i := 0; i < calls(); i++ {
		call("pause", idle["pause"])
		call("resume", idle["resume"])
	}

	before := c.server.metrics(t, ctx)
	start := time.Now()
	var created sync.WaitGroup
	created.Add(1)
	var createErr error
	go func() {
		defer created.Done()
		var mu sync.Mutex
		interleavedSides(t, 16, n, 1, func(i, _ int) error {
			_, err := releases.Create(ctx, autoRelease(name(i), name(i), "app:1", concurrentReplicas), metav1.CreateOptions{})
			if err != nil {
				mu.Lock()
				createErr = err
				mu.Unlock()
			}
			return nil
		})
	}()
	// Calls until every release has finished; how many of them Succeeded, and the deepest the controller's
	// queue was seen, about once a second.
	succeeded, finished, depth := 0, 0, 0.0
	checked := time.Now()
	deadline := time.Now().Add(30 * time.Minute)
	for finished < n && time.Now().Before(deadline) {
		call("pause", busy["pause"])
		call("resume", busy["resume"])
		if time.Since(checked) < time.Second {
			continue
		}
		checked = time.Now()
		depth = max(depth, c.server.metrics(t, ctx).sum("triton_release_controller_queue_depth"))
		list, err := releases.List(ctx, metav1.ListOptions{})
		if err != nil {
			continue
		}
		succeeded, finished = 0, 0
		for _, r := range list.Items {
			if !strings.HasPrefix(r.Name, "c-") {
				continue
			}
			switch r.Status.Phase {
			case v1alpha1.ReleaseSucceeded:
				succeeded++
				finished++
			case v1alpha1.ReleaseFailed, v1alpha1.ReleaseCanceled:
				finished++
			}
		}
	}
	all := time.Since(start)
	created.Wait()
	require.NoError(t, createErr, "creating the releases")
	after := c.server.since(t, ctx, before)

	values := map[string]float64{"releases Succeeded": float64(succeeded), "releases finished": float64(finished),
		"deepest queue seen": depth, "reconciles": after.reconciles() - before.reconciles()}
	q := `{name="` + controller.QueueName + `"}`
	if count := after.sum("workqueue_queue_duration_seconds_count"+q) - before.sum("workqueue_queue_duration_seconds_count"+q); count > 0 {
		values["mean ms in the queue"] = (after.sum("workqueue_queue_duration_seconds_sum"+q) - before.sum("workqueue_queue_duration_seconds_sum"+q)) / count * 1000
	}
	conflicts(values, before, after, "")
	note := join(fmt.Sprintf("%d CloneSets of %d kwok pods, Auto releases of two one-pod batches, created 16 at a time", n, concurrentReplicas),
		serverWaits(values, before, after, nil, nil))
	var rows []stats.Row
	for _, verb := range []string{"pause", "resume"} {
		row := stats.Row{Scenario: "concurrent", Measured: *busy[verb], Baseline: idle[verb],
			Note: "on a side release waiting for next; baseline: the same calls before the releases started"}
		row.Goals = []stats.Goal{row.P99RatioGoal(2)}
		rows = append(rows, row)
	}
	return append(rows, stats.Row{Scenario: "concurrent",
		Measured: stats.Series{Name: fmt.Sprintf("%d releases at once, first create to all finished", n), Samples: []time.Duration{all}},
		Note:     note, Values: values,
		Goals: []stats.Goal{{Figure: fmt.Sprintf("%d releases at once: Succeeded", n), Got: float64(succeeded), Limit: float64(n), AtLeast: true}}})
}

// newCloneSet is a CloneSet of replicas pods at image, recreated on update, as fast as kruise goes.
func newCloneSet(name string, replicas int32, image string) *kruiseappsv1alpha1.CloneSet {
	labels := map[string]string{"app": name}
	return &kruiseappsv1alpha1.CloneSet{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: kruiseappsv1alpha1.CloneSetSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}},
			},
			UpdateStrategy: kruiseappsv1alpha1.CloneSetUpdateStrategy{
				Type: kruiseappsv1alpha1.RecreateCloneSetUpdateStrategyType,
				// As fast as kruise goes: the partition, not maxUnavailable, is what a release limits.
				MaxUnavailable: ptr(intstr.FromString("100%")),
			},
		},
	}
}
