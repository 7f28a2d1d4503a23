//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/release/plan"
	"github.com/triton-io/triton/test/e2e/framework"
)

// The end-to-end tests of every action (Update in percentages, Create, Scale out and in, Restart, Rollback)
// and of the verbs (next, cancel, resume after a failure, dryRun) on the local control plane. Each step
// checks the CloneSet (partition, replicas, template, paused, owner annotation), its pods (images,
// revisions, readiness gate, Ready) and the Release's status (phases, conditions, history, observation).

// neverGate is a readiness gate nobody sets: a pod that carries it is never Ready on its own.
const neverGate corev1.PodConditionType = "example.com/never"

// 1. Manual mode over 4 batches given as a percentage: 8 pods, batchSize 25%, no canary. Each Baked batch
// waits for `next`, with partition 8-2k and exactly 2k pods at the new image; `next` on the last finishes.
func TestUpdateManualPercentBatches(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(5*time.Minute), framework.CloneSet("nginx", 8))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	before := s.CloneSet
	oldRevision := before.Status.UpdateRevision
	releases := s.Releases

	guard := framework.WatchUpdated(t, ctx, admin, ns, "nginx:1.28")
	guard.Allowed.Store(2)
	created, err := releases.Create(ctx, framework.UpdateTo("nginx:1.28", 0, intstr.FromString("25%"), v1alpha1.ModeManual), metav1.CreateOptions{})
	require.NoError(t, err)
	require.Len(t, created.Status.Batches, 4, "25%% of 8 is 4 batches of 2")
	for i, b := range created.Status.Batches {
		assert.Equal(t, int32(i+1), b.Index)
		assert.False(t, b.Canary)
		assert.Equal(t, int32(2), b.Replicas)
		assert.Equal(t, int32(2*(i+1)), b.Target)
		assert.Equal(t, v1alpha1.BatchPending, b.Phase)
	}
	assert.Equal(t, v1alpha1.ReleasePending, created.Status.Phase)

	for k := int32(1); k <= 4; k++ {
		wantPartition := 8 - 2*k
		r := framework.WaitRelease(t, ctx, admin, ns, "nginx-update", fmt.Sprintf("batch %d Baked, partition %d observed", k, wantPartition),
			func(r *v1alpha1.Release) bool {
				return framework.BatchIs(k, v1alpha1.BatchBaked)(r) && framework.ObservedPartition(r) == wantPartition &&
					framework.ConditionIs(r, v1alpha1.ConditionAwaitingNext, metav1.ConditionTrue)
			})
		// The release: batches before k Baked, k Baked and waiting for next, the rest Pending.
		var phases []v1alpha1.BatchPhase
		for i := int32(1); i <= 4; i++ {
			if i <= k {
				phases = append(phases, v1alpha1.BatchBaked)
			} else {
				phases = append(phases, v1alpha1.BatchPending)
			}
		}
		framework.AssertBatchPhases(t, r, phases...)
		framework.AssertConditions(t, r, true, false, false, false)
		awaiting := meta.FindStatusCondition(r.Status.Conditions, v1alpha1.ConditionAwaitingNext)
		if k < 4 {
			assert.Contains(t, awaiting.Message, fmt.Sprintf("starts batch %d", k+1))
		} else {
			assert.Contains(t, awaiting.Message, "completes the release")
		}
		assert.Equal(t, oldRevision, r.Status.CloneSet.RevisionBeforeRelease)
		require.NotNil(t, r.Status.CloneSet.ReplicasBeforeRelease)
		assert.Equal(t, int32(8), *r.Status.CloneSet.ReplicasBeforeRelease)

		// The CloneSet: the new template (without a gate), partition 8-2k, owned by the release, not paused.
		cs := framework.GetCloneSet(t, ctx, admin, ns)
		assert.Equal(t, wantPartition, framework.Partition(cs))
		assert.Equal(t, int32(8), *cs.Spec.Replicas)
		assert.False(t, cs.Spec.UpdateStrategy.Paused)
		assert.Equal(t, "nginx:1.28", cs.Spec.Template.Spec.Containers[0].Image)
		assert.False(t, framework.HasReadinessGate(cs.Spec.Template.Spec, v1alpha1.ReadinessGate), "no gate in the template (invariant 10)")
		assert.Equal(t, "true", cs.Labels[v1alpha1.PullInLabel], "held: its new pods get the gate from the admission policy")
		assert.Equal(t, "nginx-update", cs.Annotations[v1alpha1.OwnerAnnotation])
		assert.NotEqual(t, oldRevision, cs.Status.UpdateRevision)

		// The pods: exactly 2k at the new revision, pulled in and Ready; the others untouched.
		pods := framework.LivePods(t, ctx, admin, ns)
		require.Len(t, pods, 8, framework.PodSummary(pods))
		updated := 0
		for i := range pods {
			p := &pods[i]
			switch p.Spec.Containers[0].Image {
			case "nginx:1.28":
				updated++
				assert.Equal(t, cs.Status.UpdateRevision, p.Labels[appsv1.ControllerRevisionHashLabelKey], p.Name)
				assert.True(t, framework.HasReadinessGate(p.Spec, v1alpha1.ReadinessGate), "%s carries the gate", p.Name)
				assert.Equal(t, corev1.ConditionTrue, framework.PodCondition(p, v1alpha1.ReadinessGate), "%s pulled in", p.Name)
			default:
				assert.Equal(t, "nginx:1.27", p.Spec.Containers[0].Image)
				assert.Equal(t, oldRevision, p.Labels[appsv1.ControllerRevisionHashLabelKey], p.Name)
				assert.False(t, framework.HasReadinessGate(p.Spec, v1alpha1.ReadinessGate), "%s is an old pod: no gate", p.Name)
			}
			assert.Equal(t, corev1.ConditionTrue, framework.PodCondition(p, corev1.PodReady), "%s Ready", p.Name)
		}
		assert.Equal(t, int(2*k), updated, "pods at nginx:1.28 after batch %d: %s", k, framework.PodSummary(pods))

		// A next for another batch or phase is refused and changes nothing.
		_, err = releases.Next(ctx, "nginx-update", &v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(k + 1)}, metav1.CreateOptions{})
		assert.True(t, apierrors.IsConflict(err), "next with a stale expectedBatch: want 409, got %v", err)
		_, err = releases.Next(ctx, "nginx-update", &v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(k), ExpectedPhase: v1alpha1.BatchSmoked}, metav1.CreateOptions{})
		assert.True(t, apierrors.IsConflict(err), "next with a wrong expectedPhase: want 409, got %v", err)

		// next moves on: the answer shows the new batch Smoking and the CloneSet's lower partition.
		if k < 4 {
			guard.Allowed.Store(2 * (k + 1))
		}
		r, err = releases.Next(ctx, "nginx-update", &v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(k), ExpectedPhase: v1alpha1.BatchBaked,
			Reason: fmt.Sprintf("batch %d ok", k)}, metav1.CreateOptions{})
		require.NoError(t, err)
		h := framework.LastHistory(r)
		assert.Equal(t, "next", h.Action)
		assert.Equal(t, "admin", h.User)
		assert.Equal(t, fmt.Sprintf("batch %d ok", k), h.Reason)
		assert.Equal(t, k, h.FromBatch)
		if k < 4 {
			assert.Equal(t, v1alpha1.ReleaseProgressing, r.Status.Phase)
			assert.Equal(t, k+1, r.Status.CurrentBatch)
			assert.Equal(t, v1alpha1.BatchSmoking, r.Status.Batches[k].Phase)
			assert.Equal(t, 8-2*(k+1), framework.ObservedPartition(r), "the answer shows the new partition")
			assert.True(t, framework.ConditionIs(r, v1alpha1.ConditionAwaitingNext, metav1.ConditionFalse))
			assert.Equal(t, 8-2*(k+1), framework.Partition(framework.GetCloneSet(t, ctx, admin, ns)), "the CloneSet moved before the answer")
			continue
		}
		assert.Equal(t, v1alpha1.ReleaseSucceeded, r.Status.Phase)
		assert.Equal(t, int32(4), r.Status.CurrentBatch)
		framework.AssertConditions(t, r, false, false, false, true)
		assert.Equal(t, int32(0), framework.ObservedPartition(r))
	}
	guard.Check(t)

	r, err := releases.Get(ctx, "nginx-update", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.ReleaseSucceeded, r.Status.Phase)
	framework.AssertBatchPhases(t, r, v1alpha1.BatchBaked, v1alpha1.BatchBaked, v1alpha1.BatchBaked, v1alpha1.BatchBaked)
	cs := framework.WaitReleased(t, ctx, admin, ns)
	assert.Equal(t, int32(0), framework.Partition(cs))
	assert.False(t, cs.Spec.UpdateStrategy.Paused)
	pods := framework.LivePods(t, ctx, admin, ns)
	assert.Equal(t, 8, framework.CountImage(pods, "nginx:1.28"), framework.PodSummary(pods))
	assert.True(t, framework.AllReady(pods, 8), framework.PodSummary(pods))
	_, err = releases.Next(ctx, "nginx-update", &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{})
	assert.True(t, apierrors.IsConflict(err), "next on a finished release: want 409, got %v", err)
}

