//go:build bench

package bench

import (
	"context"
	"fmt"
	"math"
	"os"
	"strconv"
	"testing"
	"time"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/triton-io/triton/test/bench/stats"
)

// untouchedPods is how many pods the untouched scenario makes (BENCH_PODS, default 10,000).
func untouchedPods() int {
	if n, err := strconv.Atoi(os.Getenv("BENCH_PODS")); err == nil && n > 0 {
		return n
	}
	return 10000
}

// untouched: kwok pods in CloneSets no release touches (made by kruise-manager, 500 to a CloneSet): what they
// add to the server's memory (its caches hold every CloneSet's pods, trimmed) and how many reconciles
// they cause (none should: no release of theirs exists to wake).
func untouched(t *testing.T, ctx context.Context, c *cluster) []stats.Row {
	// The controller must be running for "no reconcile" to mean anything: the Lease back from the storage
	// scenarios (their Releases deleted first), and quiet.
	controllerBack(t, ctx, c)
	scrape := func(ctx context.Context) float64 { return c.server.metrics(t, ctx).reconciles() }
	quiet(t, ctx, scrape)

	n := untouchedPods()
	pid := tritonPID()
	scraped := c.server.metrics(t, ctx)
	memBefore, reconcilesBefore := memory(pid), scraped.reconciles()
	ns := c.namespace(t, ctx, "bench-untouched")
	start := time.Now()
	for i := 0; i*500 < n; i++ {
		replicas := int32(min(500, n-i*500))
		labels := map[string]string{"app": fmt.Sprintf("idle-%d", i)}
		_, err := c.kruise.AppsV1alpha1().CloneSets(ns).Create(ctx, &kruiseappsv1alpha1.CloneSet{
			ObjectMeta: metav1.ObjectMeta{Name: labels["app"]},
			Spec: kruiseappsv1alpha1.CloneSetSpec{
				Replicas: &replicas,
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:0"}}},
				},
			},
		}, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	require.NoError(t, wait.PollUntilContextTimeout(ctx, 5*time.Second, 30*time.Minute, true, func(ctx context.Context) (bool, error) {
		list, err := c.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{ResourceVersion: "0"})
		if err != nil {
			return false, nil
		}
		running := 0
		for _, p := range list.Items {
			if p.Status.Phase == corev1.PodRunning {
				running++
			}
		}
		return running >= n, nil
	}), "%d pods Running", n)
	up := time.Since(start)
	// The server's caches have every pod once its RSS stops growing.
	memAfter := settledMemory(ctx, pid)
	reconcilesAfter := c.server.since(t, ctx, scraped).reconciles()
	extra := stats.MiB(memAfter.Anon - memBefore.Anon)
	rssFigure := fmt.Sprintf("%d untouched kwok pods: extra anonymous RSS, MiB", n)
	if c.scenariosRun > 0 {
		// After other scenarios the server has free heap to reuse, and RSS does not show what the pods
		// take (seen: 7.8 MiB after the 10,000-release scenario, 71 MiB on a fresh server).
		extra = math.NaN()
		rssFigure += " (measured only as the run's first scenario: BENCH=untouched on a fresh server)"
	}
	return []stats.Row{{
		Scenario: "untouched",
		Measured: stats.Series{Name: fmt.Sprintf("%d kwok pods in CloneSets no release touches, until Running", n), Samples: []time.Duration{up}},
		Note:     "made by kruise-manager, 500 to a CloneSet",
		Values: map[string]float64{
			"anonymous RSS MiB before": stats.MiB(memBefore.Anon), "anonymous RSS MiB after": stats.MiB(memAfter.Anon),
			"file-backed RSS MiB before": stats.MiB(memBefore.File), "file-backed RSS MiB after": stats.MiB(memAfter.File),
			"reconciles": reconcilesAfter - reconcilesBefore},
		Goals: []stats.Goal{
			{Figure: rssFigure, Got: extra, Limit: 16},
			{Figure: fmt.Sprintf("%d untouched kwok pods: reconciles", n), Got: reconcilesAfter - reconcilesBefore, Limit: 0},
		},
	}}
}

// quiet waits until the controller has made no reconcile for 10 s.
func quiet(t *testing.T, ctx context.Context, scrape func(context.Context) float64) {
	t.Helper()
	last, since := scrape(ctx), time.Now()
	require.NoError(t, wait.PollUntilContextTimeout(ctx, time.Second, 5*time.Minute, true, func(ctx context.Context) (bool, error) {
		if now := scrape(ctx); now != last {
			last, since = now, time.Now()
		}
		return time.Since(since) >= 10*time.Second, nil
	}), "the controller quiet for 10 s")
}

// settledMemory is the server's resident memory once two readings 5 s apart are within 1 MiB of each
// other, anonymous and file-backed alike (at most a minute).
func settledMemory(ctx context.Context, pid int) stats.Memory {
	last := memory(pid)
	for i := 0; i < 12 && ctx.Err() == nil; i++ {
		time.Sleep(5 * time.Second)
		now := memory(pid)
		if within(now.Anon, last.Anon, 1<<20) && within(now.File, last.File, 1<<20) {
			return now
		}
		last = now
	}
	return last
}

func within(a, b, d int64) bool { return a-b < d && b-a < d }
