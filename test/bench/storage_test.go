//go:build bench

package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"

	"github.com/triton-io/triton/test/bench/stats"
)

var (
	releasesGVR = schema.GroupVersionResource{Group: "releases.triton.io", Version: "v1alpha1", Resource: "releases"}
	copiesGVR   = schema.GroupVersionResource{Group: "bench.triton.io", Version: "v1alpha1", Resource: "releasecopies"}
	crdGVR      = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
)

// objects is how many objects each storage level writes (BENCH_OBJECTS, default 300).
func objects() int {
	if n, err := strconv.Atoi(os.Getenv("BENCH_OBJECTS")); err == nil && n > 0 {
		return n
	}
	return 300
}

func releaseObject(gvr schema.GroupVersionResource, kind, name string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": gvr.Group + "/" + gvr.Version, "kind": kind,
		"metadata": map[string]interface{}{"name": name},
		"spec": map[string]interface{}{
			"cloneSetName": "cs-" + name, "action": "Create", "replicas": int64(4),
			"template": map[string]interface{}{
				"metadata": map[string]interface{}{"labels": map[string]interface{}{"app": name}},
				"spec": map[string]interface{}{"containers": []interface{}{
					map[string]interface{}{"name": "app", "image": "registry.example/app:1.0.0"},
				}},
			},
			"strategy": map[string]interface{}{"canary": int64(1), "batchSize": "50%", "mode": "Manual"},
		},
	}}
}

// benchCRD installs the ReleaseCopy CRD: the same objects stored the way the peers (a CRD and a
// controller) store theirs.
func benchCRD(t *testing.T, ctx context.Context, dyn dynamic.Interface) {
	t.Helper()
	crd := &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": map[string]interface{}{"name": "releasecopies.bench.triton.io"},
		"spec": map[string]interface{}{
			"group": "bench.triton.io", "scope": "Namespaced",
			"names": map[string]interface{}{"plural": "releasecopies", "singular": "releasecopy", "kind": "ReleaseCopy", "listKind": "ReleaseCopyList"},
			"versions": []interface{}{map[string]interface{}{
				"name": "v1alpha1", "served": true, "storage": true,
				"schema": map[string]interface{}{"openAPIV3Schema": map[string]interface{}{
					"type": "object", "x-kubernetes-preserve-unknown-fields": true,
				}},
			}},
		},
	}}
	_, err := dyn.Resource(crdGVR).Create(ctx, crd, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		require.NoError(t, err)
	}
	require.NoError(t, wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := dyn.Resource(copiesGVR).Namespace("default").List(ctx, metav1.ListOptions{Limit: 1})
		return err == nil, nil
	}), "the ReleaseCopy CRD is not served")
}

// interleaved runs op(i, ours) then op(i, peers) for i in [0,n) on workers goroutines, timing each.
func interleaved(t *testing.T, workers, n int, op func(i int, ours bool) error) (ours, peers []time.Duration) {
	t.Helper()
	samples := interleavedSides(t, workers, n, 2, func(i, side int) error { return op(i, side == 0) })
	return samples[0], samples[1]
}

