//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/test/e2e/framework"
)

// The status of a release is triton-apiserver's own record, the intent its controller makes the CloneSet
// follow. No one else writes it, whatever RBAC allows: not a cluster admin (system:masters), by PUT, merge
// patch or server-side apply. A release moves through pause, resume, next and cancel.

// assertStatusRefusal checks the 403 of a status write by user, who is not triton-apiserver.
func assertStatusRefusal(t *testing.T, err error, user, what string) {
	t.Helper()
	if assert.True(t, apierrors.IsForbidden(err), "%s: want 403, got %v", what, err) {
		assert.Contains(t, err.Error(), fmt.Sprintf("User %q cannot write the status of a release", user), what)
		assert.Contains(t, err.Error(), "the status is written by triton-apiserver's controller only", what)
		assert.Contains(t, err.Error(), "pause, resume, next and cancel subresources", what)
	}
}

// succeededRelease makes the tutorial's CloneSet in ns with 2 pods and runs the Auto release nginx-update
// of it to nginx:1.28, one batch of every pod and no canary, to its end. It returns the release and the
// CloneSet once the release has let go of it.
func succeededRelease(t *testing.T, ctx context.Context, admin *framework.Cluster, ns string) (*v1alpha1.Release, *kruiseappsv1alpha1.CloneSet) {
	t.Helper()
	framework.Nginx(t, ctx, admin, ns, 2)
	_, err := admin.Releases.ReleasesV1alpha1().Releases(ns).Create(ctx,
		framework.UpdateTo("nginx:1.28", 0, intstr.FromString("100%"), v1alpha1.ModeAuto), metav1.CreateOptions{})
	require.NoError(t, err)
	framework.WaitRelease(t, ctx, admin, ns, "nginx-update", "Succeeded", framework.Succeeded)
	cs := framework.WaitReleased(t, ctx, admin, ns)
	r, err := admin.Releases.ReleasesV1alpha1().Releases(ns).Get(ctx, "nginx-update", metav1.GetOptions{})
	require.NoError(t, err)
	return r, cs
}

func revisionBeforeRelease(r *v1alpha1.Release) string {
	if r.Status.CloneSet == nil {
		return ""
	}
	return r.Status.CloneSet.RevisionBeforeRelease
}

// staysAsItWas checks for a while that release nginx-update is where before was (phase, batch and its
// phase, history, the revision it returns its CloneSet to) and that its CloneSet did not move (spec,
// owner, partition).
func staysAsItWas(t *testing.T, ctx context.Context, admin *framework.Cluster, ns, what string, before *v1alpha1.Release, csBefore *kruiseappsv1alpha1.CloneSet) {
	t.Helper()
	framework.Holds(t, ctx, 2*time.Second, what, func(ctx context.Context) (bool, string) {
		r, err := admin.Releases.ReleasesV1alpha1().Releases(ns).Get(ctx, "nginx-update", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		cs := framework.GetCloneSet(t, ctx, admin, ns)
		batchPhase := func(r *v1alpha1.Release) v1alpha1.BatchPhase {
			if r.Status.CurrentBatch < 1 || int(r.Status.CurrentBatch) > len(r.Status.Batches) {
				return ""
			}
			return r.Status.Batches[r.Status.CurrentBatch-1].Phase
		}
		ok := r.Status.Phase == before.Status.Phase && r.Status.CurrentBatch == before.Status.CurrentBatch &&
			batchPhase(r) == batchPhase(before) && len(r.Status.History) == len(before.Status.History) &&
			revisionBeforeRelease(r) == revisionBeforeRelease(before) &&
			cs.Generation == csBefore.Generation && framework.Partition(cs) == framework.Partition(csBefore) &&
			cs.Annotations[v1alpha1.OwnerAnnotation] == csBefore.Annotations[v1alpha1.OwnerAnnotation] &&
			cs.Spec.Template.Spec.Containers[0].Image == csBefore.Spec.Template.Spec.Containers[0].Image
		return ok, fmt.Sprintf("release %s batch %d %s, %d history entries, revision before %q (was %s batch %d %s, %d, %q); "+
			"CloneSet generation %d partition %d owner %q image %s (was %d, %d, %q, %s)",
			r.Status.Phase, r.Status.CurrentBatch, batchPhase(r), len(r.Status.History), revisionBeforeRelease(r),
			before.Status.Phase, before.Status.CurrentBatch, batchPhase(before), len(before.Status.History), revisionBeforeRelease(before),
			cs.Generation, framework.Partition(cs), cs.Annotations[v1alpha1.OwnerAnnotation], cs.Spec.Template.Spec.Containers[0].Image,
			csBefore.Generation, framework.Partition(csBefore), csBefore.Annotations[v1alpha1.OwnerAnnotation], csBefore.Spec.Template.Spec.Containers[0].Image)
	})
}

// A cluster admin cannot move a Succeeded release back to Progressing (which would have the controller
// take its CloneSet again): not by a merge patch of releases/status, not by a PUT of it, not by a
// server-side apply of it, forced.
func TestStatusOfAFinishedReleaseCannotBeMovedBack(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t)
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	before, csBefore := succeededRelease(t, ctx, admin, ns)
	require.Equal(t, v1alpha1.ReleaseSucceeded, before.Status.Phase)
	releases := s.Releases

	t.Run("merge patch", func(t *testing.T) {
		_, err := releases.Patch(ctx, "nginx-update", types.MergePatchType,
			[]byte(`{"status":{"phase":"Progressing"}}`), metav1.PatchOptions{}, "status")
		assertStatusRefusal(t, err, "admin", "merge patch of status.phase")
		staysAsItWas(t, ctx, admin, ns, "Succeeded after the merge patch", before, csBefore)
	})

	t.Run("put", func(t *testing.T) {
		moved := before.DeepCopy()
		moved.Status.Phase = v1alpha1.ReleaseProgressing
		_, err := releases.UpdateStatus(ctx, moved, metav1.UpdateOptions{})
		assertStatusRefusal(t, err, "admin", "PUT of the status")
		staysAsItWas(t, ctx, admin, ns, "Succeeded after the PUT", before, csBefore)
	})

	t.Run("server-side apply", func(t *testing.T) {
		force := true
		_, err := releases.Patch(ctx, "nginx-update", types.ApplyPatchType, // application/apply-patch+yaml
			[]byte("apiVersion: releases.triton.io/v1alpha1\nkind: Release\nmetadata:\n  name: nginx-update\nstatus:\n  phase: Progressing\n"),
			metav1.PatchOptions{FieldManager: "admin-by-hand", Force: &force}, "status")
		assertStatusRefusal(t, err, "admin", "server-side apply of status.phase")
		staysAsItWas(t, ctx, admin, ns, "Succeeded after the server-side apply", before, csBefore)
	})

	// Reading the status subresource stays open.
	var got v1alpha1.Release
	require.NoError(t, admin.Releases.ReleasesV1alpha1().RESTClient().Get().
		Namespace(ns).Resource("releases").Name("nginx-update").SubResource("status").Do(ctx).Into(&got))
	assert.Equal(t, v1alpha1.ReleaseSucceeded, got.Status.Phase)
}

