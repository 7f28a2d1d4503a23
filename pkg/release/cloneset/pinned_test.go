package cloneset

import (
	"context"
	"errors"
	"testing"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/release/plan"
)

// pinnedTo is release web-update (see updateRelease) admitted for the CloneSet with UID uid.
func pinnedTo(r *releases.Release, uid types.UID) *releases.Release {
	r.Status.CloneSet.UID = uid
	return r
}

// cloneSetWrites are the CloneSet writes (create, update, patch, delete) a fake clientset received.
func cloneSetWrites(actions []k8stesting.Action) []k8stesting.Action {
	var out []k8stesting.Action
	for _, a := range actions {
		switch a.GetVerb() {
		case "create", "update", "patch", "delete":
			if a.GetResource().Resource == "clonesets" {
				out = append(out, a)
			}
		}
	}
	return out
}

// podWrites are the pod writes a fake clientset received.
func podWrites(actions []k8stesting.Action) []k8stesting.Action {
	var out []k8stesting.Action
	for _, a := range actions {
		switch a.GetVerb() {
		case "create", "update", "patch", "delete":
			if a.GetResource().Resource == "pods" {
				out = append(out, a)
			}
		}
	}
	return out
}

// A CloneSet of the release's name with another UID than the one it was admitted for (deleted and made
// again: a GitOps replace, kubectl replace --force) is not the release's: Apply sends it nothing and says
// so with ErrCloneSetReplaced, naming both UIDs.
func TestApplyRefusesACloneSetWithAnotherUID(t *testing.T) {
	ctx := context.Background()
	replacement := cloneSetWeb()
	replacement.UID = "uid-cloneset-web-made-again"
	replacement.Spec.Lifecycle = nil
	delete(replacement.Labels, v1alpha1.PullInLabel)
	s := newAPIServer(t, replacement)

	for _, r := range []*releases.Release{
		pinnedTo(updateRelease("40", 1, releases.BatchSmoking), "uid-cloneset-web"),
		pinnedTo(updateRelease("40", 2, releases.BatchSmoked), "uid-cloneset-web"),
	} {
		got, err := s.driver().Apply(ctx, r, false)
		require.Error(t, err)
		assert.True(t, errors.Is(err, ErrCloneSetReplaced), "got %v", err)
		assert.False(t, errors.Is(err, ErrCloneSetGone))
		var lost *LostError
		require.True(t, errors.As(err, &lost))
		assert.Equal(t, types.UID("uid-cloneset-web"), lost.Pinned)
		assert.Equal(t, types.UID("uid-cloneset-web-made-again"), lost.Found)
		assert.Equal(t, releases.ReasonCloneSetReplaced, lost.Reason())
		assert.Contains(t, err.Error(), "uid-cloneset-web-made-again")
		assert.Equal(t, "uid-cloneset-web-made-again", string(got.UID), "it answers with the CloneSet as it is")
	}
	assert.Empty(t, cloneSetWrites(s.kruise.Actions()), "nothing was sent to the new CloneSet")
	assert.Empty(t, s.patches)
	stored := s.get()
	assert.Equal(t, "web:v3", stored.Spec.Template.Spec.Containers[0].Image)
	assert.Nil(t, stored.Spec.UpdateStrategy.Partition)
	assert.NotContains(t, stored.Annotations, v1alpha1.OwnerAnnotation)
	assert.NotContains(t, stored.Annotations, v1alpha1.IntentAnnotation)
	assert.Nil(t, stored.Spec.Lifecycle)

	// Nor through Follow, whose cancel would pull the pods "of the release" out of traffic before it
	// writes the CloneSet.
	pod := webPod("n", "web-v9", 1, true)
	pod.OwnerReferences[0].UID = "uid-cloneset-web-made-again"
	d := s.driver(pod)
	canceled := pinnedTo(updateRelease("40", 2, releases.BatchBaking), "uid-cloneset-web")
	canceled.Status.Phase = releases.ReleaseCanceled
	require.True(t, plan.Reverting(canceled))
	f, err := d.Follow(ctx, canceled, []corev1.Pod{*pod}, plan.Observation{}, false)
	require.NoError(t, err, "a cancel has nothing to put back on a CloneSet that is not its own")
	require.NotNil(t, f.Lost, "but says it found it lost")
	assert.True(t, errors.Is(f.Lost, ErrCloneSetReplaced))
	assert.Equal(t, types.UID("uid-cloneset-web-made-again"), f.CloneSet.UID)
	// A running release is told with the error.
	_, err = d.Follow(ctx, pinnedTo(updateRelease("40", 2, releases.BatchBaking), "uid-cloneset-web"), []corev1.Pod{*pod}, plan.Observation{}, false)
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrCloneSetReplaced))
	assert.Empty(t, podWrites(d.Kube.(*kubefake.Clientset).Actions()), "no pod of the new CloneSet was written")
	assert.Empty(t, cloneSetWrites(s.kruise.Actions()))

	// A release admitted for it (the same UID) drives it as usual.
	_, err = s.driver().Apply(ctx, pinnedTo(updateRelease("40", 1, releases.BatchSmoking), "uid-cloneset-web-made-again"), false)
	require.NoError(t, err)
	assert.NotEmpty(t, s.patches)
}

