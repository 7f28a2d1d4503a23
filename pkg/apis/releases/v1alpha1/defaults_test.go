package v1alpha1_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

func newScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	scheme := runtime.NewScheme()
	require.NoError(t, v1alpha1.AddToScheme(scheme))
	return scheme
}

func ptr[T any](v T) *T { return &v }

func intOrStr(v intstr.IntOrString) *intstr.IntOrString { return &v }

func template(labels map[string]string) *corev1.PodTemplateSpec {
	return &corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx:1.25"}}},
	}
}

// defaultStrategy is what an empty strategy becomes.
func defaultStrategy() v1alpha1.ReleaseStrategy {
	return v1alpha1.ReleaseStrategy{
		Type:                    v1alpha1.StrategyBatch,
		Canary:                  0,
		BatchSize:               intOrStr(intstr.FromString("100%")),
		Mode:                    v1alpha1.ModeManual,
		BatchIntervalSeconds:    0,
		NoPullIn:                false,
		ProgressDeadlineSeconds: ptr(int32(600)),
		MaxFailedPods:           intOrStr(intstr.FromInt32(0)),
		OnFailure:               v1alpha1.FailurePause,
	}
}

func TestDefaults(t *testing.T) {
	explicit := v1alpha1.ReleaseStrategy{
		Type:                    v1alpha1.StrategyBatch,
		Canary:                  2,
		BatchSize:               intOrStr(intstr.FromString("25%")),
		Mode:                    v1alpha1.ModeAuto,
		BatchIntervalSeconds:    15,
		NoPullIn:                true,
		ProgressDeadlineSeconds: ptr(int32(30)),
		MaxFailedPods:           intOrStr(intstr.FromString("10%")),
		OnFailure:               v1alpha1.FailureCancel,
	}
	webLabels := map[string]string{"app": "web", "tier": "frontend"}

	tests := []struct {
		name string
		in   v1alpha1.ReleaseSpec
		want v1alpha1.ReleaseSpec
	}{
		{
			name: "empty strategy gets every default",
			in:   v1alpha1.ReleaseSpec{CloneSetName: "web", Action: v1alpha1.ActionRestart},
			want: v1alpha1.ReleaseSpec{CloneSetName: "web", Action: v1alpha1.ActionRestart, Strategy: defaultStrategy()},
		},
		{
			name: "explicit strategy is never overwritten",
			in:   v1alpha1.ReleaseSpec{CloneSetName: "web", Action: v1alpha1.ActionRestart, Strategy: explicit},
			want: v1alpha1.ReleaseSpec{CloneSetName: "web", Action: v1alpha1.ActionRestart, Strategy: explicit},
		},
		{
			name: "batchSize as a number is kept",
			in: v1alpha1.ReleaseSpec{Action: v1alpha1.ActionRestart, Strategy: v1alpha1.ReleaseStrategy{
				BatchSize: intOrStr(intstr.FromInt32(2)),
			}},
			want: v1alpha1.ReleaseSpec{Action: v1alpha1.ActionRestart, Strategy: func() v1alpha1.ReleaseStrategy {
				s := defaultStrategy()
				s.BatchSize = intOrStr(intstr.FromInt32(2))
				return s
			}()},
		},
		{
			// Zero values behind pointers are the caller's choice; validation, not defaulting, rejects them.
			name: "explicit zero pointers are kept",
			in: v1alpha1.ReleaseSpec{Action: v1alpha1.ActionRestart, Strategy: v1alpha1.ReleaseStrategy{
				BatchSize:               intOrStr(intstr.FromInt32(0)),
				ProgressDeadlineSeconds: ptr(int32(0)),
				MaxFailedPods:           intOrStr(intstr.FromString("0%")),
			}},
			want: v1alpha1.ReleaseSpec{Action: v1alpha1.ActionRestart, Strategy: v1alpha1.ReleaseStrategy{
				Type:                    v1alpha1.StrategyBatch,
				BatchSize:               intOrStr(intstr.FromInt32(0)),
				Mode:                    v1alpha1.ModeManual,
				ProgressDeadlineSeconds: ptr(int32(0)),
				MaxFailedPods:           intOrStr(intstr.FromString("0%")),
				OnFailure:               v1alpha1.FailurePause,
			}},
		},
		{
			name: "blue/green gets its defaults and no batchSize",
			in: v1alpha1.ReleaseSpec{Action: v1alpha1.ActionUpdate, Strategy: v1alpha1.ReleaseStrategy{
				Type: v1alpha1.StrategyBlueGreen,
			}},
			want: v1alpha1.ReleaseSpec{Action: v1alpha1.ActionUpdate, Strategy: func() v1alpha1.ReleaseStrategy {
				s := defaultStrategy()
				s.Type = v1alpha1.StrategyBlueGreen
				s.BatchSize = nil
				s.BlueGreen = &v1alpha1.BlueGreenStrategy{PreviewReplicas: intOrStr(intstr.FromString("100%")), ScaleDownDelaySeconds: ptr(int32(30))}
				return s
			}()},
		},
		{
			name: "blue/green keeps what is given",
			in: v1alpha1.ReleaseSpec{Action: v1alpha1.ActionUpdate, Strategy: v1alpha1.ReleaseStrategy{
				Type:      v1alpha1.StrategyBlueGreen,
				BlueGreen: &v1alpha1.BlueGreenStrategy{PreviewReplicas: intOrStr(intstr.FromInt32(1)), AutoPromote: true, ScaleDownDelaySeconds: ptr(int32(0))},
			}},
			want: v1alpha1.ReleaseSpec{Action: v1alpha1.ActionUpdate, Strategy: func() v1alpha1.ReleaseStrategy {
				s := defaultStrategy()
				s.Type = v1alpha1.StrategyBlueGreen
				s.BatchSize = nil
				s.BlueGreen = &v1alpha1.BlueGreenStrategy{PreviewReplicas: intOrStr(intstr.FromInt32(1)), AutoPromote: true, ScaleDownDelaySeconds: ptr(int32(0))}
				return s
			}()},
		},
		{
			name: "create copies the template labels into the selector",
			in:   v1alpha1.ReleaseSpec{Action: v1alpha1.ActionCreate, Template: template(webLabels), Replicas: ptr(int32(3))},
			want: v1alpha1.ReleaseSpec{
				Action: v1alpha1.ActionCreate, Template: template(webLabels), Replicas: ptr(int32(3)),
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web", "tier": "frontend"}},
				Strategy: defaultStrategy(),
			},
		},
		{
			name: "create keeps an explicit selector",
			in: v1alpha1.ReleaseSpec{
				Action: v1alpha1.ActionCreate, Template: template(webLabels),
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			},
			want: v1alpha1.ReleaseSpec{
				Action: v1alpha1.ActionCreate, Template: template(webLabels),
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
				Strategy: defaultStrategy(),
			},
		},
		{
			name: "create with an explicit empty selector keeps it",
			in:   v1alpha1.ReleaseSpec{Action: v1alpha1.ActionCreate, Template: template(webLabels), Selector: &metav1.LabelSelector{}},
			want: v1alpha1.ReleaseSpec{Action: v1alpha1.ActionCreate, Template: template(webLabels), Selector: &metav1.LabelSelector{}, Strategy: defaultStrategy()},
		},
		{
			name: "create without template labels gets no selector",
			in:   v1alpha1.ReleaseSpec{Action: v1alpha1.ActionCreate, Template: template(nil)},
			want: v1alpha1.ReleaseSpec{Action: v1alpha1.ActionCreate, Template: template(nil), Strategy: defaultStrategy()},
		},
		{
			name: "create without template gets no selector",
			in:   v1alpha1.ReleaseSpec{Action: v1alpha1.ActionCreate},
			want: v1alpha1.ReleaseSpec{Action: v1alpha1.ActionCreate, Strategy: defaultStrategy()},
		},
		{
			name: "update gets no selector",
			in:   v1alpha1.ReleaseSpec{Action: v1alpha1.ActionUpdate, Template: template(webLabels)},
			want: v1alpha1.ReleaseSpec{Action: v1alpha1.ActionUpdate, Template: template(webLabels), Strategy: defaultStrategy()},
		},
		{
			name: "scale gets no selector",
			in:   v1alpha1.ReleaseSpec{Action: v1alpha1.ActionScale, Replicas: ptr(int32(5))},
			want: v1alpha1.ReleaseSpec{Action: v1alpha1.ActionScale, Replicas: ptr(int32(5)), Strategy: defaultStrategy()},
		},
		{
			name: "rollback keeps toRevision empty (resolved at run time)",
			in:   v1alpha1.ReleaseSpec{Action: v1alpha1.ActionRollback},
			want: v1alpha1.ReleaseSpec{Action: v1alpha1.ActionRollback, Strategy: defaultStrategy()},
		},
	}
	scheme := newScheme(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &v1alpha1.Release{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "default"}, Spec: tc.in}
			scheme.Default(r)
			assert.Equal(t, tc.want, r.Spec)
		})
	}
}

