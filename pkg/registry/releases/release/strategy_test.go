package release

import (
	"context"
	"fmt"
	"strings"
	"testing"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/authentication/user"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/apis/releases/install"
	"github.com/triton-io/triton/pkg/apis/releases/validation"
	"github.com/triton-io/triton/pkg/release/cloneset"
	"github.com/triton-io/triton/pkg/release/plan"
)

// --- builders ---

func ptr[T any](v T) *T { return &v }

func newScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	install.Install(s)
	return s
}

// validRelease is an Update release as it looks after defaulting: it passes validation.
func validRelease() *releases.Release {
	batchSize := intstr.FromString("50%")
	maxFailed := intstr.FromInt32(0)
	return &releases.Release{
		ObjectMeta: metav1.ObjectMeta{
			Name:            "web-1",
			Namespace:       "default",
			Labels:          map[string]string{"team": "shop"},
			ResourceVersion: "5",
			Generation:      3,
		},
		Spec: releases.ReleaseSpec{
			CloneSetName: "web",
			Action:       releases.ActionUpdate,
			Template: &corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec: corev1.PodSpec{
					Containers: []corev1.Container{{Name: "app", Image: "nginx:1.27"}},
				},
			},
			Strategy: releases.ReleaseStrategy{
				Canary:                  1,
				BatchSize:               &batchSize,
				Mode:                    releases.ModeManual,
				ProgressDeadlineSeconds: ptr(int32(600)),
				MaxFailedPods:           &maxFailed,
			},
		},
	}
}

// runningStatus is the status of a release in its second of two batches.
func runningStatus() releases.ReleaseStatus {
	return releases.ReleaseStatus{
		Phase:              releases.ReleaseProgressing,
		ObservedGeneration: 3,
		CurrentBatch:       2,
		Batches: []releases.ReleaseBatch{
			{Index: 1, Canary: true, Replicas: 1, Target: 1, Phase: releases.BatchBaked},
			{Index: 2, Replicas: 3, Target: 4, Phase: releases.BatchSmoking},
		},
		CloneSet: &releases.CloneSetObservation{Replicas: 4, UpdatedReplicas: 2, UpdatedReadyReplicas: 1, Partition: ptr(int32(2))},
	}
}

// storedRelease is validRelease as it is in storage: with a running status.
func storedRelease() *releases.Release {
	r := validRelease()
	r.Status = runningStatus()
	return r
}

func nsContext(ns string) context.Context {
	return genericapirequest.WithNamespace(context.Background(), ns)
}

// findError returns the error of the given type on exactly the given field, or nil.
func findError(errs field.ErrorList, typ field.ErrorType, path string) *field.Error {
	for _, e := range errs {
		if e.Type == typ && e.Field == path {
			return e
		}
	}
	return nil
}

func assertHasError(t *testing.T, errs field.ErrorList, typ field.ErrorType, path string) {
	t.Helper()
	assert.NotNil(t, findError(errs, typ, path), "want a %s error on %s, got %v", typ, path, errs)
}

// --- create ---

func TestPrepareForCreateResetsStatusAndGeneration(t *testing.T) {
	s := NewStrategy(newScheme(t))
	r := validRelease()
	r.Generation = 42
	r.Status = runningStatus()
	r.Status.Phase = releases.ReleaseSucceeded
	r.Status.Conditions = []metav1.Condition{{Type: releases.ConditionComplete, Status: metav1.ConditionTrue, Reason: "Done", LastTransitionTime: metav1.Now()}}
	r.Status.History = []releases.ReleaseHistoryEntry{{Action: "next", User: "mallory"}}
	wantSpec := *r.Spec.DeepCopy()

	s.PrepareForCreate(nsContext("default"), r)

	assert.Equal(t, releases.ReleaseStatus{Phase: releases.ReleasePending}, r.Status, "a caller cannot create a release with a status of its choice")
	assert.Equal(t, int64(1), r.Generation)
	assert.Equal(t, wantSpec, r.Spec, "the spec is the caller's")
}

