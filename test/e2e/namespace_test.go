//go:build e2e

package e2e

// kube-controller-manager's namespace controller, under its own service account and bootstrap role (delete
// on everything, update on nothing), deletes within a minute a namespace with a CloneSet, its pods and a running
// release: it lists and deletes releases through the aggregated API, asking for protobuf (metadata-only
// lists), and the release's cleanup finalizer goes once its CloneSet is let go.

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/test/e2e/framework"
)

func TestDeletingANamespaceWithARunningReleaseCompletes(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.CloneSet("nginx", 2),
		framework.Release(framework.UpdateTo("nginx:1.28", 1, intstr.FromInt32(1), v1alpha1.ModeManual)), framework.Phase(v1alpha1.BatchSmoked))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx

	require.NoError(t, admin.Kube.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}))
	framework.WaitUntil(t, ctx, "namespace "+ns+" to be gone", func(ctx context.Context) (struct{}, bool, string) {
		got, err := admin.Kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return struct{}{}, true, ""
		case err != nil:
			return struct{}{}, false, err.Error()
		}
		return struct{}{}, false, fmt.Sprintf("%+v", got.Status)
	}, framework.Every(500*time.Millisecond), framework.Within(60*time.Second))
}
