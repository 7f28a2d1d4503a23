package release

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/apis/releases/validation"
)

func podHealth(name string) releases.AnalysisCheck {
	return releases.AnalysisCheck{Name: name, PodHealth: &releases.PodHealthCheck{MaxRestarts: ptr(int32(0))}, ErrorLimit: ptr(int32(3))}
}

func prometheus(name, query string) releases.AnalysisCheck {
	return releases.AnalysisCheck{Name: name, Prometheus: &releases.PrometheusCheck{Query: query}, SuccessCondition: "result < 0.01", ErrorLimit: ptr(int32(3))}
}

func analysisTemplate(ns, name string, checks ...releases.AnalysisCheck) *releases.AnalysisTemplate {
	return &releases.AnalysisTemplate{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: releases.AnalysisTemplateSpec{Checks: checks}}
}

// templateStore is an AnalysisTemplateGetter over a fixed set of templates, recording what was asked.
type templateStore struct {
	templates map[string]*releases.AnalysisTemplate // by namespace/name
	asked     []string
	err       error
}

func (s *templateStore) get(ctx context.Context, namespace, name string) (*releases.AnalysisTemplate, error) {
	s.asked = append(s.asked, namespace+"/"+name)
	if s.err != nil {
		return nil, s.err
	}
	t, ok := s.templates[namespace+"/"+name]
	if !ok {
		return nil, apierrors.NewNotFound(releases.Resource("analysistemplates"), name)
	}
	return t.DeepCopy(), nil
}

func shopTemplates() *templateStore {
	return &templateStore{templates: map[string]*releases.AnalysisTemplate{
		"default/slo":     analysisTemplate("default", "slo", prometheus("error-rate", "sum(rate(errors_total[1m]))"), prometheus("latency", "histogram_quantile(0.99, sum by (le) (rate(latency_bucket[5m])))")),
		"default/pods":    analysisTemplate("default", "pods", podHealth("restarts")),
		"default/clash":   analysisTemplate("default", "clash", podHealth("errors")),
		"elsewhere/other": analysisTemplate("elsewhere", "other", podHealth("theirs")),
	}}
}

// analysedRelease is validRelease with an analysis of its own check and templates.
func analysedRelease(templates ...string) *releases.Release {
	r := validRelease()
	r.Spec.Strategy.Analysis = &releases.ReleaseAnalysis{Checks: []releases.AnalysisCheck{prometheus("errors", "sum(rate(x[1m]))")},
		Templates: templates, IntervalSeconds: ptr(int32(10))}
	return r
}

// fieldsOf are the field paths and types of a 422.
func fieldsOf(t *testing.T, err error) []string {
	t.Helper()
	require.True(t, apierrors.IsInvalid(err), "want 422 Invalid, got %v", err)
	var out []string
	for _, c := range err.(apierrors.APIStatus).Status().Details.Causes {
		out = append(out, string(c.Type)+" "+c.Field)
	}
	return out
}

// The checks a release runs are its own and then its templates', in order, read from its own namespace
// when it is created, and PrepareForCreate stores them in its status.
func TestTheChecksOfTemplatesAreResolvedAtCreate(t *testing.T) {
	store := shopTemplates()
	r := &REST{templates: store.get}
	rel := analysedRelease("pods", "slo")
	ctx, err := r.resolveAnalysis(nsContext("default"), rel)
	require.NoError(t, err)
	assert.Equal(t, []string{"default/pods", "default/slo"}, store.asked)

	rel.Status.AnalysisChecks = []releases.AnalysisCheck{podHealth("mine")}
	NewStrategy(newScheme(t)).PrepareForCreate(ctx, rel)
	var got []string
	for _, c := range rel.Status.AnalysisChecks {
		got = append(got, c.Name)
	}
	assert.Equal(t, []string{"errors", "restarts", "error-rate", "latency"}, got, "the release's own, then each template's, in order; never the caller's")
	assert.Equal(t, store.templates["default/slo"].Spec.Checks[1], rel.Status.AnalysisChecks[3])

	// A copy: a later change of the template (or of the spec) changes nothing in the status.
	store.templates["default/slo"].Spec.Checks[1].FailureLimit = 9
	rel.Spec.Strategy.Analysis.Checks[0].FailureLimit = 9
	assert.Zero(t, rel.Status.AnalysisChecks[3].FailureLimit)
	assert.Zero(t, rel.Status.AnalysisChecks[0].FailureLimit)
}

func TestAReleaseWithoutAnalysisGetsNoChecks(t *testing.T) {
	store := shopTemplates()
	r := &REST{templates: store.get}
	rel := validRelease()
	ctx, err := r.resolveAnalysis(nsContext("default"), rel)
	require.NoError(t, err)
	assert.Empty(t, store.asked)
	rel.Status.AnalysisChecks = []releases.AnalysisCheck{podHealth("mine")}
	NewStrategy(newScheme(t)).PrepareForCreate(ctx, rel)
	assert.Nil(t, rel.Status.AnalysisChecks, "a caller cannot set them")

	// Checks of its own only: no template is read.
	rel = analysedRelease()
	ctx, err = r.resolveAnalysis(nsContext("default"), rel)
	require.NoError(t, err)
	assert.Empty(t, store.asked)
	NewStrategy(newScheme(t)).PrepareForCreate(ctx, rel)
	assert.Equal(t, rel.Spec.Strategy.Analysis.Checks, rel.Status.AnalysisChecks)
}

