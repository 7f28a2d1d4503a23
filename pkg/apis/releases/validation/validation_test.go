package validation

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/triton-io/triton/pkg/apis/releases"
)

// --- builders ---

// blueGreen makes a valid release's strategy BlueGreen, as defaulting leaves it.
func blueGreen(r *releases.Release) {
	r.Spec.Strategy.Type = releases.StrategyBlueGreen
	r.Spec.Strategy.BatchSize = nil
	r.Spec.Strategy.BlueGreen = &releases.BlueGreenStrategy{PreviewReplicas: intOrStr("100%"), ScaleDownDelaySeconds: ptr(int32(30))}
}

func ptr[T any](v T) *T { return &v }

func intOrStr(s string) *intstr.IntOrString {
	v := intstr.Parse(s)
	return &v
}

func podTemplate() *corev1.PodTemplateSpec {
	return &corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "app", Image: "nginx:1.25"}},
		},
	}
}

// validRelease returns a Release that passes validation for the action, as it looks after defaulting:
// every test case below changes exactly one thing about it.
func validRelease(action releases.ReleaseAction) *releases.Release {
	r := &releases.Release{
		ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "default", ResourceVersion: "1"},
		Spec: releases.ReleaseSpec{
			CloneSetName: "web",
			Action:       action,
			Strategy: releases.ReleaseStrategy{
				BatchSize:               intOrStr("100%"),
				Mode:                    releases.ModeManual,
				ProgressDeadlineSeconds: ptr(int32(600)),
				MaxFailedPods:           intOrStr("0"),
			},
		},
	}
	switch action {
	case releases.ActionCreate:
		r.Spec.Template = podTemplate()
		r.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
		r.Spec.Replicas = ptr(int32(3))
	case releases.ActionUpdate:
		r.Spec.Template = podTemplate()
		r.Spec.Template.Spec.Containers[0].Image = "nginx:1.27"
	case releases.ActionScale:
		r.Spec.Replicas = ptr(int32(5))
	case releases.ActionRollback:
		r.Spec.ToRevision = "web-5d8f7c9b6"
	}
	return r
}

// --- assertions ---

// wantErr is one expected error: its type and exact field path, and optionally a piece of its detail.
type wantErr struct {
	typ    field.ErrorType
	field  string
	detail string
}

func required(f string) wantErr  { return wantErr{typ: field.ErrorTypeRequired, field: f} }
func invalid(f string) wantErr   { return wantErr{typ: field.ErrorTypeInvalid, field: f} }
func forbidden(f string) wantErr { return wantErr{typ: field.ErrorTypeForbidden, field: f} }
func duplicate(f string) wantErr { return wantErr{typ: field.ErrorTypeDuplicate, field: f} }
func notSupported(f string) wantErr {
	return wantErr{typ: field.ErrorTypeNotSupported, field: f}
}
func tooMany(f string) wantErr { return wantErr{typ: field.ErrorTypeTooMany, field: f} }
func tooLong(f string) wantErr { return wantErr{typ: field.ErrorTypeTooLong, field: f} }

func (w wantErr) with(detail string) wantErr { w.detail = detail; return w }

// assertErrors checks that got holds exactly the wanted errors (type and path), in any order, and that
// each wanted detail appears in the matching error.
func assertErrors(t *testing.T, got field.ErrorList, want ...wantErr) {
	t.Helper()
	gotKeys := make([]string, 0, len(got))
	for _, e := range got {
		gotKeys = append(gotKeys, fmt.Sprintf("%s %s", e.Type, e.Field))
	}
	wantKeys := make([]string, 0, len(want))
	for _, w := range want {
		wantKeys = append(wantKeys, fmt.Sprintf("%s %s", w.typ, w.field))
	}
	if !assert.ElementsMatch(t, wantKeys, gotKeys, "errors: %v", got) {
		return
	}
	for _, w := range want {
		if w.detail == "" {
			continue
		}
		found := false
		for _, e := range got {
			if e.Type == w.typ && e.Field == w.field && strings.Contains(e.Detail, w.detail) {
				found = true
				break
			}
		}
		assert.True(t, found, "no %s error at %s with detail %q in %v", w.typ, w.field, w.detail, got)
	}
}

// --- ValidateRelease ---

