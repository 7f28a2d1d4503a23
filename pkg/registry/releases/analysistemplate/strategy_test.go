package analysistemplate

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/apis/releases/install"
)

func ptr[T any](v T) *T { return &v }

func newScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	install.Install(s)
	return s
}

func nsContext(ns string) context.Context {
	return genericapirequest.WithNamespace(genericapirequest.NewContext(), ns)
}

// validTemplate is a template as it looks after defaulting: it passes validation.
func validTemplate() *releases.AnalysisTemplate {
	return &releases.AnalysisTemplate{
		ObjectMeta: metav1.ObjectMeta{Name: "slo", Namespace: "shop"},
		Spec: releases.AnalysisTemplateSpec{Checks: []releases.AnalysisCheck{
			{Name: "errors", Prometheus: &releases.PrometheusCheck{Query: `sum(rate(http_requests_total{code=~"5.."}[1m]))`},
				SuccessCondition: "result < 0.01", ErrorLimit: ptr(int32(3))},
			{Name: "pods", PodHealth: &releases.PodHealthCheck{MaxRestarts: ptr(int32(0))}, ErrorLimit: ptr(int32(3))},
		}},
	}
}

// causes are the field paths of a 422.
func causes(t *testing.T, err error) []string {
	t.Helper()
	require.True(t, apierrors.IsInvalid(err), "want 422 Invalid, got %v", err)
	status := err.(apierrors.APIStatus).Status()
	require.NotNil(t, status.Details)
	assert.Equal(t, "AnalysisTemplate", status.Details.Kind)
	assert.Equal(t, releases.GroupName, status.Details.Group)
	var fields []string
	for _, c := range status.Details.Causes {
		fields = append(fields, c.Field)
	}
	return fields
}

func TestBeforeCreate(t *testing.T) {
	s := NewStrategy(newScheme(t))
	assert.True(t, s.NamespaceScoped())
	assert.False(t, s.AllowCreateOnUpdate(context.Background()), "PUT to a missing template must not create it")

	t.Run("valid template", func(t *testing.T) {
		at := validTemplate()
		at.Generation = 7
		rest.FillObjectMetaSystemFields(at)
		require.NoError(t, rest.BeforeCreate(s, nsContext("shop"), at))
		assert.Equal(t, int64(1), at.Generation)
	})

	t.Run("a bad check is a 422 naming the field", func(t *testing.T) {
		at := validTemplate()
		at.Spec.Checks[0].SuccessCondition = "result <"
		at.Spec.Checks[1].Name = "errors"
		rest.FillObjectMetaSystemFields(at)
		fields := causes(t, rest.BeforeCreate(s, nsContext("shop"), at))
		assert.ElementsMatch(t, []string{"spec.checks[0].successCondition", "spec.checks[1].name"}, fields)
	})

	t.Run("a query of another namespace is a 422", func(t *testing.T) {
		at := validTemplate()
		at.Spec.Checks[0].Prometheus.Query = `up{namespace="payments"}`
		rest.FillObjectMetaSystemFields(at)
		assert.Equal(t, []string{"spec.checks[0].prometheus.query"}, causes(t, rest.BeforeCreate(s, nsContext("shop"), at)))
	})

	t.Run("no checks is a 422", func(t *testing.T) {
		at := validTemplate()
		at.Spec.Checks = nil
		rest.FillObjectMetaSystemFields(at)
		assert.Equal(t, []string{"spec.checks"}, causes(t, rest.BeforeCreate(s, nsContext("shop"), at)))
	})

	t.Run("namespace must match the request", func(t *testing.T) {
		at := validTemplate()
		rest.FillObjectMetaSystemFields(at)
		err := rest.BeforeCreate(s, nsContext("other"), at)
		assert.True(t, apierrors.IsBadRequest(err), "want 400, got %v", err)
	})
}

func TestBeforeUpdate(t *testing.T) {
	s := NewStrategy(newScheme(t))
	stored := func() *releases.AnalysisTemplate {
		at := validTemplate()
		at.ResourceVersion, at.Generation = "5", 2
		return at
	}

	t.Run("changed checks bump the generation", func(t *testing.T) {
		at := stored()
		at.Spec.Checks = at.Spec.Checks[:1]
		require.NoError(t, rest.BeforeUpdate(s, nsContext("shop"), at, stored()))
		assert.Equal(t, int64(3), at.Generation)
	})

	t.Run("labels alone keep it, whatever the caller sends", func(t *testing.T) {
		at := stored()
		at.Labels = map[string]string{"team": "platform"}
		at.Generation = 40
		require.NoError(t, rest.BeforeUpdate(s, nsContext("shop"), at, stored()))
		assert.Equal(t, int64(2), at.Generation)
	})

	t.Run("a bad check is a 422", func(t *testing.T) {
		at := stored()
		at.Spec.Checks[1].PodHealth.MaxRestarts = ptr(int32(-1))
		assert.Equal(t, []string{"spec.checks[1].podHealth.maxRestarts"}, causes(t, rest.BeforeUpdate(s, nsContext("shop"), at, stored())))
	})
}

func TestGetAttrs(t *testing.T) {
	at := validTemplate()
	at.Labels = map[string]string{"team": "platform"}
	labels, fields, err := GetAttrs(at)
	require.NoError(t, err)
	assert.Equal(t, "platform", labels["team"])
	assert.Equal(t, "slo", fields["metadata.name"])
	assert.Equal(t, "shop", fields["metadata.namespace"])
	_, _, err = GetAttrs(&releases.Release{})
	assert.Error(t, err)
}

func TestTable(t *testing.T) {
	at := validTemplate()
	at.ResourceVersion = "9"
	at.CreationTimestamp = metav1.NewTime(time.Now().Add(-3 * time.Hour))
	table, err := tableConvertor{}.ConvertToTable(context.Background(), at, nil)
	require.NoError(t, err)
	var names []string
	for _, c := range table.ColumnDefinitions {
		names = append(names, c.Name)
		assert.NotEmpty(t, c.Description)
	}
	assert.Equal(t, []string{"Name", "Checks", "Age"}, names)
	require.Len(t, table.Rows, 1)
	assert.Equal(t, []interface{}{"slo", "errors,pods", "3h"}, table.Rows[0].Cells)
	assert.Equal(t, "9", table.ResourceVersion)

	list := &releases.AnalysisTemplateList{ListMeta: metav1.ListMeta{ResourceVersion: "10", Continue: "next"},
		Items: []releases.AnalysisTemplate{*at, {ObjectMeta: metav1.ObjectMeta{Name: "empty"}}}}
	table, err = tableConvertor{}.ConvertToTable(context.Background(), list, &metav1.TableOptions{NoHeaders: true})
	require.NoError(t, err)
	assert.Empty(t, table.ColumnDefinitions)
	require.Len(t, table.Rows, 2)
	assert.Equal(t, []interface{}{"empty", "<none>", "<unknown>"}, table.Rows[1].Cells)
	assert.Equal(t, "next", table.Continue)

	_, err = tableConvertor{}.ConvertToTable(context.Background(), &releases.Release{}, nil)
	assert.Error(t, err)
}
