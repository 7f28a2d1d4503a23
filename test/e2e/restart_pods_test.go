//go:build e2e

package e2e

// A Restart of named pods (spec.podsToDelete): only those pods are restarted, batch by batch, each out of
// traffic before kruise deletes it; the others are untouched.

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/test/e2e/framework"
)

// restartPods is a Manual Restart of the named pods of nginx: canary 1, then the rest.
func restartPods(names ...string) *v1alpha1.Release {
	all := intstr.FromString("100%")
	return &v1alpha1.Release{
		ObjectMeta: metav1.ObjectMeta{Name: "nginx-restart-pods"},
		Spec: v1alpha1.ReleaseSpec{
			CloneSetName: "nginx",
			Action:       v1alpha1.ActionRestart,
			PodsToDelete: names,
			Strategy:     v1alpha1.ReleaseStrategy{Canary: 1, BatchSize: &all, Mode: v1alpha1.ModeManual},
		},
	}
}

func podUIDs(pods []corev1.Pod) map[string]types.UID {
	out := map[string]types.UID{}
	for _, p := range pods {
		out[p.Name] = p.UID
	}
	return out
}

func TestRestartOfNamedPodsRestartsOnlyThoseTrafficFirst(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(4*time.Minute), framework.CloneSet("nginx", 4))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	w := service(t, ctx, admin, ns, 4)
	before := framework.GetCloneSet(t, ctx, admin, ns)
	pods := framework.LivePods(t, ctx, admin, ns)
	require.Len(t, pods, 4)
	first, second := pods[0].Name, pods[2].Name
	untouched := map[string]types.UID{pods[1].Name: pods[1].UID, pods[3].Name: pods[3].UID}
	releases := s.Releases

	r, err := releases.Create(ctx, restartPods(first, second), metav1.CreateOptions{})
	require.NoError(t, err)
	require.Len(t, r.Status.Batches, 2, "a canary of 1, then the other named pod")
	assert.Equal(t, []int32{1, 2}, []int32{r.Status.Batches[0].Target, r.Status.Batches[1].Target})

	// The canary: the first named pod is gone, its replacement waits out of traffic; nothing else moved.
	framework.WaitRelease(t, ctx, admin, ns, r.Name, "canary Smoked", framework.BatchIs(1, v1alpha1.BatchSmoked))
	now := framework.WaitPods(t, ctx, admin, ns, "the first named pod replaced", func(pods []corev1.Pod) bool {
		_, there := podUIDs(pods)[first]
		return len(pods) == 4 && !there
	})
	uids := podUIDs(now)
	assert.Contains(t, uids, second, "the second named pod waits for its batch")
	for name, uid := range untouched {
		assert.Equal(t, uid, uids[name], "pod %s was not named: untouched", name)
	}
	var replacement *corev1.Pod
	for i := range now {
		if _, old := podUIDs(pods)[now[i].Name]; !old {
			replacement = &now[i]
		}
	}
	require.NotNil(t, replacement)
	assert.Equal(t, corev1.ConditionFalse, framework.PodCondition(replacement, corev1.PodReady), "the canary's new pod is out of traffic until next: %s", framework.PodSummary(now))
	framework.Holds(t, ctx, time.Second, "the canary's new pod is no ready endpoint", func(context.Context) (bool, string) {
		w.mu.Lock()
		defer w.mu.Unlock()
		return !w.readyPod(replacement.Name), ""
	})
	assert.Equal(t, "nginx:1.27", replacement.Spec.Containers[0].Image, "replaced from the same template")

	nextUntilSucceeded(t, ctx, admin, ns, r.Name)
	waitServing(t, ctx, admin, ns, 4, 4, "nginx:1.27")
	framework.WaitFor(t, ctx, "4 ready endpoints", func() bool { return w.readyEndpoints() == 4 })
	after := podUIDs(framework.LivePods(t, ctx, admin, ns))
	assert.NotContains(t, after, first)
	assert.NotContains(t, after, second)
	for name, uid := range untouched {
		assert.Equal(t, uid, after[name], "pod %s was not named: never restarted", name)
	}

	cs := framework.WaitReleased(t, ctx, admin, ns)
	assert.Equal(t, before.Status.UpdateRevision, cs.Status.UpdateRevision, "the template is as it was: no new revision")
	assert.Empty(t, cs.Spec.ScaleStrategy.PodsToDelete, "no name of the release is left in scaleStrategy.podsToDelete")
	assert.Equal(t, ptrOr(before.Spec.UpdateStrategy.MaxUnavailable, intstr.FromString("20%")), ptrOr(cs.Spec.UpdateStrategy.MaxUnavailable, intstr.FromString("20%")))

	w.mu.Lock()
	defer w.mu.Unlock()
	assert.Equal(t, 2, w.removed, "kruise removed exactly the 2 named pods")
	assert.Empty(t, w.violations(), "a named pod left the endpoints before kruise deleted it")
	if t.Failed() {
		w.report(t)
	}
}