func TestValidateRelease(t *testing.T) {
	const (
		create   = releases.ActionCreate
		update   = releases.ActionUpdate
		scale    = releases.ActionScale
		restart  = releases.ActionRestart
		rollback = releases.ActionRollback
	)
	tests := []struct {
		name   string
		action releases.ReleaseAction
		mutate func(r *releases.Release)
		want   []wantErr
	}{
		// Valid releases.
		{name: "valid create", action: create},
		{name: "valid update", action: update},
		{name: "valid scale", action: scale},
		{name: "valid restart", action: restart},
		{name: "valid rollback", action: rollback},
		{name: "rollback without toRevision uses the previous revision", action: rollback, mutate: func(r *releases.Release) { r.Spec.ToRevision = "" }},
		{name: "update with maxSurge 100%", action: update, mutate: func(r *releases.Release) { r.Spec.Strategy.MaxSurge = intOrStr("100%") }},
		{name: "restart with maxSurge 2", action: restart, mutate: func(r *releases.Release) { r.Spec.Strategy.MaxSurge = intOrStr("2") }},
		{name: "create with maxSurge 0", action: create, mutate: func(r *releases.Release) { r.Spec.Strategy.MaxSurge = intOrStr("0") }},
		{name: "blue/green update", action: update, mutate: blueGreen},
		{name: "blue/green restart", action: restart, mutate: blueGreen},
		{name: "blue/green rollback", action: rollback, mutate: blueGreen},
		{name: "blue/green create", action: create, mutate: blueGreen, want: []wantErr{forbidden("spec.strategy.type")}},
		{name: "blue/green scale", action: scale, mutate: blueGreen, want: []wantErr{forbidden("spec.strategy.type")}},
		{name: "blue/green with a canary", action: update, mutate: func(r *releases.Release) { blueGreen(r); r.Spec.Strategy.Canary = 1 },
			want: []wantErr{forbidden("spec.strategy.canary")}},
		{name: "blue/green with batchSize", action: update, mutate: func(r *releases.Release) { blueGreen(r); r.Spec.Strategy.BatchSize = intOrStr("50%") },
			want: []wantErr{forbidden("spec.strategy.batchSize")}},
		{name: "blue/green with maxSurge", action: update, mutate: func(r *releases.Release) { blueGreen(r); r.Spec.Strategy.MaxSurge = intOrStr("1") },
			want: []wantErr{forbidden("spec.strategy.maxSurge")}},
		{name: "blue/green with noPullIn", action: update, mutate: func(r *releases.Release) { blueGreen(r); r.Spec.Strategy.NoPullIn = true },
			want: []wantErr{forbidden("spec.strategy.noPullIn")}},
		{name: "blue/green preview of 0", action: update, mutate: func(r *releases.Release) {
			blueGreen(r)
			r.Spec.Strategy.BlueGreen.PreviewReplicas = intOrStr("0")
		}, want: []wantErr{invalid("spec.strategy.blueGreen.previewReplicas")}},
		{name: "blue/green negative delay", action: update, mutate: func(r *releases.Release) {
			blueGreen(r)
			r.Spec.Strategy.BlueGreen.ScaleDownDelaySeconds = ptr(int32(-1))
		}, want: []wantErr{invalid("spec.strategy.blueGreen.scaleDownDelaySeconds")}},
		{name: "blueGreen without the type", action: update, mutate: func(r *releases.Release) {
			r.Spec.Strategy.BlueGreen = &releases.BlueGreenStrategy{PreviewReplicas: intOrStr("1"), ScaleDownDelaySeconds: ptr(int32(1))}
		}, want: []wantErr{forbidden("spec.strategy.blueGreen")}},
		{name: "unknown strategy type", action: update, mutate: func(r *releases.Release) { r.Spec.Strategy.Type = "Canary" },
			want: []wantErr{notSupported("spec.strategy.type")}},
		{name: "onFailure Cancel", action: update, mutate: func(r *releases.Release) { r.Spec.Strategy.OnFailure = releases.FailureCancel }},
		{name: "maxSurge on a create", action: create, mutate: func(r *releases.Release) { r.Spec.Strategy.MaxSurge = intOrStr("1") },
			want: []wantErr{forbidden("spec.strategy.maxSurge")}},
		{name: "maxSurge on a scale", action: scale, mutate: func(r *releases.Release) { r.Spec.Strategy.MaxSurge = intOrStr("50%") },
			want: []wantErr{forbidden("spec.strategy.maxSurge")}},
		{name: "negative maxSurge", action: update, mutate: func(r *releases.Release) { r.Spec.Strategy.MaxSurge = intOrStr("-1") },
			want: []wantErr{invalid("spec.strategy.maxSurge")}},
		{name: "maxSurge above 100%", action: update, mutate: func(r *releases.Release) { r.Spec.Strategy.MaxSurge = intOrStr("150%") },
			want: []wantErr{invalid("spec.strategy.maxSurge")}},
		{name: "unknown onFailure", action: update, mutate: func(r *releases.Release) { r.Spec.Strategy.OnFailure = "Retry" },
			want: []wantErr{notSupported("spec.strategy.onFailure")}},
		{name: "scale to zero", action: scale, mutate: func(r *releases.Release) { r.Spec.Replicas = ptr(int32(0)) }},
		{name: "scale in with podsToDelete", action: scale, mutate: func(r *releases.Release) { r.Spec.PodsToDelete = []string{"web-abcde", "web-fghij"} }},
		{name: "restart of named pods", action: restart, mutate: func(r *releases.Release) { r.Spec.PodsToDelete = []string{"web-abcde", "web-fghij"} }},
		{name: "create with canary equal to replicas", action: create, mutate: func(r *releases.Release) { r.Spec.Strategy.Canary = 3 }},
		{name: "scale canary is not bounded by spec", action: scale, mutate: func(r *releases.Release) { r.Spec.Strategy.Canary = 10 }},
		{name: "create with selector expression", action: create, mutate: func(r *releases.Release) {
			r.Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpIn, Values: []string{"web", "api"}}}}
		}},
		{name: "selector matching a subset of template labels", action: create, mutate: func(r *releases.Release) { r.Spec.Template.Labels["tier"] = "frontend" }},
		{name: "update template without labels", action: update, mutate: func(r *releases.Release) { r.Spec.Template.Labels = nil }},
		{name: "init containers with distinct names", action: update, mutate: func(r *releases.Release) {
			r.Spec.Template.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "busybox"}}
		}},
		{name: "batchSize int", action: update, mutate: func(r *releases.Release) { r.Spec.Strategy.BatchSize = intOrStr("2") }},
		{name: "batchSize 1%", action: update, mutate: func(r *releases.Release) { r.Spec.Strategy.BatchSize = intOrStr("1%") }},
		{name: "batchSize 100%", action: update, mutate: func(r *releases.Release) { r.Spec.Strategy.BatchSize = intOrStr("100%") }},
		{name: "auto mode with interval", action: update, mutate: func(r *releases.Release) {
			r.Spec.Strategy.Mode = releases.ModeAuto
			r.Spec.Strategy.BatchIntervalSeconds = 30
		}},
		{name: "noPullIn", action: update, mutate: func(r *releases.Release) { r.Spec.Strategy.NoPullIn = true }},
		{name: "maxFailedPods int", action: update, mutate: func(r *releases.Release) { r.Spec.Strategy.MaxFailedPods = intOrStr("2") }},
		{name: "maxFailedPods 0%", action: update, mutate: func(r *releases.Release) { r.Spec.Strategy.MaxFailedPods = intOrStr("0%") }},
		{name: "maxFailedPods 100%", action: update, mutate: func(r *releases.Release) { r.Spec.Strategy.MaxFailedPods = intOrStr("100%") }},
		{name: "maxFailedPods unset", action: update, mutate: func(r *releases.Release) { r.Spec.Strategy.MaxFailedPods = nil }},

		// metadata
		{name: "missing name", action: restart, mutate: func(r *releases.Release) { r.Name = "" }, want: []wantErr{required("metadata.name")}},
		{name: "invalid name", action: restart, mutate: func(r *releases.Release) { r.Name = "Web_1" }, want: []wantErr{invalid("metadata.name")}},
		{name: "missing namespace", action: restart, mutate: func(r *releases.Release) { r.Namespace = "" }, want: []wantErr{required("metadata.namespace")}},

		// cloneSetName
		{name: "missing cloneSetName", action: restart, mutate: func(r *releases.Release) { r.Spec.CloneSetName = "" }, want: []wantErr{required("spec.cloneSetName")}},
		{name: "invalid cloneSetName", action: restart, mutate: func(r *releases.Release) { r.Spec.CloneSetName = "Web_1" }, want: []wantErr{invalid("spec.cloneSetName")}},

		// action
		{name: "missing action", action: restart, mutate: func(r *releases.Release) { r.Spec.Action = "" }, want: []wantErr{required("spec.action")}},
		{name: "unknown action", action: restart, mutate: func(r *releases.Release) { r.Spec.Action = "Delete" }, want: []wantErr{notSupported("spec.action")}},
		{name: "unknown action reports only the action", action: create, mutate: func(r *releases.Release) { r.Spec.Action = "create" }, want: []wantErr{notSupported("spec.action")}},

		// template: presence per action
		{name: "create without template", action: create, mutate: func(r *releases.Release) { r.Spec.Template = nil }, want: []wantErr{required("spec.template")}},
		{name: "update without template", action: update, mutate: func(r *releases.Release) { r.Spec.Template = nil }, want: []wantErr{required("spec.template")}},
		{name: "scale with template", action: scale, mutate: func(r *releases.Release) { r.Spec.Template = podTemplate() },
			want: []wantErr{forbidden("spec.template").with("may only be set when spec.action is Create or Update")}},
		{name: "restart with template", action: restart, mutate: func(r *releases.Release) { r.Spec.Template = podTemplate() }, want: []wantErr{forbidden("spec.template")}},
		{name: "rollback with template", action: rollback, mutate: func(r *releases.Release) { r.Spec.Template = podTemplate() }, want: []wantErr{forbidden("spec.template")}},

		// template: contents
		{name: "invalid template label key", action: update, mutate: func(r *releases.Release) { r.Spec.Template.Labels["bad key"] = "x" },
			want: []wantErr{invalid("spec.template.metadata.labels")}},
		{name: "invalid template label value", action: update, mutate: func(r *releases.Release) { r.Spec.Template.Labels["tier"] = "-bad-" },
			want: []wantErr{invalid("spec.template.metadata.labels")}},
		{name: "no containers", action: update, mutate: func(r *releases.Release) { r.Spec.Template.Spec.Containers = nil },
			want: []wantErr{required("spec.template.spec.containers")}},
		{name: "only init containers", action: update, mutate: func(r *releases.Release) {
			r.Spec.Template.Spec.InitContainers = r.Spec.Template.Spec.Containers
			r.Spec.Template.Spec.Containers = nil
		}, want: []wantErr{required("spec.template.spec.containers")}},
		{name: "container without name", action: update, mutate: func(r *releases.Release) { r.Spec.Template.Spec.Containers[0].Name = "" },
			want: []wantErr{required("spec.template.spec.containers[0].name")}},
		{name: "container name not a DNS label", action: update, mutate: func(r *releases.Release) { r.Spec.Template.Spec.Containers[0].Name = "App.1" },
			want: []wantErr{invalid("spec.template.spec.containers[0].name")}},
		{name: "duplicate container name", action: create, mutate: func(r *releases.Release) {
			r.Spec.Template.Spec.Containers = append(r.Spec.Template.Spec.Containers, corev1.Container{Name: "app", Image: "envoy"})
		}, want: []wantErr{duplicate("spec.template.spec.containers[1].name")}},
		{name: "container without image", action: update, mutate: func(r *releases.Release) { r.Spec.Template.Spec.Containers[0].Image = "" },
			want: []wantErr{required("spec.template.spec.containers[0].image")}},
		{name: "container with blank image", action: update, mutate: func(r *releases.Release) { r.Spec.Template.Spec.Containers[0].Image = "  " },
			want: []wantErr{required("spec.template.spec.containers[0].image")}},
		{name: "container image with ESC", action: update, mutate: func(r *releases.Release) { r.Spec.Template.Spec.Containers[0].Image = "nginx:1.27\x1b]0;pwned\x07" },
			want: []wantErr{invalid("spec.template.spec.containers[0].image").with("control characters")}},
		{name: "container image with RLO", action: create, mutate: func(r *releases.Release) { r.Spec.Template.Spec.Containers[0].Image = "nginx:\u202e72.1" },
			want: []wantErr{invalid("spec.template.spec.containers[0].image").with("bidirectional")}},
		{name: "init container image with CR", action: update, mutate: func(r *releases.Release) {
			r.Spec.Template.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "busybox\rnginx"}}
		}, want: []wantErr{invalid("spec.template.spec.initContainers[0].image")}},
		{name: "init container reusing a container name", action: update, mutate: func(r *releases.Release) {
			r.Spec.Template.Spec.InitContainers = []corev1.Container{{Name: "app", Image: "busybox"}}
		}, want: []wantErr{duplicate("spec.template.spec.initContainers[0].name")}},
		{name: "duplicate init container name", action: update, mutate: func(r *releases.Release) {
			r.Spec.Template.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "busybox"}, {Name: "init", Image: "busybox"}}
		}, want: []wantErr{duplicate("spec.template.spec.initContainers[1].name")}},
		{name: "init container without image", action: update, mutate: func(r *releases.Release) {
			r.Spec.Template.Spec.InitContainers = []corev1.Container{{Name: "init"}}
		}, want: []wantErr{required("spec.template.spec.initContainers[0].image")}},
		{name: "init container name not a DNS label", action: update, mutate: func(r *releases.Release) {
			r.Spec.Template.Spec.InitContainers = []corev1.Container{{Name: "Init", Image: "busybox"}}
		}, want: []wantErr{invalid("spec.template.spec.initContainers[0].name")}},

		// selector
		{name: "update with selector", action: update, mutate: func(r *releases.Release) {
			r.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
		}, want: []wantErr{forbidden("spec.selector").with("may only be set when spec.action is Create")}},
		{name: "scale with selector", action: scale, mutate: func(r *releases.Release) {
			r.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
		}, want: []wantErr{forbidden("spec.selector")}},
		{name: "create without selector and template labels", action: create, mutate: func(r *releases.Release) {
			r.Spec.Selector = nil
			r.Spec.Template.Labels = nil
		}, want: []wantErr{required("spec.selector")}},
		{name: "create with empty selector", action: create, mutate: func(r *releases.Release) { r.Spec.Selector = &metav1.LabelSelector{} },
			want: []wantErr{invalid("spec.selector").with("empty selector would select every pod")}},
		{name: "create with invalid selector label", action: create, mutate: func(r *releases.Release) {
			r.Spec.Selector.MatchLabels = map[string]string{"app": "-web-"}
		}, want: []wantErr{invalid("spec.selector.matchLabels")}},
		{name: "create with invalid selector operator", action: create, mutate: func(r *releases.Release) {
			r.Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: "Like", Values: []string{"web"}}}}
		}, want: []wantErr{invalid("spec.selector.matchExpressions[0].operator")}},
		{name: "create with selector not matching template", action: create, mutate: func(r *releases.Release) {
			r.Spec.Selector.MatchLabels = map[string]string{"app": "api"}
		}, want: []wantErr{invalid("spec.template.metadata.labels").with("`selector` does not match template `labels`")}},
		{name: "create with template without labels", action: create, mutate: func(r *releases.Release) { r.Spec.Template.Labels = nil },
			want: []wantErr{invalid("spec.template.metadata.labels").with("`selector` does not match template `labels`")}},

		// replicas
		{name: "create without replicas", action: create, mutate: func(r *releases.Release) { r.Spec.Replicas = nil }, want: []wantErr{required("spec.replicas")}},
		{name: "create with zero replicas", action: create, mutate: func(r *releases.Release) { r.Spec.Replicas = ptr(int32(0)) },
			want: []wantErr{invalid("spec.replicas").with("greater than or equal to 1")}},
		{name: "create with negative replicas", action: create, mutate: func(r *releases.Release) { r.Spec.Replicas = ptr(int32(-1)) }, want: []wantErr{invalid("spec.replicas")}},
		{name: "scale without replicas", action: scale, mutate: func(r *releases.Release) { r.Spec.Replicas = nil }, want: []wantErr{required("spec.replicas")}},
		{name: "scale with negative replicas", action: scale, mutate: func(r *releases.Release) { r.Spec.Replicas = ptr(int32(-1)) },
			want: []wantErr{invalid("spec.replicas").with("greater than or equal to 0")}},
		{name: "update with replicas", action: update, mutate: func(r *releases.Release) { r.Spec.Replicas = ptr(int32(3)) },
			want: []wantErr{forbidden("spec.replicas").with("may only be set when spec.action is Create or Scale")}},
		{name: "restart with replicas", action: restart, mutate: func(r *releases.Release) { r.Spec.Replicas = ptr(int32(3)) }, want: []wantErr{forbidden("spec.replicas")}},
		{name: "rollback with replicas", action: rollback, mutate: func(r *releases.Release) { r.Spec.Replicas = ptr(int32(3)) }, want: []wantErr{forbidden("spec.replicas")}},

		// podsToDelete
		{name: "update with podsToDelete", action: update, mutate: func(r *releases.Release) { r.Spec.PodsToDelete = []string{"web-abcde"} },
			want: []wantErr{forbidden("spec.podsToDelete").with("may only be set when spec.action is Scale or Restart")}},
		{name: "restart of named pods with surge", action: restart, mutate: func(r *releases.Release) {
			r.Spec.PodsToDelete = []string{"web-abcde"}
			r.Spec.Strategy.MaxSurge = intOrStr("1")
		}, want: []wantErr{forbidden("spec.podsToDelete").with("maxSurge")}},
		{name: "blue/green restart of named pods", action: restart, mutate: func(r *releases.Release) {
			blueGreen(r)
			r.Spec.PodsToDelete = []string{"web-abcde"}
		}, want: []wantErr{forbidden("spec.podsToDelete").with("BlueGreen")}},
		{name: "too many pods to restart", action: restart, mutate: func(r *releases.Release) {
			for i := range MaxPodsToDelete + 1 {
				r.Spec.PodsToDelete = append(r.Spec.PodsToDelete, fmt.Sprintf("web-%d", i))
			}
		}, want: []wantErr{tooMany("spec.podsToDelete")}},
		{name: "create with podsToDelete", action: create, mutate: func(r *releases.Release) { r.Spec.PodsToDelete = []string{"web-abcde"} }, want: []wantErr{forbidden("spec.podsToDelete")}},
		{name: "invalid pod name", action: scale, mutate: func(r *releases.Release) { r.Spec.PodsToDelete = []string{"web-abcde", "Web_1"} },
			want: []wantErr{invalid("spec.podsToDelete[1]")}},
		{name: "empty pod name", action: scale, mutate: func(r *releases.Release) { r.Spec.PodsToDelete = []string{""} }, want: []wantErr{invalid("spec.podsToDelete[0]")}},
		{name: "duplicate pod name", action: scale, mutate: func(r *releases.Release) { r.Spec.PodsToDelete = []string{"web-abcde", "web-fghij", "web-abcde"} },
			want: []wantErr{duplicate("spec.podsToDelete[2]")}},

		// toRevision
		{name: "update with toRevision", action: update, mutate: func(r *releases.Release) { r.Spec.ToRevision = "web-5d8f7c9b6" },
			want: []wantErr{forbidden("spec.toRevision").with("may only be set when spec.action is Rollback")}},
		{name: "restart with toRevision", action: restart, mutate: func(r *releases.Release) { r.Spec.ToRevision = "web-5d8f7c9b6" }, want: []wantErr{forbidden("spec.toRevision")}},
		{name: "invalid toRevision", action: rollback, mutate: func(r *releases.Release) { r.Spec.ToRevision = "Web_5" }, want: []wantErr{invalid("spec.toRevision")}},

		// everything a Restart has no use for, at once
		{name: "restart with every create field", action: restart, mutate: func(r *releases.Release) {
			c := validRelease(create)
			r.Spec.Template, r.Spec.Selector, r.Spec.Replicas = c.Spec.Template, c.Spec.Selector, c.Spec.Replicas
			r.Spec.ToRevision = "web-5d8f7c9b6"
		}, want: []wantErr{forbidden("spec.template"), forbidden("spec.selector"), forbidden("spec.replicas"), forbidden("spec.toRevision")}},

		// strategy.canary
		{name: "negative canary", action: update, mutate: func(r *releases.Release) { r.Spec.Strategy.Canary = -1 }, want: []wantErr{invalid("spec.strategy.canary")}},
		{name: "create canary above replicas", action: create, mutate: func(r *releases.Release) { r.Spec.Strategy.Canary = 4 },
			want: []wantErr{invalid("spec.strategy.canary").with("must not be greater than spec.replicas (3)")}},

		// strategy.batchSize
		{name: "missing batchSize", action: update, mutate: func(r *releases.Release) { r.Spec.Strategy.BatchSize = nil }, want: []wantErr{required("spec.strategy.batchSize")}},
		{name: "zero batchSize", action: update, mutate: func(r *releases.Release) { r.Spec.Strategy.BatchSize = intOrStr("0") }, want: []wantErr{invalid("spec.strategy.batchSize")}},
		{name: "negative batchSize", action: update, mutate: func(r *releases.Release) { r.Spec.Strategy.BatchSize = intOrStr("-2") }, want: []wantErr{invalid("spec.strategy.batchSize")}},
		{name: "batchSize abc", action: update, mutate: func(r *releases.Release) { r.Spec.Strategy.BatchSize = intOrStr("abc") }, want: []wantErr{invalid("spec.strategy.batchSize")}},
		{name: "batchSize 0%", action: update, mutate: func(r *releases.Release) { r.Spec.Strategy.BatchSize = intOrStr("0%") },
			want: []wantErr{invalid("spec.strategy.batchSize").with("between 1% and 100%")}},
		{name: "batchSize 101%", action: update, mutate: func(r *releases.Release) { r.Spec.Strategy.BatchSize = intOrStr("101%") }, want: []wantErr{invalid("spec.strategy.batchSize")}},
		{name: "batchSize -5%", action: update, mutate: func(r *releases.Release) { r.Spec.Strategy.BatchSize = intOrStr("-5%") }, want: []wantErr{invalid("spec.strategy.batchSize")}},
		{name: "batchSize huge percentage", action: update, mutate: func(r *releases.Release) { r.Spec.Strategy.BatchSize = intOrStr("99999999999999999999%") },
			want: []wantErr{invalid("spec.strategy.batchSize")}},
		{name: "batchSize number as string", action: update, mutate: func(r *releases.Release) {
			v := intstr.FromString("50")
			r.Spec.Strategy.BatchSize = &v
		}, want: []wantErr{invalid("spec.strategy.batchSize")}},

		// strategy.mode
		{name: "missing mode", action: update, mutate: func(r *releases.Release) { r.Spec.Strategy.Mode = "" }, want: []wantErr{required("spec.strategy.mode")}},
		{name: "unknown mode", action: update, mutate: func(r *releases.Release) { r.Spec.Strategy.Mode = "Fast" }, want: []wantErr{notSupported("spec.strategy.mode")}},

		// strategy.batchIntervalSeconds
		{name: "negative batchIntervalSeconds", action: update, mutate: func(r *releases.Release) { r.Spec.Strategy.BatchIntervalSeconds = -1 },
			want: []wantErr{invalid("spec.strategy.batchIntervalSeconds")}},

		// strategy.progressDeadlineSeconds
		{name: "missing progressDeadlineSeconds", action: update, mutate: func(r *releases.Release) { r.Spec.Strategy.ProgressDeadlineSeconds = nil },
			want: []wantErr{required("spec.strategy.progressDeadlineSeconds")}},
		{name: "zero progressDeadlineSeconds", action: update, mutate: func(r *releases.Release) { r.Spec.Strategy.ProgressDeadlineSeconds = ptr(int32(0)) },
			want: []wantErr{invalid("spec.strategy.progressDeadlineSeconds")}},
		{name: "negative progressDeadlineSeconds", action: update, mutate: func(r *releases.Release) { r.Spec.Strategy.ProgressDeadlineSeconds = ptr(int32(-5)) },
			want: []wantErr{invalid("spec.strategy.progressDeadlineSeconds")}},

		// strategy.maxFailedPods
		{name: "negative maxFailedPods", action: update, mutate: func(r *releases.Release) { r.Spec.Strategy.MaxFailedPods = intOrStr("-1") },
			want: []wantErr{invalid("spec.strategy.maxFailedPods")}},
		{name: "maxFailedPods 101%", action: update, mutate: func(r *releases.Release) { r.Spec.Strategy.MaxFailedPods = intOrStr("101%") },
			want: []wantErr{invalid("spec.strategy.maxFailedPods")}},
		{name: "maxFailedPods not a number", action: update, mutate: func(r *releases.Release) { r.Spec.Strategy.MaxFailedPods = intOrStr("some") },
			want: []wantErr{invalid("spec.strategy.maxFailedPods")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := validRelease(tc.action)
			if tc.mutate != nil {
				tc.mutate(r)
			}
			assertErrors(t, ValidateRelease(r), tc.want...)
		})
	}
}

