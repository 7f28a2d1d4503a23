//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/test/e2e/framework"
)

// The original Triton tutorial: an nginx CloneSet of 3, Update with canary 1 and batchSize 1 in Auto mode.
func TestTutorialCanaryThenAutoBatches(t *testing.T) {
	s := framework.Setup(t, framework.CloneSet("nginx", 3),
		framework.Release(framework.UpdateTo("nginx:1.28", 1, intstr.FromInt32(1), v1alpha1.ModeAuto)))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	releases := s.Releases

	created := s.Release
	require.Len(t, created.Status.Batches, 3, "the plan is computed on create")
	for i, b := range created.Status.Batches {
		assert.Equal(t, int32(i+1), b.Target)
	}
	assert.True(t, created.Status.Batches[0].Canary)

	// The canary comes up at once and waits, out of traffic.
	r := framework.WaitRelease(t, ctx, admin, ns, "nginx-update", "canary Smoked", framework.BatchIs(1, v1alpha1.BatchSmoked))
	assert.True(t, meta.IsStatusConditionTrue(r.Status.Conditions, v1alpha1.ConditionAwaitingNext))
	cs, err := admin.Kruise.AppsV1alpha1().CloneSets(ns).Get(ctx, "nginx", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(2), framework.Partition(cs))
	assert.Equal(t, "nginx-update", cs.Annotations[v1alpha1.OwnerAnnotation])
	canary := framework.PodsAt(t, ctx, admin, ns, "nginx:1.28")
	require.Len(t, canary, 1)
	assert.False(t, framework.PodCondition(&canary[0], corev1.PodReady) == corev1.ConditionTrue, "the canary is not in traffic before `next`")
	assert.True(t, framework.PodCondition(&canary[0], corev1.ContainersReady) == corev1.ConditionTrue)

	// The batch lists its pod, with its IP (a listing written while the pod had none is refreshed a
	// reconcile later), not yet pulled in.
	// kwok may give a pod another IP when it runs a stage again; the listing follows the pod's IP as it is.
	r = framework.WaitRelease(t, ctx, admin, ns, "nginx-update", "the canary listed in batch 1 with its IP", func(r *v1alpha1.Release) bool {
		if len(r.Status.Batches[0].Pods) != 1 || r.Status.Batches[0].Pods[0].IP == "" {
			return false
		}
		pod, err := admin.Kube.CoreV1().Pods(ns).Get(ctx, canary[0].Name, metav1.GetOptions{})
		return err == nil && pod.Status.PodIP == r.Status.Batches[0].Pods[0].IP
	})
	assert.Equal(t, canary[0].Name, r.Status.Batches[0].Pods[0].Name)
	assert.False(t, r.Status.Batches[0].Pods[0].PulledIn)

	// `next` while Smoked pulls the canary in.
	r, err = releases.Next(ctx, "nginx-update", &v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(1), Reason: "canary looks good"}, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.BatchBaking, r.Status.Batches[0].Phase)
	framework.WaitRelease(t, ctx, admin, ns, "nginx-update", "canary Baked", framework.BatchIs(1, v1alpha1.BatchBaked))
	framework.WaitPodCondition(t, ctx, admin, ns, canary[0].Name, corev1.PodReady, corev1.ConditionTrue)
	r = framework.WaitRelease(t, ctx, admin, ns, "nginx-update", "the canary pulled in, in its batch", func(r *v1alpha1.Release) bool {
		return len(r.Status.Batches[0].Pods) == 1 && r.Status.Batches[0].Pods[0].PulledIn
	})
	assert.True(t, meta.IsStatusConditionTrue(r.Status.Conditions, v1alpha1.ConditionAwaitingNext), "a Baked canary waits for next even in Auto mode")

	// A second `next` for batch 1 from another pipeline is refused; the first moves on.
	r, err = releases.Next(ctx, "nginx-update", &v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(1)}, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(2), r.Status.CurrentBatch)
	require.NotNil(t, r.Status.CloneSet.Partition)
	assert.Equal(t, int32(1), *r.Status.CloneSet.Partition, "the answer shows the CloneSet's new partition")
	_, err = releases.Next(ctx, "nginx-update", &v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(1)}, metav1.CreateOptions{})
	assert.True(t, apierrors.IsConflict(err), "a stale expectedBatch: want 409, got %v", err)

	// Batches 2 and 3 run on their own.
	r = framework.WaitRelease(t, ctx, admin, ns, "nginx-update", "Succeeded", func(r *v1alpha1.Release) bool {
		return r.Status.Phase == v1alpha1.ReleaseSucceeded
	})
	assert.True(t, meta.IsStatusConditionTrue(r.Status.Conditions, v1alpha1.ConditionComplete))
	framework.WaitCloneSet(t, ctx, admin, ns, "nginx", func(s kruiseappsv1alpha1.CloneSetStatus) bool {
		return s.UpdatedReadyReplicas == 3
	})
	// The Release is written first, then the CloneSet follows: released at the end.
	cs = framework.WaitUntil(t, ctx, "the CloneSet without the release annotation after the end", func(ctx context.Context) (*kruiseappsv1alpha1.CloneSet, bool, string) {
		cs, err := admin.Kruise.AppsV1alpha1().CloneSets(ns).Get(ctx, "nginx", metav1.GetOptions{})
		if err != nil {
			return nil, false, err.Error()
		}
		_, owned := cs.Annotations[v1alpha1.OwnerAnnotation]
		return cs, !owned, fmt.Sprintf("annotations %v", cs.Annotations)
	}, framework.Every(100*time.Millisecond), framework.Within(30*time.Second))
	assert.Equal(t, int32(0), framework.Partition(cs))
	for _, p := range framework.PodsAt(t, ctx, admin, ns, "nginx:1.28") {
		assert.True(t, framework.PodCondition(&p, v1alpha1.ReadinessGate) == corev1.ConditionTrue, "%s pulled in", p.Name)
		assert.True(t, framework.PodCondition(&p, corev1.PodReady) == corev1.ConditionTrue, "%s Ready", p.Name)
	}
	var actions []string
	for _, h := range r.Status.History {
		actions = append(actions, h.Action)
		if h.Action == "next" {
			assert.Equal(t, "admin", h.User)
		}
	}
	assert.Contains(t, strings.Join(actions, ","), "start,smoked,next,baked,next")

	// `kubectl describe release` tells the story: an Event for every move, callers' verbs with their user.
	framework.WaitUntil(t, ctx, "the events in kubectl describe", func(ctx context.Context) (struct{}, bool, string) {
		out, err := admin.Kubectl(ctx, "-n", ns, "describe", "release", "nginx-update")
		return struct{}{}, err == nil && strings.Contains(out, "Next") && strings.Contains(out, "by admin: canary looks good") &&
			strings.Contains(out, "Smoked") && strings.Contains(out, "Baked") && strings.Contains(out, "Advance"), "\n" + out
	}, framework.Within(30*time.Second))
}

