package controller

import (
	"context"
	"testing"
	"time"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	ktypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"

	releasesapi "github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/release/plan"
)

// waitCached waits until the controller's cache of release web-update satisfies ok (a status the controller
// wrote, an edit of the test's), as the informer delivers it.
func waitCached(t *testing.T, f *fixture, ok func(r *v1alpha1.Release) bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 5*time.Second, true, func(context.Context) (bool, error) {
		r, err := f.c.lister.Releases("default").Get("web-update")
		return err == nil && ok(r), nil
	})
	require.NoError(t, err, "the controller's cache never saw the release as expected")
}

// deleteRelease marks the stored release web-update deleted, its cleanup finalizer on, and waits for the
// controller's cache to see it.
func deleteRelease(t *testing.T, f *fixture) {
	t.Helper()
	r := storedRelease(t, f)
	deleted := metav1.NewTime(now.Time)
	r.DeletionTimestamp, r.Finalizers = &deleted, []string{releasesapi.CleanupFinalizer}
	_, err := f.releases.ReleasesV1alpha1().Releases("default").Update(context.Background(), r, metav1.UpdateOptions{})
	require.NoError(t, err)
	waitCached(t, f, func(r *v1alpha1.Release) bool { return r.DeletionTimestamp != nil })
	f.releases.ClearActions()
}

// waitingForNext is release web-update waiting for `next` at its Smoked batch 1, admitted for the CloneSet
// web with UID uid.
func waitingForNext(uid string) *v1alpha1.Release {
	r := webUpdate(v1alpha1.ReleaseProgressing)
	r.Status.CurrentBatch = 1
	r.Status.Batches[0].Phase = v1alpha1.BatchSmoked
	r.Status.CloneSet.UID = ktypesUID(uid)
	r.Status.Conditions = []metav1.Condition{{Type: v1alpha1.ConditionAwaitingNext, Status: metav1.ConditionTrue, Reason: "WaitingForNext"}}
	return r
}

// replacement is CloneSet web deleted and made again: another UID, another image, nothing of a release.
func replacement() *kruiseappsv1alpha1.CloneSet {
	cs := webCloneSet()
	cs.UID = "uid-web-made-again"
	cs.Spec.Template.Spec.Containers[0].Image = "web:v9"
	return cs
}

// A release whose CloneSet was deleted and made again while it waited for `next` is ended: Failed, with
// condition Failed (reason CloneSetReplaced, naming both UIDs) and a history entry of the controller. It
// writes nothing to the new CloneSet or its pods, then or later; deleted, it lets go at once.
func TestReconcileEndsAReleaseWhoseCloneSetWasReplaced(t *testing.T) {
	pod := webPod("web-n", true, false)
	pod.OwnerReferences[0].UID = "uid-web-made-again"
	f := newFixture(t, []runtime.Object{waitingForNext("uid-web")}, []runtime.Object{replacement()}, pod)
	f.reconcile(t, "default/web-update")

	r := storedRelease(t, f)
	assert.Equal(t, v1alpha1.ReleaseFailed, r.Status.Phase)
	failed := meta.FindStatusCondition(r.Status.Conditions, v1alpha1.ConditionFailed)
	require.NotNil(t, failed)
	assert.Equal(t, metav1.ConditionTrue, failed.Status)
	assert.Equal(t, releasesapi.ReasonCloneSetReplaced, failed.Reason)
	assert.Contains(t, failed.Message, "uid uid-web,")
	assert.Contains(t, failed.Message, "uid-web-made-again")
	assert.False(t, meta.IsStatusConditionTrue(r.Status.Conditions, v1alpha1.ConditionAwaitingNext))
	last := r.Status.History[len(r.Status.History)-1]
	assert.Equal(t, plan.ActionLost, last.Action)
	assert.Equal(t, plan.ControllerUser, last.User)
	assert.Equal(t, ktypesUID("uid-web"), r.Status.CloneSet.UID, "the UID stays")
	assert.Equal(t, []string{"update releases/status"}, writes(f.releases.Actions()))
	assert.Empty(t, writes(f.kruise.Actions()), "nothing written to the new CloneSet")
	assert.Empty(t, writes(f.kube.Actions()), "nor to its pods")

	// Later events change nothing.
	waitCached(t, f, func(r *v1alpha1.Release) bool { return r.Status.Phase == v1alpha1.ReleaseFailed })
	f.releases.ClearActions()
	f.reconcile(t, "default/web-update")
	assert.Empty(t, writes(f.releases.Actions()))
	assert.Empty(t, writes(f.kruise.Actions()))
	assert.Empty(t, writes(f.kube.Actions()))

	// Deleted: its finalizer goes at once, and nothing else is written.
	deleteRelease(t, f)
	f.reconcile(t, "default/web-update")
	assert.Equal(t, []string{"patch releases"}, writes(f.releases.Actions()))
	assert.Empty(t, storedRelease(t, f).Finalizers)
	assert.Empty(t, writes(f.kruise.Actions()))
	assert.Empty(t, writes(f.kube.Actions()))
	cs, err := f.kruise.AppsV1alpha1().CloneSets("default").Get(context.Background(), "web", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "web:v9", cs.Spec.Template.Spec.Containers[0].Image)
	assert.Empty(t, cs.Annotations)
	assert.Nil(t, cs.Spec.UpdateStrategy.Partition)
}