// 2. Create a new CloneSet in batches: the release creates it with the canary's size, the canary waits
// out of traffic, then Auto mode raises the replicas batch by batch.
func TestCreateCloneSetInBatches(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(4*time.Minute))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	releases := s.Releases

	batchSize := intstr.FromInt32(2)
	rel := &v1alpha1.Release{
		ObjectMeta: metav1.ObjectMeta{Name: "nginx-create"},
		Spec: v1alpha1.ReleaseSpec{
			CloneSetName: "nginx",
			Action:       v1alpha1.ActionCreate,
			Replicas:     framework.Int32(5),
			Template: &corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "nginx"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "nginx", Image: "nginx:1.27"}}},
			},
			Strategy: v1alpha1.ReleaseStrategy{Canary: 1, BatchSize: &batchSize, Mode: v1alpha1.ModeAuto},
		},
	}
	created, err := releases.Create(ctx, rel, metav1.CreateOptions{})
	require.NoError(t, err)
	require.NotNil(t, created.Spec.Selector, "the selector defaults from the template labels")
	assert.Equal(t, map[string]string{"app": "nginx"}, created.Spec.Selector.MatchLabels)
	require.Len(t, created.Status.Batches, 3)
	for i, want := range []struct {
		canary           bool
		replicas, target int32
	}{{true, 1, 1}, {false, 2, 3}, {false, 2, 5}} {
		b := created.Status.Batches[i]
		assert.Equal(t, want.canary, b.Canary, "batch %d canary", i+1)
		assert.Equal(t, want.replicas, b.Replicas, "batch %d replicas", i+1)
		assert.Equal(t, want.target, b.Target, "batch %d target", i+1)
	}

	// The canary: the release creates the CloneSet with 1 replica; its pod is up but not in traffic.
	r := framework.WaitRelease(t, ctx, admin, ns, "nginx-create", "canary Smoked", framework.BatchIs(1, v1alpha1.BatchSmoked))
	framework.AssertConditions(t, r, true, false, false, false)
	framework.AssertBatchPhases(t, r, v1alpha1.BatchSmoked, v1alpha1.BatchPending, v1alpha1.BatchPending)
	cs := framework.GetCloneSet(t, ctx, admin, ns)
	assert.Equal(t, int32(1), *cs.Spec.Replicas)
	assert.Equal(t, "nginx-create", cs.Annotations[v1alpha1.OwnerAnnotation])
	assert.False(t, framework.HasReadinessGate(cs.Spec.Template.Spec, v1alpha1.ReadinessGate), "no gate in the created CloneSet's template (invariant 10)")
	assert.Equal(t, "true", cs.Labels[v1alpha1.PullInLabel], "held: its new pods get the gate from the admission policy")
	assert.Equal(t, "nginx:1.27", cs.Spec.Template.Spec.Containers[0].Image)
	pods := framework.LivePods(t, ctx, admin, ns)
	require.Len(t, pods, 1, framework.PodSummary(pods))
	canary := pods[0].Name
	assert.Equal(t, corev1.ConditionTrue, framework.PodCondition(&pods[0], corev1.ContainersReady))
	assert.NotEqual(t, corev1.ConditionTrue, framework.PodCondition(&pods[0], corev1.PodReady), "the canary is out of traffic before next")
	assert.NotEqual(t, corev1.ConditionTrue, framework.PodCondition(&pods[0], v1alpha1.ReadinessGate))
	framework.Holds(t, ctx, 2*time.Second, "the canary waits at Smoked, out of traffic, in Auto mode", func(ctx context.Context) (bool, string) {
		r, err := releases.Get(ctx, "nginx-create", metav1.GetOptions{})
		if err != nil {
			return true, ""
		}
		pods := framework.LivePods(t, ctx, admin, ns)
		return framework.BatchIs(1, v1alpha1.BatchSmoked)(r) && len(pods) == 1 && framework.PodCondition(&pods[0], corev1.PodReady) != corev1.ConditionTrue,
			fmt.Sprintf("release %+v; pods %s", r.Status.Batches[0], framework.PodSummary(pods))
	})

	// next pulls the canary in: Baked, and it waits again (a canary does, in both modes).
	r, err = releases.Next(ctx, "nginx-create", &v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(1), ExpectedPhase: v1alpha1.BatchSmoked}, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.BatchBaking, r.Status.Batches[0].Phase)
	r = framework.WaitRelease(t, ctx, admin, ns, "nginx-create", "canary Baked", framework.BatchIs(1, v1alpha1.BatchBaked))
	framework.AssertConditions(t, r, true, false, false, false)
	framework.WaitPodCondition(t, ctx, admin, ns, canary, corev1.PodReady, corev1.ConditionTrue)
	p, err := admin.Kube.CoreV1().Pods(ns).Get(ctx, canary, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, corev1.ConditionTrue, framework.PodCondition(p, v1alpha1.ReadinessGate), "the canary pulled in")
	assert.Equal(t, int32(1), *framework.GetCloneSet(t, ctx, admin, ns).Spec.Replicas, "no more pods before next")

	// next starts batch 2: replicas 3 at once; then Auto goes on to 5 on its own.
	r, err = releases.Next(ctx, "nginx-create", &v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(1), ExpectedPhase: v1alpha1.BatchBaked}, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(2), r.Status.CurrentBatch)
	assert.Equal(t, v1alpha1.BatchSmoking, r.Status.Batches[1].Phase)
	assert.Equal(t, int32(3), framework.ObservedReplicas(r), "the answer shows replicas 3")
	cs = framework.GetCloneSet(t, ctx, admin, ns)
	assert.Equal(t, int32(3), *cs.Spec.Replicas)
	assert.Equal(t, int32(0), framework.Partition(cs), "Create moves replicas, not a partition")

	r = framework.WaitRelease(t, ctx, admin, ns, "nginx-create", "Succeeded", framework.Succeeded)
	framework.AssertConditions(t, r, false, false, false, true)
	framework.AssertBatchPhases(t, r, v1alpha1.BatchBaked, v1alpha1.BatchBaked, v1alpha1.BatchBaked)
	assert.Equal(t, int32(3), r.Status.CurrentBatch)
	assert.Contains(t, framework.HistoryActions(r), "next,smoked,baked,advance,smoked,baked", "batch 3 started on its own")
	cs = framework.WaitReleased(t, ctx, admin, ns)
	assert.Equal(t, int32(5), *cs.Spec.Replicas)
	assert.False(t, framework.HasReadinessGate(cs.Spec.Template.Spec, v1alpha1.ReadinessGate), "no gate in the template once the release has ended")
	_, labeled := cs.Labels[v1alpha1.PullInLabel]
	assert.False(t, labeled, "no pull-in label once the release has ended")
	pods = framework.WaitPods(t, ctx, admin, ns, "5 pods Ready", func(pods []corev1.Pod) bool { return framework.AllReady(pods, 5) })
	assert.Contains(t, framework.PodNames(pods), canary)
	for i := range pods {
		assert.Equal(t, "nginx:1.27", pods[i].Spec.Containers[0].Image)
		assert.Equal(t, corev1.ConditionTrue, framework.PodCondition(&pods[i], v1alpha1.ReadinessGate), "%s pulled in", pods[i].Name)
	}
}