// ValidateReleaseSpec uses the path it is given, so a caller can validate a spec nested elsewhere.
func TestValidateReleaseSpecUsesGivenPath(t *testing.T) {
	r := validRelease(releases.ActionCreate)
	r.Spec.Strategy.Canary = 4
	assertErrors(t, ValidateReleaseSpec(&r.Spec, field.NewPath("x", "spec")), invalid("x.spec.strategy.canary"))
}

// --- ValidateReleaseUpdate ---

func TestValidateReleaseUpdate(t *testing.T) {
	tests := []struct {
		name   string
		action releases.ReleaseAction
		mutate func(r *releases.Release)
		want   []wantErr
	}{
		// Nothing changed, or only what may change.
		{name: "no change", action: releases.ActionCreate},
		{name: "equal values behind new pointers", action: releases.ActionCreate, mutate: func(r *releases.Release) {
			r.Spec.Replicas = ptr(int32(3))
			r.Spec.Template = podTemplate()
			r.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
			r.Spec.Strategy.BatchSize = intOrStr("100%")
		}},
		{name: "empty podsToDelete equals nil", action: releases.ActionScale, mutate: func(r *releases.Release) { r.Spec.PodsToDelete = []string{} }},
		{name: "mode is mutable", action: releases.ActionUpdate, mutate: func(r *releases.Release) { r.Spec.Strategy.Mode = releases.ModeAuto }},
		{name: "batchIntervalSeconds is mutable", action: releases.ActionUpdate, mutate: func(r *releases.Release) { r.Spec.Strategy.BatchIntervalSeconds = 30 }},
		{name: "progressDeadlineSeconds is mutable", action: releases.ActionUpdate, mutate: func(r *releases.Release) {
			r.Spec.Strategy.ProgressDeadlineSeconds = ptr(int32(1200))
		}},
		{name: "maxFailedPods is mutable", action: releases.ActionUpdate, mutate: func(r *releases.Release) { r.Spec.Strategy.MaxFailedPods = intOrStr("10%") }},
		{name: "onFailure is mutable", action: releases.ActionUpdate, mutate: func(r *releases.Release) { r.Spec.Strategy.OnFailure = releases.FailureCancel }},
		{name: "maxSurge", action: releases.ActionUpdate, mutate: func(r *releases.Release) { r.Spec.Strategy.MaxSurge = intOrStr("1") },
			want: []wantErr{invalid("spec.strategy.maxSurge").with("immutable")}},
		{name: "labels and annotations are mutable", action: releases.ActionUpdate, mutate: func(r *releases.Release) {
			r.Labels = map[string]string{"team": "web"}
			r.Annotations = map[string]string{"note": "slow down"}
		}},
		{name: "status is not checked here", action: releases.ActionUpdate, mutate: func(r *releases.Release) { r.Status.Phase = "Bogus" }},

		// Immutable spec fields.
		{name: "cloneSetName", action: releases.ActionUpdate, mutate: func(r *releases.Release) { r.Spec.CloneSetName = "api" },
			want: []wantErr{invalid("spec.cloneSetName").with("immutable")}},
		{name: "action", action: releases.ActionRestart, mutate: func(r *releases.Release) { r.Spec.Action = releases.ActionRollback },
			want: []wantErr{invalid("spec.action").with("immutable")}},
		{name: "template", action: releases.ActionUpdate, mutate: func(r *releases.Release) { r.Spec.Template.Spec.Containers[0].Image = "nginx:1.28" },
			want: []wantErr{invalid("spec.template").with("immutable")}},
		{name: "selector", action: releases.ActionCreate, mutate: func(r *releases.Release) {
			r.Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpExists}}}
		}, want: []wantErr{invalid("spec.selector").with("immutable")}},
		{name: "create replicas", action: releases.ActionCreate, mutate: func(r *releases.Release) { r.Spec.Replicas = ptr(int32(5)) },
			want: []wantErr{invalid("spec.replicas").with("immutable")}},
		{name: "scale replicas", action: releases.ActionScale, mutate: func(r *releases.Release) { r.Spec.Replicas = ptr(int32(6)) },
			want: []wantErr{invalid("spec.replicas").with("immutable")}},
		{name: "podsToDelete", action: releases.ActionScale, mutate: func(r *releases.Release) { r.Spec.PodsToDelete = []string{"web-abcde"} },
			want: []wantErr{invalid("spec.podsToDelete").with("immutable")}},
		{name: "toRevision", action: releases.ActionRollback, mutate: func(r *releases.Release) { r.Spec.ToRevision = "web-77c4d9f5b" },
			want: []wantErr{invalid("spec.toRevision").with("immutable")}},
		{name: "toRevision cleared", action: releases.ActionRollback, mutate: func(r *releases.Release) { r.Spec.ToRevision = "" },
			want: []wantErr{invalid("spec.toRevision").with("immutable")}},
		{name: "canary", action: releases.ActionCreate, mutate: func(r *releases.Release) { r.Spec.Strategy.Canary = 1 },
			want: []wantErr{invalid("spec.strategy.canary").with("immutable")}},
		{name: "batchSize", action: releases.ActionUpdate, mutate: func(r *releases.Release) { r.Spec.Strategy.BatchSize = intOrStr("50%") },
			want: []wantErr{invalid("spec.strategy.batchSize").with("immutable")}},
		{name: "batchSize int instead of percentage", action: releases.ActionUpdate, mutate: func(r *releases.Release) { r.Spec.Strategy.BatchSize = intOrStr("1") },
			want: []wantErr{invalid("spec.strategy.batchSize").with("immutable")}},
		{name: "noPullIn", action: releases.ActionUpdate, mutate: func(r *releases.Release) { r.Spec.Strategy.NoPullIn = true },
			want: []wantErr{invalid("spec.strategy.noPullIn").with("immutable")}},

		// The new object is validated as a whole.
		{name: "invalid new mode", action: releases.ActionUpdate, mutate: func(r *releases.Release) { r.Spec.Strategy.Mode = "Fast" },
			want: []wantErr{notSupported("spec.strategy.mode")}},
		{name: "invalid new deadline", action: releases.ActionUpdate, mutate: func(r *releases.Release) { r.Spec.Strategy.ProgressDeadlineSeconds = ptr(int32(0)) },
			want: []wantErr{invalid("spec.strategy.progressDeadlineSeconds")}},
		{name: "template removed", action: releases.ActionUpdate, mutate: func(r *releases.Release) { r.Spec.Template = nil },
			want: []wantErr{required("spec.template"), invalid("spec.template")}},

		// metadata
		{name: "missing resourceVersion", action: releases.ActionUpdate, mutate: func(r *releases.Release) { r.ResourceVersion = "" },
			want: []wantErr{invalid("metadata.resourceVersion")}},
		{name: "renamed", action: releases.ActionUpdate, mutate: func(r *releases.Release) { r.Name = "web-2" },
			want: []wantErr{invalid("metadata.name")}},
		{name: "invalid label reported once", action: releases.ActionUpdate, mutate: func(r *releases.Release) { r.Labels = map[string]string{"bad key": "x"} },
			want: []wantErr{invalid("metadata.labels")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			oldR := validRelease(tc.action)
			newR := oldR.DeepCopy()
			if tc.mutate != nil {
				tc.mutate(newR)
			}
			assertErrors(t, ValidateReleaseUpdate(newR, oldR), tc.want...)
		})
	}
}