// A CloneSet that is gone, for a release admitted for it (or a Create release that made it), is
// ErrCloneSetGone: a Create release past creation never makes it again.
func TestApplyRefusesACloneSetThatIsGone(t *testing.T) {
	ctx := context.Background()
	s := newAPIServer(t)

	_, err := s.driver().Apply(ctx, pinnedTo(updateRelease("40", 2, releases.BatchSmoked), "uid-cloneset-web"), false)
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrCloneSetGone), "got %v", err)
	var lost *LostError
	require.True(t, errors.As(err, &lost))
	assert.Equal(t, releases.ReasonCloneSetGone, lost.Reason())

	create := createRelease()
	create.Status.CloneSet.UID = "uid-web-made-by-the-release"
	_, err = s.driver().Apply(ctx, create, false)
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrCloneSetGone), "got %v", err)
	assert.Empty(t, cloneSetWrites(s.kruise.Actions()), "a Create release past creation does not make it again")

	// Before it made it (no UID recorded), a Create release makes it.
	_, err = s.driver().Apply(ctx, createRelease(), false)
	require.NoError(t, err)
	require.Len(t, cloneSetWrites(s.kruise.Actions()), 1)
	assert.Equal(t, "create", cloneSetWrites(s.kruise.Actions())[0].GetVerb())
}

// createRelease is a Create release of CloneSet web (4 pods, no pull-in), at batch 1.
func createRelease() *releases.Release {
	replicas, zero := int32(4), int32(0)
	return &releases.Release{
		ObjectMeta: metav1.ObjectMeta{Name: "web-create", Namespace: "default", UID: "uid-web-create", ResourceVersion: "30"},
		Spec: releases.ReleaseSpec{CloneSetName: "web", Action: releases.ActionCreate, Replicas: &replicas,
			Selector: cloneSetWeb().Spec.Selector, Template: cloneSetWeb().Spec.Template.DeepCopy(),
			Strategy: releases.ReleaseStrategy{NoPullIn: true}},
		Status: releases.ReleaseStatus{Phase: releases.ReleaseProgressing, CurrentBatch: 1,
			CloneSet: &releases.CloneSetObservation{ReplicasBeforeRelease: &zero},
			Batches:  []releases.ReleaseBatch{{Index: 1, Replicas: 4, Target: 4, Phase: releases.BatchSmoking}}},
	}
}

