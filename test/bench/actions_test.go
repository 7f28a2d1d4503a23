//go:build bench

package bench

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
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

// calls is how many calls of each verb are measured (BENCH_CALLS, default 300).
func calls() int {
	if n, err := strconv.Atoi(os.Getenv("BENCH_CALLS")); err == nil && n > 0 {
		return n
	}
	return 300
}

// lane is a CloneSet with a Manual release of batches of one pod; while that release waits for next,
// a call can be measured on it. When a release ends, the lane starts the next one (the other image).
type lane struct {
	ns, cloneSet string
	seq          int
	release      string
}

const laneReplicas = 3

func newLane(t *testing.T, ctx context.Context, c *cluster, ns string, i int) *lane {
	t.Helper()
	l := &lane{ns: ns, cloneSet: fmt.Sprintf("lane-%d", i)}
	replicas := int32(laneReplicas)
	labels := map[string]string{"app": l.cloneSet}
	_, err := c.kruise.AppsV1alpha1().CloneSets(ns).Create(ctx, &kruiseappsv1alpha1.CloneSet{
		ObjectMeta: metav1.ObjectMeta{Name: l.cloneSet},
		Spec: kruiseappsv1alpha1.CloneSetSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:0"}}},
			},
			UpdateStrategy: kruiseappsv1alpha1.CloneSetUpdateStrategy{Type: kruiseappsv1alpha1.RecreateCloneSetUpdateStrategyType},
		},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	require.NoError(t, wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		cs, err := c.kruise.AppsV1alpha1().CloneSets(ns).Get(ctx, l.cloneSet, metav1.GetOptions{})
		return err == nil && cs.Status.ReadyReplicas == replicas, nil
	}))
	return l
}

// start creates the lane's next release: the other image, batches of one pod, Manual.
func (l *lane) start(t *testing.T, ctx context.Context, c *cluster) {
	t.Helper()
	l.seq++
	size := intstr.FromInt32(1)
	l.release = fmt.Sprintf("%s-%d", l.cloneSet, l.seq)
	_, err := c.releases.ReleasesV1alpha1().Releases(l.ns).Create(ctx, &v1alpha1.Release{
		ObjectMeta: metav1.ObjectMeta{Name: l.release},
		Spec: v1alpha1.ReleaseSpec{
			CloneSetName: l.cloneSet, Action: v1alpha1.ActionUpdate,
			Template: &corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": l.cloneSet}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: fmt.Sprintf("app:%d", l.seq)}}},
			},
			Strategy: v1alpha1.ReleaseStrategy{BatchSize: &size, Mode: v1alpha1.ModeManual},
		},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
}

// waiting returns the lane's release once it waits for next (starting a new one if it has ended).
func (l *lane) waiting(t *testing.T, ctx context.Context, c *cluster) *v1alpha1.Release {
	t.Helper()
	var got *v1alpha1.Release
	require.NoError(t, wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		r, err := c.releases.ReleasesV1alpha1().Releases(l.ns).Get(ctx, l.release, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		if r.Status.Phase == v1alpha1.ReleaseSucceeded {
			l.start(t, ctx, c)
			return false, nil
		}
		got = r
		return meta.IsStatusConditionTrue(r.Status.Conditions, v1alpha1.ConditionAwaitingNext), nil
	}), "lane %s: release %s never waited for next", l.cloneSet, l.release)
	return got
}

// floor is one merge-patch of the lane's CloneSet through kube-apiserver: one of the writes every call
// makes anyway, and what a person patching the CloneSet by hand would do.
func (l *lane) floor(ctx context.Context, c *cluster, i int) (time.Duration, error) {
	patch := []byte(fmt.Sprintf(`{"metadata":{"annotations":{"bench.triton.io/seq":"%d"}}}`, i))
	start := time.Now()
	_, err := c.kruise.AppsV1alpha1().CloneSets(l.ns).Patch(ctx, l.cloneSet, types.MergePatchType, patch, metav1.PatchOptions{})
	return time.Since(start), err
}

// actionLatency: next, pause and resume through kube-apiserver with the typed client, each call followed
// by the floor on the same CloneSet. Lanes take turns so that a lane's pods come up while the others are
// called; calls are made one at a time.
func actionLatency(t *testing.T, ctx context.Context, c *cluster) []stats.Row {
	ns := c.namespace(t, ctx, "bench-actions")
	n := calls()
	lanes := make([]*lane, 6)
	for i := range lanes {
		lanes[i] = newLane(t, ctx, c, ns, i)
		lanes[i].start(t, ctx, c)
	}
	releases := c.releases.ReleasesV1alpha1().Releases(ns)
	before := c.server.metrics(t, ctx)
	series := map[string]*stats.Series{}
	for _, name := range []string{"next", "pause", "resume", "floor (next)", "floor (pause)", "floor (resume)"} {
		series[name] = &stats.Series{Name: name}
	}
	measure := func(verb string, l *lane, call func() error) {
		start := time.Now()
		require.NoError(t, call(), "%s %s", verb, l.release)
		series[verb].Samples = append(series[verb].Samples, time.Since(start))
		d, err := l.floor(ctx, c, len(series[verb].Samples))
		require.NoError(t, err)
		floor := series["floor ("+verb+")"]
		floor.Samples = append(floor.Samples, d)
	}
	for i := 0; len(series["next"].Samples) < n; i++ {
		l := lanes[i%len(lanes)]
		r := l.waiting(t, ctx, c)
		if len(series["pause"].Samples) < n {
			// The release waits, its CloneSet still: pause pins it and sets paused, resume undoes it.
			measure("pause", l, func() error {
				_, err := releases.Pause(ctx, l.release, &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{})
				return err
			})
			measure("resume", l, func() error {
				_, err := releases.Resume(ctx, l.release, &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{})
				return err
			})
			r = l.waiting(t, ctx, c)
		}
		batch := r.Status.CurrentBatch
		measure("next", l, func() error {
			_, err := releases.Next(ctx, l.release, &v1alpha1.ReleaseRequest{ExpectedBatch: &batch}, metav1.CreateOptions{})
			return err
		})
	}
	after := c.server.since(t, ctx, before)
	var rows []stats.Row
	for _, verb := range []string{"next", "pause", "resume"} {
		row := stats.Row{
			Scenario: "action latency",
			Measured: *series[verb],
			Baseline: series["floor ("+verb+")"],
			Note:     "baseline: a merge-patch of the same CloneSet through kube-apiserver, right after each call",
		}
		row.Values = map[string]float64{}
		if !conflicts(row.Values, before, after, verb) {
			row.Note += "; CloneSet write conflicts: " + stats.NotServed
		}
		row.Goals = row.RatioGoals(1.5)
		rows = append(rows, row)
	}
	return rows
}

// pairs is how many interleaved pairs a rollout scenario runs (BENCH_PAIRS, default 3).
func pairs() int {
	if n, err := strconv.Atoi(os.Getenv("BENCH_PAIRS")); err == nil && n > 0 {
		return n
	}
	return 3
}