// 3. Scale out 2 -> 5 by 2, Manual: replicas 4, next, 5, next, Succeeded. The old pods stay.
func TestScaleOutInBatches(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(4*time.Minute), framework.CloneSet("nginx", 2))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	original := framework.PodNames(framework.LivePods(t, ctx, admin, ns))
	releases := s.Releases

	// Not in the same second as the pods (TestScaleOutIgnoresPodsOfTheSameSecond is about that).
	afterTheSecondOf(t, ctx, framework.LivePods(t, ctx, admin, ns))
	created, err := releases.Create(ctx, framework.ScaleTo(5, intstr.FromInt32(2)), metav1.CreateOptions{})
	require.NoError(t, err)
	require.Len(t, created.Status.Batches, 2)
	assert.Equal(t, []int32{2, 1}, []int32{created.Status.Batches[0].Replicas, created.Status.Batches[1].Replicas})
	assert.Equal(t, []int32{2, 3}, []int32{created.Status.Batches[0].Target, created.Status.Batches[1].Target})

	for k, replicas := range []int32{4, 5} {
		batch := int32(k + 1)
		r := framework.WaitRelease(t, ctx, admin, ns, "nginx-scale", fmt.Sprintf("batch %d Baked", batch), func(r *v1alpha1.Release) bool {
			return framework.BatchIs(batch, v1alpha1.BatchBaked)(r) && framework.ObservedReplicas(r) == replicas
		})
		framework.AssertConditions(t, r, true, false, false, false)
		cs := framework.GetCloneSet(t, ctx, admin, ns)
		assert.Equal(t, replicas, *cs.Spec.Replicas)
		assert.Equal(t, "nginx-scale", cs.Annotations[v1alpha1.OwnerAnnotation])
		assert.Equal(t, "nginx:1.27", cs.Spec.Template.Spec.Containers[0].Image, "Scale keeps the template")
		pods := framework.LivePods(t, ctx, admin, ns)
		assert.True(t, framework.AllReady(pods, int(replicas)), "batch %d Baked: %d pods Ready: %s", batch, replicas, framework.PodSummary(pods))
		assert.Equal(t, int(replicas), framework.CountImage(pods, "nginx:1.27"))
		assert.Subset(t, framework.PodNames(pods), original, "the pods from before the release stay")
		for i := range pods {
			assert.Equal(t, cs.Status.UpdateRevision, pods[i].Labels[appsv1.ControllerRevisionHashLabelKey], "one revision throughout")
			if slices.Contains(original, pods[i].Name) {
				assert.Equal(t, corev1.ConditionUnknown, framework.PodCondition(&pods[i], v1alpha1.ReadinessGate), "%s is not the release's: not pulled in", pods[i].Name)
			}
		}
		// Manual: nothing more happens until next.
		framework.Holds(t, ctx, time.Second, "a Baked batch waits for next", func(ctx context.Context) (bool, string) {
			cs := framework.GetCloneSet(t, ctx, admin, ns)
			return *cs.Spec.Replicas == replicas, fmt.Sprintf("replicas %d", *cs.Spec.Replicas)
		})

		r, err = releases.Next(ctx, "nginx-scale", &v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(batch)}, metav1.CreateOptions{})
		require.NoError(t, err)
		if batch == 1 {
			assert.Equal(t, int32(2), r.Status.CurrentBatch)
			assert.Equal(t, int32(5), framework.ObservedReplicas(r), "the answer shows replicas 5")
			assert.Equal(t, int32(5), *framework.GetCloneSet(t, ctx, admin, ns).Spec.Replicas)
		} else {
			assert.Equal(t, v1alpha1.ReleaseSucceeded, r.Status.Phase)
			framework.AssertConditions(t, r, false, false, false, true)
		}
	}
	cs := framework.WaitReleased(t, ctx, admin, ns)
	assert.Equal(t, int32(5), *cs.Spec.Replicas)
	pods := framework.WaitPods(t, ctx, admin, ns, "5 pods Ready", func(pods []corev1.Pod) bool { return framework.AllReady(pods, 5) })
	assert.Subset(t, framework.PodNames(pods), original)
}

