package cloneset

import (
	"context"
	"testing"

	appspub "github.com/openkruise/kruise-api/apps/pub"
	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	kruisefake "github.com/openkruise/kruise-api/client/clientset/versioned/fake"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	kubefake "k8s.io/client-go/kubernetes/fake"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/release/moves"
	"github.com/triton-io/triton/pkg/release/plan"
)

// cloneSetOwnedBy is CloneSet web in the middle of release owner: image v3, partition 2 of 4.
func cloneSetOwnedBy(owner string) *kruiseappsv1alpha1.CloneSet {
	replicas := int32(4)
	partition := intstr.FromInt32(2)
	return &kruiseappsv1alpha1.CloneSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", ResourceVersion: "7",
			Annotations: map[string]string{v1alpha1.OwnerAnnotation: owner}},
		Spec: kruiseappsv1alpha1.CloneSetSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "web:v3"}}},
			},
			UpdateStrategy: kruiseappsv1alpha1.CloneSetUpdateStrategy{Partition: &partition},
		},
	}
}

// succeeded is release name of CloneSet web to image, finished.
func succeeded(name, image string) *releases.Release {
	return &releases.Release{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name), ResourceVersion: "40"},
		Spec: releases.ReleaseSpec{
			CloneSetName: "web",
			Action:       releases.ActionUpdate,
			Template: &corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: image}}},
			},
		},
		Status: releases.ReleaseStatus{Phase: releases.ReleaseSucceeded, CurrentBatch: 2,
			Batches: []releases.ReleaseBatch{{Index: 1, Replicas: 2, Target: 2, Phase: releases.BatchBaked},
				{Index: 2, Replicas: 2, Target: 4, Phase: releases.BatchBaked}}},
	}
}

// writes counts the writes to CloneSets.
func writes(kruise *kruisefake.Clientset) int {
	n := 0
	for _, a := range kruise.Actions() {
		switch a.GetVerb() {
		case "create", "update", "patch", "delete":
			if a.GetResource().Resource == "clonesets" {
				n++
			}
		}
	}
	return n
}

// A finished release lets go of the CloneSet it still owns; one a newer release has taken over in the
// meantime (the newer one was created the moment the older Succeeded) is not its to write.
func TestAFinishedReleaseNeverWritesACloneSetAnotherReleaseOwns(t *testing.T) {
	ctx := context.Background()

	kruise := kruisefake.NewSimpleClientset(cloneSetOwnedBy("web-2"))
	d := &Driver{Kruise: kruise, Kube: kubefake.NewSimpleClientset()}
	got, err := d.Apply(ctx, succeeded("web-1", "web:v2"), false)
	require.NoError(t, err)
	assert.Equal(t, 0, writes(kruise), "the CloneSet of release web-2 was written by the finished web-1")
	stored, err := kruise.AppsV1alpha1().CloneSets("default").Get(ctx, "web", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "web:v3", stored.Spec.Template.Spec.Containers[0].Image)
	assert.Equal(t, "web-2", stored.Annotations[v1alpha1.OwnerAnnotation])
	assert.Equal(t, int32(2), int32(stored.Spec.UpdateStrategy.Partition.IntValue()))
	assert.Equal(t, stored.ResourceVersion, got.ResourceVersion)

	// The same release, still the owner, does let go of it.
	kruise = kruisefake.NewSimpleClientset(cloneSetOwnedBy("web-1"))
	d = &Driver{Kruise: kruise, Kube: kubefake.NewSimpleClientset()}
	_, err = d.Apply(ctx, succeeded("web-1", "web:v3"), false)
	require.NoError(t, err)
	assert.Equal(t, 1, writes(kruise))
	stored, err = kruise.AppsV1alpha1().CloneSets("default").Get(ctx, "web", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Empty(t, stored.Annotations[v1alpha1.OwnerAnnotation], "released at the end")
}

// cloneSetWeb is CloneSet web before a release: 6 pods of web:v3, with fields that no release owns set.
func cloneSetWeb() *kruiseappsv1alpha1.CloneSet {
	replicas, history := int32(6), int32(7)
	surge := intstr.FromInt32(0)
	return &kruiseappsv1alpha1.CloneSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "uid-cloneset-web", ResourceVersion: "100",
			Generation: 3, Labels: map[string]string{"app": "web", "team": "payments", v1alpha1.PullInLabel: "true"},
			Annotations: map[string]string{"example.com/contact": "ops"}},
		Spec: kruiseappsv1alpha1.CloneSetSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "web:v3"}}},
			},
			RevisionHistoryLimit: &history,
			MinReadySeconds:      5,
			UpdateStrategy:       kruiseappsv1alpha1.CloneSetUpdateStrategy{Type: kruiseappsv1alpha1.RecreateCloneSetUpdateStrategyType, MaxSurge: &surge},
			ScaleStrategy:        kruiseappsv1alpha1.CloneSetScaleStrategy{DisablePVCReuse: true},
			// As the release's first write left it (prepare): its hooks are on.
			Lifecycle: &appspub.Lifecycle{
				PreDelete:     &appspub.LifecycleHook{LabelsHandler: map[string]string{v1alpha1.HoldLabel: "true"}, MarkPodNotReady: true},
				InPlaceUpdate: &appspub.LifecycleHook{LabelsHandler: map[string]string{v1alpha1.HoldLabel: "true"}, MarkPodNotReady: true},
			},
		},
		Status: kruiseappsv1alpha1.CloneSetStatus{ObservedGeneration: 3, Replicas: 6, ReadyReplicas: 6, UpdatedReplicas: 6,
			UpdateRevision: "web-v3", CurrentRevision: "web-v3"},
	}
}