func TestTemplatesThatCannotBeResolvedAre422(t *testing.T) {
	const templates = "spec.strategy.analysis.templates"
	tests := []struct {
		name      string
		templates []string
		store     func(s *templateStore)
		want      []string
	}{
		{name: "a template that does not exist", templates: []string{"slo", "nope"},
			want: []string{"FieldValueNotFound " + templates + "[1]"}},
		{name: "a template of another namespace", templates: []string{"other"},
			want: []string{"FieldValueNotFound " + templates + "[0]"}},
		{name: "two that do not exist", templates: []string{"nope", "pods", "gone"},
			want: []string{"FieldValueNotFound " + templates + "[0]", "FieldValueNotFound " + templates + "[2]"}},
		{name: "a check of the release's name", templates: []string{"pods", "clash"},
			want: []string{"FieldValueDuplicate " + templates + "[1]"}},
		{name: "a check of another template's name", templates: []string{"slo", "copy"}, store: func(s *templateStore) {
			s.templates["default/copy"] = analysisTemplate("default", "copy", podHealth("fine"), podHealth("latency"))
		}, want: []string{"FieldValueDuplicate " + templates + "[1]"}},
		{name: "too many checks together", templates: []string{"slo", "many"}, store: func(s *templateStore) {
			var checks []releases.AnalysisCheck
			for i := 0; i < validation.MaxAnalysisChecks-2; i++ {
				checks = append(checks, podHealth(fmt.Sprintf("c%d", i)))
			}
			s.templates["default/many"] = analysisTemplate("default", "many", checks...)
		}, want: []string{"FieldValueInvalid " + templates}},
		{name: "too large together", templates: []string{"big-1", "big-2"}, store: func(s *templateStore) {
			// Characters JSON escapes, six bytes each: each template fits alone, not both.
			query := `up{pod="` + strings.Repeat("<", 1500) + `"}`
			for _, name := range []string{"big-1", "big-2"} {
				var checks []releases.AnalysisCheck
				for i := 0; i < 2; i++ {
					checks = append(checks, prometheus(fmt.Sprintf("%s-%d", name, i), query))
				}
				s.templates["default/"+name] = analysisTemplate("default", name, checks...)
			}
		}, want: []string{"FieldValueInvalid " + templates}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := shopTemplates()
			if tc.store != nil {
				tc.store(store)
			}
			r := &REST{templates: store.get}
			_, err := r.resolveAnalysis(nsContext("default"), analysedRelease(tc.templates...))
			assert.ElementsMatch(t, tc.want, fieldsOf(t, err), "%v", err)
		})
	}
}

// The 422 of a duplicate says which template brings the name, and where it was already.
func TestTheDuplicateSaysWhereTheNameComesFrom(t *testing.T) {
	r := &REST{templates: shopTemplates().get}
	_, err := r.resolveAnalysis(nsContext("default"), analysedRelease("clash"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `spec.strategy.analysis.templates[0]: Duplicate value: "errors": AnalysisTemplate clash has a check "errors", as the release's own checks do`)
}

func TestTemplateNamesValidationRefusesAreNotLookedFor(t *testing.T) {
	store := shopTemplates()
	r := &REST{templates: store.get}
	_, err := r.resolveAnalysis(nsContext("default"), analysedRelease("Bad_Name", "pods", "pods", ""))
	require.NoError(t, err, "validation reports them")
	assert.Equal(t, []string{"default/pods"}, store.asked)
}

func TestATemplateThatCannotBeReadIsNotA422(t *testing.T) {
	store := shopTemplates()
	store.err = apierrors.NewServiceUnavailable("etcd does not answer")
	r := &REST{templates: store.get}
	_, err := r.resolveAnalysis(nsContext("default"), analysedRelease("slo"))
	assert.True(t, apierrors.IsServiceUnavailable(err), "got %v", err)

	store.err = errors.New("boom")
	_, err = r.resolveAnalysis(nsContext("default"), analysedRelease("slo"))
	assert.EqualError(t, err, "boom")
}

func TestWithoutTemplateStorageNoTemplateExists(t *testing.T) {
	r := &REST{}
	_, err := r.resolveAnalysis(nsContext("default"), analysedRelease("slo"))
	assert.Equal(t, []string{"FieldValueNotFound spec.strategy.analysis.templates[0]"}, fieldsOf(t, err))
	_, err = r.resolveAnalysis(nsContext("default"), analysedRelease())
	assert.NoError(t, err)
}

// The resolved checks pass the validation of a status: what PrepareForCreate stores is a status the
// server could write.
func TestResolvedChecksAreAValidStatus(t *testing.T) {
	r := &REST{templates: shopTemplates().get}
	rel := analysedRelease("slo", "pods")
	ctx, err := r.resolveAnalysis(nsContext("default"), rel)
	require.NoError(t, err)
	rest.FillObjectMetaSystemFields(rel)
	require.NoError(t, rest.BeforeCreate(NewStrategy(newScheme(t)), ctx, rel))
	assert.Len(t, rel.Status.AnalysisChecks, 4)
	assert.Empty(t, validation.ValidateReleaseStatus(&rel.Status, field.NewPath("status")))
}