// afterTheSecondOf waits until the clock is past the second in which the newest of pods was created.
func afterTheSecondOf(t *testing.T, ctx context.Context, pods []corev1.Pod) {
	t.Helper()
	var newest time.Time
	for _, p := range pods {
		if p.CreationTimestamp.After(newest) {
			newest = p.CreationTimestamp.Time
		}
	}
	framework.WaitUntil(t, ctx, "the clock past the second of "+newest.String(), func(context.Context) (struct{}, bool, string) {
		return struct{}{}, time.Now().Truncate(time.Second).After(newest), ""
	}, framework.Every(50*time.Millisecond), framework.Within(5*time.Second))
}

// A scale-out release's pods are the ones it brings up. The pods from before are not counted, not pulled
// in, and do not Bake a batch, even when they were created in the same second as the release
// (creationTimestamp has a resolution of one second).
func TestScaleOutIgnoresPodsOfTheSameSecond(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t)
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	// Start early in a second, so that the CloneSet's pods and the release are likely to share it.
	framework.WaitUntil(t, ctx, "the first 100 ms of a second", func(context.Context) (struct{}, bool, string) {
		return struct{}{}, time.Now().Nanosecond() < int(100*time.Millisecond), ""
	}, framework.Every(10*time.Millisecond), framework.Within(5*time.Second))
	framework.Nginx(t, ctx, admin, ns, 2)
	original := framework.LivePods(t, ctx, admin, ns)
	releases := s.Releases
	created, err := releases.Create(ctx, framework.ScaleTo(4, intstr.FromInt32(2)), metav1.CreateOptions{})
	require.NoError(t, err)
	sameSecond := false
	for _, p := range original {
		sameSecond = sameSecond || p.CreationTimestamp.Equal(&created.CreationTimestamp)
	}
	if !sameSecond {
		t.Skipf("the release (%s) was not created in the same second as the pods (%s): nothing to check",
			created.CreationTimestamp, original[len(original)-1].CreationTimestamp)
	}

	r := framework.WaitRelease(t, ctx, admin, ns, "nginx-scale", "batch 1 Baked", framework.BatchIs(1, v1alpha1.BatchBaked))
	pods := framework.LivePods(t, ctx, admin, ns)
	assert.True(t, framework.AllReady(pods, 4), "batch 1 (2 new pods) is Baked only once they are Ready: %s; history %s",
		framework.PodSummary(pods), framework.HistoryActions(r))
	for i := range original {
		p, err := admin.Kube.CoreV1().Pods(ns).Get(ctx, original[i].Name, metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, corev1.ConditionUnknown, framework.PodCondition(p, v1alpha1.ReadinessGate), "%s is from before the release: not pulled in", p.Name)
	}
}

// 4. Scale in 5 -> 2 by 2 with podsToDelete: the named pods go in the first batch, then one more.
func TestScaleInDeletesNamedPodsFirst(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(4*time.Minute), framework.CloneSet("nginx", 5))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	original := framework.PodNames(framework.LivePods(t, ctx, admin, ns))
	require.Len(t, original, 5)
	named := []string{original[1], original[3]}
	var kept []string
	for _, n := range original {
		if n != named[0] && n != named[1] {
			kept = append(kept, n)
		}
	}
	releases := s.Releases

	// Every pod event seen: the named pods, once gone, never come back.
	seenAfterGone := make(chan string, 10)
	watcher, err := admin.Kube.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{LabelSelector: "app=nginx"})
	require.NoError(t, err)
	defer watcher.Stop()
	go func() {
		gone := map[string]bool{}
		for ev := range watcher.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			if ev.Type == watch.Deleted {
				gone[p.Name] = true
			} else if gone[p.Name] {
				select {
				case seenAfterGone <- p.Name:
				default:
				}
			}
		}
	}()

	created, err := releases.Create(ctx, framework.ScaleTo(2, intstr.FromInt32(2), named...), metav1.CreateOptions{})
	require.NoError(t, err)
	require.Len(t, created.Status.Batches, 2)
	assert.Equal(t, []int32{2, 3}, []int32{created.Status.Batches[0].Target, created.Status.Batches[1].Target})

	// Batch 1: replicas 3, and the pods removed are exactly the named ones.
	r := framework.WaitRelease(t, ctx, admin, ns, "nginx-scale", "batch 1 Baked", func(r *v1alpha1.Release) bool {
		return framework.BatchIs(1, v1alpha1.BatchBaked)(r) && framework.ObservedReplicas(r) == 3
	})
	framework.AssertConditions(t, r, true, false, false, false)
	cs := framework.GetCloneSet(t, ctx, admin, ns)
	assert.Equal(t, int32(3), *cs.Spec.Replicas)
	assert.Subset(t, named, cs.Spec.ScaleStrategy.PodsToDelete, "only the named pods are given to the CloneSet")
	pods := framework.WaitPods(t, ctx, admin, ns, "the named pods gone", func(pods []corev1.Pod) bool { return len(pods) == 3 })
	assert.Equal(t, kept, framework.PodNames(pods), "batch 1 removed exactly the named pods")
	assert.True(t, framework.AllReady(pods, 3), framework.PodSummary(pods))
	framework.Holds(t, ctx, time.Second, "a Baked scale-in batch waits for next", func(ctx context.Context) (bool, string) {
		pods := framework.LivePods(t, ctx, admin, ns)
		return len(pods) == 3, framework.PodSummary(pods)
	})

	r, err = releases.Next(ctx, "nginx-scale", &v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(1), ExpectedPhase: v1alpha1.BatchBaked}, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(2), r.Status.CurrentBatch)
	assert.Equal(t, int32(2), framework.ObservedReplicas(r))

	// Batch 2: one more pod, one of the kept ones.
	r = framework.WaitRelease(t, ctx, admin, ns, "nginx-scale", "batch 2 Baked", framework.BatchIs(2, v1alpha1.BatchBaked))
	framework.AssertConditions(t, r, true, false, false, false)
	pods = framework.WaitPods(t, ctx, admin, ns, "2 pods left", func(pods []corev1.Pod) bool { return len(pods) == 2 })
	assert.Subset(t, kept, framework.PodNames(pods), "no pod was created: the 2 left are among those kept in batch 1")
	assert.True(t, framework.AllReady(pods, 2), framework.PodSummary(pods))

	r, err = releases.Next(ctx, "nginx-scale", &v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(2)}, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.ReleaseSucceeded, r.Status.Phase)
	framework.AssertConditions(t, r, false, false, false, true)
	cs = framework.WaitReleased(t, ctx, admin, ns)
	assert.Equal(t, int32(2), *cs.Spec.Replicas)
	pods = framework.LivePods(t, ctx, admin, ns)
	assert.Len(t, pods, 2)
	for _, n := range named {
		assert.NotContains(t, framework.PodNames(pods), n)
		_, err := admin.Kube.CoreV1().Pods(ns).Get(ctx, n, metav1.GetOptions{})
		assert.True(t, apierrors.IsNotFound(err), "pod %s: want NotFound, got %v", n, err)
	}
	select {
	case n := <-seenAfterGone:
		t.Errorf("pod %s came back after it was deleted", n)
	default:
	}
}

