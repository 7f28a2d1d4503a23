//go:build e2e

package e2e

// The backstop for pods made without the pull-in gate (kube-apiserver could not run the gate policy: right
// after it restarts, until it resolves the policy's paramKind). The test takes the policy's binding away,
// as that window does, and checks that the release's canary, made without the gate, stays out of the
// Service until `next` all the same.

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/release/moves"
	"github.com/triton-io/triton/test/e2e/framework"
)

// withoutPullInGate removes the gate policy's binding until the test ends, and waits until kube-apiserver
// makes pods of a labelled CloneSet without the gate.
func withoutPullInGate(t *testing.T, ctx context.Context, admin *framework.Cluster, ns string) {
	t.Helper()
	bindings := admin.Kube.AdmissionregistrationV1().MutatingAdmissionPolicyBindings()
	saved, err := bindings.Get(ctx, "triton-pull-in-gate", metav1.GetOptions{})
	require.NoError(t, err)
	require.NoError(t, bindings.Delete(ctx, saved.Name, metav1.DeleteOptions{}))
	t.Cleanup(func() {
		restore := &admissionregistrationv1.MutatingAdmissionPolicyBinding{
			ObjectMeta: metav1.ObjectMeta{Name: saved.Name, Labels: saved.Labels, Annotations: saved.Annotations},
			Spec:       saved.Spec,
		}
		_, err := bindings.Create(context.Background(), restore, metav1.CreateOptions{})
		require.NoError(t, err)
		waitPullInGate(t, admin, ns)
	})
	cs := probeCloneSet("gate-off-probe")
	_, err = admin.Kruise.AppsV1alpha1().CloneSets(ns).Create(ctx, cs, metav1.CreateOptions{})
	require.NoError(t, err)
	defer func() {
		_ = admin.Kruise.AppsV1alpha1().CloneSets(ns).Delete(context.Background(), cs.Name, metav1.DeleteOptions{})
	}()
	framework.WaitUntil(t, ctx, "kube-apiserver to make a pod without the gate once the binding is gone", func(ctx context.Context) (struct{}, bool, string) {
		pods, err := admin.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + cs.Name})
		if err != nil {
			return struct{}{}, false, err.Error()
		}
		for _, p := range pods.Items {
			if p.DeletionTimestamp != nil {
				continue
			}
			if !framework.HasReadinessGate(p.Spec, v1alpha1.ReadinessGate) {
				return struct{}{}, true, ""
			}
			_ = admin.Kube.CoreV1().Pods(ns).Delete(ctx, p.Name, metav1.DeleteOptions{})
		}
		return struct{}{}, false, fmt.Sprintf("%d pods, every one gated", len(pods.Items))
	}, framework.Every(500*time.Millisecond), framework.Within(2*time.Minute))
}

func TestACanaryMadeWithoutTheGateStaysOutOfTrafficUntilNext(t *testing.T) {
	// Not parallel: it takes the cluster-wide gate policy's binding away, and every pod made meanwhile, in
	// any namespace, is made without the gate.
	s := framework.Setup(t, framework.Timeout(4*time.Minute), framework.CloneSet("nginx", 3))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	w := service(t, ctx, admin, ns, 3)
	withoutPullInGate(t, ctx, admin, ns)
	releases := s.Releases

	r, err := releases.Create(ctx, framework.UpdateTo("nginx:1.28", 1, intstr.FromString("100%"), v1alpha1.ModeManual), metav1.CreateOptions{})
	require.NoError(t, err)
	canary := waitCanarySmoked(t, ctx, admin, ns, r.Name)
	pods := framework.PodsAt(t, ctx, admin, ns, "nginx:1.28")
	require.Len(t, pods, 1)
	require.False(t, framework.HasReadinessGate(pods[0].Spec, v1alpha1.ReadinessGate), "the canary was made with the gate: the test proves nothing")
	w.mu.Lock()
	blip := w.readyIP(canary.IP) || w.readyPod(canary.Name)
	w.mu.Unlock()
	t.Logf("the ungated canary was a ready endpoint when it was Smoked: %v", blip)
	framework.Holds(t, ctx, 2*time.Second, "the ungated canary stays out of the Service until next", func(ctx context.Context) (bool, string) {
		w.mu.Lock()
		in := w.readyIP(canary.IP) || w.readyPod(canary.Name)
		w.mu.Unlock()
		n := w.readyEndpoints()
		return !in && n == 2, fmt.Sprintf("canary in traffic: %v, %d ready endpoints", in, n)
	})

	beforeNext := w.lastRevision()
	nextUntilSucceeded(t, ctx, admin, ns, r.Name)
	waitServing(t, ctx, admin, ns, 3, 3, "nginx:1.28")
	framework.WaitFor(t, ctx, "3 ready endpoints, the canary among them", func() bool {
		w.mu.Lock()
		in := w.readyPod(canary.Name)
		w.mu.Unlock()
		return in && w.readyEndpoints() == 3
	})
	framework.WaitReleased(t, ctx, admin, ns)
	// Once pulled in, the canary stays in: the next batch does not take it out again. (It did, when a
	// write that kruise had not yet seen made the canary look like a pod of the running batch.)
	w.mu.Lock()
	left := w.leftAt(canary.IP, math.MaxUint64)
	w.mu.Unlock()
	assert.LessOrEqual(t, left, beforeNext, "the canary left the ready endpoints at revision %d, after the first next (revision %d)", left, beforeNext)
	for _, p := range framework.LivePods(t, ctx, admin, ns) {
		assert.False(t, moves.HasNotReadyKey(&p), "pod %s still carries triton's not-ready key after the release", p.Name)
	}
}
