//go:build bench

package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"

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

// scale: many Releases in one namespace: list latency through the aggregator, 50 watchers receiving an
// update (delivery latency), the server's RSS and the embedded etcd's size.
func scale(t *testing.T, ctx context.Context, c *cluster) []stats.Row {
	dyn := dynamic.NewForConfigOrDie(c.config)
	var namespaces []string
	holdController(t, ctx, c, &namespaces)
	ns := c.namespace(t, ctx, "bench-scale")
	namespaces = append(namespaces, ns)
	releases := dyn.Resource(releasesGVR).Namespace(ns)
	n := scaleReleases()
	pid := tritonPID()
	etcdDir := filepath.Join(localDir(), "triton-etcd")
	rssBefore, etcdBefore := rss(pid), dirSize(etcdDir)

	// The fill, interleaved with the same objects created as the CRD's (in the same namespace).
	benchCRD(t, ctx, dyn)
	copies := dyn.Resource(copiesGVR).Namespace(ns)
	created, crdCreated := interleaved(t, 32, n, func(i int, ours bool) error {
		if !ours {
			_, err := copies.Create(ctx, releaseObject(copiesGVR, "ReleaseCopy", fmt.Sprintf("r-%05d", i)), metav1.CreateOptions{})
			return err
		}
		_, err := releases.Create(ctx, releaseObject(releasesGVR, "Release", fmt.Sprintf("r-%05d", i)), metav1.CreateOptions{})
		return err
	})
	fillRate, crdFillRate := throughput(created, 32), throughput(crdCreated, 32)

	list := stats.Series{Name: fmt.Sprintf("list %d releases", n)}
	for i := 0; i < 10; i++ {
		start := time.Now()
		l, err := releases.List(ctx, metav1.ListOptions{})
		require.NoError(t, err)
		require.Len(t, l.Items, n)
		list.Samples = append(list.Samples, time.Since(start))
	}

	// 50 watchers from now; each update of one release must reach all of them.
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
		name := fmt.Sprintf("r-%05d", round)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var received []time.Time
		for _, w := range ws {
			wg.Add(1)
			go func(w watch.Interface) {
				defer wg.Done()
				for ev := range w.ResultChan() {
					if m, ok := ev.Object.(metav1.Object); ok && m.GetName() == name && m.GetLabels()["round"] == strconv.Itoa(round) {
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
		_, err := releases.Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
		require.NoError(t, err)
		wg.Wait()
		for _, at := range received {
			delivery.Samples = append(delivery.Samples, at.Sub(sent))
		}
	}

	rssAfter, etcdAfter := rss(pid), dirSize(etcdDir)
	return []stats.Row{
		{Scenario: "scale", Measured: stats.Series{Name: fmt.Sprintf("create %d releases ×32", n), Samples: created},
			Baseline: &stats.Series{Name: fmt.Sprintf("create %d CRD objects ×32", n), Samples: crdCreated},
			Note:     "interleaved with the same objects created as the CRD's",
			Values:   map[string]float64{"objects/s": fillRate, "CRD objects/s": crdFillRate},
			Goals: []stats.Goal{{Figure: fmt.Sprintf("fill of %d releases at 32 clients, objects/s ÷ the CRD's", n),
				Got: fillRate / crdFillRate, Limit: 1, AtLeast: true}}},
		{Scenario: "scale", Measured: list, Values: map[string]float64{
			"server RSS MiB before": float64(rssBefore >> 20), "server RSS MiB after": float64(rssAfter >> 20),
			"etcd MiB before": float64(etcdBefore >> 20), "etcd MiB after": float64(etcdAfter >> 20),
		}, Goals: []stats.Goal{
			{Figure: fmt.Sprintf("server RSS with %d releases, MiB", n), Got: float64(rssAfter >> 20), Limit: 200},
			{Figure: fmt.Sprintf("full list of %d releases, median s", n), Got: list.Median().Seconds(), Limit: 0.5},
		}},
		{Scenario: "scale", Measured: delivery, Note: "from the patch being sent to each watcher receiving it, 20 updates"},
	}
}
