//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/test/e2e/framework"
)

// A CloneSet changed by hand while a release runs is put back to what the release intends, in both
// directions: partition lowered and raised, paused, the template's image. The owner annotation is never
// touched (removing it in the same patch used to hide that a lowered partition was kept): the release
// still owns the CloneSet throughout, and the repair is of its intent, not of its ownership.
func TestControllerRepairsDriftedCloneSet(t *testing.T) {
	s := framework.Setup(t, framework.Timeout(6*time.Minute), framework.CloneSet("nginx", 6),
		framework.Release(framework.UpdateTo("nginx:1.28", 0, intstr.FromInt32(2), v1alpha1.ModeManual)), framework.Phase(v1alpha1.BatchBaked))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	releases := s.Releases
	cs := framework.GetCloneSet(t, ctx, admin, ns)
	require.Equal(t, int32(4), framework.Partition(cs), "6 pods, batch 1 of 2 approved: partition 4")
	require.Equal(t, "nginx-update", cs.Annotations[v1alpha1.OwnerAnnotation])
	require.Len(t, framework.PodsAt(t, ctx, admin, ns, "nginx:1.28"), 2)
	owner := watchOwner(t, ctx, admin, ns, cs.ResourceVersion)

	cloneSets := admin.Kruise.AppsV1alpha1().CloneSets(ns)
	edit := func(what string, pt types.PatchType, body string) {
		t.Helper()
		_, err := cloneSets.Patch(ctx, "nginx", pt, []byte(body), metav1.PatchOptions{})
		require.NoError(t, err, "by hand: %s", what)
	}
	repaired := func(what string, ok func(*kruiseappsv1alpha1.CloneSet) bool) {
		t.Helper()
		framework.WaitUntil(t, ctx, "the controller to repair "+what, func(ctx context.Context) (struct{}, bool, string) {
			c, err := cloneSets.Get(ctx, "nginx", metav1.GetOptions{})
			if err != nil {
				return struct{}{}, false, err.Error()
			}
			return struct{}{}, ok(c), fmt.Sprintf("partition=%d paused=%v image=%s owner=%q",
				framework.Partition(c), c.Spec.UpdateStrategy.Paused, c.Spec.Template.Spec.Containers[0].Image, c.Annotations[v1alpha1.OwnerAnnotation])
		}, framework.Every(100*time.Millisecond), framework.Within(30*time.Second))
	}
	// settled waits until the CloneSet's 6 pods are Ready again, none of them at image other (a hand edit's),
	// and no more than batch 1's 2 at the release's image; then checks that this holds for a while.
	settled := func(what, other string) {
		t.Helper()
		framework.WaitPods(t, ctx, admin, ns, what+": 6 Ready pods, at most 2 at nginx:1.28", func(pods []corev1.Pod) bool {
			return framework.AllReady(pods, 6) && framework.CountImage(pods, "nginx:1.28") <= 2 && (other == "" || framework.CountImage(pods, other) == 0)
		})
		framework.Holds(t, ctx, 5*time.Second, what+": no more than batch 1's 2 pods at nginx:1.28", func(ctx context.Context) (bool, string) {
			pods := framework.LivePods(t, ctx, admin, ns)
			return framework.CountImage(pods, "nginx:1.28") <= 2, framework.PodSummary(pods)
		})
	}

	// (a) Someone lowers the partition: kruise may start on more pods at once. It is put back to 4.
	edit("partition 0", types.MergePatchType, `{"spec":{"updateStrategy":{"partition":0}}}`)
	repaired("a partition lowered to 0", func(c *kruiseappsv1alpha1.CloneSet) bool { return framework.Partition(c) == 4 })
	// kruise (v1.8, as local-up runs it: feature gate CloneSetPartitionRollback off) never rolls an updated
	// pod back when the partition is raised again. What keeps the count at 2 is the hold: the nginx
	// CloneSet updates by ReCreate, and every pod of a running release carries the hold label, so a pod
	// kruise picked while the partition was 0 is only marked for deletion and held (PreparingDelete) until
	// the controller has drained it, which it does in the same pass after it has put the partition back. The
	// replacement is then made at the revision the partition of 4 asks for, the old one. Were a pod ever
	// created at nginx:1.28 beyond the batch, nothing would undo it and this would fail: invariant 2.
	settled("after the partition was lowered", "")

	// (b) Someone raises the partition: put back to 4 (kruise rolls nothing back, see above).
	edit("partition 6", types.MergePatchType, `{"spec":{"updateStrategy":{"partition":6}}}`)
	repaired("a partition raised to 6", func(c *kruiseappsv1alpha1.CloneSet) bool { return framework.Partition(c) == 4 })
	assert.Len(t, framework.PodsAt(t, ctx, admin, ns, "nginx:1.28"), 2, "batch 1's pods are still there")

	// (c) Someone pauses the CloneSet: unpaused.
	edit("paused", types.MergePatchType, `{"spec":{"updateStrategy":{"paused":true}}}`)
	repaired("paused set by hand", func(c *kruiseappsv1alpha1.CloneSet) bool {
		return !c.Spec.UpdateStrategy.Paused && framework.Partition(c) == 4
	})

	// (d) Someone changes the image (kubectl set image): the template-hash annotation is left as it was, and
	// the template is put back all the same.
	edit("image nginx:1.29", types.JSONPatchType,
		`[{"op":"test","path":"/spec/template/spec/containers/0/name","value":"nginx"},`+
			`{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"nginx:1.29"}]`)
	repaired("the image changed", func(c *kruiseappsv1alpha1.CloneSet) bool {
		return c.Spec.Template.Spec.Containers[0].Image == "nginx:1.28" && framework.Partition(c) == 4 && !c.Spec.UpdateStrategy.Paused
	})
	// Pods kruise picked for nginx:1.29 were only marked and held (as in (a)): none comes up at it.
	settled("after the image was changed", "nginx:1.29")

	r, err := releases.Get(ctx, "nginx-update", metav1.GetOptions{})
	require.NoError(t, err)
	assert.True(t, framework.BatchIs(1, v1alpha1.BatchBaked)(r), "the drift did not move the release: %+v", r.Status)
	cs = framework.GetCloneSet(t, ctx, admin, ns)
	assert.Equal(t, int32(4), framework.Partition(cs))
	assert.False(t, cs.Spec.UpdateStrategy.Paused)
	assert.Equal(t, "nginx:1.28", cs.Spec.Template.Spec.Containers[0].Image)
	owner.check(t)
}