// 5. Restart every pod, one at a time, Auto, no pull-in: every pod is replaced.
func TestRestartReplacesEveryPod(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(4*time.Minute), framework.CloneSet("nginx", 3))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	before := s.CloneSet
	original := framework.PodNames(framework.LivePods(t, ctx, admin, ns))
	releases := s.Releases

	// The partition is only ever lowered while the release runs.
	var partitions []int32
	var mu sync.Mutex
	sampler, stopSampler := context.WithCancel(ctx)
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		// Sampled until stopped: the read is never done.
		framework.Poll(sampler, func(ctx context.Context) (struct{}, bool, string) {
			cs, err := admin.Kruise.AppsV1alpha1().CloneSets(ns).Get(ctx, "nginx", metav1.GetOptions{})
			if err != nil || cs.Annotations[v1alpha1.OwnerAnnotation] == "" || cs.Spec.UpdateStrategy.Partition == nil {
				return struct{}{}, false, ""
			}
			mu.Lock()
			if p := framework.Partition(cs); len(partitions) == 0 || partitions[len(partitions)-1] != p {
				partitions = append(partitions, p)
			}
			mu.Unlock()
			return struct{}{}, false, ""
		}, framework.Every(100*time.Millisecond))
	}()

	batchSize := intstr.FromInt32(1)
	created, err := releases.Create(ctx, &v1alpha1.Release{
		ObjectMeta: metav1.ObjectMeta{Name: "nginx-restart"},
		Spec: v1alpha1.ReleaseSpec{
			CloneSetName: "nginx",
			Action:       v1alpha1.ActionRestart,
			Strategy:     v1alpha1.ReleaseStrategy{BatchSize: &batchSize, Mode: v1alpha1.ModeAuto, NoPullIn: true},
		},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	require.Len(t, created.Status.Batches, 3)

	r := framework.WaitRelease(t, ctx, admin, ns, "nginx-restart", "Succeeded", framework.Succeeded)
	stopSampler()
	<-sampled
	framework.AssertConditions(t, r, false, false, false, true)
	framework.AssertBatchPhases(t, r, v1alpha1.BatchBaked, v1alpha1.BatchBaked, v1alpha1.BatchBaked)
	assert.Equal(t, "start,smoked,baked,advance,smoked,baked,advance,smoked,baked", framework.HistoryActions(r))
	assert.Equal(t, before.Status.UpdateRevision, r.Status.CloneSet.RevisionBeforeRelease)
	mu.Lock()
	for i := 1; i < len(partitions); i++ {
		assert.Less(t, partitions[i], partitions[i-1], "the partition went up: %v", partitions)
	}
	mu.Unlock()

	cs := framework.WaitReleased(t, ctx, admin, ns)
	restartedAt := cs.Spec.Template.Annotations[v1alpha1.RestartedAtAnnotation]
	assert.Equal(t, created.CreationTimestamp.UTC().Format(time.RFC3339), restartedAt, "the template's restart annotation")
	assert.Equal(t, int32(0), framework.Partition(cs))
	assert.False(t, framework.HasReadinessGate(cs.Spec.Template.Spec, v1alpha1.ReadinessGate), "noPullIn: no gate in the template")
	assert.Equal(t, "nginx:1.27", cs.Spec.Template.Spec.Containers[0].Image)
	assert.NotEqual(t, before.Status.UpdateRevision, cs.Status.UpdateRevision)
	pods := framework.WaitPods(t, ctx, admin, ns, "3 restarted pods Ready", func(pods []corev1.Pod) bool {
		return framework.AllReady(pods, 3)
	})
	for i := range pods {
		p := &pods[i]
		assert.NotContains(t, original, p.Name, "%s is a pod from before the restart", p.Name)
		assert.Equal(t, restartedAt, p.Annotations[v1alpha1.RestartedAtAnnotation], p.Name)
		assert.Equal(t, cs.Status.UpdateRevision, p.Labels[appsv1.ControllerRevisionHashLabelKey], p.Name)
		assert.Equal(t, "nginx:1.27", p.Spec.Containers[0].Image)
	}
}

// 6. Rollback without toRevision: it defaults to the revision before the current, and the pods go back.
func TestRollbackToThePreviousRevision(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(4*time.Minute), framework.CloneSet("nginx", 3))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	first := s.CloneSet.Status.UpdateRevision
	releases := s.Releases

	// An update by hand to nginx:1.28.
	_, err := admin.Kruise.AppsV1alpha1().CloneSets(ns).Patch(ctx, "nginx", types.MergePatchType,
		[]byte(`{"spec":{"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:1.28"}]}}}}`), metav1.PatchOptions{})
	require.NoError(t, err)
	cs := framework.WaitCloneSetIs(t, ctx, admin, ns, "updated to nginx:1.28", func(cs *kruiseappsv1alpha1.CloneSet) bool {
		s := cs.Status
		return s.ObservedGeneration == cs.Generation && s.UpdateRevision != first && s.UpdatedReadyReplicas == 3 &&
			s.ReadyReplicas == 3 && s.Replicas == 3
	})
	second := cs.Status.UpdateRevision
	framework.WaitPods(t, ctx, admin, ns, "3 pods at nginx:1.28", func(pods []corev1.Pod) bool {
		return framework.AllReady(pods, 3) && framework.CountImage(pods, "nginx:1.28") == 3
	})

	batchSize := intstr.FromString("100%")
	created, err := releases.Create(ctx, &v1alpha1.Release{
		ObjectMeta: metav1.ObjectMeta{Name: "nginx-rollback"},
		Spec: v1alpha1.ReleaseSpec{
			CloneSetName: "nginx",
			Action:       v1alpha1.ActionRollback,
			Strategy:     v1alpha1.ReleaseStrategy{BatchSize: &batchSize, NoPullIn: true},
		},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, first, created.Spec.ToRevision, "toRevision defaults to the revision before the current")
	assert.Equal(t, v1alpha1.ModeManual, created.Spec.Strategy.Mode)
	require.Len(t, created.Status.Batches, 1)
	assert.Equal(t, int32(3), created.Status.Batches[0].Target)
	stored, err := releases.Get(ctx, "nginx-rollback", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, first, stored.Spec.ToRevision, "the default is stored")

	r := framework.WaitRelease(t, ctx, admin, ns, "nginx-rollback", "batch 1 Baked", func(r *v1alpha1.Release) bool {
		return framework.BatchIs(1, v1alpha1.BatchBaked)(r) && framework.ObservedPartition(r) == 0
	})
	framework.AssertConditions(t, r, true, false, false, false)
	assert.Equal(t, second, r.Status.CloneSet.RevisionBeforeRelease)
	cs = framework.GetCloneSet(t, ctx, admin, ns)
	assert.Equal(t, "nginx:1.27", cs.Spec.Template.Spec.Containers[0].Image, "the template of the first revision")
	assert.False(t, framework.HasReadinessGate(cs.Spec.Template.Spec, v1alpha1.ReadinessGate))
	assert.Equal(t, int32(0), framework.Partition(cs))
	assert.Equal(t, "nginx-rollback", cs.Annotations[v1alpha1.OwnerAnnotation])
	pods := framework.LivePods(t, ctx, admin, ns)
	assert.True(t, framework.AllReady(pods, 3), framework.PodSummary(pods))
	assert.Equal(t, 3, framework.CountImage(pods, "nginx:1.27"), framework.PodSummary(pods))
	for i := range pods {
		assert.Equal(t, cs.Status.UpdateRevision, pods[i].Labels[appsv1.ControllerRevisionHashLabelKey])
	}

	r, err = releases.Next(ctx, "nginx-rollback", &v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(1), ExpectedPhase: v1alpha1.BatchBaked}, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.ReleaseSucceeded, r.Status.Phase)
	framework.AssertConditions(t, r, false, false, false, true)
	cs = framework.WaitReleased(t, ctx, admin, ns)
	assert.Equal(t, "nginx:1.27", cs.Spec.Template.Spec.Containers[0].Image)
	cs = framework.WaitCloneSetIs(t, ctx, admin, ns, "all pods at the rolled-back revision", func(cs *kruiseappsv1alpha1.CloneSet) bool {
		return cs.Status.UpdatedReadyReplicas == 3 && cs.Status.CurrentRevision == cs.Status.UpdateRevision
	})
	assert.Equal(t, first, cs.Status.UpdateRevision, "the CloneSet is back at its first revision")
	pods = framework.LivePods(t, ctx, admin, ns)
	assert.Equal(t, 3, framework.CountImage(pods, "nginx:1.27"), framework.PodSummary(pods))
}