func TestBeforeCreate(t *testing.T) {
	s := NewStrategy(newScheme(t))

	t.Run("valid release is accepted as Pending", func(t *testing.T) {
		r := validRelease()
		r.Status = runningStatus()
		rest.FillObjectMetaSystemFields(r)
		require.NoError(t, rest.BeforeCreate(s, nsContext("default"), r))
		assert.Equal(t, releases.ReleasePending, r.Status.Phase)
		assert.Zero(t, r.Status.CurrentBatch)
		assert.Equal(t, int64(1), r.Generation)
	})

	t.Run("missing cloneSetName is a 422 naming the field", func(t *testing.T) {
		r := validRelease()
		r.Spec.CloneSetName = ""
		rest.FillObjectMetaSystemFields(r)
		err := rest.BeforeCreate(s, nsContext("default"), r)
		require.Error(t, err)
		require.True(t, apierrors.IsInvalid(err), "want 422 Invalid, got %v", err)
		status := err.(apierrors.APIStatus).Status()
		require.NotNil(t, status.Details)
		assert.Equal(t, "Release", status.Details.Kind)
		assert.Equal(t, releases.GroupName, status.Details.Group)
		assert.Equal(t, "web-1", status.Details.Name)
		var fields []string
		for _, c := range status.Details.Causes {
			fields = append(fields, c.Field)
		}
		assert.Contains(t, fields, "spec.cloneSetName")
	})

	t.Run("namespace must match the request", func(t *testing.T) {
		r := validRelease()
		rest.FillObjectMetaSystemFields(r)
		err := rest.BeforeCreate(s, nsContext("other"), r)
		require.Error(t, err)
		assert.True(t, apierrors.IsBadRequest(err), "want 400, got %v", err)
	})
}

func TestStrategyScope(t *testing.T) {
	s := NewStrategy(newScheme(t))
	ctx := context.Background()
	assert.True(t, s.NamespaceScoped())
	assert.False(t, s.AllowCreateOnUpdate(ctx), "PUT to a missing release must not create it")
	st := NewStatusStrategy(s)
	assert.True(t, st.NamespaceScoped())
	assert.False(t, st.AllowCreateOnUpdate(ctx))
}

// --- update of the main resource ---

func TestPrepareForUpdate(t *testing.T) {
	tests := []struct {
		name           string
		change         func(r *releases.Release)
		wantGeneration int64
	}{
		{
			name:           "no change",
			change:         func(r *releases.Release) {},
			wantGeneration: 3,
		},
		{
			name:           "label only keeps the generation",
			change:         func(r *releases.Release) { r.Labels["env"] = "prod" },
			wantGeneration: 3,
		},
		{
			name:           "annotation only keeps the generation",
			change:         func(r *releases.Release) { r.Annotations = map[string]string{"note": "x"} },
			wantGeneration: 3,
		},
		{
			name:           "caller-sent status only keeps the generation",
			change:         func(r *releases.Release) { r.Status.Phase = releases.ReleaseSucceeded },
			wantGeneration: 3,
		},
		{
			name:           "same deadline in a new pointer keeps the generation",
			change:         func(r *releases.Release) { r.Spec.Strategy.ProgressDeadlineSeconds = ptr(int32(600)) },
			wantGeneration: 3,
		},
		{
			name:           "strategy.mode change bumps the generation",
			change:         func(r *releases.Release) { r.Spec.Strategy.Mode = releases.ModeAuto },
			wantGeneration: 4,
		},
		{
			name:           "progressDeadlineSeconds change bumps the generation",
			change:         func(r *releases.Release) { r.Spec.Strategy.ProgressDeadlineSeconds = ptr(int32(900)) },
			wantGeneration: 4,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewStrategy(newScheme(t))
			old := storedRelease()
			obj := old.DeepCopy()
			// The caller sends a status of its own: it must not survive.
			obj.Status = releases.ReleaseStatus{Phase: releases.ReleaseFailed, CurrentBatch: 9}
			tc.change(obj)

			s.PrepareForUpdate(nsContext("default"), obj, old)

			assert.Equal(t, tc.wantGeneration, obj.Generation)
			assert.Equal(t, runningStatus(), obj.Status, "the main resource cannot change the status")
		})
	}
}

