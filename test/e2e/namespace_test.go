//go:build e2e

package e2e

// kube-controller-manager's namespace controller deletes a namespace with a CloneSet, its pods and a running
// release: it lists and deletes releases through the aggregated API (which must not offer protobuf, which
// its types cannot encode), and the release's cleanup finalizer goes once its CloneSet is let go.

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

func TestDeletingANamespaceWithARunningReleaseCompletes(t *testing.T) {
	admin := connect(t, "admin")
	ns := namespace(t, admin)
	ctx := testContext(t, 3*time.Minute)
	nginx(t, ctx, admin, ns, 2)
	r, err := admin.releases.ReleasesV1alpha1().Releases(ns).Create(ctx,
		updateTo("nginx:1.28", 1, intstr.FromInt32(1), v1alpha1.ModeManual), metav1.CreateOptions{})
	require.NoError(t, err)
	waitRelease(t, ctx, admin, ns, r.Name, "canary Smoked", batchIs(1, v1alpha1.BatchSmoked))

	require.NoError(t, admin.kube.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}))
	var last *corev1.Namespace
	err = wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		got, err := admin.kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		if err == nil {
			last = got
		}
		return false, nil
	})
	require.NoError(t, err, "namespace %s still there: %+v", ns, statusOfNamespace(last))
}

func statusOfNamespace(n *corev1.Namespace) interface{} {
	if n == nil {
		return nil
	}
	return n.Status
}