// A release deleted before the controller saw its CloneSet replaced ends the same way: marked, then let go.
func TestReconcileOfADeletedReleaseWhoseCloneSetIsGoneLetsGo(t *testing.T) {
	r := waitingForNext("uid-web")
	deleted := metav1.NewTime(now.Time)
	r.DeletionTimestamp, r.Finalizers = &deleted, []string{releasesapi.CleanupFinalizer}
	f := newFixture(t, []runtime.Object{r}, nil)
	f.reconcile(t, "default/web-update")
	stored := storedRelease(t, f)
	assert.Equal(t, v1alpha1.ReleaseFailed, stored.Status.Phase)
	failed := meta.FindStatusCondition(stored.Status.Conditions, v1alpha1.ConditionFailed)
	require.NotNil(t, failed)
	assert.Equal(t, releasesapi.ReasonCloneSetGone, failed.Reason)
	assert.Contains(t, failed.Message, "was deleted")

	waitCached(t, f, func(r *v1alpha1.Release) bool { return r.Status.Phase == v1alpha1.ReleaseFailed })
	f.releases.ClearActions()
	f.reconcile(t, "default/web-update")
	assert.Equal(t, []string{"patch releases"}, writes(f.releases.Actions()))
	assert.Empty(t, storedRelease(t, f).Finalizers)
	assert.Empty(t, writes(f.kruise.Actions()), "no CloneSet made or written")
}

// A finished release whose CloneSet was replaced after it let go of it has nothing to mark and nothing to
// do: it is not the caretaker of the new CloneSet's pods.
func TestReconcileOfAFinishedReleaseOfAReplacedCloneSetWritesNothing(t *testing.T) {
	done := webUpdate(v1alpha1.ReleaseSucceeded)
	done.Status.CloneSet.UID = "uid-web"
	pod := webPod("web-n", true, false)
	pod.OwnerReferences[0].UID = "uid-web-made-again"
	f := newFixture(t, []runtime.Object{done}, []runtime.Object{replacement()}, pod)
	f.reconcile(t, "default/web-update")
	assert.Empty(t, writes(f.releases.Actions()))
	assert.Empty(t, writes(f.kruise.Actions()))
	assert.Empty(t, writes(f.kube.Actions()), "the stray of the new CloneSet is not pulled in by it")
}

// revisionOf is CloneSet web's revision web-v1 (image web:v1) controlled by the CloneSet with UID uid.
func revisionOf(uid string) *appsv1.ControllerRevision {
	rev := webV1()
	rev.OwnerReferences[0].UID = ktypesUID(uid)
	return rev
}

// A canceled release whose revision from before is gone (or is another CloneSet's) cannot put the CloneSet
// back: it lets go of it as it is, with condition Reverted (reason RevisionGone), instead of failing every
// reconcile; deleted, its finalizer goes.
func TestReconcileOfACancelWhoseRevisionIsGoneLetsGo(t *testing.T) {
	for name, objects := range map[string][]runtime.Object{
		"gone":               nil,
		"another CloneSet's": {revisionOf("uid-web-before")},
	} {
		t.Run(name, func(t *testing.T) {
			r := webUpdate(v1alpha1.ReleaseCanceled)
			r.Status.CurrentBatch = 1
			r.Status.Batches[0].Phase = v1alpha1.BatchBaked
			r.Status.CloneSet.UID = "uid-web"
			cs := webCloneSet()
			two := intstr.FromInt32(2)
			cs.Annotations = map[string]string{v1alpha1.OwnerAnnotation: r.Name, v1alpha1.IntentAnnotation: "uid-web-update/39"}
			cs.Labels = map[string]string{v1alpha1.PullInLabel: "true"}
			cs.Spec.Template.Spec.Containers[0].Image = "web:v2"
			cs.Spec.UpdateStrategy.Partition = &two
			cs.Status.UpdateRevision = "web-v2"
			f := newFixture(t, []runtime.Object{r}, []runtime.Object{cs}, objects...)
			f.reconcile(t, "default/web-update")

			stored := storedRelease(t, f)
			assert.Equal(t, v1alpha1.ReleaseCanceled, stored.Status.Phase)
			reverted := meta.FindStatusCondition(stored.Status.Conditions, v1alpha1.ConditionReverted)
			require.NotNil(t, reverted)
			assert.Equal(t, metav1.ConditionTrue, reverted.Status)
			assert.Equal(t, releasesapi.ReasonRevisionGone, reverted.Reason)
			assert.Contains(t, reverted.Message, "web-v1")
			assert.Equal(t, plan.ActionRevisionGone, stored.Status.History[len(stored.Status.History)-1].Action)

			// The next reconcile lets go of the CloneSet as it is.
			waitCached(t, f, func(r *v1alpha1.Release) bool {
				return meta.IsStatusConditionTrue(r.Status.Conditions, v1alpha1.ConditionReverted)
			})
			f.reconcile(t, "default/web-update")
			got, err := f.kruise.AppsV1alpha1().CloneSets("default").Get(context.Background(), "web", metav1.GetOptions{})
			require.NoError(t, err)
			assert.NotContains(t, got.Annotations, v1alpha1.OwnerAnnotation)
			assert.NotContains(t, got.Labels, v1alpha1.PullInLabel)
			assert.Equal(t, "web:v2", got.Spec.Template.Spec.Containers[0].Image, "the template stays")
			assert.Equal(t, 2, got.Spec.UpdateStrategy.Partition.IntValue(), "the partition stays")

			// Deleted: its finalizer goes.
			deleteRelease(t, f)
			f.reconcile(t, "default/web-update")
			assert.Empty(t, storedRelease(t, f).Finalizers)
		})
	}
}

