//go:build bench

package bench

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/release/controller"
	"github.com/triton-io/triton/test/bench/stats"
)

// controllerReaction: a 100-replica Auto release in 20 batches, interval 0: for each batch, the time from
// the moment its last pod turned Ready (the count of Ready pods at the release's image reaching the
// batch's target, seen on a watch of the pods: the cue on which a Baking batch is Baked and, in an Auto
// release, the next one starts) to the CloneSet write that starts the next batch (its partition dropping,
// seen on a watch of the CloneSet). A transition the CloneSet watch shows before the pod watch (the two
// watches deliver independently) counts as 0 and is said in the note. A Service selects the pods, so the
// drain waits for their endpoints. Beside it, from the server's /metrics: the same reaction as the server
// times it (triton_release_controller_reaction_seconds: from the informer event that wakes the release
// to its CloneSet write being sent), and where the controller's time went.
func controllerReaction(t *testing.T, ctx context.Context, c *cluster) []stats.Row {
	ns := c.namespace(t, ctx, "bench-reaction")
	const replicas, batches = 100, 20
	const image = "app:1"
	cloneSet(t, ctx, c, ns, "app", replicas, "app:0")
	service(t, ctx, c, ns, "app")
	csWatch, err := c.kruise.AppsV1alpha1().CloneSets(ns).Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=app"})
	require.NoError(t, err)
	defer csWatch.Stop()
	podWatch, err := c.kube.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	defer podWatch.Stop()
	var mu sync.Mutex
	per := int32(replicas / batches)
	readyAt := make([]time.Time, batches+1) // readyAt[k]: batch k's last pod Ready
	startAt := make([]time.Time, batches+1) // startAt[k]: the CloneSet write that let batch k+1 begin
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		held := false
		for ev := range csWatch.ResultChan() {
			cs, ok := ev.Object.(*kruiseappsv1alpha1.CloneSet)
			if !ok || cs.Spec.UpdateStrategy.Partition == nil {
				continue
			}
			at := time.Now()
			// prepare holds every pod with a partition of "100%" before the first batch's number.
			scaled, err := intstr.GetScaledValueFromIntOrPercent(cs.Spec.UpdateStrategy.Partition, replicas, true)
			if err != nil {
				continue
			}
			p := int32(scaled)
			// The partition kruise defaulted (0) is from before the release, which holds its first batch.
			if p >= replicas-per {
				held = true
			}
			if !held {
				continue
			}
			mu.Lock()
			for k := int32(1); k < batches; k++ {
				if startAt[k].IsZero() && p < replicas-k*per {
					startAt[k] = at
				}
			}
			mu.Unlock()
		}
	}()
	go func() {
		defer wg.Done()
		ready := map[string]bool{}
		for ev := range podWatch.ResultChan() {
			pod, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			at := time.Now()
			ready[pod.Name] = ev.Type != watch.Deleted && pod.DeletionTimestamp == nil &&
				len(pod.Spec.Containers) > 0 && pod.Spec.Containers[0].Image == image && podReady(pod)
			n := int32(0)
			for _, r := range ready {
				if r {
					n++
				}
			}
			mu.Lock()
			for k := int32(1); k <= batches && k*per <= n; k++ {
				if readyAt[k].IsZero() {
					readyAt[k] = at
				}
			}
			mu.Unlock()
		}
	}()
	before := c.server.metrics(t, ctx)
	_, err = c.releases.ReleasesV1alpha1().Releases(ns).Create(ctx, autoRelease("reaction", "app", image, batches), metav1.CreateOptions{})
	require.NoError(t, err)
	require.NoError(t, wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 15*time.Minute, true, func(ctx context.Context) (bool, error) {
		r, err := c.releases.ReleasesV1alpha1().Releases(ns).Get(ctx, "reaction", metav1.GetOptions{})
		return err == nil && r.Status.Phase == v1alpha1.ReleaseSucceeded, nil
	}))
	csWatch.Stop()
	podWatch.Stop()
	wg.Wait()
	after := c.server.since(t, ctx, before)

	reaction := stats.Series{Name: "controller reaction: last pod Ready -> next batch's CloneSet write"}
	early := 0
	for k := 1; k < batches; k++ {
		if readyAt[k].IsZero() || startAt[k].IsZero() {
			continue
		}
		d := startAt[k].Sub(readyAt[k])
		if d < 0 {
			early++
			d = 0
		}
		reaction.Samples = append(reaction.Samples, d)
	}
	require.NotEmpty(t, reaction.Samples, "no batch transition seen on the watches")
	breakdown := queueBreakdown(before, after, batches)
	conflicts(breakdown, before, after, "")
	return []stats.Row{{Scenario: "controller reaction", Measured: reaction,
		Note: fmt.Sprintf("%d batch transitions of %d (%d seen on the CloneSet watch before the pod watch, counted as 0); "+
			"the controller's queue over the release (client-go's workqueue metrics)", len(reaction.Samples), batches-1, early),
		Values: breakdown,
		Goals: []stats.Goal{
			{Figure: "controller reaction p99, ms", Got: float64(reaction.P99()) / float64(time.Millisecond), Limit: 30},
			{Figure: "batch transitions counted", Got: float64(len(reaction.Samples)), Limit: float64(batches - 1), AtLeast: true},
			{Figure: "reconciles per batch", Got: breakdown["reconciles per batch"], Limit: 15},
		}}, reactionInside(before, after)}
}