// The defaulted selector is a copy: changing the template's labels later does not change it.
func TestDefaultSelectorIsACopy(t *testing.T) {
	r := &v1alpha1.Release{Spec: v1alpha1.ReleaseSpec{Action: v1alpha1.ActionCreate, Template: template(map[string]string{"app": "web"})}}
	newScheme(t).Default(r)
	require.NotNil(t, r.Spec.Selector)
	r.Spec.Template.Labels["app"] = "api"
	assert.Equal(t, map[string]string{"app": "web"}, r.Spec.Selector.MatchLabels)
}

func TestDefaultsReleaseList(t *testing.T) {
	list := &v1alpha1.ReleaseList{Items: []v1alpha1.Release{
		{Spec: v1alpha1.ReleaseSpec{Action: v1alpha1.ActionRestart}},
		{Spec: v1alpha1.ReleaseSpec{Action: v1alpha1.ActionCreate, Template: template(map[string]string{"app": "web"})}},
	}}
	newScheme(t).Default(list)
	for i := range list.Items {
		assert.Equal(t, defaultStrategy(), list.Items[i].Spec.Strategy, "items[%d]", i)
	}
	require.NotNil(t, list.Items[1].Spec.Selector)
	assert.Equal(t, map[string]string{"app": "web"}, list.Items[1].Spec.Selector.MatchLabels)
}