// ownerWatch watches the CloneSet "nginx" from a resourceVersion on, and records every state of it that
// does not carry release nginx-update's owner annotation.
type ownerWatch struct {
	w      *watchtools.RetryWatcher
	mu     sync.Mutex
	seen   int
	absent []string
	done   chan struct{}
}

type cloneSetWatcher struct {
	c  *framework.Cluster
	ns string
}

func (w cloneSetWatcher) WatchWithContext(ctx context.Context, options metav1.ListOptions) (watch.Interface, error) {
	options.FieldSelector = "metadata.name=nginx"
	return w.c.Kruise.AppsV1alpha1().CloneSets(w.ns).Watch(ctx, options)
}

func watchOwner(t *testing.T, ctx context.Context, c *framework.Cluster, ns, resourceVersion string) *ownerWatch {
	t.Helper()
	rw, err := watchtools.NewRetryWatcherWithContext(ctx, resourceVersion, cloneSetWatcher{c: c, ns: ns})
	require.NoError(t, err)
	o := &ownerWatch{w: rw, done: make(chan struct{})}
	go func() {
		defer close(o.done)
		for e := range rw.ResultChan() {
			cs, ok := e.Object.(*kruiseappsv1alpha1.CloneSet)
			if !ok {
				continue
			}
			o.mu.Lock()
			o.seen++
			if cs.Annotations[v1alpha1.OwnerAnnotation] != "nginx-update" || e.Type == watch.Deleted {
				o.absent = append(o.absent, fmt.Sprintf("%s at resourceVersion %s: owner %q", e.Type, cs.ResourceVersion, cs.Annotations[v1alpha1.OwnerAnnotation]))
			}
			o.mu.Unlock()
		}
	}()
	t.Cleanup(rw.Stop)
	return o
}

// check stops the watch and asserts that every state seen carried the owner annotation.
func (o *ownerWatch) check(t *testing.T) {
	t.Helper()
	o.w.Stop()
	<-o.done
	o.mu.Lock()
	defer o.mu.Unlock()
	assert.Greater(t, o.seen, 4, "the watch saw the hand edits and their repairs")
	assert.Empty(t, o.absent, "the owner annotation was never removed")
}

