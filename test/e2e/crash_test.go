//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/test/e2e/framework"
)

// tritonPID is the running triton-apiserver's process id, as hack/local-up.sh recorded it.
func tritonPID(t *testing.T) int {
	t.Helper()
	return localPID(t, "triton-apiserver")
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// stopTriton stops triton-apiserver (SIGTERM, as make down does) and waits until it is gone.
func stopTriton(t *testing.T, ctx context.Context) {
	t.Helper()
	stopLocal(t, ctx, "triton-apiserver", syscall.SIGTERM)
}

// startTriton starts triton-apiserver again with the command line hack/local-up.sh used, plus env, and
// waits until releases answer through kube-apiserver.
func startTriton(t *testing.T, ctx context.Context, admin *framework.Cluster, env ...string) {
	t.Helper()
	startLocal(t, "triton-apiserver", env...)
	framework.WaitUntil(t, ctx, "triton-apiserver to come back", func(ctx context.Context) (struct{}, bool, string) {
		_, err := admin.Releases.ReleasesV1alpha1().Releases("default").List(ctx, metav1.ListOptions{})
		return struct{}{}, err == nil, fmt.Sprint(err)
	}, framework.Within(90*time.Second))
}

// Invariant 3: the server dies after a `next` has written the Release (the intent) and before it wrote the
// CloneSet. After the restart the Release and the CloneSet agree, and the batch moved exactly once.
func TestCrashBetweenReleaseWriteAndCloneSetWrite(t *testing.T) {
	s := framework.Setup(t, framework.Timeout(5*time.Minute), framework.CloneSet("nginx", 3),
		framework.Release(framework.UpdateTo("nginx:1.28", 0, intstr.FromInt32(1), v1alpha1.ModeManual)), framework.Phase(v1alpha1.BatchBaked))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	releases := s.Releases

	stopTriton(t, ctx)
	startTriton(t, ctx, admin, "TRITON_FAILPOINTS=action-after-release-write")
	t.Cleanup(func() {
		// Leave a healthy server behind for the other tests, whatever happened here.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if alive(tritonPID(t)) {
			stopTriton(t, ctx)
		}
		startTriton(t, ctx, admin)
	})
	crashing := tritonPID(t)

	_, err := releases.Next(ctx, "nginx-update", &v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(1)}, metav1.CreateOptions{})
	require.Error(t, err, "the server dies in the middle of the call")
	framework.WaitUntil(t, ctx, "the failpoint to fire", func(context.Context) (struct{}, bool, string) {
		return struct{}{}, !alive(crashing), "triton-apiserver still runs"
	}, framework.Every(100*time.Millisecond), framework.Within(30*time.Second))

	// The CloneSet was not written: still batch 1's partition.
	cs, err := admin.Kruise.AppsV1alpha1().CloneSets(ns).Get(ctx, "nginx", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(2), framework.Partition(cs), "the crash came before the CloneSet write")

	// Restarted, the server finds the intent stored and converges the CloneSet to it.
	startTriton(t, ctx, admin)
	r := framework.WaitRelease(t, ctx, admin, ns, "nginx-update", "batch 2 started", func(r *v1alpha1.Release) bool {
		return r.Status.CurrentBatch == 2
	})
	framework.WaitCloneSet(t, ctx, admin, ns, "nginx", func(s kruiseappsv1alpha1.CloneSetStatus) bool {
		return s.UpdatedReplicas == 2
	})
	cs, err = admin.Kruise.AppsV1alpha1().CloneSets(ns).Get(ctx, "nginx", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(1), framework.Partition(cs), "the CloneSet agrees with the Release: batch 2's partition")
	nexts := 0
	for _, h := range r.Status.History {
		if h.Action == "next" {
			nexts++
			assert.Equal(t, int32(1), h.FromBatch)
			assert.Equal(t, int32(2), h.ToBatch)
		}
	}
	assert.Equal(t, 1, nexts, "the batch moved exactly once")
	framework.WaitRelease(t, ctx, admin, ns, "nginx-update", "batch 2 Baked", framework.BatchIs(2, v1alpha1.BatchBaked))
}
