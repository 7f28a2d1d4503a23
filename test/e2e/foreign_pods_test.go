//go:build e2e

package e2e

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/test/e2e/framework"
)

// A pod with the CloneSet's labels that another controller owns (here: one left behind by an earlier
// CloneSet, as `kubectl delete --cascade=orphan` or a cluster without garbage collection leaves them)
// is not the release's: a scale-in does not wait for it to go. Found while writing the README's
// tutorial, where such a pod stalled a scale-in for ever.
func TestScaleInIgnoresPodsTheCloneSetDoesNotControl(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.CloneSet("nginx", 3))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx

	owner, err := admin.Kube.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "old-owner"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	yes := true
	_, err = admin.Kube.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: "nginx-foreign", Labels: map[string]string{"app": "nginx"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: owner.Name, UID: owner.UID, Controller: &yes}},
		},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "nginx", Image: "nginx:1.27"}}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)

	r := framework.ScaleTo(1, intstr.FromInt32(1))
	r.Spec.Strategy.Mode = v1alpha1.ModeAuto
	created, err := admin.Releases.ReleasesV1alpha1().Releases(ns).Create(ctx, r, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.NotContains(t, created.Status.CloneSet.PodsBeforeRelease, "nginx-foreign")
	assert.Len(t, created.Status.CloneSet.PodsBeforeRelease, 3)
	require.Len(t, created.Status.Batches, 2)

	framework.WaitRelease(t, ctx, admin, ns, created.Name, "Succeeded", framework.Succeeded)
	_, err = admin.Kube.CoreV1().Pods(ns).Get(ctx, "nginx-foreign", metav1.GetOptions{})
	assert.NoError(t, err, "the foreign pod is left alone")
}