// updateRelease is release web-update of CloneSet web (6 pods) to web:v4 in batches of 2 (targets 2, 4, 6),
// at batch current in phase, as stored at resourceVersion rv.
func updateRelease(rv string, current int32, phase releases.BatchPhase) *releases.Release {
	size := intstr.FromInt32(2)
	before := int32(6)
	r := &releases.Release{
		ObjectMeta: metav1.ObjectMeta{Name: "web-update", Namespace: "default", UID: "uid-web-update", ResourceVersion: rv},
		Spec: releases.ReleaseSpec{
			CloneSetName: "web",
			Action:       releases.ActionUpdate,
			Template: &corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "web:v4"}}},
			},
			Strategy: releases.ReleaseStrategy{BatchSize: &size, Mode: releases.ModeManual},
		},
		Status: releases.ReleaseStatus{Phase: releases.ReleaseProgressing, CurrentBatch: current,
			CloneSet: &releases.CloneSetObservation{RevisionBeforeRelease: "web-v3", ReplicasBeforeRelease: &before}},
	}
	for i := int32(1); i <= 3; i++ {
		b := releases.ReleaseBatch{Index: i, Replicas: 2, Target: 2 * i, Phase: releases.BatchPending}
		switch {
		case i < current:
			b.Phase = releases.BatchBaked
		case i == current:
			b.Phase = phase
		}
		r.Status.Batches = append(r.Status.Batches, b)
	}
	return r
}

// The paths a release owns on its CloneSet: nothing else may be in its patches (but for the
// preconditions: the resourceVersion and uid as read).
var owned = []string{
	"spec.template", "spec.replicas", "spec.updateStrategy.partition", "spec.updateStrategy.maxUnavailable",
	"spec.updateStrategy.paused", "spec.updateStrategy.type", "spec.scaleStrategy.podsToDelete",
	"spec.lifecycle.preDelete", "spec.lifecycle.inPlaceUpdate", "metadata.annotations",
	"metadata.resourceVersion", "metadata.uid", "metadata.labels." + v1alpha1.PullInLabel,
}

func assertOnlyOwned(t *testing.T, patch map[string]interface{}) {
	t.Helper()
	for _, p := range paths(patch) {
		ok := false
		for _, o := range owned {
			ok = ok || under(p, o)
		}
		assert.True(t, ok, "the patch writes %s, which the release does not own", p)
	}
}

