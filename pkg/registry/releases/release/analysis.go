package release

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/apis/releases/validation"
)

// AnalysisTemplateGetter reads an AnalysisTemplate of a namespace, as it is stored now; one that does not
// exist is a NotFound error.
type AnalysisTemplateGetter func(ctx context.Context, namespace, name string) (*releases.AnalysisTemplate, error)

type analysisChecksKey struct{}

// analysisChecks are the checks resolved for a release being created, carried to PrepareForCreate.
func analysisChecks(ctx context.Context) ([]releases.AnalysisCheck, bool) {
	checks, ok := ctx.Value(analysisChecksKey{}).([]releases.AnalysisCheck)
	return checks, ok
}

// resolveAnalysis reads the templates a release being created names and returns the context carrying the
// checks it runs (status.analysisChecks): its own, then each template's, in order. They are resolved
// once, here: a later change to a template, or its deletion, changes no release that exists. A template
// that does not exist, a check name found twice, or more checks than a release may have is a 422 naming
// spec.strategy.analysis.templates. A release without analysis carries none.
func (r *REST) resolveAnalysis(ctx context.Context, rel *releases.Release) (context.Context, error) {
	a := rel.Spec.Strategy.Analysis
	if a == nil {
		return ctx, nil
	}
	ns := genericapirequest.NamespaceValue(ctx)
	if ns == "" {
		ns = rel.Namespace
	}
	templates := make([]*releases.AnalysisTemplate, len(a.Templates))
	templatesPath := field.NewPath("spec", "strategy", "analysis", "templates")
	var errs field.ErrorList
	seen := sets.New[string]()
	for i, name := range a.Templates {
		if !validTemplateName(name) || seen.Has(name) {
			continue // validation says why
		}
		seen.Insert(name)
		var err error
		if r.templates != nil {
			templates[i], err = r.templates(ctx, ns, name)
		}
		switch {
		case r.templates == nil || apierrors.IsNotFound(err):
			errs = append(errs, notFoundTemplate(templatesPath.Index(i), name))
		case err != nil:
			return ctx, err
		}
	}
	if len(errs) > 0 {
		return ctx, apierrors.NewInvalid(releases.Kind("Release"), rel.Name, errs)
	}
	checks, errs := mergeAnalysisChecks(a, templates, templatesPath)
	if len(errs) > 0 {
		return ctx, apierrors.NewInvalid(releases.Kind("Release"), rel.Name, errs)
	}
	return context.WithValue(ctx, analysisChecksKey{}, checks), nil
}

// mergeAnalysisChecks returns the checks of analysis followed by those of templates (templates[i] is the
// one analysis.templates[i] names; nil for one that is not read), and what is wrong with them together:
// a name found twice (field.Duplicate), more than validation.MaxAnalysisChecks checks, or more than
// validation.MaxAnalysisChecksBytes, each on the path of the template that brings it.
func mergeAnalysisChecks(a *releases.ReleaseAnalysis, templates []*releases.AnalysisTemplate, templatesPath *field.Path) ([]releases.AnalysisCheck, field.ErrorList) {
	checks := make([]releases.AnalysisCheck, 0, len(a.Checks))
	from := map[string]string{}
	for _, c := range a.Checks {
		checks = append(checks, *c.DeepCopy())
		from[c.Name] = "the release's own checks"
	}
	var errs field.ErrorList
	for i, t := range templates {
		if t == nil {
			continue
		}
		idxPath := templatesPath.Index(i)
		for _, c := range t.Spec.Checks {
			if where, ok := from[c.Name]; ok {
				dup := field.Duplicate(idxPath, c.Name)
				dup.Detail = fmt.Sprintf("AnalysisTemplate %s has a check %q, as %s do: check names must be unique in a release", t.Name, c.Name, where)
				errs = append(errs, dup)
				continue
			}
			from[c.Name] = "AnalysisTemplate " + t.Name
			checks = append(checks, *c.DeepCopy())
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	if len(checks) > validation.MaxAnalysisChecks {
		errs = append(errs, field.Invalid(templatesPath, strings.Join(templateNames(templates), ","), fmt.Sprintf(
			"the release's %d checks and its templates' %d are %d together; a release may have at most %d",
			len(a.Checks), len(checks)-len(a.Checks), len(checks), validation.MaxAnalysisChecks)))
	} else if n := validation.AnalysisChecksBytes(checks); n > validation.MaxAnalysisChecksBytes {
		errs = append(errs, field.Invalid(templatesPath, strings.Join(templateNames(templates), ","), fmt.Sprintf(
			"the release's checks and its templates' are %d bytes as JSON together; a release may keep at most %d", n, validation.MaxAnalysisChecksBytes)))
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return checks, nil
}

// notFoundTemplate is the 422 of a template that does not exist in the release's namespace.
func notFoundTemplate(fldPath *field.Path, name string) *field.Error {
	err := field.NotFound(fldPath, name)
	err.Detail = "no AnalysisTemplate of this name in the release's namespace"
	return err
}

// validTemplateName reports whether name can be an AnalysisTemplate's: one that cannot is validation's
// to report, not a template to look for.
func validTemplateName(name string) bool {
	return name != "" && len(utilvalidation.IsDNS1123Subdomain(name)) == 0
}

func templateNames(templates []*releases.AnalysisTemplate) []string {
	var out []string
	for _, t := range templates {
		if t != nil {
			out = append(out, t.Name)
		}
	}
	return out
}
