//go:build e2e

package e2e

// Invariant 10 (issue 14): once a release has ended, the CloneSet needs no triton-apiserver: its new pods
// become Ready without it.

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/test/e2e/framework"
)

func TestAnEndedReleaseLeavesACloneSetThatNeedsNoTriton(t *testing.T) {
	// While the release runs, its new pods carry the gate and wait to be pulled in.
	s := framework.Setup(t, framework.Timeout(4*time.Minute), framework.CloneSet("nginx", 2),
		framework.Release(framework.UpdateTo("nginx:1.28", 1, intstr.FromInt32(1), v1alpha1.ModeManual)), framework.Phase(v1alpha1.BatchSmoked))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	r := s.Release
	canary := framework.PodsAt(t, ctx, admin, ns, "nginx:1.28")
	require.Len(t, canary, 1)
	assert.True(t, framework.HasReadinessGate(canary[0].Spec, v1alpha1.ReadinessGate), "a pod made while the release holds the CloneSet is gated")
	assert.NotEqual(t, corev1.ConditionTrue, framework.PodCondition(&canary[0], corev1.PodReady), "and not Ready before it is pulled in")
	nextUntilSucceeded(t, ctx, admin, ns, r.Name)
	cs := framework.WaitReleased(t, ctx, admin, ns)
	assert.False(t, framework.HasReadinessGate(cs.Spec.Template.Spec, v1alpha1.ReadinessGate), "no gate in the template")
	_, labeled := cs.Labels[v1alpha1.PullInLabel]
	assert.False(t, labeled, "no pull-in label")
	waitServing(t, ctx, admin, ns, 2, 2, "nginx:1.28")

	// triton-apiserver goes away (an outage, or an uninstall): a scale-out still gives Ready pods.
	stopTriton(t, ctx)
	defer startTriton(t, ctx, admin)
	scaleCloneSet(t, ctx, admin, ns, 5)
	pods := framework.WaitPods(t, ctx, admin, ns, "5 pods Ready without triton-apiserver", func(pods []corev1.Pod) bool { return framework.AllReady(pods, 5) })
	for i := range pods {
		assert.Equal(t, "nginx:1.28", pods[i].Spec.Containers[0].Image)
	}
	// And a pod that dies is replaced by one that is Ready on its own.
	require.NoError(t, admin.Kube.CoreV1().Pods(ns).Delete(ctx, pods[0].Name, metav1.DeleteOptions{}))
	framework.WaitPods(t, ctx, admin, ns, "a replacement Ready without triton-apiserver", func(now []corev1.Pod) bool {
		return framework.AllReady(now, 5) && !slices.Contains(framework.PodNames(now), pods[0].Name)
	})
}