func TestBeforeUpdateGenerationIgnoresCaller(t *testing.T) {
	s := NewStrategy(newScheme(t))

	t.Run("label change with a forged generation", func(t *testing.T) {
		old := storedRelease()
		obj := old.DeepCopy()
		obj.Generation = 99
		obj.Labels["env"] = "prod"
		require.NoError(t, rest.BeforeUpdate(s, nsContext("default"), obj, old))
		assert.Equal(t, int64(3), obj.Generation)
		assert.Equal(t, "prod", obj.Labels["env"], "labels are the caller's to change")
	})

	t.Run("mode change with a forged generation", func(t *testing.T) {
		old := storedRelease()
		obj := old.DeepCopy()
		obj.Generation = 99
		obj.Spec.Strategy.Mode = releases.ModeAuto
		require.NoError(t, rest.BeforeUpdate(s, nsContext("default"), obj, old))
		assert.Equal(t, int64(4), obj.Generation)
		assert.Equal(t, releases.ModeAuto, obj.Spec.Strategy.Mode)
	})

	t.Run("cloneSetName change is a 422", func(t *testing.T) {
		old := storedRelease()
		obj := old.DeepCopy()
		obj.Spec.CloneSetName = "api"
		err := rest.BeforeUpdate(s, nsContext("default"), obj, old)
		require.Error(t, err)
		assert.True(t, apierrors.IsInvalid(err), "want 422 Invalid, got %v", err)
	})
}

// --- the status subresource ---

func TestStatusPrepareForUpdate(t *testing.T) {
	st := NewStatusStrategy(NewStrategy(newScheme(t)))
	old := storedRelease()
	obj := old.DeepCopy()
	obj.Spec.CloneSetName = "api"
	obj.Spec.Strategy.Mode = releases.ModeAuto
	obj.Spec.Template.Spec.Containers[0].Image = "evil:latest"
	obj.Status.Phase = releases.ReleasePaused
	obj.Status.CloneSet.Paused = true
	obj.Labels = map[string]string{"team": "intruder"}
	obj.Annotations = map[string]string{"note": "intruder"}
	obj.Finalizers = []string{"example.com/hold"}

	st.PrepareForUpdate(nsContext("default"), obj, old)

	assert.Equal(t, old.Spec, obj.Spec, "a status writer cannot change the spec")
	assert.Equal(t, old.Labels, obj.Labels, "a status writer cannot change labels")
	assert.Equal(t, old.Annotations, obj.Annotations, "a status writer cannot change annotations")
	assert.Equal(t, old.Finalizers, obj.Finalizers, "a status writer cannot change finalizers")
	assert.Equal(t, int64(3), obj.Generation, "a status write never bumps the generation")
	assert.Equal(t, releases.ReleasePaused, obj.Status.Phase, "the status is the writer's")
	assert.True(t, obj.Status.CloneSet.Paused)
	// What is left after the spec is reset is valid: the discarded spec change is no error.
	assert.Empty(t, st.ValidateUpdate(nsContext("default"), obj, old))
}

func TestStatusBeforeUpdate(t *testing.T) {
	st := NewStatusStrategy(NewStrategy(newScheme(t)))
	old := storedRelease()
	obj := old.DeepCopy()
	obj.Generation = 99
	obj.Spec.Strategy.Mode = releases.ModeAuto
	obj.Status.Batches[1].Phase = releases.BatchSmoked

	require.NoError(t, rest.BeforeUpdate(st, nsContext("default"), obj, old))

	assert.Equal(t, int64(3), obj.Generation)
	assert.Equal(t, releases.ModeManual, obj.Spec.Strategy.Mode)
	assert.Equal(t, releases.BatchSmoked, obj.Status.Batches[1].Phase)
}

// --- server-side apply ---

func TestGetResetFields(t *testing.T) {
	s := NewStrategy(newScheme(t))
	tests := []struct {
		name     string
		got      map[fieldpath.APIVersion]*fieldpath.Set
		reset    []string
		notReset string
	}{
		{name: "main resource", got: s.GetResetFields(), reset: []string{"status"}, notReset: "spec"},
		{name: "status", got: NewStatusStrategy(s).GetResetFields(),
			reset: []string{"spec", "metadata.labels", "metadata.annotations", "metadata.finalizers", "metadata.ownerReferences"}, notReset: "status"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Len(t, tc.got, 1)
			set, ok := tc.got["releases.triton.io/v1alpha1"]
			require.True(t, ok, "reset fields must be keyed by releases.triton.io/v1alpha1, got %v", tc.got)
			want := fieldpath.NewSet()
			for _, path := range tc.reset {
				var parts []interface{}
				for _, p := range strings.Split(path, ".") {
					parts = append(parts, p)
				}
				want.Insert(fieldpath.MakePathOrDie(parts...))
			}
			assert.False(t, set.Has(fieldpath.MakePathOrDie(tc.notReset)), "%s must not be reset", tc.notReset)
			assert.True(t, set.Equals(want), "got %v, want %v", set, want)
		})
	}
}

// --- validation ---