// A release stored before images were checked for control characters keeps its (immutable) template and
// stays updatable: the check runs on create only.
func TestValidateReleaseUpdateOfStoredUnprintableImage(t *testing.T) {
	oldR := validRelease(releases.ActionUpdate)
	oldR.Spec.Template.Spec.Containers[0].Image = "nginx:1.27\x1b[2J"
	newR := oldR.DeepCopy()
	newR.Labels = map[string]string{"team": "web"}
	assertErrors(t, ValidateReleaseUpdate(newR, oldR))
}

// metadataOf returns labels or annotations whose keys and values add up to exactly n bytes (n >= 8):
// keys "kNNNNN", values of up to 63 characters.
func metadataOf(n int) map[string]string {
	m := map[string]string{}
	for i := 0; n > 0; i++ {
		k := fmt.Sprintf("k%05d", i)
		v := n - len(k)
		if v > 63 {
			v = 63
		}
		if rest := n - len(k) - v; rest > 0 && rest < len(k) {
			v -= len(k) // leave room for one more whole key
		}
		m[k] = strings.Repeat("v", v)
		n -= len(k) + v
	}
	return m
}

func TestMetadataOf(t *testing.T) {
	for _, n := range []int{8, 69, 70, 75, 76, 1000, MaxMetadataBytes, MaxMetadataBytes + 1} {
		total := 0
		for k, v := range metadataOf(n) {
			total += len(k) + len(v)
		}
		assert.Equal(t, n, total, "metadataOf(%d)", n)
	}
}