// reactionMetric is the server's own timing of the controller's reaction: from the informer event that
// wakes a release to its CloneSet write being sent.
const reactionMetric = "triton_release_controller_reaction_seconds"

// reactionInside is the row of the reaction as the server times it, between two scrapes: its median and
// p99 estimated from the histogram's buckets (as Prometheus' histogram_quantile does), or "not served".
func reactionInside(before, after metricValues) stats.Row {
	row := stats.Row{Scenario: "controller reaction", Measured: stats.Series{Name: "reaction inside the server: event -> CloneSet write sent"}}
	const figure = "reaction inside the server p99, ms"
	h, served := stats.HistogramOf(after, reactionMetric)
	if !served {
		row.Note = stats.NotServed + ": triton-apiserver has no " + reactionMetric
		row.Goals = []stats.Goal{stats.ServedGoal(figure, 0, false, 10)}
		return row
	}
	was, _ := stats.HistogramOf(before, reactionMetric)
	h = h.Sub(was)
	row.Histogram = &h
	row.Note = reactionMetric + ", the scenario's observations; median and p99 interpolated in its buckets"
	row.Goals = []stats.Goal{stats.ServedGoal(figure, h.Quantile(0.99)*1000, true, 10)}
	return row
}

// queueBreakdown is where the controller's time went between two scrapes of its /metrics: how many
// reconciles (and per batch), the mean wait of a release in the workqueue, the mean reconcile, and the
// Release status writes per batch (with their mean time). A mean with nothing to average is left out (the report is JSON).
func queueBreakdown(before, after metricValues, batches int) map[string]float64 {
	q := `{name="` + controller.QueueName + `"}`
	delta := func(name string, labels ...string) float64 {
		return after.sum(name, labels...) - before.sum(name, labels...)
	}
	reconciles := after.reconciles() - before.reconciles()
	out := map[string]float64{
		"reconciles":             reconciles,
		"reconciles per batch":   reconciles / float64(batches),
		"queue adds":             delta("workqueue_adds_total" + q),
		"requeues after a delay": delta("workqueue_retries_total" + q),
		// In-process (the controller's own histogram), and through HTTP (a server that writes over loopback).
		"status writes per batch": (delta("triton_release_controller_status_write_duration_seconds_count") +
			delta("apiserver_request_total", `resource="releases"`, `subresource="status"`, `verb="PUT"`)) / float64(batches),
	}
	if n := delta("triton_release_controller_status_write_duration_seconds_count"); n > 0 {
		out["mean ms of a status write"] = delta("triton_release_controller_status_write_duration_seconds_sum") / n * 1000
	}
	for figure, metric := range map[string]string{"mean ms in the queue": "workqueue_queue_duration_seconds",
		"mean ms of a reconcile": "workqueue_work_duration_seconds"} {
		if n := delta(metric + "_count" + q); n > 0 {
			out[figure] = delta(metric+"_sum"+q) / n * 1000
		}
	}
	return out
}
