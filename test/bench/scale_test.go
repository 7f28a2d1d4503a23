//go:build bench

package bench

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/test/bench/stats"
)

// scaleReleases is how many Releases the scale scenario stores (BENCH_RELEASES, default 10000).
func scaleReleases() int {
	if n, err := strconv.Atoi(os.Getenv("BENCH_RELEASES")); err == nil && n > 0 {
		return n
	}
	return 10000
}

func tritonPID() int {
	raw, err := os.ReadFile(filepath.Join(localDir(), "pids", "triton-apiserver.pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(raw)))
	return pid
}

// scale: many Releases in one namespace. The fill at 32 clients, interleaved with the same objects in the
// bare server and as the CRD's; then, all of them canceled (finished releases: the controller holds them and
// has nothing to do with them) and the controller running again, the server's memory, a full list through
// the aggregator (protobuf, the generated clientset's default, against JSON), one update delivered to 50
// watchers, and the delete of them all with the server's memory sampled meanwhile.
func scale(t *testing.T, ctx context.Context, c *cluster) []stats.Row {
	dyn := dynamic.NewForConfigOrDie(c.config)
	bare := c.bare(t, ctx)
	// The Releases earlier scenarios stored are deleted first: once the controller is back, it must find
	// only this scenario's.
	controllerBack(t, ctx, c)
	var namespaces []string
	giveBack := holdController(t, ctx, c, &namespaces)
	ns := c.namespace(t, ctx, "bench-scale")
	namespaces = append(namespaces, ns)
	releases := dyn.Resource(releasesGVR).Namespace(ns)
	typed := c.releases.ReleasesV1alpha1().Releases(ns)
	n := scaleReleases()
	pid := tritonPID()
	etcdDir := filepath.Join(localDir(), "triton-etcd")
	memBefore, etcdBefore := memory(pid), dirSize(etcdDir)
	name := func(i int) string { return fmt.Sprintf("r-%05d", i) }

	// The fill, interleaved with the same objects in the bare server and as the CRD's (in the same
	// namespace).
	benchCRD(t, ctx, dyn)
	res := [storageSides]dynamic.ResourceInterface{
		sideRelease: releases,
		sideBare:    dyn.Resource(bareGVR).Namespace(ns),
		sideCRD:     dyn.Resource(copiesGVR).Namespace(ns),
	}
	kinds := [storageSides]struct {
		gvr  schema.GroupVersionResource
		kind string
	}{sideRelease: {releasesGVR, "Release"}, sideBare: {bareGVR, "Release"}, sideCRD: {copiesGVR, "ReleaseCopy"}}
	before, bareBefore := c.server.metrics(t, ctx), bare.server.metrics(t, ctx)
	filled := interleavedSides(t, 32, n, storageSides, func(i, side int) error {
		_, err := res[side].Create(ctx, releaseObject(kinds[side].gvr, kinds[side].kind, name(i)), metav1.CreateOptions{})
		return err
	})
	after, bareAfter := c.server.since(t, ctx, before), bare.server.since(t, ctx, bareBefore)
	var rate [storageSides]float64
	for side := range rate {
		rate[side] = throughput(filled[side], 32)
	}
	fill := stats.Series{Name: fmt.Sprintf("create %d releases ×32", n), Samples: filled[sideRelease]}
	fillValues := map[string]float64{"objects/s": rate[sideRelease], "bare objects/s": rate[sideBare]}
	fillNote := serverWaits(fillValues, before, after, bareBefore, bareAfter)
	// The bare server's objects go now, while it serves them; the CRD's with the namespace.
	_ = res[sideBare].DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})

	// Finished: canceled before they started, which moves no CloneSet.
	canceled := interleavedSides(t, 32, n, 1, func(i, _ int) error {
		_, err := typed.Cancel(ctx, name(i), &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{})
		return err
	})[0]

	// The controller back, with every one of them in its informer; its memory once it is quiet.
	taking := c.server.metrics(t, ctx)
	giveBack()
	waitController(t, ctx, c)
	quiet(t, ctx, func(ctx context.Context) float64 { return c.server.metrics(t, ctx).reconciles() })
	steady := settledMemory(ctx, pid)
	reconciles := c.server.since(t, ctx, taking).reconciles() - taking.reconciles()

	// Full lists, protobuf (the generated clientset) and JSON (the dynamic client), interleaved.
	pb, js := interleaved(t, 1, 10, func(_ int, protobuf bool) error {
		if protobuf {
			l, err := typed.List(ctx, metav1.ListOptions{})
			if err == nil && len(l.Items) != n {
				err = fmt.Errorf("a protobuf list of %d releases of %d", len(l.Items), n)
			}
			return err
		}
		l, err := releases.List(ctx, metav1.ListOptions{})
		if err == nil && len(l.Items) != n {
			err = fmt.Errorf("a JSON list of %d releases of %d", len(l.Items), n)
		}
		return err
	})

	delivery := watchDelivery(t, ctx, releases, name)

	// Delete them all (the controller lets each go), sampling the server's memory every 100 ms.
	peak := steady
	deleteStart := time.Now()
	require.NoError(t, releases.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}))
	left, checked := -1, time.Now()
	require.NoError(t, wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 15*time.Minute, true, func(ctx context.Context) (bool, error) {
		m := memory(pid)
		peak.Anon, peak.File = max(peak.Anon, m.Anon), max(peak.File, m.File)
		if time.Since(checked) < time.Second {
			return false, nil
		}
		// About once a second: is any left?
		checked = time.Now()
		l, err := typed.List(ctx, metav1.ListOptions{Limit: 1})
		if err != nil {
			return false, nil
		}
		left = len(l.Items)
		return left == 0, nil
	}), "all %d releases deleted (some still there: %d)", n, left)
	deleted := time.Since(deleteStart)
	etcdAfter := dirSize(etcdDir)
	// The memory read was this server's all along.
	c.server.since(t, ctx, before)

	mib := func(m stats.Memory) (float64, float64) { return stats.MiB(m.Anon), stats.MiB(m.File) }
	beforeAnon, beforeFile := mib(memBefore)
	steadyAnon, steadyFile := mib(steady)
	peakAnon, peakFile := mib(peak)
	peakRatio := math.NaN()
	if steady.Anon > 0 {
		peakRatio = float64(peak.Anon) / float64(steady.Anon)
	}
	return []stats.Row{
		{Scenario: "scale", Measured: fill,
			Baseline: &stats.Series{Name: fmt.Sprintf("create %d bare objects ×32", n), Samples: filled[sideBare]},
			Note:     join("interleaved with the same objects in the bare server and as the CRD's", fillNote),
			Values:   fillValues,
			Goals: []stats.Goal{stats.RateGoal(fmt.Sprintf("fill of %d releases at 32 clients, objects/s ÷ the bare server's", n),
				rate[sideRelease], rate[sideBare], 0.8)}},
		{Scenario: "scale", Measured: fill,
			Baseline: &stats.Series{Name: fmt.Sprintf("create %d CRD objects ×32", n), Samples: filled[sideCRD]},
			Values:   map[string]float64{"objects/s": rate[sideRelease], "CRD objects/s": rate[sideCRD]}},
		{Scenario: "scale", Measured: stats.Series{Name: fmt.Sprintf("cancel of a Pending release ×32 (%d)", n), Samples: canceled},
			Note: "makes the releases finished, so that the controller holds them with nothing to do"},
		{Scenario: "scale", Measured: stats.Series{Name: fmt.Sprintf("list %d releases, protobuf", n), Samples: pb},
			Baseline: &stats.Series{Name: fmt.Sprintf("list %d releases, JSON", n), Samples: js},
			Note: "through the aggregator; the generated clientset (protobuf, its default) against the dynamic client (JSON); " +
				"memory: the server's RSS apart, before the fill and with every release stored and the controller running, quiet",
			Values: map[string]float64{
				"anonymous RSS MiB before": beforeAnon, "anonymous RSS MiB steady": steadyAnon,
				"file-backed RSS MiB before": beforeFile, "file-backed RSS MiB steady": steadyFile,
				"etcd MiB before": float64(etcdBefore >> 20), "etcd MiB after the delete": float64(etcdAfter >> 20),
				"reconciles as the controller took them": reconciles,
			},
			Goals: []stats.Goal{
				{Figure: fmt.Sprintf("anonymous RSS with %d releases, controller running, MiB", n), Got: steadyAnon, Limit: 200},
				{Figure: fmt.Sprintf("full protobuf list of %d releases, median s", n), Got: stats.Series{Samples: pb}.Median().Seconds(), Limit: 0.3},
			}},
		{Scenario: "scale", Measured: delivery, Note: "from the patch being sent to each watcher receiving it, 20 updates"},
		{Scenario: "scale", Measured: stats.Series{Name: fmt.Sprintf("delete %d releases, until none is left", n), Samples: []time.Duration{deleted}},
			Note: "one delete of the collection; the controller lets each go; memory sampled every 100 ms",
			Values: map[string]float64{"anonymous RSS MiB steady": steadyAnon, "anonymous RSS MiB peak": peakAnon,
				"file-backed RSS MiB steady": steadyFile, "file-backed RSS MiB peak": peakFile},
			Goals: []stats.Goal{{Figure: fmt.Sprintf("delete of %d releases: peak anonymous RSS ÷ steady", n), Got: peakRatio, Limit: 1.5}}},
	}
}

