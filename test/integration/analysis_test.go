package integration

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

func sloTemplate() *v1alpha1.AnalysisTemplate {
	return &v1alpha1.AnalysisTemplate{
		ObjectMeta: metav1.ObjectMeta{Name: "slo"},
		Spec: v1alpha1.AnalysisTemplateSpec{Checks: []v1alpha1.AnalysisCheck{
			{Name: "error-rate", Prometheus: &v1alpha1.PrometheusCheck{Query: `sum(rate(http_requests_total{code=~"5..",pod=~"${cloneSet}-.*"}[1m]))`},
				SuccessCondition: "result < 0.01"},
			{Name: "pods", PodHealth: &v1alpha1.PodHealthCheck{}},
		}},
	}
}

// AnalysisTemplates are stored, defaulted and validated like releases: a bad one is a 422 naming its
// fields, and nothing is stored.
func TestAnalysisTemplates(t *testing.T) {
	ctx, ns := testContext(t), namespace(t)
	templates := shared.client.ReleasesV1alpha1().AnalysisTemplates(ns)

	created, err := templates.Create(ctx, sloTemplate(), metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, int64(1), created.Generation)
	assert.Equal(t, int32(3), *created.Spec.Checks[0].ErrorLimit, "defaulted")
	assert.Equal(t, int32(0), *created.Spec.Checks[1].PodHealth.MaxRestarts, "defaulted")

	bad := sloTemplate()
	bad.Name = "bad"
	bad.Spec.Checks[0].Prometheus.Query = `up{namespace="somebody-else"}`
	bad.Spec.Checks[1].SuccessCondition = "result <"
	_, err = templates.Create(ctx, bad, metav1.CreateOptions{})
	require.True(t, apierrors.IsInvalid(err), "want 422, got %v", err)
	assert.ElementsMatch(t, []string{"spec.checks[0].prometheus.query", "spec.checks[1].successCondition"}, causeFields(err))

	created.Spec.Checks = created.Spec.Checks[:1]
	updated, err := templates.Update(ctx, created, metav1.UpdateOptions{})
	require.NoError(t, err)
	assert.Equal(t, int64(2), updated.Generation)

	list, err := templates.List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	require.Len(t, list.Items, 1)
	assert.Equal(t, "slo", list.Items[0].Name)

	resources, err := shared.client.Discovery().ServerResourcesForGroupVersion(v1alpha1.SchemeGroupVersion.String())
	require.NoError(t, err)
	for _, r := range resources.APIResources {
		if r.Name == "analysistemplates" {
			assert.True(t, r.Namespaced)
			assert.Equal(t, "AnalysisTemplate", r.Kind)
			assert.Equal(t, []string{"at"}, r.ShortNames)
		}
	}

	require.NoError(t, templates.Delete(ctx, "slo", metav1.DeleteOptions{}))
	_, err = templates.Get(ctx, "slo", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "get after delete: %v", err)
}

// A release's checks are its own and its templates', resolved into its status when it is created; a
// later change to a template changes no release.
func TestAReleaseResolvesItsTemplatesAtCreate(t *testing.T) {
	ctx, ns := testContext(t), namespace(t)
	templates := shared.client.ReleasesV1alpha1().AnalysisTemplates(ns)
	releases := shared.client.ReleasesV1alpha1().Releases(ns)
	_, err := templates.Create(ctx, sloTemplate(), metav1.CreateOptions{})
	require.NoError(t, err)

	r := updateRelease("web-v2", "web")
	r.Spec.Strategy.Analysis = &v1alpha1.ReleaseAnalysis{Templates: []string{"slo"}, Checks: []v1alpha1.AnalysisCheck{
		{Name: "stats", HTTP: &v1alpha1.HTTPCheck{Service: "web", Port: 8080, Path: "/stats", JSONPath: "{.errorRate}"}, SuccessCondition: "result < 0.05"},
	}}
	created, err := releases.Create(ctx, r, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(10), *created.Spec.Strategy.Analysis.IntervalSeconds, "defaulted")
	var names []string
	for _, c := range created.Status.AnalysisChecks {
		names = append(names, c.Name)
	}
	assert.Equal(t, []string{"stats", "error-rate", "pods"}, names)

	require.NoError(t, templates.Delete(ctx, "slo", metav1.DeleteOptions{}))
	got, err := releases.Get(ctx, "web-v2", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, created.Status.AnalysisChecks, got.Status.AnalysisChecks, "the template's deletion changes no release")

	// Now it does not exist: a 422 on the template's name, and nothing stored.
	again := updateRelease("web-v3", "web")
	again.Spec.Strategy.Analysis = &v1alpha1.ReleaseAnalysis{Templates: []string{"slo"}}
	_, err = releases.Create(ctx, again, metav1.CreateOptions{})
	require.True(t, apierrors.IsInvalid(err), "want 422, got %v", err)
	assert.Equal(t, []string{"spec.strategy.analysis.templates[0]"}, causeFields(err))
	_, err = releases.Get(ctx, "web-v3", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "nothing stored: %v", err)

	// The analysis cannot change once the release exists.
	got.Spec.Strategy.Analysis.BakeSeconds = 60
	_, err = releases.Update(ctx, got, metav1.UpdateOptions{})
	require.True(t, apierrors.IsInvalid(err), "want 422, got %v", err)
	assert.Equal(t, []string{"spec.strategy.analysis"}, causeFields(err))
}

// A bad analysis is a 422 naming each field.
func TestABadAnalysisIs422(t *testing.T) {
	ctx, ns := testContext(t), namespace(t)
	r := updateRelease("web-v2", "web")
	r.Spec.Strategy.Analysis = &v1alpha1.ReleaseAnalysis{Checks: []v1alpha1.AnalysisCheck{
		{Name: "errors", Prometheus: &v1alpha1.PrometheusCheck{Query: "sum(rate(x[1m])"}},
		{Name: "errors", HTTP: &v1alpha1.HTTPCheck{Service: "web", Port: 70000, Path: "stats"}, SuccessCondition: "result"},
	}}
	_, err := shared.client.ReleasesV1alpha1().Releases(ns).Create(ctx, r, metav1.CreateOptions{})
	require.True(t, apierrors.IsInvalid(err), "want 422, got %v", err)
	assert.ElementsMatch(t, []string{
		"spec.strategy.analysis.checks[0].prometheus.query",
		"spec.strategy.analysis.checks[0].successCondition",
		"spec.strategy.analysis.checks[1].name",
		"spec.strategy.analysis.checks[1].http.port",
		"spec.strategy.analysis.checks[1].http.path",
	}, causeFields(err))
}
