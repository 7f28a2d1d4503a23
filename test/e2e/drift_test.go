//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

// A CloneSet changed by hand while a release runs is put back to what the release intends.
func TestControllerRepairsDriftedCloneSet(t *testing.T) {
	admin := connect(t, "admin")
	ns := namespace(t, admin)
	ctx := testContext(t, 3*time.Minute)
	nginx(t, ctx, admin, ns, 3)
	releases := admin.releases.ReleasesV1alpha1().Releases(ns)
	_, err := releases.Create(ctx, updateTo("nginx:1.28", 0, intstr.FromInt32(1), v1alpha1.ModeManual), metav1.CreateOptions{})
	require.NoError(t, err)
	waitRelease(t, ctx, admin, ns, "nginx-update", "batch 1 Baked", batchIs(1, v1alpha1.BatchBaked))

	// Someone lowers the partition, unpauses nothing, and drops the owner annotation.
	_, err = admin.kruise.AppsV1alpha1().CloneSets(ns).Patch(ctx, "nginx", types.MergePatchType,
		[]byte(`{"metadata":{"annotations":{"releases.triton.io/release":null}},"spec":{"updateStrategy":{"partition":0}}}`), metav1.PatchOptions{})
	require.NoError(t, err)

	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		cs, err := admin.kruise.AppsV1alpha1().CloneSets(ns).Get(ctx, "nginx", metav1.GetOptions{})
		return err == nil && partition(cs) == 2 && cs.Annotations["releases.triton.io/release"] == "nginx-update", nil
	})
	require.NoError(t, err, "the controller puts the partition and the annotation back")

	r, err := releases.Get(ctx, "nginx-update", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(1), r.Status.CurrentBatch, "the drift did not move the release")
	assert.Equal(t, v1alpha1.BatchBaked, r.Status.Batches[0].Phase)
}

// Invariant 2, watched: the CloneSet never has more updated pods than the current batch's target. The
// allowed number is raised just before each `next`, before anything can change for the next batch.
func TestCloneSetNeverAheadOfTheBatch(t *testing.T) {
	admin := connect(t, "admin")
	ns := namespace(t, admin)
	ctx := testContext(t, 4*time.Minute)
	nginx(t, ctx, admin, ns, 4)
	releases := admin.releases.ReleasesV1alpha1().Releases(ns)

	var allowed atomic.Int32
	allowed.Store(1)
	before, err := admin.kruise.AppsV1alpha1().CloneSets(ns).Get(ctx, "nginx", metav1.GetOptions{})
	require.NoError(t, err)
	w, err := admin.kruise.AppsV1alpha1().CloneSets(ns).Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=nginx"})
	require.NoError(t, err)
	defer w.Stop()
	var violations []string
	seen := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		for e := range w.ResultChan() {
			cs, ok := e.Object.(*kruiseappsv1alpha1.CloneSet)
			if !ok {
				continue
			}
			if cs.Annotations["releases.triton.io/release"] == "" {
				continue // not (or no longer) the release's
			}
			seen++
			updated := cs.Status.UpdatedReplicas
			if cs.Status.UpdateRevision == before.Status.UpdateRevision {
				updated = 0 // the CloneSet has not taken the new template yet: these are old pods
			}
			if limit := allowed.Load(); updated > limit || 4-partition(cs) > limit {
				violations = append(violations, fmt.Sprintf("updated %d, partition %d with batch target %d",
					updated, partition(cs), limit))
			}
		}
	}()

	_, err = releases.Create(ctx, updateTo("nginx:1.28", 0, intstr.FromInt32(1), v1alpha1.ModeManual), metav1.CreateOptions{})
	require.NoError(t, err)
	for batch := int32(1); batch <= 4; batch++ {
		waitRelease(t, ctx, admin, ns, "nginx-update", fmt.Sprintf("batch %d Baked", batch), batchIs(batch, v1alpha1.BatchBaked))
		if batch < 4 {
			allowed.Store(batch + 1)
		}
		_, err := releases.Next(ctx, "nginx-update", &v1alpha1.ReleaseRequest{ExpectedBatch: one(batch)}, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	waitRelease(t, ctx, admin, ns, "nginx-update", "Succeeded", func(r *v1alpha1.Release) bool {
		return r.Status.Phase == v1alpha1.ReleaseSucceeded
	})
	w.Stop()
	<-done
	assert.Greater(t, seen, 8, "the watch saw the release go by")
	assert.Empty(t, violations)
}

// Pause mid-batch holds the CloneSet where it is: paused, and its partition pinned at the pods updated so
// far, so no pod changes (not even surge pods) until resume; resume goes on with the batch.
func TestPauseMidBatchHoldsTheCloneSet(t *testing.T) {
	admin := connect(t, "admin")
	ns := namespace(t, admin)
	ctx := testContext(t, 4*time.Minute)
	nginx(t, ctx, admin, ns, 6)
	releases := admin.releases.ReleasesV1alpha1().Releases(ns)
	_, err := releases.Create(ctx, updateTo("nginx:1.28", 0, intstr.FromInt32(3), v1alpha1.ModeManual), metav1.CreateOptions{})
	require.NoError(t, err)
	waitRelease(t, ctx, admin, ns, "nginx-update", "batch 1 started", func(r *v1alpha1.Release) bool {
		return r.Status.CurrentBatch == 1
	})

	paused, err := releases.Pause(ctx, "nginx-update", &v1alpha1.ReleaseRequest{Reason: "hold it"}, metav1.CreateOptions{})
	require.NoError(t, err)
	require.Equal(t, v1alpha1.ReleasePaused, paused.Status.Phase)
	require.NotNil(t, paused.Status.CloneSet.HeldAt)
	held := *paused.Status.CloneSet.HeldAt
	assert.GreaterOrEqual(t, held, int32(3), "never more than batch 1's 3 pods")
	assert.True(t, paused.Status.CloneSet.Paused)
	require.NotNil(t, paused.Status.CloneSet.Partition)
	assert.Equal(t, held, *paused.Status.CloneSet.Partition, "the answer shows the pinned partition")

	// Once kruise has seen the pause, the CloneSet is paused with the pinned partition, and no more pods
	// than batch 1's are updated. (Pods kruise was already replacing when the pause was read may be
	// counted after it: the hold stops further changes, it does not undo those.)
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		c, err := admin.kruise.AppsV1alpha1().CloneSets(ns).Get(ctx, "nginx", metav1.GetOptions{})
		return err == nil && c.Status.ObservedGeneration == c.Generation && c.Spec.UpdateStrategy.Paused &&
			partition(c) == held, nil
	})
	require.NoError(t, err, "kruise sees the paused CloneSet with the pinned partition")
	assert.LessOrEqual(t, len(podsAt(t, ctx, admin, ns, "nginx:1.28")), 3)

	// Resume: batch 1 completes with exactly 3 new pods, and waits.
	_, err = releases.Resume(ctx, "nginx-update", &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{})
	require.NoError(t, err)
	waitRelease(t, ctx, admin, ns, "nginx-update", "batch 1 Baked after resume", batchIs(1, v1alpha1.BatchBaked))
	waitCloneSet(t, ctx, admin, ns, "nginx", func(s kruiseappsv1alpha1.CloneSetStatus) bool {
		return s.UpdatedReadyReplicas == 3 && s.UpdatedReplicas == 3
	})
	c, err := admin.kruise.AppsV1alpha1().CloneSets(ns).Get(ctx, "nginx", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(3), partition(c))
	assert.False(t, c.Spec.UpdateStrategy.Paused)
}