// interleavedSides runs op(i, 0), op(i, 1), ... op(i, sides-1) in turn for i in [0,n) on workers
// goroutines, timing each: samples[side].
func interleavedSides(t *testing.T, workers, n, sides int, op func(i, side int) error) [][]time.Duration {
	t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	samples := make([][]time.Duration, sides)
	next := make(chan int)
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				for side := 0; side < sides; side++ {
					start := time.Now()
					if err := op(i, side); err != nil {
						errs <- err
						return
					}
					d := time.Since(start)
					mu.Lock()
					samples[side] = append(samples[side], d)
					mu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		select {
		case next <- i:
		case err := <-errs:
			close(next)
			wg.Wait()
			t.Fatal(err)
		}
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	return samples
}

// throughput estimates objects per second at a concurrency from the samples: each worker runs one call at
// a time, so workers / mean latency.
func throughput(samples []time.Duration, workers int) float64 {
	var sum time.Duration
	for _, d := range samples {
		sum += d
	}
	if sum == 0 {
		return 0
	}
	return float64(workers) * float64(len(samples)) / sum.Seconds()
}

// The sides of the storage figures, interleaved in this order for each object.
const (
	sideRelease = iota // triton-apiserver, through the aggregator
	sideBare           // the bare aggregated server, through the aggregator
	sideCRD            // the CRD, served by kube-apiserver itself
	storageSides
)

// storageGoal is how much of the bare server's objects/s an op must reach: creates 0.8 (a create is
// admitted: its plan and its CloneSet's claim), the others 0.95.
func storageGoal(op string) float64 {
	if op == "create" {
		return 0.8
	}
	return 0.95
}

// storage: Release create, get, update and list through the aggregator, against the same objects in the
// bare aggregated server (the goal's limit) and as a CRD served by kube-apiserver (its ratio printed), at 1,
// 8 and 32 concurrent clients, the three interleaved.
func storage(t *testing.T, ctx context.Context, c *cluster) []stats.Row {
	dyn := dynamic.NewForConfigOrDie(c.config)
	bare := c.bare(t, ctx)
	benchCRD(t, ctx, dyn)
	var namespaces []string
	holdController(t, ctx, c, &namespaces)
	n := objects()
	var rows []stats.Row
	for _, workers := range []int{1, 8, 32} {
		ns := c.namespace(t, ctx, fmt.Sprintf("bench-storage-%d", workers))
		namespaces = append(namespaces, ns)
		res := [storageSides]dynamic.ResourceInterface{
			sideRelease: dyn.Resource(releasesGVR).Namespace(ns),
			sideBare:    dyn.Resource(bareGVR).Namespace(ns),
			sideCRD:     dyn.Resource(copiesGVR).Namespace(ns),
		}
		obj := func(i, side int) *unstructured.Unstructured {
			name := fmt.Sprintf("r-%d", i)
			switch side {
			case sideBare:
				return releaseObject(bareGVR, "Release", name)
			case sideCRD:
				return releaseObject(copiesGVR, "ReleaseCopy", name)
			}
			return releaseObject(releasesGVR, "Release", name)
		}
		ops := []struct {
			name  string
			count int
			op    func(i, side int) error
		}{
			{"create", n, func(i, side int) error {
				_, err := res[side].Create(ctx, obj(i, side), metav1.CreateOptions{})
				return err
			}},
			{"get", n, func(i, side int) error {
				_, err := res[side].Get(ctx, fmt.Sprintf("r-%d", i), metav1.GetOptions{})
				return err
			}},
			{"update", n, func(i, side int) error {
				u, err := res[side].Get(ctx, fmt.Sprintf("r-%d", i), metav1.GetOptions{})
				if err != nil {
					return err
				}
				u.SetLabels(map[string]string{"bench": strconv.Itoa(i)})
				_, err = res[side].Update(ctx, u, metav1.UpdateOptions{})
				return err
			}},
			{"list", max(20, n/10), func(i, side int) error {
				_, err := res[side].List(ctx, metav1.ListOptions{})
				return err
			}},
		}
		for _, o := range ops {
			before, bareBefore := c.server.metrics(t, ctx), bare.server.metrics(t, ctx)
			samples := interleavedSides(t, workers, o.count, storageSides, o.op)
			after, bareAfter := c.server.since(t, ctx, before), bare.server.since(t, ctx, bareBefore)
			var rate [storageSides]float64
			for side := range rate {
				rate[side] = throughput(samples[side], workers) * listSize(o.name, n)
			}
			measured := stats.Series{Name: fmt.Sprintf("release %s ×%d", o.name, workers), Samples: samples[sideRelease]}
			values := map[string]float64{"objects/s": rate[sideRelease], "bare objects/s": rate[sideBare]}
			note := serverWaits(values, before, after, bareBefore, bareAfter)
			rows = append(rows, stats.Row{
				Scenario: "storage",
				Measured: measured,
				Baseline: &stats.Series{Name: fmt.Sprintf("bare %s ×%d", o.name, workers), Samples: samples[sideBare]},
				Note:     note,
				Values:   values,
				Goals: []stats.Goal{stats.RateGoal(fmt.Sprintf("release %s ×%d, objects/s ÷ the bare server's", o.name, workers),
					rate[sideRelease], rate[sideBare], storageGoal(o.name))},
			}, stats.Row{
				Scenario: "storage",
				Measured: measured,
				Baseline: &stats.Series{Name: fmt.Sprintf("CRD %s ×%d", o.name, workers), Samples: samples[sideCRD]},
				Values:   map[string]float64{"objects/s": rate[sideRelease], "CRD objects/s": rate[sideCRD]},
			})
		}
		// The bare server's objects go with their namespace, while it still serves them.
		_ = res[sideBare].DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
	}
	return rows
}

// listSize: a list returns all n objects; other calls one.
func listSize(op string, n int) float64 {
	if op == "list" {
		return float64(n)
	}
	return 1
}

// dirSize is the bytes under dir.
func dirSize(dir string) int64 {
	var total int64
	_ = filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			total += info.Size()
		}
		return nil
	})
	return total
}

// memory is a process's resident memory apart, from /proc (zero when unreadable).
func memory(pid int) stats.Memory {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return stats.Memory{}
	}
	m, _ := stats.MemoryOf(string(raw))
	return m
}
