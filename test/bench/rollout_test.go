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
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/release/controller"
	"github.com/triton-io/triton/test/bench/stats"
)

// cloneSet makes a CloneSet of replicas kwok pods at image and waits until they are all Ready.
func cloneSet(t *testing.T, ctx context.Context, c *cluster, ns, name string, replicas int32, image string) {
	t.Helper()
	labels := map[string]string{"app": name}
	_, err := c.kruise.AppsV1alpha1().CloneSets(ns).Create(ctx, &kruiseappsv1alpha1.CloneSet{
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
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	waitUpdatedReady(t, ctx, c, ns, name, replicas, "")
}

func ptr[T any](v T) *T { return &v }

// waitUpdatedReady waits until the CloneSet has n updated Ready pods (and, if image is set, its template
// is at image) and returns when it saw that.
func waitUpdatedReady(t *testing.T, ctx context.Context, c *cluster, ns, name string, n int32, image string) time.Time {
	t.Helper()
	var at time.Time
	require.NoError(t, wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 10*time.Minute, true, func(ctx context.Context) (bool, error) {
		cs, err := c.kruise.AppsV1alpha1().CloneSets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		at = time.Now()
		ok := cs.Status.ObservedGeneration == cs.Generation && cs.Status.UpdatedReadyReplicas == n && cs.Status.ReadyReplicas == n
		if image != "" {
			ok = ok && cs.Spec.Template.Spec.Containers[0].Image == image
		}
		return ok, nil
	}), "CloneSet %s never had %d updated Ready pods", name, n)
	return at
}

func autoRelease(name, cloneSet, image string, batches int32) *v1alpha1.Release {
	size := intstr.FromString(fmt.Sprintf("%d%%", 100/batches))
	return &v1alpha1.Release{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.ReleaseSpec{
			CloneSetName: cloneSet, Action: v1alpha1.ActionUpdate,
			Template: &corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": cloneSet}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}},
			},
			Strategy: v1alpha1.ReleaseStrategy{BatchSize: &size, Mode: v1alpha1.ModeAuto},
		},
	}
}

// wholeRollout: 100 replicas in 10 Auto batches with interval 0, against the floor: the same CloneSet's
// template changed in one step by a merge-patch, until all its pods are updated and Ready. Pairs are
// interleaved (floor, release, floor, release, ...).
func wholeRollout(t *testing.T, ctx context.Context, c *cluster) []stats.Row {
	ns := c.namespace(t, ctx, "bench-rollout")
	const replicas = 100
	cloneSet(t, ctx, c, ns, "app", replicas, "app:0")
	release := stats.Series{Name: "rollout: 100 pods, 10 Auto batches"}
	floor := stats.Series{Name: "floor: one template patch"}
	image := 0
	for pair := 0; pair < pairs(); pair++ {
		image++
		patch := []byte(fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"app:%d"}]}}}}`, image))
		start := time.Now()
		// A merge patch replaces the container list: the one container, at the new image.
		_, err := c.kruise.AppsV1alpha1().CloneSets(ns).Patch(ctx, "app", types.MergePatchType, patch, metav1.PatchOptions{})
		require.NoError(t, err)
		floor.Samples = append(floor.Samples, waitUpdatedReady(t, ctx, c, ns, "app", replicas, fmt.Sprintf("app:%d", image)).Sub(start))

		image++
		name := fmt.Sprintf("rollout-%d", pair)
		start = time.Now()
		_, err = c.releases.ReleasesV1alpha1().Releases(ns).Create(ctx, autoRelease(name, "app", fmt.Sprintf("app:%d", image), 10), metav1.CreateOptions{})
		require.NoError(t, err)
		require.NoError(t, wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 10*time.Minute, true, func(ctx context.Context) (bool, error) {
			r, err := c.releases.ReleasesV1alpha1().Releases(ns).Get(ctx, name, metav1.GetOptions{})
			return err == nil && r.Status.Phase == v1alpha1.ReleaseSucceeded, nil
		}), "release %s did not succeed", name)
		release.Samples = append(release.Samples, time.Since(start))
		waitUpdatedReady(t, ctx, c, ns, "app", replicas, fmt.Sprintf("app:%d", image))
	}
	row := stats.Row{Scenario: "whole rollout", Measured: release, Baseline: &floor,
		Note: "wall time from create to Succeeded; floor: the template patched in one step (maxUnavailable 100%), until every pod is updated and Ready"}
	row.Goals = row.RatioGoals(1.10)[:1]
	return []stats.Row{row}
}

// controllerReaction: a 100-replica Auto release in 20 batches, interval 0: for each batch, the time from
// the moment its last pod turned Ready (the count of Ready pods at the release's image reaching the
// batch's target, seen on a watch of the pods: the cue on which a Baking batch is Baked and, in an Auto
// release, the next one starts) to the CloneSet write that starts the next batch (its partition dropping,
// seen on a watch of the CloneSet). A transition the CloneSet watch shows before the pod watch (the two
// watches deliver independently) counts as 0 and is said in the note.
func controllerReaction(t *testing.T, ctx context.Context, c *cluster) []stats.Row {
	ns := c.namespace(t, ctx, "bench-reaction")
	const replicas, batches = 100, 20
	const image = "app:1"
	cloneSet(t, ctx, c, ns, "app", replicas, "app:0")
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
	after := c.server.metrics(t, ctx)

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
	return []stats.Row{{Scenario: "controller reaction", Measured: reaction,
		Note: fmt.Sprintf("%d batch transitions of %d (%d seen on the CloneSet watch before the pod watch, counted as 0); "+
			"the controller's queue over the release (client-go's workqueue metrics)", len(reaction.Samples), batches-1, early),
		Values: queueBreakdown(before, after, batches),
		Goals: []stats.Goal{
			{Figure: "controller reaction p99, ms", Got: float64(reaction.P99()) / float64(time.Millisecond), Limit: 30},
			{Figure: "batch transitions counted", Got: float64(len(reaction.Samples)), Limit: float64(batches - 1), AtLeast: true},
		}}}
}

// podReady reports whether a pod's Ready condition is True.
func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// queueBreakdown is where the controller's time went between two scrapes of its /metrics: how many
// reconciles (and per batch), the mean wait of a release in the workqueue, the mean reconcile, and the
// Release status writes per batch. A mean with nothing to average is left out (the report is JSON).
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
		"status writes per batch": delta("apiserver_request_total", `resource="releases"`, `subresource="status"`, `verb="PUT"`) /
			float64(batches),
	}
	for figure, metric := range map[string]string{"mean ms in the queue": "workqueue_queue_duration_seconds",
		"mean ms of a reconcile": "workqueue_work_duration_seconds"} {
		if n := delta(metric + "_count" + q); n > 0 {
			out[figure] = delta(metric+"_sum"+q) / n * 1000
		}
	}
	return out
}