// A cluster admin cannot point a running release's revisionBeforeRelease (what cancel returns the
// CloneSet to) at another CloneSet's ControllerRevision; cancel still returns the CloneSet to its own.
func TestStatusRevisionBeforeReleaseCannotBeRepointed(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.SmokedCanary())
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	before := s.Release
	csBefore := framework.GetCloneSet(t, ctx, admin, ns)
	require.NotEmpty(t, revisionBeforeRelease(before))

	// Another workload, with a revision of another template.
	_, err := admin.Kruise.AppsV1alpha1().CloneSets(ns).Create(ctx, framework.NewCloneSet("other", 1, framework.WithContainer("other", "busybox:1.36")), metav1.CreateOptions{})
	require.NoError(t, err)
	other := framework.WaitCloneSetNamed(t, ctx, admin, ns, "other", "its first revision", func(cs *kruiseappsv1alpha1.CloneSet) bool {
		return cs.Status.UpdateRevision != ""
	}).Status.UpdateRevision
	_, err = admin.Kube.AppsV1().ControllerRevisions(ns).Get(ctx, other, metav1.GetOptions{})
	require.NoError(t, err, "the other CloneSet's ControllerRevision %s", other)
	require.NotEqual(t, revisionBeforeRelease(before), other)

	releases := s.Releases
	_, err = releases.Patch(ctx, "nginx-update", types.MergePatchType,
		[]byte(fmt.Sprintf(`{"status":{"cloneSet":{"revisionBeforeRelease":%q}}}`, other)), metav1.PatchOptions{}, "status")
	assertStatusRefusal(t, err, "admin", "merge patch of status.cloneSet.revisionBeforeRelease")
	staysAsItWas(t, ctx, admin, ns, "the canary waits, the CloneSet returns to its own revision", before, csBefore)

	// What cancel does proves it: the CloneSet goes back to its own template, not the other's.
	_, err = releases.Cancel(ctx, "nginx-update", &v1alpha1.ReleaseRequest{Reason: "status test"}, metav1.CreateOptions{})
	require.NoError(t, err)
	cs := framework.WaitCloneSetIs(t, ctx, admin, ns, "back at its own revision", func(cs *kruiseappsv1alpha1.CloneSet) bool {
		return cs.Status.ObservedGeneration == cs.Generation && cs.Status.UpdateRevision == revisionBeforeRelease(before)
	})
	assert.Equal(t, "nginx:1.27", cs.Spec.Template.Spec.Containers[0].Image)
}
