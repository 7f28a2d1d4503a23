package integration

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	releaseac "github.com/triton-io/triton/pkg/generated/applyconfiguration/releases/v1alpha1"
)

func TestCreateGetListDelete(t *testing.T) {
	ctx, ns := testContext(t), namespace(t)
	releases := shared.client.ReleasesV1alpha1().Releases(ns)

	created, err := releases.Create(ctx, updateRelease("web-v2", "web"), metav1.CreateOptions{})
	require.NoError(t, err)
	// Defaults and the server-owned status are in the answer.
	assert.Equal(t, v1alpha1.ModeManual, created.Spec.Strategy.Mode)
	assert.Equal(t, int32(600), *created.Spec.Strategy.ProgressDeadlineSeconds)
	assert.Equal(t, "0", created.Spec.Strategy.MaxFailedPods.String())
	assert.Equal(t, v1alpha1.ReleasePending, created.Status.Phase)
	assert.Equal(t, int64(1), created.Generation)
	assert.NotEmpty(t, created.UID)

	got, err := releases.Get(ctx, "web-v2", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, created.UID, got.UID)
	assert.Equal(t, "nginx:1.27", got.Spec.Template.Spec.Containers[0].Image)

	_, err = releases.Create(ctx, updateRelease("web-v2", "web"), metav1.CreateOptions{})
	assert.True(t, apierrors.IsAlreadyExists(err), "a second create of the same name: %v", err)

	_, err = releases.Create(ctx, updateRelease("api-v2", "api"), metav1.CreateOptions{})
	require.NoError(t, err)
	list, err := releases.List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"web-v2", "api-v2"}, names(list.Items))

	require.NoError(t, releases.Delete(ctx, "web-v2", metav1.DeleteOptions{}))
	_, err = releases.Get(ctx, "web-v2", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "get after delete: %v", err)
	err = releases.Delete(ctx, "web-v2", metav1.DeleteOptions{})
	assert.True(t, apierrors.IsNotFound(err), "delete of a deleted release: %v", err)
}

func TestStatusPhaseFromCallerIsIgnoredOnCreate(t *testing.T) {
	ctx, ns := testContext(t), namespace(t)
	r := updateRelease("web-v2", "web")
	r.Status = v1alpha1.ReleaseStatus{Phase: v1alpha1.ReleaseSucceeded, CurrentBatch: 3}
	created, err := shared.client.ReleasesV1alpha1().Releases(ns).Create(ctx, r, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.ReleasePending, created.Status.Phase)
	assert.Zero(t, created.Status.CurrentBatch)
}

func TestUpdateBumpsGenerationOnSpecChangesOnly(t *testing.T) {
	ctx, ns := testContext(t), namespace(t)
	releases := shared.client.ReleasesV1alpha1().Releases(ns)
	r, err := releases.Create(ctx, updateRelease("web-v2", "web"), metav1.CreateOptions{})
	require.NoError(t, err)

	r.Labels = map[string]string{"team": "payments"}
	r, err = releases.Update(ctx, r, metav1.UpdateOptions{})
	require.NoError(t, err)
	assert.Equal(t, int64(1), r.Generation, "a label change is not a spec change")

	r.Spec.Strategy.Mode = v1alpha1.ModeAuto
	r.Spec.Strategy.BatchIntervalSeconds = 30
	r, err = releases.Update(ctx, r, metav1.UpdateOptions{})
	require.NoError(t, err)
	assert.Equal(t, int64(2), r.Generation)
	assert.Equal(t, v1alpha1.ModeAuto, r.Spec.Strategy.Mode)

	// A caller cannot write the status through the main resource.
	r.Status.Phase = v1alpha1.ReleaseSucceeded
	r, err = releases.Update(ctx, r, metav1.UpdateOptions{})
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.ReleasePending, r.Status.Phase)
}