func TestNextRefusedWhileSmokingOrPaused(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.SmokedCanary())
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	releases := s.Releases

	// A second release for the same CloneSet is refused.
	second := framework.UpdateTo("nginx:1.29", 0, intstr.FromString("100%"), v1alpha1.ModeManual)
	second.Name = "nginx-update-2"
	_, err := releases.Create(ctx, second, metav1.CreateOptions{})
	assert.True(t, apierrors.IsConflict(err), "a second release on a busy CloneSet: want 409, got %v", err)

	// Pause: the CloneSet is paused; next is refused; pause again is a no-op.
	r, err := releases.Pause(ctx, "nginx-update", &v1alpha1.ReleaseRequest{Reason: "lunch"}, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.ReleasePaused, r.Status.Phase)
	assert.True(t, r.Status.CloneSet.Paused, "the answer shows the paused CloneSet")
	cs, err := admin.Kruise.AppsV1alpha1().CloneSets(ns).Get(ctx, "nginx", metav1.GetOptions{})
	require.NoError(t, err)
	assert.True(t, cs.Spec.UpdateStrategy.Paused)
	_, err = releases.Next(ctx, "nginx-update", &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{})
	require.True(t, apierrors.IsConflict(err), "next on a paused release: want 409, got %v", err)
	assert.Contains(t, err.Error(), "paused")
	again, err := releases.Pause(ctx, "nginx-update", &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.ReleasePaused, again.Status.Phase)
	assert.Len(t, again.Status.History, len(r.Status.History), "pause on a paused release changes nothing")

	// Resume; next pulls the canary in; next starts batch 2, which is refused a next while Smoking.
	r, err = releases.Resume(ctx, "nginx-update", &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.ReleaseProgressing, r.Status.Phase)
	assert.False(t, r.Status.CloneSet.Paused)
	_, err = releases.Next(ctx, "nginx-update", &v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(1), ExpectedPhase: v1alpha1.BatchSmoked}, metav1.CreateOptions{})
	require.NoError(t, err)
	framework.WaitRelease(t, ctx, admin, ns, "nginx-update", "canary Baked", framework.BatchIs(1, v1alpha1.BatchBaked))

	// dryRun=All answers what next would do and changes nothing.
	dry, err := releases.Next(ctx, "nginx-update", &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	require.NoError(t, err)
	assert.Equal(t, int32(2), dry.Status.CurrentBatch)
	stored, err := releases.Get(ctx, "nginx-update", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(1), stored.Status.CurrentBatch, "a dry run stored nothing")
	cs, err = admin.Kruise.AppsV1alpha1().CloneSets(ns).Get(ctx, "nginx", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(1), framework.Partition(cs), "a dry run changed no CloneSet")

	// 20 concurrent next calls for batch 1: exactly one moves the release.
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, conflicts := 0, 0
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := releases.Next(ctx, "nginx-update", &v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(1)}, metav1.CreateOptions{})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case apierrors.IsConflict(err):
				conflicts++
			default:
				t.Errorf("next: %v", err)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, 1, ok)
	assert.Equal(t, 19, conflicts)
	r, err = releases.Get(ctx, "nginx-update", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(2), r.Status.CurrentBatch, "no batch skipped")

	_, err = releases.Next(ctx, "nginx-update", &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{})
	if err != nil {
		require.True(t, apierrors.IsConflict(err), "next while batch 2 is not Baked: want 409, got %v", err)
		assert.Regexp(t, `batch 2 is (Smoking|Baking): \d of 2 pods`, err.Error())
	}
}