func TestValidate(t *testing.T) {
	s := NewStrategy(newScheme(t))
	ctx := nsContext("default")

	assert.Empty(t, s.Validate(ctx, validRelease()), "the valid release must pass")

	tests := []struct {
		name   string
		change func(r *releases.Release)
		typ    field.ErrorType
		field  string
	}{
		{"missing cloneSetName", func(r *releases.Release) { r.Spec.CloneSetName = "" }, field.ErrorTypeRequired, "spec.cloneSetName"},
		{"unknown action", func(r *releases.Release) { r.Spec.Action = "Explode" }, field.ErrorTypeNotSupported, "spec.action"},
		{"update without template", func(r *releases.Release) { r.Spec.Template = nil }, field.ErrorTypeRequired, "spec.template"},
		{"bad name", func(r *releases.Release) { r.Name = "Web_1" }, field.ErrorTypeInvalid, "metadata.name"},
		{"missing namespace", func(r *releases.Release) { r.Namespace = "" }, field.ErrorTypeRequired, "metadata.namespace"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := validRelease()
			tc.change(r)
			assertHasError(t, s.Validate(ctx, r), tc.typ, tc.field)
		})
	}
}

func TestValidateUpdate(t *testing.T) {
	s := NewStrategy(newScheme(t))
	ctx := nsContext("default")

	tests := []struct {
		name   string
		change func(r *releases.Release)
		typ    field.ErrorType // empty: no error
		field  string
	}{
		{"label change", func(r *releases.Release) { r.Labels["env"] = "prod" }, "", ""},
		{"mode change", func(r *releases.Release) { r.Spec.Strategy.Mode = releases.ModeAuto }, "", ""},
		{"changed cloneSetName", func(r *releases.Release) { r.Spec.CloneSetName = "api" }, field.ErrorTypeInvalid, "spec.cloneSetName"},
		{"changed action", func(r *releases.Release) { r.Spec.Action = releases.ActionRestart; r.Spec.Template = nil }, field.ErrorTypeInvalid, "spec.action"},
		{"changed canary", func(r *releases.Release) { r.Spec.Strategy.Canary = 2 }, field.ErrorTypeInvalid, "spec.strategy.canary"},
		{"unknown mode", func(r *releases.Release) { r.Spec.Strategy.Mode = "Sometimes" }, field.ErrorTypeNotSupported, "spec.strategy.mode"},
		{"changed name", func(r *releases.Release) { r.Name = "web-2" }, field.ErrorTypeInvalid, "metadata.name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := storedRelease()
			obj := old.DeepCopy()
			tc.change(obj)
			s.PrepareForUpdate(ctx, obj, old)
			errs := s.ValidateUpdate(ctx, obj, old)
			if tc.typ == "" {
				assert.Empty(t, errs)
				return
			}
			assertHasError(t, errs, tc.typ, tc.field)
		})
	}
}

// annotationsOf returns one annotation of n bytes, key and value.
func annotationsOf(n int) map[string]string {
	return map[string]string{"note": strings.Repeat("x", n-len("note"))}
}