func TestUpdateOfImmutableFieldIs422AndChangesNothing(t *testing.T) {
	ctx, ns := testContext(t), namespace(t)
	releases := shared.client.ReleasesV1alpha1().Releases(ns)
	r, err := releases.Create(ctx, updateRelease("web-v2", "web"), metav1.CreateOptions{})
	require.NoError(t, err)

	changed := r.DeepCopy()
	changed.Spec.CloneSetName = "other"
	changed.Spec.Template.Spec.Containers[0].Image = "nginx:1.28"
	_, err = releases.Update(ctx, changed, metav1.UpdateOptions{})
	require.True(t, apierrors.IsInvalid(err), "want 422, got %v", err)
	assert.ElementsMatch(t, []string{"spec.cloneSetName", "spec.template"}, causeFields(err))

	stored, err := releases.Get(ctx, "web-v2", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, r.ResourceVersion, stored.ResourceVersion, "nothing may be written")
	assert.Equal(t, "web", stored.Spec.CloneSetName)
}

func TestStatusUpdateLeavesSpecAlone(t *testing.T) {
	ctx, ns := testContext(t), namespace(t)
	releases := shared.client.ReleasesV1alpha1().Releases(ns)
	r, err := releases.Create(ctx, updateRelease("web-v2", "web"), metav1.CreateOptions{})
	require.NoError(t, err)

	r.Status.Phase = v1alpha1.ReleaseProgressing
	r.Status.CurrentBatch = 1
	r.Status.Batches = []v1alpha1.ReleaseBatch{
		{Index: 1, Canary: true, Replicas: 1, Target: 1, Phase: v1alpha1.BatchSmoking},
		{Index: 2, Replicas: 2, Target: 3, Phase: v1alpha1.BatchPending},
	}
	r.Spec.CloneSetName = "sneaky" // must be ignored, not refused
	updated, err := releases.UpdateStatus(ctx, r, metav1.UpdateOptions{})
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.ReleaseProgressing, updated.Status.Phase)
	assert.Len(t, updated.Status.Batches, 2)
	assert.Equal(t, "web", updated.Spec.CloneSetName)
	assert.Equal(t, int64(1), updated.Generation, "a status write never bumps the generation")

	// Rights on releases/status change the status only: labels and annotations stay.
	updated.Labels = map[string]string{"team": "intruder"}
	updated.Annotations = map[string]string{"note": "intruder"}
	updated.Status.Phase = v1alpha1.ReleasePaused
	updated, err = releases.UpdateStatus(ctx, updated, metav1.UpdateOptions{})
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.ReleasePaused, updated.Status.Phase)
	assert.Empty(t, updated.Labels)
	assert.Empty(t, updated.Annotations)

	// An invalid status is refused with its field.
	updated.Status.CurrentBatch = 7
	_, err = releases.UpdateStatus(ctx, updated, metav1.UpdateOptions{})
	require.True(t, apierrors.IsInvalid(err), "want 422, got %v", err)
	assert.Contains(t, causeFields(err), "status.currentBatch")
}

// The status is the server's own record: no one else writes it, not even a member of system:masters, by
// PUT, merge patch or server-side apply. Reading it stays open.
func TestStatusIsWrittenByTheServerOnly(t *testing.T) {
	ctx, ns := testContext(t), namespace(t)
	r, err := shared.client.ReleasesV1alpha1().Releases(ns).Create(ctx, updateRelease("web-v2", "web"), metav1.CreateOptions{})
	require.NoError(t, err)

	// Callers this server authorizes at all are in system:masters (it has no kube-apiserver to ask about
	// others): a cluster admin, and the server's own service account as a cluster admin.
	for _, caller := range []struct {
		name   string
		groups []string
	}{{"admin", []string{"system:masters"}}, {"system:serviceaccount:triton-system:triton-apiserver", []string{"system:masters"}}} {
		releases := as(t, caller.name, caller.groups...).ReleasesV1alpha1().Releases(ns)
		refused := func(what string, err error) {
			t.Helper()
			if assert.True(t, apierrors.IsForbidden(err), "%s as %s: want 403, got %v", what, caller.name, err) {
				assert.Contains(t, err.Error(), "the status is written by triton-apiserver's controller only", what)
				assert.Contains(t, err.Error(), "pause, resume, next and cancel", what)
			}
		}

		changed := r.DeepCopy()
		changed.Status.Phase = v1alpha1.ReleaseSucceeded
		_, err = releases.UpdateStatus(ctx, changed, metav1.UpdateOptions{})
		refused("PUT", err)
		_, err = releases.Patch(ctx, "web-v2", types.MergePatchType, []byte(`{"status":{"phase":"Succeeded"}}`), metav1.PatchOptions{}, "status")
		refused("merge patch", err)
		_, err = releases.Patch(ctx, "web-v2", types.ApplyPatchType,
			[]byte("apiVersion: releases.triton.io/v1alpha1\nkind: Release\nmetadata:\n  name: web-v2\nstatus:\n  phase: Succeeded\n"),
			metav1.PatchOptions{FieldManager: "intruder", Force: ptrBool(true)}, "status")
		refused("server-side apply", err)
		_, err = releases.ApplyStatus(ctx, releaseac.Release("web-v2", ns).WithStatus(releaseac.ReleaseStatus().WithPhase(v1alpha1.ReleaseSucceeded)),
			metav1.ApplyOptions{FieldManager: "intruder", Force: true})
		refused("typed apply", err)
		_, err = releases.UpdateStatus(ctx, changed, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}})
		refused("dry-run PUT", err)
		_, err = releases.Patch(ctx, "nope", types.MergePatchType, []byte(`{"status":{"phase":"Succeeded"}}`), metav1.PatchOptions{}, "status")
		refused("patch of a release that does not exist", err)
	}

	stored, err := shared.client.ReleasesV1alpha1().Releases(ns).Get(ctx, "web-v2", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, r.ResourceVersion, stored.ResourceVersion, "nothing may be written")
	assert.Equal(t, v1alpha1.ReleasePending, stored.Status.Phase)

	// GET of the status subresource is anyone's who may read releases.
	var got v1alpha1.Release
	err = as(t, "admin", "system:masters").ReleasesV1alpha1().RESTClient().Get().
		Namespace(ns).Resource("releases").Name("web-v2").SubResource("status").Do(ctx).Into(&got)
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.ReleasePending, got.Status.Phase)
}

