package analysistemplate

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

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/apis/releases/validation"
)

// templateStrategy is how callers create and update an AnalysisTemplate: validated on both, with no
// status.
type templateStrategy struct {
	runtime.ObjectTyper
	names.NameGenerator
}

// NewStrategy returns the strategy of AnalysisTemplates.
func NewStrategy(typer runtime.ObjectTyper) templateStrategy {
	return templateStrategy{typer, names.SimpleNameGenerator}
}

func (templateStrategy) NamespaceScoped() bool { return true }

// PrepareForCreate starts the generation at 1.
func (templateStrategy) PrepareForCreate(ctx context.Context, obj runtime.Object) {
	obj.(*releases.AnalysisTemplate).Generation = 1
}

// PrepareForUpdate bumps the generation when the checks change.
func (templateStrategy) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	newT, oldT := obj.(*releases.AnalysisTemplate), old.(*releases.AnalysisTemplate)
	newT.Generation = oldT.Generation
	if !apiequality.Semantic.DeepEqual(newT.Spec, oldT.Spec) {
		newT.Generation = oldT.Generation + 1
	}
}

func (templateStrategy) Validate(ctx context.Context, obj runtime.Object) field.ErrorList {
	return validation.ValidateAnalysisTemplate(obj.(*releases.AnalysisTemplate))
}

func (templateStrategy) WarningsOnCreate(ctx context.Context, obj runtime.Object) []string {
	return nil
}

func (templateStrategy) AllowCreateOnUpdate(context.Context) bool { return false }

func (templateStrategy) AllowUnconditionalUpdate(context.Context) bool { return true }

func (templateStrategy) Canonicalize(obj runtime.Object) {}

func (templateStrategy) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	return validation.ValidateAnalysisTemplateUpdate(obj.(*releases.AnalysisTemplate), old.(*releases.AnalysisTemplate))
}

func (templateStrategy) WarningsOnUpdate(ctx context.Context, obj, old runtime.Object) []string {
	return nil
}

// GetAttrs returns the labels and the selectable fields (metadata.name and metadata.namespace) of an
// AnalysisTemplate.
func GetAttrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	t, ok := obj.(*releases.AnalysisTemplate)
	if !ok {
		return nil, nil, fmt.Errorf("not an AnalysisTemplate: %T", obj)
	}
	return t.Labels, generic.ObjectMetaFieldsSet(&t.ObjectMeta, true), nil
}

// Match returns the matcher of a label and field selector.
func Match(label labels.Selector, field fields.Selector) storage.SelectionPredicate {
	return storage.SelectionPredicate{Label: label, Field: field, GetAttrs: GetAttrs}
}