// 7. Cancel mid-release: the CloneSet goes back to its template and size from before the release.
func TestCancelMidRelease(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(4*time.Minute), framework.CloneSet("nginx", 4),
		framework.Release(framework.UpdateTo("nginx:1.28", 1, intstr.FromInt32(1), v1alpha1.ModeManual)), framework.Phase(v1alpha1.BatchSmoked))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	before := s.CloneSet
	releases := s.Releases

	_, err := releases.Next(ctx, "nginx-update", &v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(1), ExpectedPhase: v1alpha1.BatchSmoked}, metav1.CreateOptions{})
	require.NoError(t, err)
	framework.WaitRelease(t, ctx, admin, ns, "nginx-update", "canary Baked", framework.BatchIs(1, v1alpha1.BatchBaked))
	r, err := releases.Next(ctx, "nginx-update", &v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(1), ExpectedPhase: v1alpha1.BatchBaked}, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(2), r.Status.CurrentBatch)
	assert.Equal(t, int32(2), framework.ObservedPartition(r))
	// Batch 2 has started: its pod is at the new image.
	framework.WaitPods(t, ctx, admin, ns, "2 pods at nginx:1.28", func(pods []corev1.Pod) bool {
		return len(pods) == 4 && framework.CountImage(pods, "nginx:1.28") == 2
	})

	r, err = releases.Cancel(ctx, "nginx-update", &v1alpha1.ReleaseRequest{Reason: "bad canary"}, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.ReleaseCanceled, r.Status.Phase)
	framework.AssertConditions(t, r, false, false, false, false)
	h := framework.LastHistory(r)
	assert.Equal(t, "cancel", h.Action)
	assert.Equal(t, "admin", h.User)
	assert.Equal(t, "bad canary", h.Reason)
	assert.Equal(t, int32(0), framework.ObservedPartition(r), "the answer shows partition 0")
	assert.False(t, r.Status.CloneSet.Paused)

	// The CloneSet has its old template back before the answer; the release holds it (owner annotation and
	// hooks) until its pods have left traffic, then lets go of it.
	cs := framework.GetCloneSet(t, ctx, admin, ns)
	assert.Equal(t, "nginx:1.27", cs.Spec.Template.Spec.Containers[0].Image)
	assert.False(t, framework.HasReadinessGate(cs.Spec.Template.Spec, v1alpha1.ReadinessGate), "the template from before the release has no gate")
	assert.Equal(t, int32(0), framework.Partition(cs))
	assert.Equal(t, int32(4), *cs.Spec.Replicas)
	assert.False(t, cs.Spec.UpdateStrategy.Paused)
	r = framework.WaitRelease(t, ctx, admin, ns, "nginx-update", "Reverted", func(r *v1alpha1.Release) bool {
		return framework.ConditionIs(r, v1alpha1.ConditionReverted, metav1.ConditionTrue)
	})
	framework.AssertConditions(t, r, false, false, false, false)
	cs = framework.WaitReleased(t, ctx, admin, ns)
	assert.Empty(t, cs.Spec.Lifecycle, "the hooks are gone once the release let go")

	// Eventually every pod is at nginx:1.27 and Ready again, at the revision from before.
	pods := framework.WaitPods(t, ctx, admin, ns, "4 pods at nginx:1.27, Ready", func(pods []corev1.Pod) bool {
		return framework.AllReady(pods, 4) && framework.CountImage(pods, "nginx:1.27") == 4
	})
	for i := range pods {
		assert.Equal(t, before.Status.UpdateRevision, pods[i].Labels[appsv1.ControllerRevisionHashLabelKey], pods[i].Name)
	}
	framework.WaitCloneSetIs(t, ctx, admin, ns, "back at the revision from before", func(cs *kruiseappsv1alpha1.CloneSet) bool {
		return cs.Status.UpdateRevision == before.Status.UpdateRevision && cs.Status.UpdatedReadyReplicas == 4
	})
	framework.Holds(t, ctx, 2*time.Second, "a canceled release leaves the CloneSet alone", func(ctx context.Context) (bool, string) {
		cs := framework.GetCloneSet(t, ctx, admin, ns)
		_, owned := cs.Annotations[v1alpha1.OwnerAnnotation]
		return cs.Spec.Template.Spec.Containers[0].Image == "nginx:1.27" && framework.Partition(cs) == 0 && !owned,
			fmt.Sprintf("image %s partition %d annotations %v", cs.Spec.Template.Spec.Containers[0].Image, framework.Partition(cs), cs.Annotations)
	})

	// Every verb is refused on a canceled release; the release stays Canceled.
	for name, call := range map[string]func() error{
		"next": func() error {
			_, err := releases.Next(ctx, "nginx-update", &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{})
			return err
		},
		"pause": func() error {
			_, err := releases.Pause(ctx, "nginx-update", &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{})
			return err
		},
		"resume": func() error {
			_, err := releases.Resume(ctx, "nginx-update", &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{})
			return err
		},
		"cancel": func() error {
			_, err := releases.Cancel(ctx, "nginx-update", &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{})
			return err
		},
	} {
		err := call()
		assert.True(t, apierrors.IsConflict(err), "%s on a canceled release: want 409, got %v", name, err)
	}
	r, err = releases.Get(ctx, "nginx-update", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.ReleaseCanceled, r.Status.Phase)
	assert.Equal(t, "cancel", framework.LastHistory(r).Action)
}