// watchDelivery: 50 watchers from now; each of 20 updates (a label on one release) must reach all of
// them: from the patch being sent to each watcher receiving it.
func watchDelivery(t *testing.T, ctx context.Context, releases dynamic.ResourceInterface, name func(int) string) stats.Series {
	const watchers = 50
	l, err := releases.List(ctx, metav1.ListOptions{Limit: 1})
	require.NoError(t, err)
	rv := l.GetResourceVersion()
	var ws []watch.Interface
	for i := 0; i < watchers; i++ {
		w, err := releases.Watch(ctx, metav1.ListOptions{ResourceVersion: rv})
		require.NoError(t, err)
		ws = append(ws, w)
	}
	defer func() {
		for _, w := range ws {
			w.Stop()
		}
	}()
	delivery := stats.Series{Name: fmt.Sprintf("watch delivery to %d watchers", watchers)}
	for round := 0; round < 20; round++ {
		target := name(round)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var received []time.Time
		for _, w := range ws {
			wg.Add(1)
			go func(w watch.Interface) {
				defer wg.Done()
				for ev := range w.ResultChan() {
					if m, ok := ev.Object.(metav1.Object); ok && m.GetName() == target && m.GetLabels()["round"] == strconv.Itoa(round) {
						at := time.Now()
						mu.Lock()
						received = append(received, at)
						mu.Unlock()
						return
					}
				}
			}(w)
		}
		patch := []byte(fmt.Sprintf(`{"metadata":{"labels":{"round":"%d"}}}`, round))
		sent := time.Now()
		_, err := releases.Patch(ctx, target, types.MergePatchType, patch, metav1.PatchOptions{})
		require.NoError(t, err)
		wg.Wait()
		for _, at := range received {
			delivery.Samples = append(delivery.Samples, at.Sub(sent))
		}
	}
	return delivery
}

// join joins the notes that are not empty.
func join(notes ...string) string {
	var kept []string
	for _, n := range notes {
		if n != "" {
			kept = append(kept, n)
		}
	}
	return strings.Join(kept, "; ")
}
