package controller

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/component-base/metrics/legacyregistry"
	"k8s.io/component-base/metrics/testutil"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/metrics"
)

// smokeSeconds is what /metrics shows of triton_release_batch_machine_seconds{stage="smoke",canary="false"}.
func smokeSeconds(t *testing.T) (uint64, float64) {
	t.Helper()
	vec, err := testutil.GetHistogramVecFromGatherer(legacyregistry.DefaultGatherer, "triton_release_batch_machine_seconds",
		map[string]string{"stage": metrics.StageSmoke, "canary": "false"})
	require.NoError(t, err)
	var n uint64
	for _, h := range vec {
		n += h.GetSampleCount()
	}
	return n, vec.GetAggregatedSampleSum()
}

// The batch histograms see what the controller writes: its informer shows each change of a release to
// metrics.ObserveReleaseUpdate. Batch 1 started 10 s before the reconcile that finds its pods up.
func TestASmokedBatchIsTimed(t *testing.T) {
	metrics.Register()
	f := runningWeb(t, func(*corev1.Pod) {})
	// A real store gives each write a new resourceVersion (the fake keeps the old one, and an informer takes
	// an update with the same one for a resync, which handlers without a resync period never see).
	rv := 100
	f.releases.PrependReactor("update", "releases", func(a k8stesting.Action) (bool, runtime.Object, error) {
		u := a.(k8stesting.UpdateAction)
		r := u.GetObject().(*v1alpha1.Release).DeepCopy()
		rv++
		r.ResourceVersion = strconv.Itoa(rv)
		return true, r, f.releases.Tracker().Update(u.GetResource(), r, u.GetNamespace())
	})
	count, sum := smokeSeconds(t)
	f.reconcile(t, "default/web-update")
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, s := smokeSeconds(t)
		if n == count+1 {
			require.Equal(t, sum+10, s, "the batch took 10 s from its start to Smoked")
			return
		}
		require.True(t, time.Now().Before(deadline), "the Smoked batch was not timed: %d observations, want %d", n, count+1)
		time.Sleep(10 * time.Millisecond)
	}
}
