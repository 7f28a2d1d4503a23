package controller

import (
	"testing"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

// A pod event is the controller's own (and wakes nothing) only at the version its write was answered
// with, and only when nothing else a release reads changed with it.
func TestOwnPodWritesAreOnlyTheControllersChange(t *testing.T) {
	cached := webPod("web-x", true, false)
	cached.ResourceVersion = "20"
	gated := func(rv string, edit ...func(*corev1.Pod)) *corev1.Pod {
		p := cached.DeepCopy()
		p.ResourceVersion = rv
		for i := range p.Status.Conditions {
			if p.Status.Conditions[i].Type == v1alpha1.ReadinessGate {
				p.Status.Conditions[i].Status, p.Status.Conditions[i].Reason = corev1.ConditionTrue, "Triton"
			}
		}
		p.Labels[v1alpha1.BatchLabel] = "1"
		for _, e := range edit {
			e(p)
		}
		return p
	}
	for name, c := range map[string]struct {
		written string // the version the controller's write was answered with ("" none)
		event   *corev1.Pod
		own     bool
	}{
		"its gate and batch label":            {written: "21", event: gated("21"), own: true},
		"a write of someone else's":           {written: "", event: gated("21")},
		"another version than its write's":    {written: "21", event: gated("22")},
		"folded with Ready (a relist)":        {written: "21", event: gated("21", func(p *corev1.Pod) { p.Status.Phase = corev1.PodFailed })},
		"folded with a label of someone else": {written: "21", event: gated("21", func(p *corev1.Pod) { p.Labels["tier"] = "x" })},
		"its hold label":                      {written: "21", event: gated("21", func(p *corev1.Pod) { p.Labels[v1alpha1.HoldLabel] = "true" }), own: true},
		"its gate taken off":                  {written: "21", event: gated("21", func(p *corev1.Pod) { p.Status.Conditions = p.Status.Conditions[:1] }), own: true},
	} {
		var o ownPodWrites
		if c.written != "" {
			w := c.event.DeepCopy()
			w.ResourceVersion = c.written
			o.wrote(w)
		}
		assert.Equal(t, c.own, o.own(cached, c.event), name)
		assert.False(t, o.own(cached, c.event), "%s: each write counts once", name)
		if c.written == c.event.ResourceVersion {
			assert.Empty(t, o.written, "%s: nothing is kept once its event came", name)
		}
	}
}

// Pods whose events never come are bounded.
func TestOwnPodWritesAreBounded(t *testing.T) {
	var o ownPodWrites
	for i := 0; i < 3*maxPendingPods; i++ {
		p := webPod("web-x", true, false)
		p.Name = p.Name + string(rune('a'+i%26)) + string(rune('a'+(i/26)%26)) + string(rune('a'+(i/676)%26))
		p.ResourceVersion = "1"
		o.wrote(p)
	}
	assert.LessOrEqual(t, len(o.written), maxPendingPods)
}
