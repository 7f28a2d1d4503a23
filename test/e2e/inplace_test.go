//go:build e2e

package e2e

// CloneSets that update their pods in place (InPlaceIfPossible): a Restart really restarts, and an
// InPlaceOnly CloneSet is never recreated.

import (
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
	"github.com/triton-io/triton/pkg/release/cloneset"
)

func restartOf(cloneSet string, batchSize intstr.IntOrString) *v1alpha1.Release {
	return &v1alpha1.Release{
		ObjectMeta: metav1.ObjectMeta{Name: cloneSet + "-restart"},
		Spec: v1alpha1.ReleaseSpec{CloneSetName: cloneSet, Action: v1alpha1.ActionRestart,
			Strategy: v1alpha1.ReleaseStrategy{BatchSize: &batchSize, Mode: v1alpha1.ModeAuto}},
	}
}

// A restart annotation on the template of an InPlaceIfPossible CloneSet would be patched onto the pods in
// place, and no container would restart. A Restart release has the CloneSet recreate its pods (batch by
// batch, each out of the endpoints before it goes) and puts InPlaceIfPossible back at the end.
func TestARestartOfAnInPlaceCloneSetRecreatesItsPods(t *testing.T) {
	admin := connect(t, "admin")
	ns := namespace(t, admin)
	ctx := testContext(t, 3*time.Minute)
	nginxUpdatedBy(t, ctx, admin, ns, 3, kruiseappsv1alpha1.InPlaceIfPossibleCloneSetUpdateStrategyType)
	w := service(t, ctx, admin, ns, 3)
	before := map[types.UID]string{}
	for _, p := range podsAt(t, ctx, admin, ns, "nginx:1.27") {
		before[p.UID] = p.Name
	}
	require.Len(t, before, 3)

	releases := admin.releases.ReleasesV1alpha1().Releases(ns)
	r, err := releases.Create(ctx, restartOf("nginx", intstr.FromInt32(1)), metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, "InPlaceIfPossible", r.Status.CloneSet.UpdateStrategyTypeBeforeRelease)
	waitCloneSetIs(t, ctx, admin, ns, "ReCreate while the release holds it", func(cs *kruiseappsv1alpha1.CloneSet) bool {
		return cs.Spec.UpdateStrategy.Type == kruiseappsv1alpha1.RecreateCloneSetUpdateStrategyType
	})
	waitRelease(t, ctx, admin, ns, r.Name, "Succeeded", succeeded)
	cs := waitReleased(t, ctx, admin, ns)
	assert.Equal(t, kruiseappsv1alpha1.InPlaceIfPossibleCloneSetUpdateStrategyType, cs.Spec.UpdateStrategy.Type, "in place again")
	restartedAt := cs.Spec.Template.Annotations[cloneset.RestartedAtAnnotation]
	require.NotEmpty(t, restartedAt)

	waitServing(t, ctx, admin, ns, 3, 3, "nginx:1.27")
	for _, p := range podsAt(t, ctx, admin, ns, "nginx:1.27") {
		_, old := before[p.UID]
		assert.False(t, old, "pod %s was not restarted: same pod as before the release", p.Name)
		assert.Equal(t, restartedAt, p.Annotations[cloneset.RestartedAtAnnotation], "pod %s", p.Name)
	}
	waitFor(t, ctx, "3 ready endpoints again", func() bool { return w.readyEndpoints() == 3 })
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
	admin := connect(t, "admin")
	ns := namespace(t, admin)
	ctx := testContext(t, time.Minute)
	nginxUpdatedBy(t, ctx, admin, ns, 1, kruiseappsv1alpha1.InPlaceOnlyCloneSetUpdateStrategyType)
	_, err := admin.releases.ReleasesV1alpha1().Releases(ns).Create(ctx, restartOf("nginx", intstr.FromString("100%")), metav1.CreateOptions{})
	require.Error(t, err)
	assert.True(t, apierrors.IsInvalid(err), "422: %v", err)
	assert.Contains(t, err.Error(), "spec.action")
	assert.Contains(t, err.Error(), "InPlaceOnly")
	list, err := admin.releases.ReleasesV1alpha1().Releases(ns).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	assert.Empty(t, list.Items, "nothing stored")
}
