//go:build e2e

package e2e

// CloneSets that update their pods in place (InPlaceIfPossible): a Restart really restarts, and an
// InPlaceOnly CloneSet is never recreated.

import (
	"context"
	"testing"
	"time"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/release/plan"
	"github.com/triton-io/triton/test/e2e/framework"
)

func restartOf(cloneSet string, batchSize intstr.IntOrString) *v1alpha1.Release {
	return &v1alpha1.Release{
		ObjectMeta: metav1.ObjectMeta{Name: cloneSet + "-restart"},
		Spec: v1alpha1.ReleaseSpec{CloneSetName: cloneSet, Action: v1alpha1.ActionRestart,
			Strategy: v1alpha1.ReleaseStrategy{BatchSize: &batchSize, Mode: v1alpha1.ModeAuto}},
	}
}

// podsByUID maps the UIDs of the pods at image to their names.
func podsByUID(t *testing.T, ctx context.Context, c *framework.Cluster, ns, image string) map[types.UID]string {
	t.Helper()
	names := map[types.UID]string{}
	for _, p := range framework.PodsAt(t, ctx, c, ns, image) {
		names[p.UID] = p.Name
	}
	return names
}

// A restart annotation on the template of an InPlaceIfPossible CloneSet would be patched onto the pods in
// place, and no container would restart. A Restart release has the CloneSet recreate its pods (batch by
// batch, each out of the endpoints before it goes) and puts InPlaceIfPossible back at the end.
func TestARestartOfAnInPlaceCloneSetRecreatesItsPods(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.CloneSet("nginx", 3, framework.UpdatedBy(kruiseappsv1alpha1.InPlaceIfPossibleCloneSetUpdateStrategyType)))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	w := service(t, ctx, admin, ns, 3)
	before := podsByUID(t, ctx, admin, ns, "nginx:1.27")
	require.Len(t, before, 3)

	releases := s.Releases
	r, err := releases.Create(ctx, restartOf("nginx", intstr.FromInt32(1)), metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, plan.UpdateInPlaceIfPossible, r.Status.CloneSet.UpdateStrategyTypeBeforeRelease)
	framework.WaitCloneSetIs(t, ctx, admin, ns, "ReCreate while the release holds it", func(cs *kruiseappsv1alpha1.CloneSet) bool {
		return cs.Spec.UpdateStrategy.Type == kruiseappsv1alpha1.RecreateCloneSetUpdateStrategyType
	})
	framework.WaitRelease(t, ctx, admin, ns, r.Name, "Succeeded", framework.Succeeded)
	cs := framework.WaitReleased(t, ctx, admin, ns)
	assert.Equal(t, kruiseappsv1alpha1.InPlaceIfPossibleCloneSetUpdateStrategyType, cs.Spec.UpdateStrategy.Type, "in place again")
	restartedAt := cs.Spec.Template.Annotations[v1alpha1.RestartedAtAnnotation]
	require.NotEmpty(t, restartedAt)

	waitServing(t, ctx, admin, ns, 3, 3, "nginx:1.27")
	for _, p := range framework.PodsAt(t, ctx, admin, ns, "nginx:1.27") {
		_, old := before[p.UID]
		assert.False(t, old, "pod %s was not restarted: same pod as before the release", p.Name)
		assert.Equal(t, restartedAt, p.Annotations[v1alpha1.RestartedAtAnnotation], "pod %s", p.Name)
	}
	framework.WaitFor(t, ctx, "3 ready endpoints again", func() bool { return w.readyEndpoints() == 3 })
	w.mu.Lock()
	defer w.mu.Unlock()
	for uid, name := range before {
		assert.True(t, w.deleted[name], "pod %s (%s) was deleted", name, uid)
	}
	w.report(t)
	assert.Empty(t, w.violations(), "a pod left the endpoints only after kruise deleted it")
}

// An InPlaceOnly CloneSet may not be recreated: a Restart of it is refused, naming the field.
func TestARestartOfAnInPlaceOnlyCloneSetIsRefused(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(time.Minute), framework.CloneSet("nginx", 1, framework.UpdatedBy(kruiseappsv1alpha1.InPlaceOnlyCloneSetUpdateStrategyType)))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	_, err := admin.Releases.ReleasesV1alpha1().Releases(ns).Create(ctx, restartOf("nginx", intstr.FromString("100%")), metav1.CreateOptions{})
	require.Error(t, err)
	assert.True(t, apierrors.IsInvalid(err), "422: %v", err)
	assert.Contains(t, err.Error(), "spec.action")
	assert.Contains(t, err.Error(), "InPlaceOnly")
	list, err := admin.Releases.ReleasesV1alpha1().Releases(ns).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	assert.Empty(t, list.Items, "nothing stored")
}

// An Update of an InPlaceIfPossible CloneSet changes only an image: kruise updates the pods in place (the
// same pods, restarted containers), and each leaves the Service's endpoints before kruise patches its
// image (the inPlaceUpdate hook holds it in PreparingUpdate until the controller let it go).
func TestPodsLeaveTheEndpointsBeforeKruiseUpdatesThemInPlace(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.CloneSet("nginx", 4, framework.UpdatedBy(kruiseappsv1alpha1.InPlaceIfPossibleCloneSetUpdateStrategyType)))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	lateKubelets(t, ctx, admin, ns)
	w := service(t, ctx, admin, ns, 4)
	before := podsByUID(t, ctx, admin, ns, "nginx:1.27")
	require.Len(t, before, 4)

	r, err := admin.Releases.ReleasesV1alpha1().Releases(ns).Create(ctx,
		framework.UpdateTo("nginx:1.28", 1, intstr.FromInt32(2), v1alpha1.ModeManual), metav1.CreateOptions{})
	require.NoError(t, err)
	nextUntilSucceeded(t, ctx, admin, ns, r.Name)
	waitServing(t, ctx, admin, ns, 4, 4, "nginx:1.28")
	framework.WaitFor(t, ctx, "the 4 pods are ready endpoints again", func() bool { return w.readyEndpoints() == 4 })

	for _, p := range framework.PodsAt(t, ctx, admin, ns, "nginx:1.28") {
		_, same := before[p.UID]
		assert.True(t, same, "pod %s was updated in place, not recreated", p.Name)
		require.Len(t, p.Status.ContainerStatuses, 1)
		assert.Equal(t, "nginx:1.28", p.Status.ContainerStatuses[0].Image, "pod %s runs the new image", p.Name)
		assert.Equal(t, int32(1), p.Status.ContainerStatuses[0].RestartCount, "pod %s: its container restarted once", p.Name)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	assert.Equal(t, 4, w.inPlace, "kruise updated the 4 pods in place")
	assert.Zero(t, w.removed, "no pod was deleted")
	w.report(t)
	assert.Empty(t, w.violations(), "a pod left the endpoints only after kruise updated it in place")
}
