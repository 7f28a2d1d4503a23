//go:build e2e

package e2e

// Invariant 10 (issue 14): once a release has ended, the CloneSet needs no triton-apiserver: its new pods
// become Ready without it.

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

func TestAnEndedReleaseLeavesACloneSetThatNeedsNoTriton(t *testing.T) {
	admin := connect(t, "admin")
	ns := namespace(t, admin)
	ctx := testContext(t, 4*time.Minute)

	// While the release runs, its new pods carry the gate and wait to be pulled in.
	r := startedRelease(t, ctx, admin, ns, 2, updateTo("nginx:1.28", 1, intstr.FromInt32(1), v1alpha1.ModeManual), v1alpha1.BatchSmoked)
	canary := podsAt(t, ctx, admin, ns, "nginx:1.28")
	require.Len(t, canary, 1)
	assert.True(t, hasReadinessGate(canary[0].Spec, v1alpha1.ReadinessGate), "a pod made while the release holds the CloneSet is gated")
	assert.NotEqual(t, corev1.ConditionTrue, condition(&canary[0], corev1.PodReady), "and not Ready before it is pulled in")
	nextUntilSucceeded(t, ctx, admin, ns, r.Name)
	cs := waitReleased(t, ctx, admin, ns)
	assert.False(t, hasReadinessGate(cs.Spec.Template.Spec, v1alpha1.ReadinessGate), "no gate in the template")
	_, labeled := cs.Labels[v1alpha1.PullInLabel]
	assert.False(t, labeled, "no pull-in label")
	waitServing(t, ctx, admin, ns, 2, 2, "nginx:1.28")

	// triton-apiserver goes away (an outage, or an uninstall): a scale-out still gives Ready pods.
	stopTriton(t, ctx)
	defer startTriton(t, ctx, admin)
	scaleCloneSet(t, ctx, admin, ns, 5)
	pods := waitPods(t, ctx, admin, ns, "5 pods Ready without triton-apiserver", func(pods []corev1.Pod) bool { return allReady(pods, 5) })
	for i := range pods {
		assert.Equal(t, "nginx:1.28", pods[i].Spec.Containers[0].Image)
	}
	// And a pod that dies is replaced by one that is Ready on its own.
	require.NoError(t, admin.kube.CoreV1().Pods(ns).Delete(ctx, pods[0].Name, metav1.DeleteOptions{}))
	waitPods(t, ctx, admin, ns, "a replacement Ready without triton-apiserver", func(now []corev1.Pod) bool {
		return allReady(now, 5) && !contains(podNames(now), pods[0].Name)
	})
}