// 8. A batch not Baked within progressDeadlineSeconds fails the release and pauses the CloneSet, held
// where it is; once the pod is fixed, resume retries the batch, which then goes on to Baked.
func TestDeadlineFailsThenResumeRetries(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(4*time.Minute), framework.CloneSet("nginx", 2))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	releases := s.Releases

	rel := framework.UpdateTo("nginx:1.28", 0, intstr.FromInt32(1), v1alpha1.ModeManual)
	rel.Spec.Template.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: neverGate}}
	deadline := int32(5)
	rel.Spec.Strategy.ProgressDeadlineSeconds = &deadline
	created, err := releases.Create(ctx, rel, metav1.CreateOptions{})
	require.NoError(t, err)
	require.Len(t, created.Status.Batches, 2)

	// The pod of batch 1 comes up and is pulled in, but never Ready: the release fails.
	r := framework.WaitRelease(t, ctx, admin, ns, "nginx-update", "Failed", func(r *v1alpha1.Release) bool {
		return r.Status.Phase == v1alpha1.ReleaseFailed && r.Status.CloneSet != nil && r.Status.CloneSet.Paused
	})
	framework.AssertConditions(t, r, false, false, true, false)
	failed := meta.FindStatusCondition(r.Status.Conditions, v1alpha1.ConditionFailed)
	assert.Contains(t, failed.Message, "within 5s", "the Failed condition names the deadline")
	assert.Contains(t, failed.Message, "batch 1")
	assert.Equal(t, int32(1), r.Status.CurrentBatch)
	framework.AssertBatchPhases(t, r, v1alpha1.BatchFailed, v1alpha1.BatchPending)
	h := framework.LastHistory(r)
	assert.Equal(t, "fail", h.Action)
	assert.Equal(t, plan.ControllerUser, h.User)
	require.NotNil(t, r.Status.CloneSet.HeldAt)
	assert.Equal(t, int32(1), *r.Status.CloneSet.HeldAt)
	failedAt := h.Time

	cs := framework.GetCloneSet(t, ctx, admin, ns)
	assert.True(t, cs.Spec.UpdateStrategy.Paused, "a failed release pauses the CloneSet")
	assert.Equal(t, int32(1), framework.Partition(cs))
	assert.Equal(t, "nginx-update", cs.Annotations[v1alpha1.OwnerAnnotation])
	pods := framework.LivePods(t, ctx, admin, ns)
	require.Len(t, pods, 2, framework.PodSummary(pods))
	var stuck string
	for i := range pods {
		if pods[i].Spec.Containers[0].Image == "nginx:1.28" {
			stuck = pods[i].Name
			assert.True(t, framework.HasReadinessGate(pods[i].Spec, neverGate))
			assert.Equal(t, corev1.ConditionTrue, framework.PodCondition(&pods[i], corev1.ContainersReady))
			assert.Equal(t, corev1.ConditionTrue, framework.PodCondition(&pods[i], v1alpha1.ReadinessGate), "pulled in (batch 1 was Baking)")
			assert.NotEqual(t, corev1.ConditionTrue, framework.PodCondition(&pods[i], corev1.PodReady))
		}
	}
	require.NotEmpty(t, stuck, "one pod at nginx:1.28: %s", framework.PodSummary(pods))

	_, err = releases.Next(ctx, "nginx-update", &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{})
	require.True(t, apierrors.IsConflict(err), "next on a failed release: want 409, got %v", err)
	assert.Contains(t, err.Error(), "resume")
	_, err = releases.Pause(ctx, "nginx-update", &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{})
	assert.True(t, apierrors.IsConflict(err), "pause on a failed release: want 409, got %v", err)

	// The pod is fixed: it becomes Ready. The release stays Failed and the CloneSet held until resume.
	framework.SetPodCondition(t, ctx, admin, ns, stuck, neverGate, corev1.ConditionTrue)
	framework.WaitPodCondition(t, ctx, admin, ns, stuck, corev1.PodReady, corev1.ConditionTrue)
	framework.Holds(t, ctx, 2*time.Second, "a failed release stays Failed with its CloneSet paused and held", func(ctx context.Context) (bool, string) {
		r, err := releases.Get(ctx, "nginx-update", metav1.GetOptions{})
		if err != nil {
			return true, ""
		}
		cs := framework.GetCloneSet(t, ctx, admin, ns)
		return r.Status.Phase == v1alpha1.ReleaseFailed && cs.Spec.UpdateStrategy.Paused && framework.Partition(cs) == 1,
			fmt.Sprintf("release %s; CloneSet paused %v partition %d", r.Status.Phase, cs.Spec.UpdateStrategy.Paused, framework.Partition(cs))
	})

	r, err = releases.Resume(ctx, "nginx-update", &v1alpha1.ReleaseRequest{Reason: "fixed"}, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.ReleaseProgressing, r.Status.Phase)
	assert.Equal(t, int32(1), r.Status.CurrentBatch)
	assert.Equal(t, v1alpha1.BatchSmoking, r.Status.Batches[0].Phase, "resume restarts the batch")
	require.NotNil(t, r.Status.Batches[0].StartedAt)
	assert.False(t, r.Status.Batches[0].StartedAt.Before(&failedAt), "the batch's deadline clock restarts")
	assert.False(t, r.Status.CloneSet.Paused, "the answer shows the CloneSet resumed")
	assert.Nil(t, r.Status.CloneSet.HeldAt)
	assert.Equal(t, "resume", framework.LastHistory(r).Action)
	framework.AssertConditions(t, r, false, false, false, false)
	cs = framework.GetCloneSet(t, ctx, admin, ns)
	assert.False(t, cs.Spec.UpdateStrategy.Paused)
	assert.Equal(t, int32(1), framework.Partition(cs))

	r = framework.WaitRelease(t, ctx, admin, ns, "nginx-update", "batch 1 Baked after resume", framework.BatchIs(1, v1alpha1.BatchBaked))
	framework.AssertConditions(t, r, true, false, false, false)
	assert.Contains(t, framework.HistoryActions(r), "fail,resume,smoked,baked")

	// Batch 2: with more time (the pace may change while a release runs), fixed by hand too.
	_, err = releases.Patch(ctx, "nginx-update", types.MergePatchType, []byte(`{"spec":{"strategy":{"progressDeadlineSeconds":300}}}`), metav1.PatchOptions{})
	require.NoError(t, err)
	r, err = releases.Next(ctx, "nginx-update", &v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(1), ExpectedPhase: v1alpha1.BatchBaked}, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(0), framework.ObservedPartition(r))
	pods = framework.WaitPods(t, ctx, admin, ns, "2 pods at nginx:1.28", func(pods []corev1.Pod) bool {
		return len(pods) == 2 && framework.CountImage(pods, "nginx:1.28") == 2
	})
	framework.WaitRelease(t, ctx, admin, ns, "nginx-update", "batch 2 Baking", framework.BatchIs(2, v1alpha1.BatchBaking))
	for i := range pods {
		if pods[i].Name != stuck {
			framework.SetPodCondition(t, ctx, admin, ns, pods[i].Name, neverGate, corev1.ConditionTrue)
		}
	}
	framework.WaitRelease(t, ctx, admin, ns, "nginx-update", "batch 2 Baked", framework.BatchIs(2, v1alpha1.BatchBaked))
	r, err = releases.Next(ctx, "nginx-update", &v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(2)}, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.ReleaseSucceeded, r.Status.Phase)
	cs = framework.WaitReleased(t, ctx, admin, ns)
	assert.Equal(t, int32(0), framework.Partition(cs))
	assert.False(t, cs.Spec.UpdateStrategy.Paused)
}