// What a client sends is defaulted when the server decodes it.
func TestDefaultsOnDecode(t *testing.T) {
	scheme := newScheme(t)
	codecs := serializer.NewCodecFactory(scheme)
	body := []byte(`{"apiVersion":"releases.triton.io/v1alpha1","kind":"Release","metadata":{"name":"web-1"},` +
		`"spec":{"cloneSetName":"web","action":"Create","replicas":3,"strategy":{"canary":1},` +
		`"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"app","image":"nginx"}]}}}}`)
	obj, _, err := codecs.UniversalDecoder(v1alpha1.SchemeGroupVersion).Decode(body, nil, nil)
	require.NoError(t, err)
	r, ok := obj.(*v1alpha1.Release)
	require.True(t, ok, "decoded %T", obj)

	want := defaultStrategy()
	want.Canary = 1
	assert.Equal(t, want, r.Spec.Strategy)
	assert.Equal(t, &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}, r.Spec.Selector)
}

// An analysis gets its interval, each check its error budget, a podHealth check its restarts: in the
// spec, in the status's resolved checks and in an AnalysisTemplate alike. What a caller sets is kept.
func TestAnalysisDefaults(t *testing.T) {
	given := v1alpha1.AnalysisCheck{Name: "given", Prometheus: &v1alpha1.PrometheusCheck{Query: "up"}, SuccessCondition: "result > 0",
		FailureLimit: 2, ErrorLimit: ptr(int32(0))}
	bare := func() v1alpha1.AnalysisCheck {
		return v1alpha1.AnalysisCheck{Name: "pods", PodHealth: &v1alpha1.PodHealthCheck{}}
	}
	defaulted := v1alpha1.AnalysisCheck{Name: "pods", PodHealth: &v1alpha1.PodHealthCheck{MaxRestarts: ptr(int32(0))}, ErrorLimit: ptr(int32(3))}
	keptRestarts := v1alpha1.AnalysisCheck{Name: "pods", PodHealth: &v1alpha1.PodHealthCheck{MaxRestarts: ptr(int32(2))}}

	scheme := newScheme(t)
	t.Run("release spec and status", func(t *testing.T) {
		r := &v1alpha1.Release{
			Spec: v1alpha1.ReleaseSpec{Action: v1alpha1.ActionRestart, Strategy: v1alpha1.ReleaseStrategy{
				Analysis: &v1alpha1.ReleaseAnalysis{Checks: []v1alpha1.AnalysisCheck{bare(), given, keptRestarts}, Templates: []string{"slo"}},
			}},
			Status: v1alpha1.ReleaseStatus{AnalysisChecks: []v1alpha1.AnalysisCheck{bare()}},
		}
		scheme.Default(r)
		a := r.Spec.Strategy.Analysis
		assert.Equal(t, ptr(int32(10)), a.IntervalSeconds)
		assert.Equal(t, int32(0), a.BakeSeconds)
		assert.Equal(t, []string{"slo"}, a.Templates)
		assert.Equal(t, defaulted, a.Checks[0])
		assert.Equal(t, given, a.Checks[1], "an explicit errorLimit 0 is kept")
		assert.Equal(t, ptr(int32(2)), a.Checks[2].PodHealth.MaxRestarts)
		assert.Equal(t, ptr(int32(3)), a.Checks[2].ErrorLimit)
		assert.Equal(t, []v1alpha1.AnalysisCheck{defaulted}, r.Status.AnalysisChecks)
	})
	t.Run("explicit interval kept", func(t *testing.T) {
		r := &v1alpha1.Release{Spec: v1alpha1.ReleaseSpec{Action: v1alpha1.ActionRestart, Strategy: v1alpha1.ReleaseStrategy{
			Analysis: &v1alpha1.ReleaseAnalysis{IntervalSeconds: ptr(int32(60)), BakeSeconds: 300},
		}}}
		scheme.Default(r)
		assert.Equal(t, &v1alpha1.ReleaseAnalysis{IntervalSeconds: ptr(int32(60)), BakeSeconds: 300}, r.Spec.Strategy.Analysis)
	})
	t.Run("no analysis stays none", func(t *testing.T) {
		r := &v1alpha1.Release{Spec: v1alpha1.ReleaseSpec{Action: v1alpha1.ActionRestart}}
		scheme.Default(r)
		assert.Nil(t, r.Spec.Strategy.Analysis)
	})
	t.Run("template and template list", func(t *testing.T) {
		list := &v1alpha1.AnalysisTemplateList{Items: []v1alpha1.AnalysisTemplate{
			{Spec: v1alpha1.AnalysisTemplateSpec{Checks: []v1alpha1.AnalysisCheck{bare(), given}}},
		}}
		scheme.Default(list)
		assert.Equal(t, []v1alpha1.AnalysisCheck{defaulted, given}, list.Items[0].Spec.Checks)
	})
}

// A template a client sends is defaulted when the server decodes it.
func TestAnalysisTemplateDefaultsOnDecode(t *testing.T) {
	codecs := serializer.NewCodecFactory(newScheme(t))
	body := []byte(`{"apiVersion":"releases.triton.io/v1alpha1","kind":"AnalysisTemplate","metadata":{"name":"slo"},` +
		`"spec":{"checks":[{"name":"pods","podHealth":{}}]}}`)
	obj, _, err := codecs.UniversalDecoder(v1alpha1.SchemeGroupVersion).Decode(body, nil, nil)
	require.NoError(t, err)
	at, ok := obj.(*v1alpha1.AnalysisTemplate)
	require.True(t, ok, "decoded %T", obj)
	assert.Equal(t, []v1alpha1.AnalysisCheck{{Name: "pods", PodHealth: &v1alpha1.PodHealthCheck{MaxRestarts: ptr(int32(0))}, ErrorLimit: ptr(int32(3))}},
		at.Spec.Checks)
}