// Invariant 2, watched: the CloneSet never has more updated pods than the current batch's target. The
// allowed number is raised just before each `next`, before anything can change for the next batch.
func TestCloneSetNeverAheadOfTheBatch(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(4*time.Minute), framework.CloneSet("nginx", 4))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	releases := s.Releases

	var allowed atomic.Int32
	allowed.Store(1)
	before, err := admin.Kruise.AppsV1alpha1().CloneSets(ns).Get(ctx, "nginx", metav1.GetOptions{})
	require.NoError(t, err)
	w, err := admin.Kruise.AppsV1alpha1().CloneSets(ns).Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=nginx"})
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
			if cs.Annotations[v1alpha1.OwnerAnnotation] == "" {
				continue // not (or no longer) the release's
			}
			seen++
			updated := cs.Status.UpdatedReplicas
			if cs.Status.UpdateRevision == before.Status.UpdateRevision {
				updated = 0 // the CloneSet has not taken the new template yet: these are old pods
			}
			if limit := allowed.Load(); updated > limit || 4-framework.Partition(cs) > limit {
				violations = append(violations, fmt.Sprintf("updated %d, partition %d with batch target %d",
					updated, framework.Partition(cs), limit))
			}
		}
	}()

	_, err = releases.Create(ctx, framework.UpdateTo("nginx:1.28", 0, intstr.FromInt32(1), v1alpha1.ModeManual), metav1.CreateOptions{})
	require.NoError(t, err)
	for batch := int32(1); batch <= 4; batch++ {
		framework.WaitRelease(t, ctx, admin, ns, "nginx-update", fmt.Sprintf("batch %d Baked", batch), framework.BatchIs(batch, v1alpha1.BatchBaked))
		if batch < 4 {
			allowed.Store(batch + 1)
		}
		_, err := releases.Next(ctx, "nginx-update", &v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(batch)}, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	framework.WaitRelease(t, ctx, admin, ns, "nginx-update", "Succeeded", func(r *v1alpha1.Release) bool {
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
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(4*time.Minute), framework.CloneSet("nginx", 6),
		framework.Release(framework.UpdateTo("nginx:1.28", 0, intstr.FromInt32(3), v1alpha1.ModeManual)))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	releases := s.Releases
	framework.WaitRelease(t, ctx, admin, ns, "nginx-update", "batch 1 started", func(r *v1alpha1.Release) bool {
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
	framework.WaitUntil(t, ctx, "kruise to see the paused CloneSet with the pinned partition", func(ctx context.Context) (struct{}, bool, string) {
		c, err := admin.Kruise.AppsV1alpha1().CloneSets(ns).Get(ctx, "nginx", metav1.GetOptions{})
		if err != nil {
			return struct{}{}, false, err.Error()
		}
		return struct{}{}, c.Status.ObservedGeneration == c.Generation && c.Spec.UpdateStrategy.Paused && framework.Partition(c) == held,
			fmt.Sprintf("generation %d observed %d, paused %v, partition %d", c.Generation, c.Status.ObservedGeneration, c.Spec.UpdateStrategy.Paused, framework.Partition(c))
	}, framework.Every(100*time.Millisecond), framework.Within(60*time.Second))
	assert.LessOrEqual(t, len(framework.PodsAt(t, ctx, admin, ns, "nginx:1.28")), 3)

	// Resume: batch 1 completes with exactly 3 new pods, and waits.
	_, err = releases.Resume(ctx, "nginx-update", &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{})
	require.NoError(t, err)
	framework.WaitRelease(t, ctx, admin, ns, "nginx-update", "batch 1 Baked after resume", framework.BatchIs(1, v1alpha1.BatchBaked))
	framework.WaitCloneSet(t, ctx, admin, ns, "nginx", func(s kruiseappsv1alpha1.CloneSetStatus) bool {
		return s.UpdatedReadyReplicas == 3 && s.UpdatedReplicas == 3
	})
	c, err := admin.Kruise.AppsV1alpha1().CloneSets(ns).Get(ctx, "nginx", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(3), framework.Partition(c))
	assert.False(t, c.Spec.UpdateStrategy.Paused)
}