func annotation(t *testing.T, patch map[string]interface{}, key string) (interface{}, bool) {
	t.Helper()
	annotations, ok := at(patch, "metadata.annotations")
	require.True(t, ok, "the patch has annotations")
	v, ok := annotations.(map[string]interface{})[key]
	return v, ok
}

// Task: a CloneSet write says only what the release owns. A newer OpenKruise's fields, which the kruise-api
// types do not know, are never in it, so the server keeps them.
func TestApplyPatchesOnlyWhatTheReleaseOwns(t *testing.T) {
	ctx := context.Background()
	s := newAPIServer(t, cloneSetWeb())
	got, err := s.driver().Apply(ctx, updateRelease("40", 1, releases.BatchSmoking), false)
	require.NoError(t, err)

	for _, a := range s.kruise.Actions() {
		assert.NotEqual(t, "update", a.GetVerb(), "a CloneSet is never written whole")
	}
	require.Len(t, s.patches, 1)
	patch := s.patches[0]
	assertOnlyOwned(t, patch)
	for _, notOwned := range []string{"spec.minReadySeconds", "spec.revisionHistoryLimit", "spec.selector",
		"spec.updateStrategy.type", "spec.updateStrategy.maxSurge", "spec.scaleStrategy.disablePVCReuse",
		"metadata.labels", "metadata.name", "metadata.generation", "status"} {
		_, found := at(patch, notOwned)
		assert.False(t, found, "%s is not the release's to write", notOwned)
	}
	_, found := annotation(t, patch, "example.com/contact")
	assert.False(t, found, "an annotation the release does not own is not in the patch")

	rv, _ := at(patch, "metadata.resourceVersion")
	assert.Equal(t, "100", rv, "the resourceVersion as read: a precondition")
	uid, _ := at(patch, "metadata.uid")
	assert.Equal(t, "uid-cloneset-web", uid, "the uid as read: a precondition (uid is immutable)")
	stamp, _ := annotation(t, patch, v1alpha1.IntentAnnotation)
	assert.Equal(t, "uid-web-update/40", stamp)
	owner, _ := annotation(t, patch, v1alpha1.OwnerAnnotation)
	assert.Equal(t, "web-update", owner)
	partition, _ := at(patch, "spec.updateStrategy.partition")
	assert.EqualValues(t, 4, partition, "6 pods, batch 1 of 2: partition 4")
	_, found = at(patch, "spec.template")
	assert.True(t, found)
	_, found = at(patch, "spec.lifecycle")
	assert.False(t, found, "the hooks were on already")

	require.Len(t, s.opts, 1)
	assert.Equal(t, "triton-apiserver", s.opts[0].FieldManager)
	assert.Empty(t, s.opts[0].DryRun)

	stored := s.get()
	assert.Equal(t, stored.ResourceVersion, got.ResourceVersion, "Apply returns the patched CloneSet")
	assert.NotEqual(t, "100", got.ResourceVersion)
	assert.Equal(t, int32(4), int32(stored.Spec.UpdateStrategy.Partition.IntValue()))
	assert.Equal(t, int32(2), int32(stored.Spec.UpdateStrategy.MaxUnavailable.IntValue()))
	assert.Equal(t, "web:v4", stored.Spec.Template.Spec.Containers[0].Image)
	assert.False(t, moves.HasGate(&stored.Spec.Template), "no readiness gate in the template (invariant 10)")
	assert.Equal(t, "true", stored.Labels[v1alpha1.PullInLabel])
	require.NotNil(t, stored.Spec.Lifecycle)
	require.NotNil(t, stored.Spec.Lifecycle.PreDelete)
	assert.Equal(t, "true", stored.Spec.Lifecycle.PreDelete.LabelsHandler[v1alpha1.HoldLabel])
	// What the release does not own is as it was.
	assert.Equal(t, int32(5), stored.Spec.MinReadySeconds)
	assert.Equal(t, int32(7), *stored.Spec.RevisionHistoryLimit)
	assert.Equal(t, "payments", stored.Labels["team"])
	assert.Equal(t, "ops", stored.Annotations["example.com/contact"])
	assert.Equal(t, kruiseappsv1alpha1.RecreateCloneSetUpdateStrategyType, stored.Spec.UpdateStrategy.Type)
	assert.True(t, stored.Spec.ScaleStrategy.DisablePVCReuse)

	// Nothing differs now: nothing is written.
	_, err = s.driver().Apply(ctx, updateRelease("40", 1, releases.BatchSmoking), false)
	require.NoError(t, err)
	assert.Len(t, s.patches, 1)
}