// The server's own writes move a release only as the server does: along the phases, never back a batch;
// anything else is a 422 that names the field.
func TestStatusMovesOnlyAsTheServerDoes(t *testing.T) {
	ctx, ns := testContext(t), namespace(t)
	releases := shared.client.ReleasesV1alpha1().Releases(ns)
	r, err := releases.Create(ctx, updateRelease("web-v2", "web"), metav1.CreateOptions{})
	require.NoError(t, err)

	r.Status.Phase = v1alpha1.ReleaseProgressing
	r.Status.CurrentBatch = 2
	r.Status.Batches = []v1alpha1.ReleaseBatch{
		{Index: 1, Canary: true, Replicas: 1, Target: 1, Phase: v1alpha1.BatchBaked},
		{Index: 2, Replicas: 2, Target: 3, Phase: v1alpha1.BatchSmoking},
	}
	r.Status.CloneSet = &v1alpha1.CloneSetObservation{Replicas: 3, RevisionBeforeRelease: "web-v1", ReplicasBeforeRelease: ptrInt32(3)}
	r, err = releases.UpdateStatus(ctx, r, metav1.UpdateOptions{})
	require.NoError(t, err)

	for _, tc := range []struct {
		name   string
		change func(s *v1alpha1.ReleaseStatus)
		field  string
	}{
		{"back to Pending", func(s *v1alpha1.ReleaseStatus) { s.Phase = v1alpha1.ReleasePending }, "status.phase"},
		{"back a batch", func(s *v1alpha1.ReleaseStatus) { s.CurrentBatch = 1 }, "status.currentBatch"},
		{"another revision to return to", func(s *v1alpha1.ReleaseStatus) { s.CloneSet.RevisionBeforeRelease = "api-v7" }, "status.cloneSet.revisionBeforeRelease"},
		{"a batch more", func(s *v1alpha1.ReleaseStatus) {
			s.Batches = append(s.Batches, v1alpha1.ReleaseBatch{Index: 3, Replicas: 1, Target: 4})
		}, "status.batches"},
		{"a higher target", func(s *v1alpha1.ReleaseStatus) { s.Batches[1].Target = 5 }, "status.batches[1].target"},
	} {
		changed := r.DeepCopy()
		tc.change(&changed.Status)
		_, err = releases.UpdateStatus(ctx, changed, metav1.UpdateOptions{})
		if assert.True(t, apierrors.IsInvalid(err), "%s: want 422, got %v", tc.name, err) {
			assert.Contains(t, causeFields(err), tc.field, tc.name)
		}
	}

	// Once Succeeded, a release stays so.
	r.Status.Phase = v1alpha1.ReleaseSucceeded
	r, err = releases.UpdateStatus(ctx, r, metav1.UpdateOptions{})
	require.NoError(t, err)
	r.Status.Phase = v1alpha1.ReleaseProgressing
	_, err = releases.UpdateStatus(ctx, r, metav1.UpdateOptions{})
	require.True(t, apierrors.IsInvalid(err), "want 422, got %v", err)
	assert.Equal(t, []string{"status.phase"}, causeFields(err))
	stored, err := releases.Get(ctx, "web-v2", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.ReleaseSucceeded, stored.Status.Phase)
}