// Every merge patch Apply sends carries the CloneSet's uid as read (a precondition kube-apiserver enforces:
// uid is immutable), the first one (labels and hooks) as well as the release's.
func TestEveryPatchCarriesTheCloneSetsUID(t *testing.T) {
	ctx := context.Background()
	cs := cloneSetWeb()
	delete(cs.Labels, v1alpha1.PullInLabel)
	cs.Spec.Lifecycle = nil
	s := newAPIServer(t, cs)
	_, err := s.driver().Apply(ctx, pinnedTo(updateRelease("40", 1, releases.BatchSmoking), "uid-cloneset-web"), false)
	require.NoError(t, err)
	require.Len(t, s.patches, 2, "the pull-in label and hooks, then the template")
	for i, p := range s.patches {
		uid, ok := at(p, "metadata.uid")
		assert.True(t, ok, "patch %d has metadata.uid", i)
		assert.Equal(t, "uid-cloneset-web", uid, "patch %d", i)
	}
	// And the removal of the stale name of a finished release (see below), the only write it makes.
	s.edit(func(cs *kruiseappsv1alpha1.CloneSet) { cs.Annotations[v1alpha1.IntentAnnotation] = "uid-web-2/70" })
	done := updateRelease("50", 3, releases.BatchBaked)
	done.Status.Phase = releases.ReleaseSucceeded
	_, err = s.driver().Apply(ctx, done, false)
	require.NoError(t, err)
	require.Len(t, s.patches, 3)
	uid, _ := at(s.patches[2], "metadata.uid")
	assert.Equal(t, "uid-cloneset-web", uid)
}

// A CloneSet replaced between the read and the write is never written: the patch carries the uid read,
// the server refuses it (uid is immutable), and Apply reads again and finds the CloneSet is not the
// release's.
func TestAReplaceBetweenTheReadAndTheWriteIsNeverWritten(t *testing.T) {
	ctx := context.Background()
	s := newAPIServer(t, cloneSetWeb())
	s.race = func() {
		// Deleted and made again, with the resourceVersion the release read (only the uid tells them apart).
		again := cloneSetWeb()
		again.UID = "uid-cloneset-web-made-again"
		again.ResourceVersion = "100"
		require.NoError(t, s.kruise.Tracker().Update(cloneSets, again, "default"))
	}
	_, err := s.driver().Apply(ctx, pinnedTo(updateRelease("40", 1, releases.BatchSmoking), "uid-cloneset-web"), false)
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrCloneSetReplaced), "got %v", err)
	require.Len(t, s.patches, 1, "one patch sent")
	assert.Equal(t, 0, s.writes(), "and refused")
	stored := s.get()
	assert.Equal(t, types.UID("uid-cloneset-web-made-again"), stored.UID)
	assert.Equal(t, "web:v3", stored.Spec.Template.Spec.Containers[0].Image)
	assert.NotContains(t, stored.Annotations, v1alpha1.OwnerAnnotation)

	// A release with no UID recorded (admitted before UIDs were) is fenced the same way between its read
	// and its write: the patch carries the uid as read.
	s = newAPIServer(t, cloneSetWeb())
	s.race = func() {
		again := cloneSetWeb()
		again.UID = "uid-cloneset-web-made-again"
		again.ResourceVersion = "100"
		require.NoError(t, s.kruise.Tracker().Update(cloneSets, again, "default"))
	}
	_, err = s.driver().Apply(ctx, updateRelease("40", 1, releases.BatchSmoking), false)
	require.NoError(t, err, "it reads again and writes the CloneSet as it now is: it has no UID to tell")
	assert.Equal(t, 1, s.conflicts, "the write derived from the CloneSet before was refused")
}

// cloneSetAfter is CloneSet web as release web-2 left it when it Succeeded: its template (web:v3), every pod
// updated (partition 0), its stamp, no owner.
func cloneSetAfter() *kruiseappsv1alpha1.CloneSet {
	cs := cloneSetWeb()
	zero := intstr.FromInt32(0)
	cs.Spec.UpdateStrategy.Partition = &zero
	cs.Spec.Lifecycle = nil
	delete(cs.Labels, v1alpha1.PullInLabel)
	cs.Annotations[v1alpha1.IntentAnnotation] = "uid-web-2/70"
	return cs
}