// Labels and annotations together are capped at validation.MaxMetadataBytes on create and on every update
// of the main resource, metadata-only ones included (a 422 naming the field); a release stored over the cap
// may shrink, or lose its finalizer, but not grow; status writes keep the metadata and are not held to it.
func TestMetadataSizeCap(t *testing.T) {
	s := NewStrategy(newScheme(t))
	st := NewStatusStrategy(s)
	ctx := nsContext("default")
	const over = validation.MaxMetadataBytes + 1

	assertInvalidOn := func(t *testing.T, err error, path string) {
		t.Helper()
		require.Error(t, err)
		require.True(t, apierrors.IsInvalid(err), "want 422 Invalid, got %v", err)
		status := err.(apierrors.APIStatus).Status()
		require.NotNil(t, status.Details)
		var fields []string
		for _, c := range status.Details.Causes {
			fields = append(fields, c.Field)
		}
		assert.Contains(t, fields, path)
	}

	t.Run("create at the cap", func(t *testing.T) {
		r := validRelease()
		r.Annotations = annotationsOf(validation.MaxMetadataBytes - len("team") - len("shop"))
		rest.FillObjectMetaSystemFields(r)
		require.NoError(t, rest.BeforeCreate(s, ctx, r))
	})
	t.Run("create over the cap", func(t *testing.T) {
		r := validRelease()
		r.Annotations = annotationsOf(over)
		rest.FillObjectMetaSystemFields(r)
		assertInvalidOn(t, rest.BeforeCreate(s, ctx, r), "metadata.annotations")
	})
	t.Run("metadata-only update over the cap", func(t *testing.T) {
		old := storedRelease()
		obj := old.DeepCopy()
		obj.Annotations = annotationsOf(over)
		assertInvalidOn(t, rest.BeforeUpdate(s, ctx, obj, old), "metadata.annotations")
	})
	t.Run("metadata-only update over the cap with labels", func(t *testing.T) {
		old := storedRelease()
		obj := old.DeepCopy()
		for i := 0; i < validation.MaxMetadataBytes/60; i++ {
			obj.Labels[fmt.Sprintf("k%05d", i)] = strings.Repeat("v", 63)
		}
		assertInvalidOn(t, rest.BeforeUpdate(s, ctx, obj, old), "metadata.labels")
	})
	t.Run("stored over the cap: shrinking passes", func(t *testing.T) {
		old := storedRelease()
		old.Annotations = annotationsOf(100 << 10)
		obj := old.DeepCopy()
		obj.Annotations = annotationsOf(90 << 10)
		require.NoError(t, rest.BeforeUpdate(s, ctx, obj, old))
	})
	t.Run("stored over the cap: the finalizer removed and the mode changed", func(t *testing.T) {
		old := storedRelease()
		old.Annotations = annotationsOf(100 << 10)
		old.Finalizers = []string{releases.CleanupFinalizer}
		obj := old.DeepCopy()
		obj.Finalizers = nil
		obj.Spec.Strategy.Mode = releases.ModeAuto
		require.NoError(t, rest.BeforeUpdate(s, ctx, obj, old))
	})
	t.Run("stored over the cap: growing is refused", func(t *testing.T) {
		old := storedRelease()
		old.Annotations = annotationsOf(100 << 10)
		obj := old.DeepCopy()
		obj.Labels["env"] = "prod"
		assertInvalidOn(t, rest.BeforeUpdate(s, ctx, obj, old), "metadata.annotations")
	})
	t.Run("stored over the cap: status writes pass", func(t *testing.T) {
		old := storedRelease()
		old.Annotations = annotationsOf(100 << 10)
		obj := old.DeepCopy()
		obj.Annotations = annotationsOf(200 << 10) // discarded: a status write keeps the metadata
		obj.Status.Batches[1].Phase = releases.BatchSmoked
		require.NoError(t, rest.BeforeUpdate(st, ctx, obj, old))
		assert.Equal(t, old.Annotations, obj.Annotations)
	})
}

func TestStatusValidateUpdate(t *testing.T) {
	st := NewStatusStrategy(NewStrategy(newScheme(t)))
	ctx := nsContext("default")

	tests := []struct {
		name   string
		change func(s *releases.ReleaseStatus)
		typ    field.ErrorType // empty: no error
		field  string
	}{
		{"next batch", func(s *releases.ReleaseStatus) { s.Batches[1].Phase = releases.BatchSmoked }, "", ""},
		{"finished", func(s *releases.ReleaseStatus) { s.Phase = releases.ReleaseSucceeded }, "", ""},
		{"currentBatch beyond the plan", func(s *releases.ReleaseStatus) { s.CurrentBatch = 3 }, field.ErrorTypeInvalid, "status.currentBatch"},
		{"negative currentBatch", func(s *releases.ReleaseStatus) { s.CurrentBatch = -1 }, field.ErrorTypeInvalid, "status.currentBatch"},
		{"unknown phase", func(s *releases.ReleaseStatus) { s.Phase = "Exploded" }, field.ErrorTypeNotSupported, "status.phase"},
		{"batches out of order", func(s *releases.ReleaseStatus) { s.Batches[1].Index = 5 }, field.ErrorTypeInvalid, "status.batches[1].index"},
		{"targets going down", func(s *releases.ReleaseStatus) { s.Batches[1].Target = 0 }, field.ErrorTypeInvalid, "status.batches[1].target"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := storedRelease()
			obj := old.DeepCopy()
			tc.change(&obj.Status)
			st.PrepareForUpdate(ctx, obj, old)
			errs := st.ValidateUpdate(ctx, obj, old)
			if tc.typ == "" {
				assert.Empty(t, errs)
				return
			}
			assertHasError(t, errs, tc.typ, tc.field)
		})
	}
}

// --- field selectors ---