// Labels and annotations together are capped at MaxMetadataBytes (key and value bytes), on create.
func TestValidateReleaseMetadataSize(t *testing.T) {
	tests := []struct {
		name        string
		labels      int
		annotations int
		want        []wantErr
	}{
		{name: "annotations at the cap", annotations: MaxMetadataBytes},
		{name: "labels and annotations at the cap", labels: MaxMetadataBytes / 2, annotations: MaxMetadataBytes / 2},
		{name: "annotations one byte over", annotations: MaxMetadataBytes + 1,
			want: []wantErr{invalid("metadata.annotations").with(fmt.Sprint(MaxMetadataBytes))}},
		{name: "together one byte over", labels: MaxMetadataBytes / 2, annotations: MaxMetadataBytes/2 + 1,
			want: []wantErr{invalid("metadata.annotations")}},
		{name: "labels over", labels: MaxMetadataBytes + 100, annotations: 100,
			want: []wantErr{invalid("metadata.labels").with("labels and annotations together")}},
		{name: "far below Kubernetes' own annotation limit", annotations: 200 << 10,
			want: []wantErr{invalid("metadata.annotations")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := validRelease(releases.ActionUpdate)
			if tc.labels > 0 {
				r.Labels = metadataOf(tc.labels)
			}
			if tc.annotations > 0 {
				r.Annotations = metadataOf(tc.annotations)
			}
			assertErrors(t, ValidateRelease(r), tc.want...)
		})
	}
}