func ptrBool(v bool) *bool { return &v }

func ptrInt32(v int32) *int32 { return &v }

func TestInvalidCreateIs422WithFieldsAndStoresNothing(t *testing.T) {
	ctx, ns := testContext(t), namespace(t)
	releases := shared.client.ReleasesV1alpha1().Releases(ns)

	bad := updateRelease("web-v2", "web")
	bad.Spec.Template = nil
	bad.Spec.Replicas = new(int32)
	bad.Spec.Strategy.BatchSize = ptrIntOrString(intstrFromString("0%"))
	_, err := releases.Create(ctx, bad, metav1.CreateOptions{})
	require.True(t, apierrors.IsInvalid(err), "want 422, got %v", err)
	status := err.(apierrors.APIStatus).Status()
	assert.Equal(t, int32(422), status.Code)
	assert.ElementsMatch(t, []string{"spec.template", "spec.replicas", "spec.strategy.batchSize"}, causeFields(err))

	list, err := releases.List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	assert.Empty(t, list.Items, "an invalid release must not be stored")
}

func TestStaleResourceVersionIs409(t *testing.T) {
	ctx, ns := testContext(t), namespace(t)
	releases := shared.client.ReleasesV1alpha1().Releases(ns)
	r, err := releases.Create(ctx, updateRelease("web-v2", "web"), metav1.CreateOptions{})
	require.NoError(t, err)

	first := r.DeepCopy()
	first.Spec.Strategy.Mode = v1alpha1.ModeAuto
	_, err = releases.Update(ctx, first, metav1.UpdateOptions{})
	require.NoError(t, err)

	stale := r.DeepCopy()
	stale.Spec.Strategy.BatchIntervalSeconds = 60
	_, err = releases.Update(ctx, stale, metav1.UpdateOptions{})
	assert.True(t, apierrors.IsConflict(err), "an update from a stale resourceVersion: %v", err)

	stored, err := releases.Get(ctx, "web-v2", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(0), stored.Spec.Strategy.BatchIntervalSeconds)
	assert.Equal(t, v1alpha1.ModeAuto, stored.Spec.Strategy.Mode)
}

func TestWatchResumesFromResourceVersion(t *testing.T) {
	ctx, ns := testContext(t), namespace(t)
	releases := shared.client.ReleasesV1alpha1().Releases(ns)
	first, err := releases.Create(ctx, updateRelease("web-v2", "web"), metav1.CreateOptions{})
	require.NoError(t, err)

	// Changes made after first, while nobody watches.
	_, err = releases.Create(ctx, updateRelease("api-v2", "api"), metav1.CreateOptions{})
	require.NoError(t, err)
	changed := first.DeepCopy()
	changed.Spec.Strategy.Mode = v1alpha1.ModeAuto
	_, err = releases.Update(ctx, changed, metav1.UpdateOptions{})
	require.NoError(t, err)

	w, err := releases.Watch(ctx, metav1.ListOptions{ResourceVersion: first.ResourceVersion})
	require.NoError(t, err)
	defer w.Stop()
	got := nextEvents(t, w, 2)
	assert.Equal(t, watch.Added, got[0].Type)
	assert.Equal(t, "api-v2", got[0].Object.(*v1alpha1.Release).Name)
	assert.Equal(t, watch.Modified, got[1].Type)
	assert.Equal(t, v1alpha1.ModeAuto, got[1].Object.(*v1alpha1.Release).Spec.Strategy.Mode)

	// And it goes on with live changes.
	require.NoError(t, releases.Delete(ctx, "api-v2", metav1.DeleteOptions{}))
	got = nextEvents(t, w, 1)
	assert.Equal(t, watch.Deleted, got[0].Type)
	assert.Equal(t, "api-v2", got[0].Object.(*v1alpha1.Release).Name)
}