func TestSelectableFieldsAndGetAttrs(t *testing.T) {
	r := storedRelease()

	want := fields.Set{
		"metadata.name":      "web-1",
		"metadata.namespace": "default",
		"spec.cloneSetName":  "web",
		"status.phase":       "Progressing",
	}
	assert.Equal(t, want, SelectableFields(r))

	ls, fs, err := GetAttrs(r)
	require.NoError(t, err)
	assert.Equal(t, labels.Set{"team": "shop"}, ls)
	assert.Equal(t, want, fs)

	_, _, err = GetAttrs(&releases.ReleaseList{})
	assert.Error(t, err, "GetAttrs of something that is not a Release")
}

func TestMatch(t *testing.T) {
	r := storedRelease()

	tests := []struct {
		label string
		field string
		want  bool
	}{
		{"", "spec.cloneSetName=web", true},
		{"", "spec.cloneSetName=api", false},
		{"", "status.phase=Progressing", true},
		{"", "status.phase!=Progressing", false},
		{"", "metadata.name=web-1,metadata.namespace=default", true},
		{"", "metadata.namespace=kube-system", false},
		{"team=shop", "", true},
		{"team=ops", "", false},
		{"team=shop", "status.phase=Succeeded", false},
	}
	for _, tc := range tests {
		t.Run(tc.label+"|"+tc.field, func(t *testing.T) {
			ls, err := labels.Parse(tc.label)
			require.NoError(t, err)
			fs, err := fields.ParseSelector(tc.field)
			require.NoError(t, err)
			pred := Match(ls, fs)
			got, err := pred.Matches(r)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

// --- status writes: the server's only, and only its moves ---

// recordedRelease is storedRelease with everything the server records of the CloneSet before the release.
func recordedRelease() *releases.Release {
	r := storedRelease()
	maxUnavailable := intstr.FromString("20%")
	r.Status.CloneSet.RevisionBeforeRelease = "web-v1"
	r.Status.CloneSet.ReplicasBeforeRelease = ptr(int32(4))
	r.Status.CloneSet.MaxUnavailableBeforeRelease = &maxUnavailable
	r.Status.CloneSet.PodsBeforeRelease = []string{"web-a", "web-b", "web-c", "web-d"}
	return r
}

func TestStatusRESTRefusesEveryoneButTheServer(t *testing.T) {
	tests := []struct {
		name string
		user user.Info // nil: a request without a user
	}{
		{"no user", nil},
		{"a user", &user.DefaultInfo{Name: "alice", Groups: []string{user.AllAuthenticated}}},
		{"a cluster admin", &user.DefaultInfo{Name: "admin", Groups: []string{user.SystemPrivilegedGroup, user.AllAuthenticated}}},
		{"the server's own service account", &user.DefaultInfo{Name: "system:serviceaccount:triton-system:triton-apiserver",
			Groups: []string{"system:serviceaccounts", user.AllAuthenticated}}},
		{"the server's name outside system:masters", &user.DefaultInfo{Name: user.APIServerUser, Groups: []string{user.AllAuthenticated}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := nsContext("default")
			if tc.user != nil {
				ctx = genericapirequest.WithUser(ctx, tc.user)
			}
			read := false
			objInfo := rest.DefaultUpdatedObjectInfo(nil, func(ctx context.Context, newObj, oldObj runtime.Object) (runtime.Object, error) {
				read = true
				return newObj, nil
			})
			// No store: a refusal reads and writes nothing.
			obj, created, err := (&StatusREST{}).Update(ctx, "web-1", objInfo, rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, false, &metav1.UpdateOptions{})
			require.Error(t, err)
			assert.True(t, apierrors.IsForbidden(err), "want 403, got %v", err)
			assert.Contains(t, err.Error(), "the status is written by triton-apiserver's controller only")
			assert.Contains(t, err.Error(), "pause, resume, next and cancel subresources")
			if tc.user != nil {
				assert.Contains(t, err.Error(), `User "`+tc.user.GetName()+`"`)
			}
			details := err.(apierrors.APIStatus).Status().Details
			require.NotNil(t, details)
			assert.Equal(t, releases.GroupName, details.Group)
			assert.Equal(t, "web-1", details.Name)
			assert.Nil(t, obj)
			assert.False(t, created)
			assert.False(t, read, "the update was computed for a caller who may not write")
		})
	}
}

func TestIsServer(t *testing.T) {
	// As k8s.io/apiserver's AuthorizeClientBearerToken authenticates the loopback token.
	loopback := &user.DefaultInfo{Name: user.APIServerUser, UID: "c3b9d0a4-0d52-4e59-9a53-0f5d0cb2e0a1",
		Groups: []string{user.AllAuthenticated, user.SystemPrivilegedGroup}}
	assert.True(t, isServer(loopback))
	assert.True(t, isServer(&user.DefaultInfo{Name: user.APIServerUser, Groups: []string{user.SystemPrivilegedGroup}}))

	assert.False(t, isServer(nil))
	assert.False(t, isServer(&user.DefaultInfo{Name: user.APIServerUser}))
	assert.False(t, isServer(&user.DefaultInfo{Name: "admin", Groups: []string{user.SystemPrivilegedGroup}}))
	assert.False(t, isServer(&user.DefaultInfo{Name: "System:APIServer", Groups: []string{user.SystemPrivilegedGroup}}))
	assert.False(t, isServer(&user.DefaultInfo{Name: user.APIServerUser, Groups: []string{"system:masters-not"}}))
}

// The status strategy refuses, with a 422 naming the field, every write that moves a release where the
// server never moves one; it runs for the server's own writes too.
func TestStatusValidateUpdateRefusesMovesTheServerNeverMakes(t *testing.T) {
	st := NewStatusStrategy(NewStrategy(newScheme(t)))
	ctx := nsContext("default")

	tests := []struct {
		name   string
		old    func(s *releases.ReleaseStatus) // from recordedRelease
		change func(s *releases.ReleaseStatus)
		field  string
	}{
		{"a Succeeded release moved back", func(s *releases.ReleaseStatus) { s.Phase = releases.ReleaseSucceeded },
			func(s *releases.ReleaseStatus) { s.Phase = releases.ReleaseProgressing }, "status.phase"},
		{"a Canceled release resumed", func(s *releases.ReleaseStatus) { s.Phase = releases.ReleaseCanceled },
			func(s *releases.ReleaseStatus) { s.Phase = releases.ReleaseProgressing }, "status.phase"},
		{"a Paused release succeeded", func(s *releases.ReleaseStatus) { s.Phase = releases.ReleasePaused },
			func(s *releases.ReleaseStatus) { s.Phase = releases.ReleaseSucceeded }, "status.phase"},
		{"another CloneSet's uid", func(s *releases.ReleaseStatus) { s.CloneSet.UID = "uid-web" },
			func(s *releases.ReleaseStatus) { s.CloneSet.UID = "uid-web-made-again" }, "status.cloneSet.uid"},
		{"back to Pending", nil, func(s *releases.ReleaseStatus) { s.Phase = releases.ReleasePending }, "status.phase"},
		{"back a batch", nil, func(s *releases.ReleaseStatus) { s.CurrentBatch = 1 }, "status.currentBatch"},
		{"another CloneSet's revision", nil, func(s *releases.ReleaseStatus) { s.CloneSet.RevisionBeforeRelease = "api-7f9c5d8b6" },
			"status.cloneSet.revisionBeforeRelease"},
		{"other replicas before the release", nil, func(s *releases.ReleaseStatus) { s.CloneSet.ReplicasBeforeRelease = ptr(int32(40)) },
			"status.cloneSet.replicasBeforeRelease"},
		{"other maxUnavailable before the release", nil, func(s *releases.ReleaseStatus) { s.CloneSet.MaxUnavailableBeforeRelease = nil },
			"status.cloneSet.maxUnavailableBeforeRelease"},
		{"other pods before the release", nil, func(s *releases.ReleaseStatus) { s.CloneSet.PodsBeforeRelease = []string{"web-a"} },
			"status.cloneSet.podsBeforeRelease"},
		{"a batch more", nil, func(s *releases.ReleaseStatus) {
			s.Batches = append(s.Batches, releases.ReleaseBatch{Index: 3, Replicas: 1, Target: 5})
		}, "status.batches"},
		{"no canary any more", nil, func(s *releases.ReleaseStatus) { s.Batches[0].Canary = false }, "status.batches[0].canary"},
		{"a bigger batch", nil, func(s *releases.ReleaseStatus) { s.Batches[1].Replicas = 9 }, "status.batches[1].replicas"},
		{"a higher target", nil, func(s *releases.ReleaseStatus) { s.Batches[1].Target = 9 }, "status.batches[1].target"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := recordedRelease()
			if tc.old != nil {
				tc.old(&old.Status)
			}
			obj := old.DeepCopy()
			tc.change(&obj.Status)

			assertHasError(t, st.ValidateUpdate(ctx, obj, old), field.ErrorTypeInvalid, tc.field)
			err := rest.BeforeUpdate(st, ctx, obj, old)
			require.Error(t, err)
			require.True(t, apierrors.IsInvalid(err), "want 422, got %v", err)
			var causes []string
			for _, c := range err.(apierrors.APIStatus).Status().Details.Causes {
				causes = append(causes, c.Field)
			}
			assert.Contains(t, causes, tc.field)
		})
	}
}

// The controller's observation write (cloneset.Observe over the CloneSet as it now is) keeps what the
// release recorded before it started, whatever the CloneSet did since, or if it is gone.
func TestStatusValidateUpdateAcceptsTheControllersObservation(t *testing.T) {
	st := NewStatusStrategy(NewStrategy(newScheme(t)))
	ctx := nsContext("default")
	old := recordedRelease()
	partition := intstr.FromInt32(1)
	maxUnavailable := intstr.FromString("100%")
	cs := &kruiseappsv1alpha1.CloneSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", Generation: 8},
		Spec: kruiseappsv1alpha1.CloneSetSpec{
			Replicas: ptr(int32(6)),
			UpdateStrategy: kruiseappsv1alpha1.CloneSetUpdateStrategy{
				Partition: &partition, Paused: true, MaxUnavailable: &maxUnavailable,
			},
		},
		Status: kruiseappsv1alpha1.CloneSetStatus{
			UpdateRevision: "web-v3", CurrentRevision: "web-v2", UpdatedReplicas: 5, UpdatedReadyReplicas: 4, ObservedGeneration: 8,
		},
	}
	for name, cs := range map[string]*kruiseappsv1alpha1.CloneSet{"moved": cs, "gone": nil} {
		t.Run(name, func(t *testing.T) {
			obj := old.DeepCopy()
			obj.Status.CloneSet = cloneset.Observe(cs, old.Status.CloneSet)
			require.NoError(t, rest.BeforeUpdate(st, ctx, obj, old))
			assert.Equal(t, "web-v1", obj.Status.CloneSet.RevisionBeforeRelease)
			assert.Equal(t, int32(4), *obj.Status.CloneSet.ReplicasBeforeRelease)
			assert.Equal(t, "20%", obj.Status.CloneSet.MaxUnavailableBeforeRelease.String())
			assert.Equal(t, []string{"web-a", "web-b", "web-c", "web-d"}, obj.Status.CloneSet.PodsBeforeRelease)
		})
	}
}

// The verbs' writes pass the status strategy: each one the machine makes on a running release.
func TestStatusValidateUpdateAcceptsTheVerbs(t *testing.T) {
	st := NewStatusStrategy(NewStrategy(newScheme(t)))
	ctx := nsContext("default")
	obs := plan.Observation{Replicas: 4, Updated: 2, ContainersReady: 2, Ready: 1}
	for _, verb := range plan.Verbs {
		t.Run(string(verb), func(t *testing.T) {
			old := recordedRelease()
			old.Status.Batches[1].Phase = releases.BatchBaked
			if verb == plan.VerbResume {
				old.Status.Phase = releases.ReleasePaused
			}
			obj := old.DeepCopy()
			changed, err := plan.Act(obj, verb, nil, obs, "alice", metav1.Now())
			require.NoError(t, err)
			require.True(t, changed)
			assert.Empty(t, st.ValidateUpdate(ctx, obj, old))
		})
	}
}

// A list of a CloneSet's releases (admission's, at every create) is answered from the watch cache's index
// of spec.cloneSetName: the selector's index value names the index the cache keeps.
func TestTheCloneSetNameSelectorUsesTheIndex(t *testing.T) {
	p := Match(labels.Everything(), fields.OneTermEqualSelector(CloneSetNameField, "web"))
	matched := p.MatcherIndex(context.Background())
	require.Len(t, matched, 1)
	index, ok := (*Indexers())[matched[0].IndexName]
	require.True(t, ok, "the selector names index %q, which the cache does not keep", matched[0].IndexName)
	values, err := index(&releases.Release{Spec: releases.ReleaseSpec{CloneSetName: "web"}})
	require.NoError(t, err)
	assert.Equal(t, []string{matched[0].Value}, values)
	assert.Equal(t, "web", CloneSetNameTriggerFunc(&releases.Release{Spec: releases.ReleaseSpec{CloneSetName: "web"}}))
}