// The cap holds on every update, metadata-only ones included; a release stored over it (before the cap)
// may shrink, or change otherwise, but not grow while over it.
func TestValidateReleaseUpdateMetadataSize(t *testing.T) {
	tests := []struct {
		name     string
		old, new int // bytes of annotations
		newLabel bool
		mode     bool // also change the spec's mode
		want     []wantErr
	}{
		{name: "within the cap", old: 100, new: MaxMetadataBytes},
		{name: "grows over the cap", old: 100, new: MaxMetadataBytes + 1, want: []wantErr{invalid("metadata.annotations")}},
		{name: "grows at the cap", old: MaxMetadataBytes, new: MaxMetadataBytes + 1, want: []wantErr{invalid("metadata.annotations")}},
		{name: "over the cap grows further", old: 100 << 10, new: 100<<10 + 1, want: []wantErr{invalid("metadata.annotations")}},
		{name: "over the cap, a label added", old: 100 << 10, new: 100 << 10, newLabel: true, want: []wantErr{invalid("metadata.annotations")}},
		{name: "over the cap shrinks but stays over", old: 100 << 10, new: 80 << 10},
		{name: "over the cap shrinks under it", old: 100 << 10, new: 1 << 10},
		{name: "over the cap, unchanged, spec mode changed", old: 100 << 10, new: 100 << 10, mode: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			oldR := validRelease(releases.ActionUpdate)
			oldR.Annotations = metadataOf(tc.old)
			newR := oldR.DeepCopy()
			newR.Annotations = metadataOf(tc.new)
			if tc.newLabel {
				newR.Labels = map[string]string{"team": "web"}
			}
			if tc.mode {
				newR.Spec.Strategy.Mode = releases.ModeAuto
			}
			assertErrors(t, ValidateReleaseUpdate(newR, oldR), tc.want...)
		})
	}
}

