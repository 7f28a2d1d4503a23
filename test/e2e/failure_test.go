//go:build e2e

package e2e

// Failure detection end to end (issue 14), with pods kwok makes fail on purpose (hack/local-up/kwok-stages.yaml:
// an image tagged crashloop, imagepull or never-ready, or the pod annotation kwok.triton.io/fail).

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
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/test/e2e/framework"
)

// assertHeld checks that a failed release's CloneSet is paused and stays with at most n pods at image.
func assertHeld(t *testing.T, ctx context.Context, c *framework.Cluster, ns, image string, n int) {
	t.Helper()
	cs := framework.WaitCloneSetIs(t, ctx, c, ns, "paused", func(cs *kruiseappsv1alpha1.CloneSet) bool { return cs.Spec.UpdateStrategy.Paused })
	assert.Equal(t, "nginx", cs.Name)
	framework.Holds(t, ctx, 2*time.Second, fmt.Sprintf("at most %d pods at %s while failed", n, image), func(ctx context.Context) (bool, string) {
		pods := framework.LivePods(t, ctx, c, ns)
		return framework.CountImage(pods, image) <= n, framework.PodSummary(pods)
	})
}

// A crash-looping image fails the release at the canary (maxFailedPods 0); the CloneSet is held; cancel
// brings every pod back to the old image, Ready.
func TestCrashLoopFailsTheReleaseAndCancelRecovers(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.CloneSet("nginx", 3),
		framework.Release(framework.UpdateTo("nginx:crashloop", 1, intstr.FromInt32(1), v1alpha1.ModeAuto)))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	releases := s.Releases
	r := framework.WaitRelease(t, ctx, admin, ns, s.Release.Name, "Failed", framework.Failed)
	assert.Equal(t, v1alpha1.BatchFailed, r.Status.Batches[0].Phase)
	assert.Contains(t, framework.LastHistory(r).Reason, "CrashLoopBackOff")
	framework.AssertConditions(t, r, false, false, true, false)
	assertHeld(t, ctx, admin, ns, "nginx:crashloop", 1)

	_, err := releases.Cancel(ctx, r.Name, &v1alpha1.ReleaseRequest{Reason: "bad image"}, metav1.CreateOptions{})
	require.NoError(t, err)
	waitServing(t, ctx, admin, ns, 3, 0, "nginx:crashloop")
}

// An image that does not pull fails the batch once its pods exceed maxFailedPods: a batch of 2 tolerating
// 1 fails; cancel recovers.
func TestImagePullErrorsBeyondMaxFailedPodsFailTheRelease(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.CloneSet("nginx", 4))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	releases := s.Releases
	rel := framework.UpdateTo("nginx:imagepull", 0, intstr.FromInt32(2), v1alpha1.ModeAuto)
	tolerated := intstr.FromInt32(1)
	rel.Spec.Strategy.MaxFailedPods = &tolerated
	r, err := releases.Create(ctx, rel, metav1.CreateOptions{})
	require.NoError(t, err)
	r = framework.WaitRelease(t, ctx, admin, ns, r.Name, "Failed", framework.Failed)
	reason := framework.LastHistory(r).Reason
	assert.Contains(t, reason, "2 failing pods, 1 tolerated")
	assert.Regexp(t, "ErrImagePull|ImagePullBackOff", reason)
	assertHeld(t, ctx, admin, ns, "nginx:imagepull", 2)

	_, err = releases.Cancel(ctx, r.Name, &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{})
	require.NoError(t, err)
	waitServing(t, ctx, admin, ns, 4, 0, "nginx:imagepull")
}

// A pod of a Baked batch that starts failing while the release waits for `next` is noticed: the release
// fails and `next` is refused; once the pod is healthy again, `resume` retries the batch and the release
// completes.
func TestABakedBatchThatStartsFailingFailsTheReleaseAndResumeRecovers(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.CloneSet("nginx", 2),
		framework.Release(framework.UpdateTo("nginx:1.28", 1, intstr.FromInt32(1), v1alpha1.ModeManual)))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	releases := s.Releases
	r := s.Release
	nextUntilBaked(t, ctx, admin, ns, r.Name, 1)
	canary := framework.PodsAt(t, ctx, admin, ns, "nginx:1.28")
	require.Len(t, canary, 1)

	// The canary starts crash-looping (kwok, told by an annotation on the pod).
	patch := []byte(`{"metadata":{"annotations":{"kwok.triton.io/fail":"crashloop"}}}`)
	_, err := admin.Kube.CoreV1().Pods(ns).Patch(ctx, canary[0].Name, types.MergePatchType, patch, metav1.PatchOptions{})
	require.NoError(t, err)
	r = framework.WaitRelease(t, ctx, admin, ns, r.Name, "Failed", framework.Failed)
	assert.Contains(t, framework.LastHistory(r).Reason, canary[0].Name)
	_, err = releases.Next(ctx, r.Name, &v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(1)}, metav1.CreateOptions{})
	require.Error(t, err, "next on a failed release")
	assertHeld(t, ctx, admin, ns, "nginx:1.28", 1)

	// Healthy again; resume retries batch 1, and the release goes on.
	heal := []byte(`{"metadata":{"annotations":{"kwok.triton.io/fail":null}}}`)
	_, err = admin.Kube.CoreV1().Pods(ns).Patch(ctx, canary[0].Name, types.MergePatchType, heal, metav1.PatchOptions{})
	require.NoError(t, err)
	framework.WaitPods(t, ctx, admin, ns, "the canary Ready again", func(pods []corev1.Pod) bool {
		for i := range pods {
			if pods[i].Name == canary[0].Name {
				return framework.PodCondition(&pods[i], corev1.ContainersReady) == corev1.ConditionTrue
			}
		}
		return false
	})
	_, err = releases.Resume(ctx, r.Name, &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{})
	require.NoError(t, err)
	nextUntilSucceeded(t, ctx, admin, ns, r.Name)
	waitServing(t, ctx, admin, ns, 2, 2, "nginx:1.28")
}

// Pods that run but never become ready fail the batch at its progress deadline.
func TestNeverReadyPodsFailAtTheProgressDeadline(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.CloneSet("nginx", 2))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	rel := framework.UpdateTo("nginx:never-ready", 0, intstr.FromInt32(1), v1alpha1.ModeAuto)
	deadline := int32(5)
	rel.Spec.Strategy.ProgressDeadlineSeconds = &deadline
	r, err := admin.Releases.ReleasesV1alpha1().Releases(ns).Create(ctx, rel, metav1.CreateOptions{})
	require.NoError(t, err)
	r = framework.WaitRelease(t, ctx, admin, ns, r.Name, "Failed", framework.Failed)
	assert.Contains(t, framework.LastHistory(r).Reason, "was not Baked within 5s")
	failedAt := framework.LastHistory(r).Time.Time
	require.NotNil(t, r.Status.Batches[0].StartedAt)
	assert.GreaterOrEqual(t, failedAt.Sub(r.Status.Batches[0].StartedAt.Time), 4*time.Second, "not before the deadline")
	assertHeld(t, ctx, admin, ns, "nginx:never-ready", 1)
}
