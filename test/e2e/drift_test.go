//go:build e2e

package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

// A CloneSet changed by hand while a release runs is put back to what the release intends.
func TestControllerRepairsDriftedCloneSet(t *testing.T) {
	admin := connect(t, "admin")
	ns := namespace(t, admin)
	ctx := testContext(t, 3*time.Minute)
	nginx(t, ctx, admin, ns, 3)
	releases := admin.releases.ReleasesV1alpha1().Releases(ns)
	_, err := releases.Create(ctx, updateTo("nginx:1.28", 0, intstr.FromInt32(1), v1alpha1.ModeManual), metav1.CreateOptions{})
	require.NoError(t, err)
	waitRelease(t, ctx, admin, ns, "nginx-update", "batch 1 Baked", batchIs(1, v1alpha1.BatchBaked))

	// Someone lowers the partition, unpauses nothing, and drops the owner annotation.
	_, err = admin.kruise.AppsV1alpha1().CloneSets(ns).Patch(ctx, "nginx", types.MergePatchType,
		[]byte(`{"metadata":{"annotations":{"releases.triton.io/release":null}},"spec":{"updateStrategy":{"partition":0}}}`), metav1.PatchOptions{})
	require.NoError(t, err)

	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		cs, err := admin.kruise.AppsV1alpha1().CloneSets(ns).Get(ctx, "nginx", metav1.GetOptions{})
		return err == nil && partition(cs) == 2 && cs.Annotations["releases.triton.io/release"] == "nginx-update", nil
	})
	require.NoError(t, err, "the controller puts the partition and the annotation back")

	r, err := releases.Get(ctx, "nginx-update", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(1), r.Status.CurrentBatch, "the drift did not move the release")
	assert.Equal(t, v1alpha1.BatchBaked, r.Status.Batches[0].Phase)
}