// --- status ---

func validStatus() releases.ReleaseStatus {
	now := metav1.Now()
	s := releases.ReleaseStatus{
		Phase:              releases.ReleaseProgressing,
		ObservedGeneration: 1,
		CurrentBatch:       2,
		Batches: []releases.ReleaseBatch{
			{Index: 1, Canary: true, Replicas: 1, Target: 1, Phase: releases.BatchBaked, StartedAt: &now, SmokedAt: &now, BakedAt: &now},
			{Index: 2, Replicas: 2, Target: 3, Phase: releases.BatchSmoking, StartedAt: &now},
			{Index: 3, Replicas: 2, Target: 5, Phase: releases.BatchPending},
		},
		Conditions: []metav1.Condition{
			{Type: releases.ConditionAwaitingNext, Status: metav1.ConditionFalse, Reason: "BatchSmoking", LastTransitionTime: now},
			{Type: releases.ConditionPaused, Status: metav1.ConditionFalse, Reason: "Running", LastTransitionTime: now},
		},
	}
	for i := 0; i < MaxHistoryEntries; i++ {
		s.History = append(s.History, releases.ReleaseHistoryEntry{Action: "next", User: "ci", Time: now})
	}
	return s
}

func TestValidateReleaseStatus(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(s *releases.ReleaseStatus)
		want   []wantErr
	}{
		{name: "valid"},
		{name: "empty status", mutate: func(s *releases.ReleaseStatus) { *s = releases.ReleaseStatus{} }},
		{name: "every batch phase", mutate: func(s *releases.ReleaseStatus) {
			for i, p := range supportedBatchPhases {
				s.Batches = append(s.Batches, releases.ReleaseBatch{Index: int32(4 + i), Replicas: 0, Target: 5, Phase: p})
			}
		}},
		{name: "currentBatch on the last batch", mutate: func(s *releases.ReleaseStatus) { s.CurrentBatch = 3 }},
		{name: "equal targets for an empty batch", mutate: func(s *releases.ReleaseStatus) { s.Batches[2].Replicas, s.Batches[2].Target = 0, 3 }},

		{name: "unknown phase", mutate: func(s *releases.ReleaseStatus) { s.Phase = "Running" }, want: []wantErr{notSupported("status.phase")}},
		{name: "batch phase as release phase", mutate: func(s *releases.ReleaseStatus) { s.Phase = "Baked" }, want: []wantErr{notSupported("status.phase")}},
		{name: "negative observedGeneration", mutate: func(s *releases.ReleaseStatus) { s.ObservedGeneration = -1 }, want: []wantErr{invalid("status.observedGeneration")}},
		{name: "negative currentBatch", mutate: func(s *releases.ReleaseStatus) { s.CurrentBatch = -1 }, want: []wantErr{invalid("status.currentBatch")}},
		{name: "currentBatch past the plan", mutate: func(s *releases.ReleaseStatus) { s.CurrentBatch = 4 },
			want: []wantErr{invalid("status.currentBatch").with("between 0 and 3")}},
		{name: "currentBatch without a plan", mutate: func(s *releases.ReleaseStatus) { s.Batches = nil; s.CurrentBatch = 1 },
			want: []wantErr{invalid("status.currentBatch")}},
		{name: "batch index out of order", mutate: func(s *releases.ReleaseStatus) { s.Batches[1].Index = 3 }, want: []wantErr{invalid("status.batches[1].index")}},
		{name: "batch index from 0", mutate: func(s *releases.ReleaseStatus) {
			for i := range s.Batches {
				s.Batches[i].Index--
			}
		}, want: []wantErr{invalid("status.batches[0].index"), invalid("status.batches[1].index"), invalid("status.batches[2].index")}},
		{name: "negative batch replicas", mutate: func(s *releases.ReleaseStatus) { s.Batches[0].Replicas = -1 }, want: []wantErr{invalid("status.batches[0].replicas")}},
		{name: "negative target", mutate: func(s *releases.ReleaseStatus) { s.Batches[0].Target = -1 }, want: []wantErr{invalid("status.batches[0].target")}},
		{name: "decreasing target", mutate: func(s *releases.ReleaseStatus) { s.Batches[2].Target = 2 },
			want: []wantErr{invalid("status.batches[2].target").with("(3)")}},
		{name: "unknown batch phase", mutate: func(s *releases.ReleaseStatus) { s.Batches[0].Phase = "Cooking" }, want: []wantErr{notSupported("status.batches[0].phase")}},
		{name: "release phase as batch phase", mutate: func(s *releases.ReleaseStatus) { s.Batches[0].Phase = "Progressing" },
			want: []wantErr{notSupported("status.batches[0].phase")}},
		{name: "condition without type", mutate: func(s *releases.ReleaseStatus) { s.Conditions[0].Type = "" }, want: []wantErr{required("status.conditions[0].type")}},
		{name: "condition without reason", mutate: func(s *releases.ReleaseStatus) { s.Conditions[1].Reason = "" }, want: []wantErr{required("status.conditions[1].reason")}},
		{name: "duplicate condition", mutate: func(s *releases.ReleaseStatus) { s.Conditions[1].Type = s.Conditions[0].Type },
			want: []wantErr{duplicate("status.conditions[1]")}},
		{name: "too much history", mutate: func(s *releases.ReleaseStatus) { s.History = append(s.History, s.History[0]) },
			want: []wantErr{tooMany("status.history")}},
	}
	for _, p := range supportedReleasePhases {
		tests = append(tests, struct {
			name   string
			mutate func(s *releases.ReleaseStatus)
			want   []wantErr
		}{name: "phase " + string(p), mutate: func(s *releases.ReleaseStatus) { s.Phase = p }})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := validStatus()
			if tc.mutate != nil {
				tc.mutate(&s)
			}
			assertErrors(t, ValidateReleaseStatus(&s, field.NewPath("status")), tc.want...)
		})
	}
}

