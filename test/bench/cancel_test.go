//go:build bench

package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/test/bench/stats"
)

// cancelLatency: a 40-replica CloneSet with a Manual release of two batches of 20 pods; once batch 1 is
// in traffic and waits for next, `cancel` answers only after it has pulled those 20 pods out of traffic
// (their readiness gates False), before the CloneSet goes back. Each call is followed by the floor: a
// merge-patch of the same CloneSet through kube-apiserver. Pairs: BENCH_PAIRS (default 3), each with a new
// release once the last one has put the CloneSet back.
func cancelLatency(t *testing.T, ctx context.Context, c *cluster) []stats.Row {
	ns := c.namespace(t, ctx, "bench-cancel")
	const replicas = 40
	cloneSet(t, ctx, c, ns, "app", replicas, "app:0")
	releases := c.releases.ReleasesV1alpha1().Releases(ns)
	cancel := stats.Series{Name: "cancel of a 20-pod batch in traffic"}
	floor := stats.Series{Name: "floor (cancel)"}
	size := intstr.FromString("50%")
	for pair := 0; pair < pairs(); pair++ {
		name := fmt.Sprintf("cancel-%d", pair)
		_, err := releases.Create(ctx, &v1alpha1.Release{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: v1alpha1.ReleaseSpec{
				CloneSetName: "app", Action: v1alpha1.ActionUpdate,
				Template: &corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "app"}},
					Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: fmt.Sprintf("app:%d", pair+1)}}},
				},
				Strategy: v1alpha1.ReleaseStrategy{BatchSize: &size, Mode: v1alpha1.ModeManual},
			},
		}, metav1.CreateOptions{})
		require.NoError(t, err)
		require.NoError(t, wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 5*time.Minute, true, func(ctx context.Context) (bool, error) {
			r, err := releases.Get(ctx, name, metav1.GetOptions{})
			return err == nil && meta.IsStatusConditionTrue(r.Status.Conditions, v1alpha1.ConditionAwaitingNext), nil
		}), "release %s never waited for next", name)

		start := time.Now()
		_, err = releases.Cancel(ctx, name, &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{})
		require.NoError(t, err)
		cancel.Samples = append(cancel.Samples, time.Since(start))
		start = time.Now()
		_, err = c.kruise.AppsV1alpha1().CloneSets(ns).Patch(ctx, "app", types.MergePatchType,
			[]byte(fmt.Sprintf(`{"metadata":{"annotations":{"bench.triton.io/seq":"%d"}}}`, pair)), metav1.PatchOptions{})
		require.NoError(t, err)
		floor.Samples = append(floor.Samples, time.Since(start))

		require.NoError(t, wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 5*time.Minute, true, func(ctx context.Context) (bool, error) {
			r, err := releases.Get(ctx, name, metav1.GetOptions{})
			return err == nil && meta.IsStatusConditionTrue(r.Status.Conditions, v1alpha1.ConditionReverted), nil
		}), "release %s never let go of its CloneSet", name)
		waitUpdatedReady(t, ctx, c, ns, "app", replicas, "app:0")
	}
	return []stats.Row{{Scenario: "cancel", Measured: cancel, Baseline: &floor,
		Note: "cancel answers once the batch's 20 pods are out of traffic; baseline: a merge-patch of the same CloneSet through kube-apiserver, right after each call"}}
}
