//go:build e2e

package e2e

// `kubectl wait --for=condition=...` works before and after a spec edit (issue 14): the status and each
// condition carry the generation they reflect.

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/test/e2e/framework"
)

func TestKubectlWaitAfterAPaceEdit(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.CloneSet("nginx", 2),
		framework.Release(framework.UpdateTo("nginx:1.28", 1, intstr.FromInt32(1), v1alpha1.ModeManual)))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	r := s.Release

	wait := func(what string) {
		t.Helper()
		out, err := admin.Kubectl(ctx, "-n", ns, "wait", "releases/"+r.Name, "--for=condition="+v1alpha1.ConditionAwaitingNext, "--timeout=45s")
		require.NoError(t, err, "kubectl wait %s: %s", what, out)
		assert.Contains(t, out, "condition met")
	}
	wait("before the edit")

	// A pace edit: a progress deadline, then the mode. Each bumps the generation.
	out, err := admin.Kubectl(ctx, "-n", ns, "patch", "releases/"+r.Name, "--type=merge",
		"-p", `{"spec":{"strategy":{"progressDeadlineSeconds":900}}}`)
	require.NoError(t, err, out)
	wait("after a deadline edit")
	got, err := admin.Releases.ReleasesV1alpha1().Releases(ns).Get(ctx, r.Name, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int64(2), got.Generation)
	assert.Equal(t, got.Generation, got.Status.ObservedGeneration, "status.observedGeneration")
	for _, c := range got.Status.Conditions {
		assert.Equal(t, got.Generation, c.ObservedGeneration, c.Type)
	}

	out, err = admin.Kubectl(ctx, "-n", ns, "patch", "releases/"+r.Name, "--type=merge",
		"-p", `{"spec":{"strategy":{"batchIntervalSeconds":1}}}`)
	require.NoError(t, err, out)
	wait("after an interval edit")

	// `next` until the release completes; at each stop `kubectl wait` sees the state of the new generation.
	for step := 0; ; step++ {
		require.Less(t, step, 6, "the release completes")
		got, err := admin.Releases.ReleasesV1alpha1().Releases(ns).Get(ctx, r.Name, metav1.GetOptions{})
		require.NoError(t, err)
		_, err = admin.Releases.ReleasesV1alpha1().Releases(ns).Next(ctx, r.Name,
			&v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(got.Status.CurrentBatch)}, metav1.CreateOptions{})
		require.NoError(t, err)
		done := framework.WaitRelease(t, ctx, admin, ns, r.Name, "awaiting next, or complete", func(r *v1alpha1.Release) bool {
			return framework.Succeeded(r) || framework.ConditionIs(r, v1alpha1.ConditionAwaitingNext, metav1.ConditionTrue)
		})
		if framework.Succeeded(done) {
			break
		}
		wait("after next")
	}
	out, err = admin.Kubectl(ctx, "-n", ns, "wait", "releases/"+r.Name, "--for=condition="+v1alpha1.ConditionComplete, "--timeout=45s")
	require.NoError(t, err, out)
}