func TestValidateReleaseStatusUpdate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(r *releases.Release)
		want   []wantErr
	}{
		{name: "valid status"},
		{name: "spec is not checked here", mutate: func(r *releases.Release) { r.Spec.CloneSetName = "" }},
		{name: "invalid status", mutate: func(r *releases.Release) { r.Status.CurrentBatch = 9 }, want: []wantErr{invalid("status.currentBatch")}},
		{name: "missing resourceVersion", mutate: func(r *releases.Release) { r.ResourceVersion = "" }, want: []wantErr{invalid("metadata.resourceVersion")}},
		{name: "renamed", mutate: func(r *releases.Release) { r.Name = "web-2" }, want: []wantErr{invalid("metadata.name")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			oldR := validRelease(releases.ActionUpdate)
			newR := oldR.DeepCopy()
			newR.Status = validStatus()
			if tc.mutate != nil {
				tc.mutate(newR)
			}
			assertErrors(t, ValidateReleaseStatusUpdate(newR, oldR), tc.want...)
		})
	}
}

// --- ReleaseRequest ---

func TestValidateReleaseRequest(t *testing.T) {
	tests := []struct {
		name string
		req  releases.ReleaseRequest
		want []wantErr
	}{
		{name: "empty"},
		{name: "expectedBatch 1", req: releases.ReleaseRequest{ExpectedBatch: ptr(int32(1))}},
		{name: "full", req: releases.ReleaseRequest{ExpectedBatch: ptr(int32(3)), ExpectedPhase: releases.BatchBaked, Reason: "canary looks good"}},
		{name: "reason of 1024 characters", req: releases.ReleaseRequest{Reason: strings.Repeat("a", MaxReasonLength)}},
		{name: "reason of 1024 multi-byte characters", req: releases.ReleaseRequest{Reason: strings.Repeat("é", MaxReasonLength)}},

		{name: "expectedBatch 0", req: releases.ReleaseRequest{ExpectedBatch: ptr(int32(0))}, want: []wantErr{invalid("expectedBatch")}},
		{name: "negative expectedBatch", req: releases.ReleaseRequest{ExpectedBatch: ptr(int32(-1))}, want: []wantErr{invalid("expectedBatch")}},
		{name: "unknown expectedPhase", req: releases.ReleaseRequest{ExpectedPhase: "Running"}, want: []wantErr{notSupported("expectedPhase")}},
		{name: "release phase as expectedPhase", req: releases.ReleaseRequest{ExpectedPhase: "Progressing"}, want: []wantErr{notSupported("expectedPhase")}},
		{name: "lower-case expectedPhase", req: releases.ReleaseRequest{ExpectedPhase: "smoked"}, want: []wantErr{notSupported("expectedPhase")}},
		{name: "toBatch 3", req: releases.ReleaseRequest{ToBatch: ptr(int32(3))}},
		{name: "toBatch 0", req: releases.ReleaseRequest{ToBatch: ptr(int32(0))}, want: []wantErr{invalid("toBatch")}},
		{name: "reason too long", req: releases.ReleaseRequest{Reason: strings.Repeat("a", MaxReasonLength+1)}, want: []wantErr{tooLong("reason")}},
		{name: "everything wrong", req: releases.ReleaseRequest{ExpectedBatch: ptr(int32(0)), ExpectedPhase: "x", Reason: strings.Repeat("a", 2000)},
			want: []wantErr{invalid("expectedBatch"), notSupported("expectedPhase"), tooLong("reason")}},

		// A reason is printed by `kubectl release history`: nothing a terminal would act on.
		{name: "reason with a tab", req: releases.ReleaseRequest{Reason: "canary\tok"}},
		{name: "reason in other scripts", req: releases.ReleaseRequest{Reason: "déploiement vérifié, 金丝雀正常, канарейка ✓ 🚀"}},
		{name: "reason with a right-to-left script", req: releases.ReleaseRequest{Reason: "שלום עולם"}},
		{name: "reason with ESC", req: releases.ReleaseRequest{Reason: "ok\x1b[2J"}, want: []wantErr{invalid("reason").with("control characters")}},
		{name: "reason with an OSC title", req: releases.ReleaseRequest{Reason: "ok\x1b]0;pwned\x07"}, want: []wantErr{invalid("reason").with("terminal")}},
		{name: "reason with CR", req: releases.ReleaseRequest{Reason: "approved\rrejected"}, want: []wantErr{invalid("reason").with("U+000D")}},
		{name: "reason with a newline", req: releases.ReleaseRequest{Reason: "line\nforged line"}, want: []wantErr{invalid("reason")}},
		{name: "reason with BEL", req: releases.ReleaseRequest{Reason: "ding\a"}, want: []wantErr{invalid("reason")}},
		{name: "reason with a backspace", req: releases.ReleaseRequest{Reason: "yes\b\b\bno"}, want: []wantErr{invalid("reason")}},
		{name: "reason with NUL", req: releases.ReleaseRequest{Reason: "a\x00b"}, want: []wantErr{invalid("reason")}},
		{name: "reason with DEL", req: releases.ReleaseRequest{Reason: "a\x7fb"}, want: []wantErr{invalid("reason").with("U+007F")}},
		{name: "reason with C1 CSI", req: releases.ReleaseRequest{Reason: "a\u009b2Jb"}, want: []wantErr{invalid("reason").with("U+009B")}},
		{name: "reason with C1 NEL", req: releases.ReleaseRequest{Reason: "a\u0085b"}, want: []wantErr{invalid("reason")}},
		{name: "reason with a raw 0x9b byte", req: releases.ReleaseRequest{Reason: "a\x9b2Jb"}, want: []wantErr{invalid("reason").with("UTF-8")}},
		{name: "reason with RLO", req: releases.ReleaseRequest{Reason: "rollback \u202eetadpu"}, want: []wantErr{invalid("reason").with("bidirectional")}},
		{name: "reason with LRE", req: releases.ReleaseRequest{Reason: "a\u202ab"}, want: []wantErr{invalid("reason").with("U+202A")}},
		{name: "reason with PDF", req: releases.ReleaseRequest{Reason: "a\u202cb"}, want: []wantErr{invalid("reason")}},
		{name: "reason with LRI", req: releases.ReleaseRequest{Reason: "a\u2066b"}, want: []wantErr{invalid("reason").with("U+2066")}},
		{name: "reason with PDI", req: releases.ReleaseRequest{Reason: "a\u2069b"}, want: []wantErr{invalid("reason").with("U+2069")}},
		{name: "reason too long and with ESC", req: releases.ReleaseRequest{Reason: strings.Repeat("a", MaxReasonLength) + "\x1b"},
			want: []wantErr{tooLong("reason"), invalid("reason")}},
	}
	for _, p := range supportedBatchPhases {
		tests = append(tests, struct {
			name string
			req  releases.ReleaseRequest
			want []wantErr
		}{name: "expectedPhase " + string(p), req: releases.ReleaseRequest{ExpectedPhase: p}})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assertErrors(t, ValidateReleaseRequest(&tc.req), tc.want...)
		})
	}
}