// A release that lost its CloneSet is woken like a finished one: it holds up no caretaker, and is no
// caretaker itself.
func TestWokenLeavesALostRelease(t *testing.T) {
	lost := func(r *v1alpha1.Release) {
		r.Status.Conditions = append(r.Status.Conditions, metav1.Condition{Type: v1alpha1.ConditionFailed,
			Status: metav1.ConditionTrue, Reason: releasesapi.ReasonCloneSetReplaced})
	}
	old := rel("v1", 5*time.Hour, v1alpha1.ReleaseSucceeded)
	failedLost := rel("v2", time.Hour, v1alpha1.ReleaseFailed, lost)
	assert.Equal(t, []string{"v1"}, names(Woken([]*v1alpha1.Release{old, failedLost}, "")))
	assert.Equal(t, []string{"v3"}, names(Woken([]*v1alpha1.Release{old, failedLost, rel("v3", time.Minute, v1alpha1.ReleaseProgressing)}, "")))
	assert.Equal(t, []string{"v2", "v1"}, names(Woken([]*v1alpha1.Release{old, failedLost}, "v2")), "named on the CloneSet: it takes its name off")
}

func ktypesUID(s string) ktypes.UID { return ktypes.UID(s) }

// Section 14: a finished release whose name was put back on its CloneSet (by hand, or by a manifest) after
// another release wrote it only takes the stale name off. It writes neither its final state (its template,
// partition 0) nor anything on the pods (the other release's pods are not labelled as its own), nor its
// status.
func TestReconcileOfAFinishedReleaseWithAStaleNameOnlyTakesItOff(t *testing.T) {
	r1 := webUpdate(v1alpha1.ReleaseSucceeded)
	r1.Status.CurrentBatch = 2
	r1.Status.Batches[0].Phase, r1.Status.Batches[1].Phase = v1alpha1.BatchBaked, v1alpha1.BatchBaked
	r1.Status.CloneSet.UID = "uid-web"
	cs := webCloneSet()
	cs.Annotations = map[string]string{v1alpha1.OwnerAnnotation: r1.Name, v1alpha1.IntentAnnotation: "uid-web-update-2/70"}
	cs.Spec.Template.Spec.Containers[0].Image = "web:v3"
	cs.Status.UpdateRevision, cs.Status.CurrentRevision = "web-v3", "web-v3"
	var pods []runtime.Object
	for _, name := range []string{"web-a", "web-b"} {
		p := webPod(name, true, true)
		p.Labels["controller-revision-hash"] = "web-v3"
		pods = append(pods, p)
	}
	f := newFixture(t, []runtime.Object{r1}, []runtime.Object{cs}, pods...)
	f.reconcile(t, "default/web-update")

	assert.Equal(t, []string{"patch clonesets"}, writes(f.kruise.Actions()))
	got, err := f.kruise.AppsV1alpha1().CloneSets("default").Get(context.Background(), "web", metav1.GetOptions{})
	require.NoError(t, err)
	assert.NotContains(t, got.Annotations, v1alpha1.OwnerAnnotation)
	assert.Equal(t, "uid-web-update-2/70", got.Annotations[v1alpha1.IntentAnnotation])
	assert.Equal(t, "web:v3", got.Spec.Template.Spec.Containers[0].Image, "the other release's template stays")
	assert.Nil(t, got.Spec.UpdateStrategy.Partition)
	assert.Empty(t, writes(f.kube.Actions()), "no pod written")
	assert.Empty(t, writes(f.releases.Actions()), "nothing of the other release's CloneSet recorded as its own")
}
