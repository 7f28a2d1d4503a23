//go:build e2e

package framework

import (
	"testing"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/release/moves"
)

// AssertPulledIn checks that a release let pod into traffic. A pod with triton's readiness gate is in
// traffic once the gate is True. A pod made before kube-apiserver's admission policy saw the CloneSet's
// pull-in label (the policy's parameter informer lags, most under load) has no gate: the release holds it
// out through KruisePodReady instead and brings it in by taking its not-ready key away.
func AssertPulledIn(t *testing.T, p *corev1.Pod, what string) bool {
	t.Helper()
	if HasReadinessGate(p.Spec, v1alpha1.ReadinessGate) {
		return assert.Equal(t, corev1.ConditionTrue, PodCondition(p, v1alpha1.ReadinessGate), "%s: %s pulled in", what, p.Name)
	}
	t.Logf("%s: %s was made without the readiness gate: in traffic through KruisePodReady", what, p.Name)
	return assert.False(t, moves.HasNotReadyKey(p), "%s: %s pulled in (no triton not-ready key)", what, p.Name)
}