// Section 14: an owner annotation naming a finished release, put back by hand (or by a manifest applied
// again) on a CloneSet another release wrote since, is not trusted. The finished release does not write
// its final state (its template, partition 0 and the strategy from before: every pod at once); it only
// takes the stale name off, so that the next release can start.
func TestAFinishedReleaseDoesNotTrustAStaleOwnerAnnotation(t *testing.T) {
	ctx := context.Background()
	cs := cloneSetAfter()
	cs.Annotations[v1alpha1.OwnerAnnotation] = "web-1"
	s := newAPIServer(t, cs)
	web1 := succeeded("web-1", "web:v2")
	web1.Status.CloneSet = &releases.CloneSetObservation{UID: "uid-cloneset-web"}

	_, err := s.driver().Apply(ctx, web1, false)
	require.NoError(t, err)
	require.Len(t, s.patches, 1)
	assert.ElementsMatch(t, []string{"metadata.annotations." + v1alpha1.OwnerAnnotation, "metadata.resourceVersion", "metadata.uid"},
		paths(s.patches[0]), "the name goes, and nothing else is written")
	owner, _ := annotation(t, s.patches[0], v1alpha1.OwnerAnnotation)
	assert.Nil(t, owner)
	stored := s.get()
	assert.NotContains(t, stored.Annotations, v1alpha1.OwnerAnnotation)
	assert.Equal(t, "web:v3", stored.Spec.Template.Spec.Containers[0].Image, "web-2's template stays")
	assert.Equal(t, "uid-web-2/70", stored.Annotations[v1alpha1.IntentAnnotation], "web-1 stamps nothing")
	assert.Equal(t, 0, stored.Spec.UpdateStrategy.Partition.IntValue())

	// Once the name is off, web-1 writes nothing at all.
	_, err = s.driver().Apply(ctx, web1, false)
	require.NoError(t, err)
	assert.Len(t, s.patches, 1)

	// A dry run writes nothing either.
	s.edit(func(cs *kruiseappsv1alpha1.CloneSet) { cs.Annotations[v1alpha1.OwnerAnnotation] = "web-1" })
	_, err = s.driver().Apply(ctx, web1, true)
	require.NoError(t, err)
	assert.Len(t, s.patches, 1)

	// A new release of the CloneSet is not held up by the stale name once web-1 has taken it off.
	_, err = s.driver().Apply(ctx, web1, false)
	require.NoError(t, err)
	next := updateRelease("80", 1, releases.BatchSmoking)
	next.Name, next.UID = "web-3", "uid-web-3"
	_, err = s.driver().Apply(ctx, next, false)
	require.NoError(t, err)
	assert.Equal(t, "web-3", s.get().Annotations[v1alpha1.OwnerAnnotation])
	assert.Equal(t, "web:v4", s.get().Spec.Template.Spec.Containers[0].Image)
}

// A finished release that did write the CloneSet last (its stamp) and still holds it lets go of it with its
// final state, as before.
func TestAFinishedReleaseStampedOnItsCloneSetLetsGo(t *testing.T) {
	ctx := context.Background()
	cs := cloneSetOwnedBy("web-1")
	cs.UID = "uid-web"
	cs.Annotations[v1alpha1.IntentAnnotation] = "uid-web-1/38"
	s := newAPIServer(t, cs)
	_, err := s.driver().Apply(ctx, succeeded("web-1", "web:v3"), false)
	require.NoError(t, err)
	require.Len(t, s.patches, 1)
	stored := s.get()
	assert.NotContains(t, stored.Annotations, v1alpha1.OwnerAnnotation)
	assert.Equal(t, 0, stored.Spec.UpdateStrategy.Partition.IntValue(), "its final state: every pod")
	assert.Equal(t, "uid-web-1/40", stored.Annotations[v1alpha1.IntentAnnotation])
}

// A finished release does not stamp a CloneSet another release wrote since it (the fence of a release
// canceled the moment it started is for its own older writes only).
func TestAFinishedReleaseDoesNotStampACloneSetAnotherWroteSince(t *testing.T) {
	ctx := context.Background()
	s := newAPIServer(t, cloneSetAfter())
	canceled := updateRelease("51", 1, releases.BatchSmoking)
	canceled.Status.Phase = releases.ReleaseCanceled
	_, err := s.driver().Apply(ctx, canceled, false)
	require.NoError(t, err)
	assert.Empty(t, s.patches)
	assert.Equal(t, "uid-web-2/70", s.get().Annotations[v1alpha1.IntentAnnotation])
}