// Removals are nulls in the merge patch: the owner annotation, the hooks and podsToDelete entries of pods
// that are gone go when the release lets the CloneSet go. The hooks go one by one, never spec.lifecycle
// whole (it may have hooks the kruise-api types do not know).
func TestApplyPatchRemovesWhatTheReleaseLetsGo(t *testing.T) {
	ctx := context.Background()
	s := newAPIServer(t, cloneSetWeb())
	running := updateRelease("40", 3, releases.BatchBaked)
	_, err := s.driver().Apply(ctx, running, false)
	require.NoError(t, err)
	// A scale-in left two names behind; pod web-a is still there.
	s.edit(func(cs *kruiseappsv1alpha1.CloneSet) {
		cs.Spec.ScaleStrategy.PodsToDelete = []string{"web-gone", "web-a"}
	})
	cs := s.get()
	podA := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-a", Namespace: "default", Labels: map[string]string{"app": "web"},
		OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(cs, kruiseappsv1alpha1.SchemeGroupVersion.WithKind("CloneSet"))}}}

	done := updateRelease("50", 3, releases.BatchBaked)
	done.Status.Phase = releases.ReleaseSucceeded
	_, err = s.driver(podA).Apply(ctx, done, false)
	require.NoError(t, err)
	require.Len(t, s.patches, 2)
	patch := s.patches[1]
	assertOnlyOwned(t, patch)
	owner, found := annotation(t, patch, v1alpha1.OwnerAnnotation)
	assert.True(t, found)
	assert.Nil(t, owner, "null removes the owner annotation")
	lifecycle, found := at(patch, "spec.lifecycle")
	assert.True(t, found)
	assert.Equal(t, map[string]interface{}{"preDelete": nil, "inPlaceUpdate": nil}, lifecycle, "null removes each hook")
	podsToDelete, _ := at(patch, "spec.scaleStrategy.podsToDelete")
	assert.Equal(t, []interface{}{"web-a"}, podsToDelete)

	stored := s.get()
	_, has := stored.Annotations[v1alpha1.OwnerAnnotation]
	assert.False(t, has)
	assert.Empty(t, stored.Spec.Lifecycle, "no hooks")
	assert.Equal(t, []string{"web-a"}, stored.Spec.ScaleStrategy.PodsToDelete)
	assert.Equal(t, int32(0), int32(stored.Spec.UpdateStrategy.Partition.IntValue()))
	assert.Equal(t, "ops", stored.Annotations["example.com/contact"])
}

// A write in between the read and the patch makes the patch's resourceVersion stale: the server refuses it
// with 409, and Apply reads again and patches what that write left, keeping its changes.
func TestApplyRetriesAStaleResourceVersion(t *testing.T) {
	ctx := context.Background()
	s := newAPIServer(t, cloneSetWeb())
	s.race = func() {
		s.edit(func(cs *kruiseappsv1alpha1.CloneSet) {
			cs.Spec.MinReadySeconds = 9
			cs.Labels["edited"] = "by-hand"
		})
	}
	got, err := s.driver().Apply(ctx, updateRelease("40", 1, releases.BatchSmoking), false)
	require.NoError(t, err)

	require.Len(t, s.patches, 2, "refused once, then patched again")
	assert.Equal(t, 1, s.conflicts)
	first, _ := at(s.patches[0], "metadata.resourceVersion")
	second, _ := at(s.patches[1], "metadata.resourceVersion")
	assert.Equal(t, "100", first)
	assert.Equal(t, "101", second, "the retry read the CloneSet again")
	for _, p := range s.patches {
		stamp, _ := annotation(t, p, v1alpha1.IntentAnnotation)
		assert.Equal(t, "uid-web-update/40", stamp)
	}
	stored := s.get()
	assert.Equal(t, stored.ResourceVersion, got.ResourceVersion)
	assert.Equal(t, int32(4), int32(stored.Spec.UpdateStrategy.Partition.IntValue()))
	assert.Equal(t, int32(9), stored.Spec.MinReadySeconds, "the other write is kept")
	assert.Equal(t, "by-hand", stored.Labels["edited"])
}