// A cancel keeps the pods restarted so far and withdraws the names not reached: the second named pod is
// never deleted, and the canary's new pod serves once the release has let go.
func TestACanceledRestartOfNamedPodsRestartsNoMore(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(4*time.Minute), framework.CloneSet("nginx", 3))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	pods := framework.LivePods(t, ctx, admin, ns)
	releases := s.Releases
	r, err := releases.Create(ctx, restartPods(pods[0].Name, pods[1].Name), metav1.CreateOptions{})
	require.NoError(t, err)
	framework.WaitRelease(t, ctx, admin, ns, r.Name, "canary Smoked", framework.BatchIs(1, v1alpha1.BatchSmoked))

	_, err = releases.Cancel(ctx, r.Name, &v1alpha1.ReleaseRequest{Reason: "enough"}, metav1.CreateOptions{})
	require.NoError(t, err)
	cs := framework.WaitReleased(t, ctx, admin, ns)
	assert.Empty(t, cs.Spec.ScaleStrategy.PodsToDelete)
	waitServing(t, ctx, admin, ns, 3, 3, "nginx:1.27")
	framework.Holds(t, ctx, 2*time.Second, "the second named pod stays", func(ctx context.Context) (bool, string) {
		uids := podUIDs(framework.LivePods(t, ctx, admin, ns))
		return uids[pods[1].Name] == pods[1].UID && uids[pods[2].Name] == pods[2].UID, fmt.Sprint(uids)
	})
}

// The names are checked when the release is admitted: a pod that is not the CloneSet's is 422 naming the
// entry, and nothing is stored or changed.
func TestARestartOfPodsTheCloneSetDoesNotHaveIsRefused(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(2*time.Minute), framework.CloneSet("nginx", 2), framework.CloneSet("other", 1))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	other := framework.LivePodsOf(t, ctx, admin, ns, "other")
	pods := framework.LivePods(t, ctx, admin, ns)
	before := framework.GetCloneSet(t, ctx, admin, ns)

	_, err := admin.Releases.ReleasesV1alpha1().Releases(ns).Create(ctx, restartPods(pods[0].Name, other[0].Name), metav1.CreateOptions{})
	require.Error(t, err)
	assert.True(t, apierrors.IsInvalid(err), "422: %v", err)
	assert.Contains(t, err.Error(), "spec.podsToDelete[1]", "the entry that is wrong")
	_, err = admin.Releases.ReleasesV1alpha1().Releases(ns).Get(ctx, "nginx-restart-pods", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "nothing stored")
	assert.Equal(t, before.Generation, framework.GetCloneSet(t, ctx, admin, ns).Generation, "the CloneSet is unchanged")
}

// `kubectl release restart nginx --pods P` from a pipeline: one command, done when it returns, and only P
// was restarted.
func TestPluginRestartsOnlyTheNamedPod(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.CloneSet("nginx", 3))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	pods := framework.LivePods(t, ctx, admin, ns)

	res := admin.KubectlRelease(t, ctx, "-n", ns, "restart", "nginx", "--pods", pods[1].Name, "--mode", "Auto", "--wait", "--timeout", "2m")
	require.Equal(t, 0, res.Code, res.String())
	assert.Contains(t, res.Stdout, "Phase: Succeeded")
	after := podUIDs(framework.LivePods(t, ctx, admin, ns))
	assert.Len(t, after, 3)
	assert.NotContains(t, after, pods[1].Name, "the named pod was restarted")
	assert.Equal(t, pods[0].UID, after[pods[0].Name], "untouched")
	assert.Equal(t, pods[2].UID, after[pods[2].Name], "untouched")

	res = admin.KubectlRelease(t, ctx, "-n", ns, "restart", "nginx", "--pods", "nginx-nosuchpod")
	assert.NotEqual(t, 0, res.Code, res.String())
	assert.Contains(t, res.Stderr, "spec.podsToDelete[0]", "the server names the entry that is wrong")
}