// A cancel whose revision from before the release is gone, or is another CloneSet's (the release's was
// deleted with its revisions, and the new one made a revision of the same name), is ErrRevisionGone, and
// nothing is written.
func TestACancelWhoseRevisionIsGoneIsErrRevisionGone(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name    string
		objects func(t *testing.T) []runtime.Object
	}{
		{"not found", func(t *testing.T) []runtime.Object { return nil }},
		{"another CloneSet's", func(t *testing.T) []runtime.Object {
			rev := revisionV3(t)
			yes := true
			rev.OwnerReferences = []metav1.OwnerReference{{APIVersion: kruiseappsv1alpha1.SchemeGroupVersion.String(), Kind: "CloneSet",
				Name: "web", UID: "uid-cloneset-web-before", Controller: &yes}}
			return []runtime.Object{rev}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newAPIServer(t, heldByWebUpdate())
			r := pinnedTo(updateRelease("40", 2, releases.BatchBaking), "uid-cloneset-web")
			r.Status.Phase = releases.ReleaseCanceled
			_, err := s.driver(c.objects(t)...).Apply(ctx, r, false)
			require.Error(t, err)
			assert.True(t, errors.Is(err, ErrRevisionGone), "got %v", err)
			assert.Empty(t, s.patches)
		})
	}

	// Its own revision (controlled by the CloneSet it was admitted for) is read as before.
	s := newAPIServer(t, heldByWebUpdate())
	rev := revisionV3(t)
	yes := true
	rev.OwnerReferences = []metav1.OwnerReference{{APIVersion: kruiseappsv1alpha1.SchemeGroupVersion.String(), Kind: "CloneSet",
		Name: "web", UID: "uid-cloneset-web", Controller: &yes}}
	r := pinnedTo(updateRelease("40", 2, releases.BatchBaking), "uid-cloneset-web")
	r.Status.Phase = releases.ReleaseCanceled
	_, err := s.driver(rev).Apply(ctx, r, false)
	require.NoError(t, err)
	assert.Equal(t, "web:v3", s.get().Spec.Template.Spec.Containers[0].Image)
}

// heldByWebUpdate is CloneSet web as release web-update (at resourceVersion 40) left it while it ran.
func heldByWebUpdate() *kruiseappsv1alpha1.CloneSet {
	cs := cloneSetWeb()
	cs.Annotations[v1alpha1.OwnerAnnotation] = "web-update"
	cs.Annotations[v1alpha1.IntentAnnotation] = "uid-web-update/40"
	return cs
}

// A canceled release that could not put its template back (plan.MarkRevisionGone) lets go of the CloneSet
// as it is: its template and partition stay, its name, hooks and pull-in label go.
func TestACancelWhoseRevisionIsGoneLetsGoAsItIs(t *testing.T) {
	ctx := context.Background()
	s := newAPIServer(t, cloneSetWeb())
	running := pinnedTo(updateRelease("40", 2, releases.BatchBaking), "uid-cloneset-web")
	_, err := s.driver().Apply(ctx, running, false)
	require.NoError(t, err)
	require.Equal(t, "web-update", s.get().Annotations[v1alpha1.OwnerAnnotation])

	canceled := running.DeepCopy()
	canceled.ResourceVersion = "41"
	_, err = plan.Act(canceled, plan.VerbCancel, nil, plan.Observation{}, "bob", metav1.Now())
	require.NoError(t, err)
	require.True(t, plan.MarkRevisionGone(canceled, "revision web-v3 is gone", metav1.Now()))
	_, err = s.driver().Apply(ctx, canceled, false)
	require.NoError(t, err)
	stored := s.get()
	assert.Equal(t, "web:v4", stored.Spec.Template.Spec.Containers[0].Image, "the template stays")
	assert.Equal(t, 2, stored.Spec.UpdateStrategy.Partition.IntValue(), "the partition stays")
	assert.NotContains(t, stored.Annotations, v1alpha1.OwnerAnnotation)
	assert.NotContains(t, stored.Labels, v1alpha1.PullInLabel)
	assert.Empty(t, stored.Spec.Lifecycle, "no hooks")
	assert.False(t, stored.Spec.UpdateStrategy.Paused)
}