// A dry run sends the same patch with dryRun=All, answers with what would be stored, and stores nothing.
func TestApplyDryRunPatchesNothing(t *testing.T) {
	ctx := context.Background()
	s := newAPIServer(t, cloneSetWeb())
	got, err := s.driver().Apply(ctx, updateRelease("40", 1, releases.BatchSmoking), true)
	require.NoError(t, err)
	require.Len(t, s.opts, 1)
	assert.Equal(t, []string{metav1.DryRunAll}, s.opts[0].DryRun)
	assert.Equal(t, "triton-apiserver", s.opts[0].FieldManager)
	assert.Equal(t, int32(4), int32(got.Spec.UpdateStrategy.Partition.IntValue()), "the answer shows the new partition")
	assert.Equal(t, "web-update", got.Annotations[v1alpha1.OwnerAnnotation])

	stored := s.get()
	assert.Equal(t, "100", stored.ResourceVersion)
	assert.Nil(t, stored.Spec.UpdateStrategy.Partition)
	assert.Empty(t, stored.Annotations[v1alpha1.OwnerAnnotation])
}

// A release canceled before any write of it landed (the controller starting it, the verb canceling it at
// once) stamps the CloneSet nobody holds, so the controller's write of the older, running state, still in
// flight, does not take the CloneSet back over an edit made since (seen end to end: the edit's image was
// replaced by the template from before the release). So it does on a CloneSet that an earlier release
// wrote last, as every CloneSet released before is: that release's stamp is of a state older than the
// cancel's.
func TestACancelBeforeTheStartLandsFencesTheStart(t *testing.T) {
	for _, c := range []struct{ name, stampBefore string }{
		{"never released before", ""},
		{"an earlier release wrote it last", "uid-web-earlier/30"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			cs := cloneSetWeb()
			if c.stampBefore != "" {
				cs.Annotations[v1alpha1.IntentAnnotation] = c.stampBefore
			}
			s := newAPIServer(t, cs)
			started := updateRelease("50", 1, releases.BatchSmoking)
			canceled := started.DeepCopy()
			canceled.ResourceVersion = "51"
			canceled.Status.Phase = releases.ReleaseCanceled

			_, err := s.driver().Apply(ctx, canceled, false)
			require.NoError(t, err)
			assert.Equal(t, "uid-web-update/51", s.get().Annotations[v1alpha1.IntentAnnotation], "the cancel's stamp")
			assert.Empty(t, s.get().Annotations[v1alpha1.OwnerAnnotation])

			// Someone edits the image; then the start's write arrives.
			s.edit(func(cs *kruiseappsv1alpha1.CloneSet) { cs.Spec.Template.Spec.Containers[0].Image = "web:v5" })
			writes := s.writes()
			_, err = s.driver().Apply(ctx, started, false)
			require.NoError(t, err)
			assert.Equal(t, writes, s.writes(), "the stale start wrote nothing")
			assert.Equal(t, "web:v5", s.get().Spec.Template.Spec.Containers[0].Image, "the edit stays")
			assert.Empty(t, s.get().Annotations[v1alpha1.OwnerAnnotation], "nobody took the CloneSet")
		})
	}
}

