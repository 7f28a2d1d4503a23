package release

import (
	"context"
	"fmt"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/apiserver/pkg/storage/names"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/apis/releases/validation"
)

// releaseStrategy is how callers create and update a Release's spec and metadata. The status belongs
// to the server: it is set on create and kept on every update of the main resource.
type releaseStrategy struct {
	runtime.ObjectTyper
	names.NameGenerator
}

// statusStrategy is how the status subresource updates a Release: only the status changes, and only
// as the server moves a release (validation.ValidateReleaseStatusTransition). Every status write goes
// through it: the controller's, through StatusREST, and the action subresources', on the status store.
type statusStrategy struct {
	releaseStrategy
}

// NewStrategy returns the strategy of the main resource.
func NewStrategy(typer runtime.ObjectTyper) releaseStrategy {
	return releaseStrategy{typer, names.SimpleNameGenerator}
}

// NewStatusStrategy returns the strategy of the status subresource.
func NewStatusStrategy(s releaseStrategy) statusStrategy {
	return statusStrategy{s}
}

func (releaseStrategy) NamespaceScoped() bool { return true }

// GetResetFields says which fields server-side apply must not let a caller of the main resource own.
func (releaseStrategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return map[fieldpath.APIVersion]*fieldpath.Set{
		"releases.triton.io/v1alpha1": fieldpath.NewSet(fieldpath.MakePathOrDie("status")),
	}
}

// PrepareForCreate starts every release as Pending with the status planned when it was admitted (its
// batches, its CloneSet before the release) and the checks its analysis resolved to, whatever the caller
// sent.
func (releaseStrategy) PrepareForCreate(ctx context.Context, obj runtime.Object) {
	r := obj.(*releases.Release)
	r.Status = releases.ReleaseStatus{Phase: releases.ReleasePending}
	if planned, ok := plannedStatus(ctx); ok {
		r.Status = planned
		// An admitted release drives a CloneSet: deleting it must leave that CloneSet sound.
		if !hasFinalizer(r) {
			r.Finalizers = append(r.Finalizers, releases.CleanupFinalizer)
		}
	}
	if checks, ok := analysisChecks(ctx); ok {
		r.Status.AnalysisChecks = checks
	}
	r.Generation = 1
}

// PrepareForUpdate keeps the stored status and bumps the generation only when the spec changed.
func (releaseStrategy) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	newR, oldR := obj.(*releases.Release), old.(*releases.Release)
	newR.Status = oldR.Status
	if !apiequality.Semantic.DeepEqual(newR.Spec, oldR.Spec) {
		newR.Generation = oldR.Generation + 1
	}
}

func (releaseStrategy) Validate(ctx context.Context, obj runtime.Object) field.ErrorList {
	return validation.ValidateRelease(obj.(*releases.Release))
}

func (releaseStrategy) WarningsOnCreate(ctx context.Context, obj runtime.Object) []string { return nil }

func (releaseStrategy) AllowCreateOnUpdate(context.Context) bool { return false }

func (releaseStrategy) AllowUnconditionalUpdate(context.Context) bool { return true }

func (releaseStrategy) Canonicalize(obj runtime.Object) {}

func (releaseStrategy) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	return validation.ValidateReleaseUpdate(obj.(*releases.Release), old.(*releases.Release))
}

func (releaseStrategy) WarningsOnUpdate(ctx context.Context, obj, old runtime.Object) []string {
	return nil
}

// GetResetFields: a status writer cannot own the spec, nor the metadata a caller of the main resource
// controls.
func (statusStrategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return map[fieldpath.APIVersion]*fieldpath.Set{
		"releases.triton.io/v1alpha1": fieldpath.NewSet(
			fieldpath.MakePathOrDie("spec"),
			fieldpath.MakePathOrDie("metadata", "labels"),
			fieldpath.MakePathOrDie("metadata", "annotations"),
			fieldpath.MakePathOrDie("metadata", "finalizers"),
			fieldpath.MakePathOrDie("metadata", "ownerReferences"),
		),
	}
}

// PrepareForUpdate keeps the stored spec and the caller-controlled metadata: rights on releases/status
// change the status only. The generation therefore never moves on a status write.
func (statusStrategy) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	newR, oldR := obj.(*releases.Release), old.(*releases.Release)
	newR.Spec = oldR.Spec
	newR.Labels = oldR.Labels
	newR.Annotations = oldR.Annotations
	newR.Finalizers = oldR.Finalizers
	newR.OwnerReferences = oldR.OwnerReferences
}

func (statusStrategy) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	return validation.ValidateReleaseStatusUpdate(obj.(*releases.Release), old.(*releases.Release))
}

func (statusStrategy) WarningsOnUpdate(ctx context.Context, obj, old runtime.Object) []string {
	return nil
}

// GetAttrs returns the labels and the selectable fields of a Release.
func GetAttrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	r, ok := obj.(*releases.Release)
	if !ok {
		return nil, nil, fmt.Errorf("not a Release: %T", obj)
	}
	return r.Labels, SelectableFields(r), nil
}

// SelectableFields are the fields `--field-selector` accepts: metadata.name, metadata.namespace,
// spec.cloneSetName and status.phase.
func SelectableFields(r *releases.Release) fields.Set {
	return generic.AddObjectMetaFieldsSet(fields.Set{
		CloneSetNameField: r.Spec.CloneSetName,
		"status.phase":    string(r.Status.Phase),
	}, &r.ObjectMeta, true)
}

// Match returns the matcher of a label and field selector. A selector on spec.cloneSetName is answered
// from the watch cache's index of it.
func Match(label labels.Selector, field fields.Selector) storage.SelectionPredicate {
	return storage.SelectionPredicate{Label: label, Field: field, GetAttrs: GetAttrs, IndexFields: []string{CloneSetNameField}}
}

// CloneSetNameField is the field of a release's CloneSet.
const CloneSetNameField = "spec.cloneSetName"

// CloneSetNameTriggerFunc is the value of a release's CloneSetNameField, for the watch cache.
func CloneSetNameTriggerFunc(obj runtime.Object) string {
	return obj.(*releases.Release).Spec.CloneSetName
}

// Indexers are the watch cache's indexes of releases: by CloneSetNameField.
func Indexers() *cache.Indexers {
	return &cache.Indexers{storage.FieldIndex(CloneSetNameField): func(obj interface{}) ([]string, error) {
		r, ok := obj.(*releases.Release)
		if !ok {
			return nil, fmt.Errorf("not a Release: %T", obj)
		}
		return []string{r.Spec.CloneSetName}, nil
	}}
}
