//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/test/e2e/framework"
)

// The test bed itself: the real kruise-manager runs CloneSets on kwok pods, and a pod that carries
// Triton's readiness gate gets no traffic (is not Ready) until the gate is set.
func TestCloneSetPodsAndReadinessGate(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(2*time.Minute))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx

	replicas := int32(2)
	cs := framework.NewCloneSet("web", replicas, framework.WithContainer("web", "nginx:1.27"), framework.WithReadinessGate(v1alpha1.ReadinessGate))
	_, err := admin.Kruise.AppsV1alpha1().CloneSets(ns).Create(ctx, cs, metav1.CreateOptions{})
	require.NoError(t, err)

	// kruise-manager creates the pods, the scheduler binds them to the kwok node, kwok runs them.
	pods := framework.WaitUntil(t, ctx, "CloneSet pods Running and ContainersReady", func(ctx context.Context) ([]corev1.Pod, bool, string) {
		list, err := admin.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			return nil, false, err.Error()
		}
		running := 0
		for _, p := range list.Items {
			if p.Status.Phase == corev1.PodRunning && framework.PodCondition(&p, corev1.ContainersReady) == corev1.ConditionTrue {
				running++
			}
		}
		return list.Items, running == int(replicas), describe(list.Items)
	})

	for _, p := range pods {
		assert.NotEmpty(t, p.Spec.NodeName, "scheduled")
		assert.NotEmpty(t, p.Status.PodIP)
		assert.Equal(t, corev1.ConditionFalse, framework.PodCondition(&p, corev1.PodReady), "%s is Ready before its gate is set", p.Name)
	}
	// kruise's status follows the pods a moment later.
	got := framework.WaitCloneSet(t, ctx, admin, ns, "web", func(s kruiseappsv1alpha1.CloneSetStatus) bool { return s.Replicas == replicas })
	assert.Zero(t, got.ReadyReplicas, "no pod is in traffic yet")

	// Pull one pod in: it becomes Ready; the other does not.
	in := pods[0].Name
	framework.SetPodCondition(t, ctx, admin, ns, in, v1alpha1.ReadinessGate, corev1.ConditionTrue)
	framework.WaitPodCondition(t, ctx, admin, ns, in, corev1.PodReady, corev1.ConditionTrue)
	p, err := admin.Kube.CoreV1().Pods(ns).Get(ctx, pods[1].Name, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, corev1.ConditionFalse, framework.PodCondition(p, corev1.PodReady))

	// Pull it out again: it stops being Ready.
	framework.SetPodCondition(t, ctx, admin, ns, in, v1alpha1.ReadinessGate, corev1.ConditionFalse)
	framework.WaitPodCondition(t, ctx, admin, ns, in, corev1.PodReady, corev1.ConditionFalse)
}

// A partition holds pods at the old revision: with partition = replicas a template change updates none,
// and partition = replicas-1 recreates exactly one pod at the new revision (what a release batch does).
func TestCloneSetPartition(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(2*time.Minute))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx

	replicas := int32(3)
	framework.MakeCloneSet(t, ctx, admin, ns, "api", replicas, framework.WithContainer("api", "api:1"))

	patch := func(body string) {
		_, err := admin.Kruise.AppsV1alpha1().CloneSets(ns).Patch(ctx, "api", types.MergePatchType, []byte(body), metav1.PatchOptions{})
		require.NoError(t, err)
	}
	patch(`{"spec":{"updateStrategy":{"partition":3},"template":{"spec":{"containers":[{"name":"api","image":"api:2"}]}}}}`)
	st := framework.WaitCloneSet(t, ctx, admin, ns, "api", func(s kruiseappsv1alpha1.CloneSetStatus) bool {
		return s.ObservedGeneration == 2 && s.UpdateRevision != s.CurrentRevision
	})
	assert.Zero(t, st.UpdatedReplicas, "partition = replicas updates no pod")

	patch(`{"spec":{"updateStrategy":{"partition":2}}}`)
	st = framework.WaitCloneSet(t, ctx, admin, ns, "api", func(s kruiseappsv1alpha1.CloneSetStatus) bool {
		return s.UpdatedReplicas == 1 && s.UpdatedReadyReplicas == 1 && s.ReadyReplicas == replicas
	})
	assert.Equal(t, int32(1), st.UpdatedReplicas)
}

// describe is the pods' node, phase and conditions, for a message.
func describe(pods []corev1.Pod) string {
	s := ""
	for _, p := range pods {
		s += fmt.Sprintf("%s(node=%q phase=%s conditions=%v) ", p.Name, p.Spec.NodeName, p.Status.Phase, p.Status.Conditions)
	}
	return s
}
