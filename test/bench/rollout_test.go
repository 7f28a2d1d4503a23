//go:build bench

package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/test/bench/stats"
)

// cloneSet makes a CloneSet of replicas kwok pods at image and waits until they are all Ready.
func cloneSet(t *testing.T, ctx context.Context, c *cluster, ns, name string, replicas int32, image string) {
	t.Helper()
	_, err := c.kruise.AppsV1alpha1().CloneSets(ns).Create(ctx, newCloneSet(name, replicas, image), metav1.CreateOptions{})
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

// wholeRollout: 100 replicas in 10 Auto batches with interval 0, create to Succeeded, against two floors
// on the same CloneSet (a Service selects its pods, so the drain waits for their endpoints): the batched
// floor, a script that lowers the partition batch by batch the moment the previous batch's pods are
// updated and Ready (the goal's limit: the same ten rounds of kruise, the scheduler and kwok a release
// waits for, with nothing in between), and the template changed in one step (its ratio printed). The
// three take turns: one-step, batched, release, for each of BENCH_PAIRS rounds.
func wholeRollout(t *testing.T, ctx context.Context, c *cluster) []stats.Row {
	ns := c.namespace(t, ctx, "bench-rollout")
	const replicas, batches = 100, 10
	cloneSet(t, ctx, c, ns, "app", replicas, "app:0")
	service(t, ctx, c, ns, "app")
	release := stats.Series{Name: "rollout: 100 pods, 10 Auto batches"}
	oneStep := stats.Series{Name: "floor: one template patch"}
	batched := stats.Series{Name: "batched floor: 10 partition steps"}
	image := 0
	var steps map[string]float64
	for pair := 0; pair < pairs(); pair++ {
		image++
		patch := []byte(fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"app:%d"}]}}}}`, image))
		start := time.Now()
		// A merge patch replaces the container list: the one container, at the new image.
		_, err := c.kruise.AppsV1alpha1().CloneSets(ns).Patch(ctx, "app", types.MergePatchType, patch, metav1.PatchOptions{})
		require.NoError(t, err)
		oneStep.Samples = append(oneStep.Samples, waitUpdatedReady(t, ctx, c, ns, "app", replicas, fmt.Sprintf("app:%d", image)).Sub(start))

		image++
		batched.Samples = append(batched.Samples, batchedRollout(t, ctx, c, ns, "app", replicas, batches, fmt.Sprintf("app:%d", image)))
		waitUpdatedReady(t, ctx, c, ns, "app", replicas, fmt.Sprintf("app:%d", image))

		image++
		name := fmt.Sprintf("rollout-%d", pair)
		trace := traceBatches(t, ctx, c, ns, "app", fmt.Sprintf("app:%d", image), replicas, batches)
		start = time.Now()
		_, err = c.releases.ReleasesV1alpha1().Releases(ns).Create(ctx, autoRelease(name, "app", fmt.Sprintf("app:%d", image), batches), metav1.CreateOptions{})
		require.NoError(t, err)
		require.NoError(t, wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 10*time.Minute, true, func(ctx context.Context) (bool, error) {
			r, err := c.releases.ReleasesV1alpha1().Releases(ns).Get(ctx, name, metav1.GetOptions{})
			return err == nil && r.Status.Phase == v1alpha1.ReleaseSucceeded, nil
		}), "release %s did not succeed", name)
		release.Samples = append(release.Samples, time.Since(start))
		waitUpdatedReady(t, ctx, c, ns, "app", replicas, fmt.Sprintf("app:%d", image))
		steps = trace() // the last pair's
	}
	const what = "wall time from create to Succeeded, a Service selecting the pods; "
	limit := stats.Row{Scenario: "whole rollout", Measured: release, Baseline: &batched, Values: steps,
		Note: what + "batched floor: from the template patch (partition held at 90) to the last batch's pods updated and Ready, " +
			"each partition step the moment the previous batch's pods were updated and Ready (on a watch of the pods); " +
			"the steps of a release's batch, the last round's, on watches of the CloneSet and its pods"}
	limit.Goals = []stats.Goal{limit.MedianRatioGoal(1.05)}
	return []stats.Row{limit,
		{Scenario: "whole rollout", Measured: release, Baseline: &oneStep,
			Note: what + "floor: the template patched in one step (maxUnavailable 100%), until every pod is updated and Ready"},
		{Scenario: "whole rollout", Measured: batched, Baseline: &oneStep, Note: "what ten batches cost kruise, the scheduler and kwok"},
	}
}

// batchedRollout changes the CloneSet's image in batches by hand: the template with the partition holding
// all but the first batch, then each next partition the moment the previous batch's pods are updated and
// Ready, seen on a watch of the pods; it returns the time from the first patch to the last batch's pods
// updated and Ready.
func batchedRollout(t *testing.T, ctx context.Context, c *cluster, ns, name string, replicas, batches int, image string) time.Duration {
	t.Helper()
	w, err := c.kube.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{LabelSelector: "app=" + name})
	require.NoError(t, err)
	defer w.Stop()
	updated := map[string]bool{}
	count := func() int {
		n := 0
		for _, ok := range updated {
			if ok {
				n++
			}
		}
		return n
	}
	cloneSets := c.kruise.AppsV1alpha1().CloneSets(ns)
	start := time.Now()
	for k := 1; k <= batches; k++ {
		target := replicas * k / batches
		patch := fmt.Sprintf(`{"spec":{"updateStrategy":{"partition":%d}}}`, replicas-target)
		if k == 1 {
			patch = fmt.Sprintf(`{"spec":{"updateStrategy":{"partition":%d},"template":{"spec":{"containers":[{"name":"app","image":%q}]}}}}`,
				replicas-target, image)
		}
		_, err := cloneSets.Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
		require.NoError(t, err)
		deadline := time.After(5 * time.Minute)
		for count() < target {
			select {
			case ev, ok := <-w.ResultChan():
				require.True(t, ok, "the watch of the pods ended")
				pod, isPod := ev.Object.(*corev1.Pod)
				if !isPod {
					continue
				}
				updated[pod.Name] = ev.Type != watch.Deleted && pod.DeletionTimestamp == nil &&
					len(pod.Spec.Containers) > 0 && pod.Spec.Containers[0].Image == image && podReady(pod)
			case <-deadline:
				t.Fatalf("batch %d of the batched floor: %d of %d pods updated and Ready after 5m", k, count(), target)
			}
		}
	}
	return time.Since(start)
}

// service makes a Service selecting the pods of app, so that their endpoints are in EndpointSlices and a
// release drains each pod before it goes.
func service(t *testing.T, ctx context.Context, c *cluster, ns, app string) {
	t.Helper()
	_, err := c.kube.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: app},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": app},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
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