func TestServerSideApply(t *testing.T) {
	ctx, ns := testContext(t), namespace(t)
	releases := shared.client.ReleasesV1alpha1().Releases(ns)
	apply := releaseac.Release("web-v2", ns).WithSpec(releaseac.ReleaseSpec().
		WithCloneSetName("web").
		WithAction(v1alpha1.ActionUpdate).
		WithTemplate(corev1ac.PodTemplateSpec().
			WithLabels(map[string]string{"app": "web"}).
			WithSpec(corev1ac.PodSpec().WithContainers(corev1ac.Container().WithName("web").WithImage("nginx:1.27")))).
		WithStrategy(releaseac.ReleaseStrategy().WithCanary(1)))
	r, err := releases.Apply(ctx, apply, metav1.ApplyOptions{FieldManager: "pipeline"})
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.ReleasePending, r.Status.Phase)
	require.Len(t, r.ManagedFields, 1)
	assert.Equal(t, "pipeline", r.ManagedFields[0].Manager)
	assert.Equal(t, metav1.ManagedFieldsOperationApply, r.ManagedFields[0].Operation)
	assert.Contains(t, r.ManagedFields[0].FieldsV1.GetRawString(), `"f:cloneSetName"`)
	assert.NotContains(t, r.ManagedFields[0].FieldsV1.GetRawString(), `"f:status"`)

	// A second manager changes the pace; the first manager's apply of another field conflicts with nobody.
	pace := releaseac.Release("web-v2", ns).WithSpec(releaseac.ReleaseSpec().
		WithStrategy(releaseac.ReleaseStrategy().WithMode(v1alpha1.ModeAuto)))
	r, err = releases.Apply(ctx, pace, metav1.ApplyOptions{FieldManager: "operator"})
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.ModeAuto, r.Spec.Strategy.Mode)
	assert.Equal(t, "web", r.Spec.CloneSetName, "fields of the other manager stay")
	assert.ElementsMatch(t, []string{"pipeline", "operator"}, managers(r))

	// Applying a field another manager owns, with another value, is a conflict unless forced.
	steal := releaseac.Release("web-v2", ns).WithSpec(releaseac.ReleaseSpec().
		WithStrategy(releaseac.ReleaseStrategy().WithMode(v1alpha1.ModeManual)))
	_, err = releases.Apply(ctx, steal, metav1.ApplyOptions{FieldManager: "pipeline"})
	assert.True(t, apierrors.IsConflict(err), "want 409 conflict, got %v", err)

	// Status applied through the main resource is dropped (reset fields).
	withStatus := releaseac.Release("web-v2", ns).WithStatus(releaseac.ReleaseStatus().WithPhase(v1alpha1.ReleaseSucceeded))
	r, err = releases.Apply(ctx, withStatus, metav1.ApplyOptions{FieldManager: "intruder"})
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.ReleasePending, r.Status.Phase)

	// Through the status subresource the server's own apply (the loopback identity) is taken, and the
	// spec is not touched. Anyone else's is refused (TestStatusIsWrittenByTheServerOnly).
	r, err = releases.ApplyStatus(ctx, withStatus, metav1.ApplyOptions{FieldManager: "triton-controller", Force: true})
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.ReleaseSucceeded, r.Status.Phase)
	assert.Equal(t, "web", r.Spec.CloneSetName)
	assert.Contains(t, managers(r), "triton-controller")
}

