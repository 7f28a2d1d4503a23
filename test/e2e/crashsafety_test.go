//go:build e2e

package e2e

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/test/e2e/framework"
)

// Issue 8, item 2: triton-apiserver is SIGKILLed at random moments while 20 releases run at once, each
// driven by `next` calls, and started again each time. Afterwards every release has Succeeded, every
// `next` that answered 200 is in its history exactly once (nothing acknowledged was lost, nothing applied
// twice), and each CloneSet's partition went through exactly its batches' targets in order: no batch
// skipped, none moved twice, never more pods updated than the batch allowed.
func TestCrashSafetySIGKILLDuringConcurrentReleases(t *testing.T) {
	admin := framework.Connect(t, "admin")
	ns := framework.Namespace(t, admin)
	releaseCount, replicas, kills := 20, int32(sized(3, 5)), sized(3, 10)
	ctx := framework.Context(t, time.Duration(5+kills)*time.Minute)
	names := fleet(t, ctx, admin, ns, releaseCount, replicas)
	partitions := logPartitions(t, ctx, admin, ns, false)
	t.Cleanup(func() {
		// Leave a healthy server behind for the other tests, whatever happened here.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if !alive(tritonPID(t)) {
			startTriton(t, ctx, admin)
		}
	})

	for _, name := range names {
		_, err := admin.Releases.ReleasesV1alpha1().Releases(ns).Create(ctx, manualUpdate(name, "app:v2"), metav1.CreateOptions{})
		require.NoError(t, err)
	}
	drive := newDriver(fastClient(admin), ns)
	var finishedAll atomic.Bool
	done := make(chan error, 1)
	var finished []*v1alpha1.Release
	go func() {
		f, err := drive.run(ctx, 8, names)
		finished = f
		finishedAll.Store(err == nil)
		done <- err
	}()

	start := time.Now()
	midRelease := 0
	for i := 0; i < kills; i++ {
		randomMoment(ctx, 500*time.Millisecond, 4*time.Second)
		if finishedAll.Load() {
			break
		}
		midRelease++
		killTriton(t, ctx)
		startTriton(t, ctx, admin)
	}
	require.NoError(t, <-done)
	t.Logf("%d SIGKILLs while releases ran; all %d releases finished %s after the first release; %s",
		midRelease, releaseCount, time.Since(start).Round(time.Second), drive.summary())
	assert.GreaterOrEqual(t, midRelease, 1, "no kill landed while releases ran: the test proved nothing")

	drive.onlyUnavailable(t)
	allSucceeded(t, finished)
	drive.checkHistory(t, finished)
	partitions.check(t, finished)
}
