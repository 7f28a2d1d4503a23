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
)

// The test bed itself: the real kruise-manager runs CloneSets on kwok pods, and a pod that carries
// Triton's readiness gate gets no traffic (is not Ready) until the gate is set.
func TestCloneSetPodsAndReadinessGate(t *testing.T) {
	t.Parallel()
	admin := connect(t, "admin")
	ns := namespace(t, admin)
	ctx := testContext(t, 2*time.Minute)

	replicas := int32(2)
	cs := newCloneSet("web", replicas, withContainer("web", "nginx:1.27"), withReadinessGate(v1alpha1.ReadinessGate))
	_, err := admin.kruise.AppsV1alpha1().CloneSets(ns).Create(ctx, cs, metav1.CreateOptions{})
	require.NoError(t, err)

	// kruise-manager creates the pods, the scheduler binds them to the kwok node, kwok runs them.
	pods := waitUntil(t, ctx, "CloneSet pods Running and ContainersReady", func(ctx context.Context) ([]corev1.Pod, bool, string) {
		list, err := admin.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			return nil, false, err.Error()
		}
		running := 0
		for _, p := range list.Items {
			if p.Status.Phase == corev1.PodRunning && condition(&p, corev1.ContainersReady) == corev1.ConditionTrue {
				running++
			}
		}
		return list.Items, running == int(replicas), describe(list.Items)
	})

	for _, p := range pods {
		assert.NotEmpty(t, p.Spec.NodeName, "scheduled")
		assert.NotEmpty(t, p.Status.PodIP)
		assert.Equal(t, corev1.ConditionFalse, condition(&p, corev1.PodReady), "%s is Ready before its gate is set", p.Name)
	}
	// kruise's status follows the pods a moment later.
	got := waitCloneSet(t, ctx, admin, ns, "web", func(s kruiseappsv1alpha1.CloneSetStatus) bool { return s.Replicas == replicas })
	assert.Zero(t, got.ReadyReplicas, "no pod is in traffic yet")

	// Pull one pod in: it becomes Ready; the other does not.
	in := pods[0].Name
	setGate(t, ctx, admin, ns, in, corev1.ConditionTrue)
	waitCondition(t, ctx, admin, ns, in, corev1.PodReady, corev1.ConditionTrue)
	p, err := admin.kube.CoreV1().Pods(ns).Get(ctx, pods[1].Name, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, corev1.ConditionFalse, condition(p, corev1.PodReady))

	// Pull it out again: it stops being Ready.
	setGate(t, ctx, admin, ns, in, corev1.ConditionFalse)
	waitCondition(t, ctx, admin, ns, in, corev1.PodReady, corev1.ConditionFalse)
}

// A partition holds pods at the old revision: with partition = replicas a template change updates none,
// and partition = replicas-1 recreates exactly one pod at the new revision (what a release batch does).
func TestCloneSetPartition(t *testing.T) {
	t.Parallel()
	admin := connect(t, "admin")
	ns := namespace(t, admin)
	ctx := testContext(t, 2*time.Minute)

	replicas := int32(3)
	makeCloneSet(t, ctx, admin, ns, "api", replicas, withContainer("api", "api:1"))

	patch := func(body string) {
		_, err := admin.kruise.AppsV1alpha1().CloneSets(ns).Patch(ctx, "api", types.MergePatchType, []byte(body), metav1.PatchOptions{})
		require.NoError(t, err)
	}
	patch(`{"spec":{"updateStrategy":{"partition":3},"template":{"spec":{"containers":[{"name":"api","image":"api:2"}]}}}}`)
	st := waitCloneSet(t, ctx, admin, ns, "api", func(s kruiseappsv1alpha1.CloneSetStatus) bool {
		return s.ObservedGeneration == 2 && s.UpdateRevision != s.CurrentRevision
	})
	assert.Zero(t, st.UpdatedReplicas, "partition = replicas updates no pod")

	patch(`{"spec":{"updateStrategy":{"partition":2}}}`)
	st = waitCloneSet(t, ctx, admin, ns, "api", func(s kruiseappsv1alpha1.CloneSetStatus) bool {
		return s.UpdatedReplicas == 1 && s.UpdatedReadyReplicas == 1 && s.ReadyReplicas == replicas
	})
	assert.Equal(t, int32(1), st.UpdatedReplicas)
}

func condition(p *corev1.Pod, t corev1.PodConditionType) corev1.ConditionStatus {
	for _, c := range p.Status.Conditions {
		if c.Type == t {
			return c.Status
		}
	}
	return corev1.ConditionUnknown
}

func describe(pods []corev1.Pod) string {
	s := ""
	for _, p := range pods {
		s += fmt.Sprintf("%s(node=%q phase=%s conditions=%v) ", p.Name, p.Spec.NodeName, p.Status.Phase, p.Status.Conditions)
	}
	return s
}

func setGate(t *testing.T, ctx context.Context, c *cluster, ns, pod string, status corev1.ConditionStatus) {
	t.Helper()
	body := fmt.Sprintf(`{"status":{"conditions":[{"type":%q,"status":%q,"lastTransitionTime":%q}]}}`,
		v1alpha1.ReadinessGate, status, time.Now().UTC().Format(time.RFC3339))
	_, err := c.kube.CoreV1().Pods(ns).Patch(ctx, pod, types.StrategicMergePatchType, []byte(body), metav1.PatchOptions{}, "status")
	require.NoError(t, err)
}

func waitCondition(t *testing.T, ctx context.Context, c *cluster, ns, pod string, ct corev1.PodConditionType, want corev1.ConditionStatus) {
	t.Helper()
	waitUntil(t, ctx, fmt.Sprintf("pod %s condition %s %s", pod, ct, want), func(ctx context.Context) (struct{}, bool, string) {
		p, err := c.kube.CoreV1().Pods(ns).Get(ctx, pod, metav1.GetOptions{})
		if err != nil {
			return struct{}{}, false, err.Error()
		}
		return struct{}{}, condition(p, ct) == want, fmt.Sprintf("%v", p)
	}, every(100*time.Millisecond), within(30*time.Second))
}

func waitCloneSet(t *testing.T, ctx context.Context, c *cluster, ns, name string, ok func(kruiseappsv1alpha1.CloneSetStatus) bool) kruiseappsv1alpha1.CloneSetStatus {
	t.Helper()
	return waitUntil(t, ctx, "the status of CloneSet "+ns+"/"+name, func(ctx context.Context) (kruiseappsv1alpha1.CloneSetStatus, bool, string) {
		cs, err := c.kruise.AppsV1alpha1().CloneSets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return kruiseappsv1alpha1.CloneSetStatus{}, false, err.Error()
		}
		return cs.Status, ok(cs.Status), fmt.Sprintf("%+v", cs.Status)
	}, within(time.Minute))
}