func TestDryRunStoresNothing(t *testing.T) {
	ctx, ns := testContext(t), namespace(t)
	releases := shared.client.ReleasesV1alpha1().Releases(ns)
	dryRun := []string{metav1.DryRunAll}

	r, err := releases.Create(ctx, updateRelease("web-v2", "web"), metav1.CreateOptions{DryRun: dryRun})
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.ReleasePending, r.Status.Phase, "the answer is computed")
	assert.Equal(t, v1alpha1.ModeManual, r.Spec.Strategy.Mode)
	_, err = releases.Get(ctx, "web-v2", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "dry-run create stored the release: %v", err)

	// Invalid input is still refused in dry-run.
	bad := updateRelease("web-v2", "web")
	bad.Spec.CloneSetName = ""
	_, err = releases.Create(ctx, bad, metav1.CreateOptions{DryRun: dryRun})
	assert.True(t, apierrors.IsInvalid(err), "want 422, got %v", err)

	stored, err := releases.Create(ctx, updateRelease("web-v2", "web"), metav1.CreateOptions{})
	require.NoError(t, err)
	changed := stored.DeepCopy()
	changed.Spec.Strategy.Mode = v1alpha1.ModeAuto
	answer, err := releases.Update(ctx, changed, metav1.UpdateOptions{DryRun: dryRun})
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.ModeAuto, answer.Spec.Strategy.Mode)
	require.NoError(t, releases.Delete(ctx, "web-v2", metav1.DeleteOptions{DryRun: dryRun}))

	after, err := releases.Get(ctx, "web-v2", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, stored.ResourceVersion, after.ResourceVersion, "dry-run update or delete wrote")
	assert.Equal(t, v1alpha1.ModeManual, after.Spec.Strategy.Mode)
}

func TestTableColumns(t *testing.T) {
	ctx, ns := testContext(t), namespace(t)
	releases := shared.client.ReleasesV1alpha1().Releases(ns)
	r, err := releases.Create(ctx, updateRelease("web-v2", "web"), metav1.CreateOptions{})
	require.NoError(t, err)
	r.Status.Phase = v1alpha1.ReleaseProgressing
	r.Status.CurrentBatch = 2
	r.Status.Batches = []v1alpha1.ReleaseBatch{
		{Index: 1, Canary: true, Replicas: 1, Target: 1, Phase: v1alpha1.BatchBaked},
		{Index: 2, Replicas: 2, Target: 3, Phase: v1alpha1.BatchSmoking},
		{Index: 3, Replicas: 2, Target: 5, Phase: v1alpha1.BatchPending},
	}
	r.Status.CloneSet = &v1alpha1.CloneSetObservation{Replicas: 5, UpdatedReplicas: 3, UpdatedReadyReplicas: 1, Paused: true}
	_, err = releases.UpdateStatus(ctx, r, metav1.UpdateOptions{})
	require.NoError(t, err)

	raw, err := shared.client.ReleasesV1alpha1().RESTClient().Get().
		Namespace(ns).Resource("releases").
		SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").
		DoRaw(ctx)
	require.NoError(t, err)
	var table metav1.Table
	require.NoError(t, json.Unmarshal(raw, &table))

	var cols, wide []string
	for _, c := range table.ColumnDefinitions {
		if c.Priority == 0 {
			cols = append(cols, c.Name)
		} else {
			wide = append(wide, c.Name)
		}
	}
	assert.Equal(t, []string{"Name", "CloneSet", "Action", "Phase", "Batch", "Updated", "Age"}, cols)
	assert.Equal(t, []string{"Mode", "Paused"}, wide)
	require.Len(t, table.Rows, 1)
	cells := table.Rows[0].Cells
	assert.Equal(t, []interface{}{"web-v2", "web", "Update", "Progressing", "2/3", "1/5"}, cells[:6])
	assert.Equal(t, []interface{}{"Manual", true}, cells[7:])
}

func TestFieldSelectors(t *testing.T) {
	ctx, ns := testContext(t), namespace(t)
	releases := shared.client.ReleasesV1alpha1().Releases(ns)
	for _, r := range []*v1alpha1.Release{updateRelease("web-v2", "web"), updateRelease("web-v3", "web"), updateRelease("api-v2", "api")} {
		_, err := releases.Create(ctx, r, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	api, err := releases.Get(ctx, "api-v2", metav1.GetOptions{})
	require.NoError(t, err)
	api.Status.Phase = v1alpha1.ReleaseProgressing
	_, err = releases.UpdateStatus(ctx, api, metav1.UpdateOptions{})
	require.NoError(t, err)

	list, err := releases.List(ctx, metav1.ListOptions{FieldSelector: "spec.cloneSetName=web"})
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"web-v2", "web-v3"}, names(list.Items))

	list, err = releases.List(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("status.phase", "Progressing").String()})
	require.NoError(t, err)
	assert.Equal(t, []string{"api-v2"}, names(list.Items))

	list, err = releases.List(ctx, metav1.ListOptions{FieldSelector: "spec.cloneSetName=web,status.phase!=Pending"})
	require.NoError(t, err)
	assert.Empty(t, list.Items)

	_, err = releases.List(ctx, metav1.ListOptions{FieldSelector: "spec.action=Update"})
	assert.True(t, apierrors.IsBadRequest(err), "an unsupported field label: want 400, got %v", err)
}