// 9. dryRun=All on every verb answers what it would do and changes neither the Release nor the CloneSet.
func TestDryRunActionsChangeNothing(t *testing.T) {
	t.Parallel()
	// Canary Smoked: a dry next would pull it in, a dry pause pause, a dry cancel cancel.
	s := framework.Setup(t, framework.Timeout(4*time.Minute), framework.CloneSet("nginx", 2),
		framework.Release(framework.UpdateTo("nginx:1.28", 1, intstr.FromInt32(1), v1alpha1.ModeManual)), framework.Phase(v1alpha1.BatchSmoked))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	releases := s.Releases
	dry := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}

	type snapshot struct {
		release, cloneSet string
		phase             v1alpha1.ReleasePhase
		batch             int32
		batchPhase        v1alpha1.BatchPhase
		history           int
		partition         int32
		paused            bool
		pods              string
	}
	take := func() snapshot {
		r, err := releases.Get(ctx, "nginx-update", metav1.GetOptions{})
		require.NoError(t, err)
		cs := framework.GetCloneSet(t, ctx, admin, ns)
		s := snapshot{release: r.ResourceVersion, cloneSet: cs.ResourceVersion, phase: r.Status.Phase, batch: r.Status.CurrentBatch,
			history: len(r.Status.History), partition: framework.Partition(cs), paused: cs.Spec.UpdateStrategy.Paused,
			pods: strings.Join(framework.PodNames(framework.LivePods(t, ctx, admin, ns)), ",")}
		if r.Status.CurrentBatch > 0 {
			s.batchPhase = r.Status.Batches[r.Status.CurrentBatch-1].Phase
		}
		return s
	}
	// settled waits until the release, the CloneSet and the pods stop changing on their own (a moment
	// after a transition the controller still records what it observed, kruise its status).
	settled := func() snapshot {
		t.Helper()
		var last snapshot
		stable := 0
		return framework.WaitUntil(t, ctx, "the release and the CloneSet to settle", func(context.Context) (snapshot, bool, string) {
			s := take()
			if s == last {
				stable++
			} else {
				stable = 0
			}
			last = s
			return s, stable >= 3, fmt.Sprintf("%+v", s)
		}, framework.Every(300*time.Millisecond), framework.Within(time.Minute))
	}
	unchanged := func(verb string, before snapshot) {
		t.Helper()
		framework.Holds(t, ctx, time.Second, verb+" with dryRun=All changes nothing", func(ctx context.Context) (bool, string) {
			now := take()
			return now == before, fmt.Sprintf("before %+v, after %+v", before, now)
		})
	}

	before := settled()
	assert.Equal(t, int32(1), before.partition)

	r, err := releases.Next(ctx, "nginx-update", &v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(1)}, dry)
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.BatchBaking, r.Status.Batches[0].Phase, "the answer shows what next would do")
	assert.Equal(t, "next", framework.LastHistory(r).Action)
	unchanged("next (pull-in)", before)

	r, err = releases.Pause(ctx, "nginx-update", &v1alpha1.ReleaseRequest{}, dry)
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.ReleasePaused, r.Status.Phase)
	assert.True(t, r.Status.CloneSet.Paused, "the answer shows the CloneSet paused")
	unchanged("pause", before)

	r, err = releases.Cancel(ctx, "nginx-update", &v1alpha1.ReleaseRequest{}, dry)
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.ReleaseCanceled, r.Status.Phase)
	assert.Equal(t, int32(0), framework.ObservedPartition(r), "the answer shows the CloneSet back at partition 0")
	unchanged("cancel", before)

	// Paused for real: a dry resume.
	r, err = releases.Pause(ctx, "nginx-update", &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{})
	require.NoError(t, err)
	require.Equal(t, v1alpha1.ReleasePaused, r.Status.Phase)
	before = settled()
	assert.True(t, before.paused)
	r, err = releases.Resume(ctx, "nginx-update", &v1alpha1.ReleaseRequest{}, dry)
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.ReleaseProgressing, r.Status.Phase)
	assert.False(t, r.Status.CloneSet.Paused, "the answer shows the CloneSet resumed")
	unchanged("resume", before)

	// Canary Baked: a dry next would start batch 2 (partition 0).
	_, err = releases.Resume(ctx, "nginx-update", &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = releases.Next(ctx, "nginx-update", &v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(1), ExpectedPhase: v1alpha1.BatchSmoked}, metav1.CreateOptions{})
	require.NoError(t, err)
	framework.WaitRelease(t, ctx, admin, ns, "nginx-update", "canary Baked", framework.BatchIs(1, v1alpha1.BatchBaked))
	before = settled()
	r, err = releases.Next(ctx, "nginx-update", &v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(1), ExpectedPhase: v1alpha1.BatchBaked}, dry)
	require.NoError(t, err)
	assert.Equal(t, int32(2), r.Status.CurrentBatch)
	assert.Equal(t, int32(0), framework.ObservedPartition(r), "the answer shows the partition batch 2 would set")
	unchanged("next (start batch 2)", before)
	pods := framework.LivePods(t, ctx, admin, ns)
	assert.Equal(t, 1, framework.CountImage(pods, "nginx:1.28"), "still only the canary: %s", framework.PodSummary(pods))

	// A dry cancel of a running batch, then of a paused release, leave the canary where it is.
	r, err = releases.Cancel(ctx, "nginx-update", &v1alpha1.ReleaseRequest{}, dry)
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.ReleaseCanceled, r.Status.Phase)
	unchanged("cancel (Baked canary)", before)
	r, err = releases.Pause(ctx, "nginx-update", &v1alpha1.ReleaseRequest{}, dry)
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.ReleasePaused, r.Status.Phase)
	unchanged("pause (Baked canary)", before)
}