// A release that lost its CloneSet (plan.Lost) follows nothing: no CloneSet or pod write, but the removal
// of its own name from a CloneSet that carries it.
func TestFollowOfALostReleaseTouchesNothing(t *testing.T) {
	ctx := context.Background()
	replacement := cloneSetWeb()
	replacement.UID = "uid-cloneset-web-made-again"
	s := newAPIServer(t, replacement)
	r := pinnedTo(updateRelease("40", 2, releases.BatchSmoked), "uid-cloneset-web")
	require.True(t, plan.MarkLost(r, releases.ReasonCloneSetReplaced, "replaced", metav1.Now()))
	pod := webPod("n", "web-v3", 1, false)
	pod.OwnerReferences[0].UID = "uid-cloneset-web-made-again"
	d := s.driver(pod)

	for _, canceled := range []bool{false, true} {
		if canceled {
			_, err := plan.Act(r, plan.VerbCancel, nil, plan.Observation{}, "bob", metav1.Now())
			require.NoError(t, err)
		}
		f, err := d.Follow(ctx, r, []corev1.Pod{*pod}, plan.Observation{}, false)
		require.NoError(t, err)
		assert.Equal(t, types.UID("uid-cloneset-web-made-again"), f.CloneSet.UID)
	}
	assert.Empty(t, cloneSetWrites(s.kruise.Actions()))
	assert.Empty(t, podWrites(d.Kube.(*kubefake.Clientset).Actions()))

	// The release's name on the new CloneSet (a manifest exported while it ran): it goes, and only it.
	s.edit(func(cs *kruiseappsv1alpha1.CloneSet) { cs.Annotations[v1alpha1.OwnerAnnotation] = "web-update" })
	_, err := d.Follow(ctx, r, []corev1.Pod{*pod}, plan.Observation{}, false)
	require.NoError(t, err)
	require.Len(t, s.patches, 1)
	assert.ElementsMatch(t, []string{"metadata.annotations." + v1alpha1.OwnerAnnotation, "metadata.resourceVersion", "metadata.uid"}, paths(s.patches[0]))
	assert.Empty(t, podWrites(d.Kube.(*kubefake.Clientset).Actions()))
}

// Observe keeps the UID recorded, records it from the CloneSet when none was (a Create release, once it
// made it), and keeps the whole observation of a release whose CloneSet has another UID.
func TestObserveKeepsTheUID(t *testing.T) {
	cs := cloneSetWeb()
	o := Observe(cs, nil)
	assert.Equal(t, types.UID("uid-cloneset-web"), o.UID, "recorded at admission")

	zero := int32(0)
	o = Observe(cs, &releases.CloneSetObservation{ReplicasBeforeRelease: &zero})
	assert.Equal(t, types.UID("uid-cloneset-web"), o.UID, "a Create release's first observation")
	assert.Equal(t, int32(6), o.Replicas)

	previous := &releases.CloneSetObservation{UID: "uid-cloneset-web", Replicas: 3, UpdateRevision: "web-v2", RevisionBeforeRelease: "web-v1"}
	o = Observe(cs, previous)
	assert.Equal(t, types.UID("uid-cloneset-web"), o.UID)
	assert.Equal(t, int32(6), o.Replicas)
	assert.Equal(t, "web-v1", o.RevisionBeforeRelease)

	o = Observe(nil, previous)
	assert.Equal(t, types.UID("uid-cloneset-web"), o.UID, "kept when the CloneSet is gone")

	other := cloneSetWeb()
	other.UID = "uid-cloneset-web-made-again"
	o = Observe(other, previous)
	assert.Equal(t, previous, o, "another CloneSet is not observed")
}