func TestDiscoveryAndOpenAPI(t *testing.T) {
	ctx := testContext(t)
	resources, err := shared.client.Discovery().ServerResourcesForGroupVersion(v1alpha1.SchemeGroupVersion.String())
	require.NoError(t, err)
	byName := map[string]metav1.APIResource{}
	for _, r := range resources.APIResources {
		byName[r.Name] = r
	}
	require.Contains(t, byName, "releases")
	assert.True(t, byName["releases"].Namespaced)
	assert.Equal(t, "Release", byName["releases"].Kind)
	assert.Equal(t, []string{"rel"}, byName["releases"].ShortNames)
	assert.Contains(t, byName, "releases/status")

	v2, err := shared.client.Discovery().RESTClient().Get().AbsPath("/openapi/v2").DoRaw(ctx)
	require.NoError(t, err)
	assert.Contains(t, string(v2), "io.triton.releases.v1alpha1.Release")
	v3, err := shared.client.Discovery().RESTClient().Get().AbsPath("/openapi/v3/apis/releases.triton.io/v1alpha1").DoRaw(ctx)
	require.NoError(t, err)
	assert.Contains(t, string(v3), "io.triton.releases.v1alpha1.ReleaseStrategy")
	assert.Contains(t, string(v3), "Size of the first batch, the canary", "field docs reach kubectl explain")
}

func TestHealthChecks(t *testing.T) {
	ctx := testContext(t)
	get := func(path string) string {
		body, err := shared.client.Discovery().RESTClient().Get().AbsPath(path).Param("verbose", "true").DoRaw(ctx)
		require.NoError(t, err, path)
		return string(body)
	}
	assert.Contains(t, get("/readyz"), "[+]etcd-readiness ok")
	assert.Contains(t, get("/readyz"), "[+]etcd ok")
	livez := get("/livez")
	assert.NotContains(t, livez, "etcd", "an etcd outage must not fail liveness")
	assert.Contains(t, livez, "livez check passed")
}

func TestDataSurvivesServerRestart(t *testing.T) {
	ctx, ns := testContext(t), namespace(t)
	dir := t.TempDir()
	s, err := startServer(dir)
	require.NoError(t, err)
	created, err := s.client.ReleasesV1alpha1().Releases(ns).Create(ctx, updateRelease("web-v2", "web"), metav1.CreateOptions{})
	require.NoError(t, err)
	s.stop()

	s, err = startServer(dir)
	require.NoError(t, err)
	defer s.stop()
	got, err := s.client.ReleasesV1alpha1().Releases(ns).Get(ctx, "web-v2", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, created.UID, got.UID)
	assert.Equal(t, created.ResourceVersion, got.ResourceVersion)
	assert.Equal(t, "nginx:1.27", got.Spec.Template.Spec.Containers[0].Image)
}

func names(items []v1alpha1.Release) []string {
	out := make([]string, 0, len(items))
	for _, r := range items {
		out = append(out, r.Name)
	}
	return out
}

func managers(r *v1alpha1.Release) []string {
	var out []string
	for _, m := range r.ManagedFields {
		out = append(out, m.Manager)
	}
	return out
}

// causeFields lists the field paths of a 422's causes.
func causeFields(err error) []string {
	status, ok := err.(apierrors.APIStatus)
	if !ok || status.Status().Details == nil {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, c := range status.Status().Details.Causes {
		if !seen[c.Field] {
			seen[c.Field] = true
			out = append(out, c.Field)
		}
	}
	return out
}

func nextEvents(t *testing.T, w watch.Interface, n int) []watch.Event {
	t.Helper()
	var got []watch.Event
	deadline := time.After(30 * time.Second)
	for len(got) < n {
		select {
		case e, ok := <-w.ResultChan():
			require.True(t, ok, "watch closed after %d of %d events", len(got), n)
			require.NotEqual(t, watch.Error, e.Type, "watch error: %v", e.Object)
			got = append(got, e)
		case <-deadline:
			t.Fatalf("got %d of %d watch events in 30s", len(got), n)
		}
	}
	return got
}