// An unfinished release never writes a CloneSet another release holds: it can only be an older state of
// it (admission claims a CloneSet for one unfinished release at a time).
func TestAReleaseNeverWritesACloneSetAnotherHolds(t *testing.T) {
	ctx := context.Background()
	s := newAPIServer(t, cloneSetOwnedBy("web-2"))
	before := s.get()
	_, err := s.driver().Apply(ctx, updateRelease("60", 1, releases.BatchSmoking), false)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "held by release web-2")
	assert.Equal(t, before.ResourceVersion, s.get().ResourceVersion, "nothing written")
}

// The pull-in label goes on the CloneSet in a write of its own, before the release's template: kube-
// apiserver's admission policy gates the pods of a labeled CloneSet, and must know about the label before
// kruise makes the first pod of the new template. It comes off when the release lets go.
func TestThePullInLabelGoesOnBeforeTheTemplate(t *testing.T) {
	ctx := context.Background()
	cs := cloneSetWeb()
	delete(cs.Labels, v1alpha1.PullInLabel)
	cs.Spec.Lifecycle = nil
	s := newAPIServer(t, cs)
	_, err := s.driver().Apply(ctx, updateRelease("40", 1, releases.BatchSmoking), false)
	require.NoError(t, err)
	require.Len(t, s.patches, 2)
	label, ok := at(s.patches[0], "metadata.labels")
	require.True(t, ok)
	assert.Equal(t, map[string]interface{}{v1alpha1.PullInLabel: "true"}, label, "the first write: the label")
	_, ok = at(s.patches[0], "spec.template")
	assert.False(t, ok, "not the template yet")
	_, ok = at(s.patches[0], "spec.lifecycle.preDelete")
	assert.True(t, ok, "and the hooks that hold a pod before kruise deletes it")
	_, ok = at(s.patches[1], "spec.template")
	assert.True(t, ok, "then the template")
	stored := s.get()
	assert.Equal(t, "true", stored.Labels[v1alpha1.PullInLabel])
	assert.Equal(t, "payments", stored.Labels["team"])

	done := updateRelease("41", 3, releases.BatchBaked)
	done.Status.Phase = releases.ReleaseSucceeded
	_, err = s.driver().Apply(ctx, done, false)
	require.NoError(t, err)
	stored = s.get()
	_, labeled := stored.Labels[v1alpha1.PullInLabel]
	assert.False(t, labeled, "a CloneSet no release holds has no pull-in label: its new pods get no gate")
	assert.Equal(t, "payments", stored.Labels["team"])
	assert.False(t, moves.HasGate(&stored.Spec.Template))
}

// A Create release canceled before its CloneSet was made has nothing to put back: following it writes
// nothing and is no error (the cancel answered 500, and the controller retried for ever).
func TestACreateCanceledBeforeItsCloneSetWasMadeFollowsWithoutError(t *testing.T) {
	ctx := context.Background()
	kruise := kruisefake.NewSimpleClientset()
	kube := kubefake.NewSimpleClientset()
	d := &Driver{Kruise: kruise, Kube: kube}
	r := succeeded("web-create", "web:v1")
	r.Spec.Action = releases.ActionCreate
	r.Status.Phase = releases.ReleaseCanceled
	r.Status.CurrentBatch = 1
	r.Status.Batches[0].Phase = releases.BatchSmoking
	r.Status.Batches[1].Phase = releases.BatchPending

	f, err := d.Follow(ctx, r, nil, plan.Observation{}, false)
	require.NoError(t, err)
	assert.Nil(t, f.CloneSet)
	assert.Zero(t, writes(kruise), "no CloneSet made for a canceled release")
	_, err = kruise.AppsV1alpha1().CloneSets("default").Get(ctx, "web", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "still no CloneSet web: %v", err)

	// A release of any other action finds its CloneSet gone: that is an error (the release is lost).
	r.Spec.Action = releases.ActionUpdate
	r.Status.Phase = releases.ReleaseProgressing
	_, err = d.Follow(ctx, r, nil, plan.Observation{}, false)
	assert.True(t, apierrors.IsNotFound(err), "an Update whose CloneSet is gone: %v", err)
}
