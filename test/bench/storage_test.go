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
	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"

	"github.com/triton-io/triton/pkg/release/controller"
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

// holdController takes the release controller's Lease for the bench, so that the stored Releases (Create
// releases of CloneSets that do not exist) stay Pending and make no CloneSets. c.letController gives it back:
// it deletes what the bench stored in namespaces first, then the Lease; it runs at the end of the run at
// the latest.
func holdController(t *testing.T, ctx context.Context, c *cluster, namespaces *[]string) {
	t.Helper()
	leases := c.kube.CoordinationV1().Leases("triton-system")
	name := controller.DefaultElection().Name
	now := metav1.NewMicroTime(time.Now())
	require.NoError(t, wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		l, err := leases.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			l = &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: name}}
			l.Spec.HolderIdentity, l.Spec.LeaseDurationSeconds, l.Spec.AcquireTime, l.Spec.RenewTime = ptr("bench"), ptr(int32(3600)), &now, &now
			_, err = leases.Create(ctx, l, metav1.CreateOptions{})
			return err == nil, nil
		}
		if err != nil {
			return false, nil
		}
		l.Spec.HolderIdentity, l.Spec.LeaseDurationSeconds, l.Spec.AcquireTime, l.Spec.RenewTime = ptr("bench"), ptr(int32(3600)), &now, &now
		_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
		return err == nil, nil
	}), "taking the controller's Lease")
	var once sync.Once
	previous := c.letController
	c.letController = func() {
		once.Do(func() {
			ctx := context.Background()
			dyn := dynamic.NewForConfigOrDie(c.config)
			for _, ns := range *namespaces {
				_ = dyn.Resource(releasesGVR).Namespace(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
			}
			_ = leases.Delete(ctx, name, metav1.DeleteOptions{})
		})
		if previous != nil {
			previous()
		}
	}
	t.Cleanup(c.letController)
	// The server notices at its next renewal (every 2 s at most) and stops reconciling.
	time.Sleep(3 * time.Second)
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
	var mu sync.Mutex
	var wg sync.WaitGroup
	next := make(chan int)
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				for _, side := range []bool{true, false} {
					start := time.Now()
					if err := op(i, side); err != nil {
						errs <- err
						return
					}
					d := time.Since(start)
					mu.Lock()
					if side {
						ours = append(ours, d)
					} else {
						peers = append(peers, d)
					}
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
	return ours, peers
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

// storage: Release create, get, update and list through the aggregator, against the same objects as a
// CRD served by kube-apiserver, at 1, 8 and 32 concurrent clients.
func storage(t *testing.T, ctx context.Context, c *cluster) []stats.Row {
	dyn := dynamic.NewForConfigOrDie(c.config)
	benchCRD(t, ctx, dyn)
	var namespaces []string
	holdController(t, ctx, c, &namespaces)
	n := objects()
	var rows []stats.Row
	for _, workers := range []int{1, 8, 32} {
		ns := c.namespace(t, ctx, fmt.Sprintf("bench-storage-%d", workers))
		namespaces = append(namespaces, ns)
		res := func(ours bool) dynamic.ResourceInterface {
			if ours {
				return dyn.Resource(releasesGVR).Namespace(ns)
			}
			return dyn.Resource(copiesGVR).Namespace(ns)
		}
		obj := func(i int, ours bool) *unstructured.Unstructured {
			if ours {
				return releaseObject(releasesGVR, "Release", fmt.Sprintf("r-%d", i))
			}
			return releaseObject(copiesGVR, "ReleaseCopy", fmt.Sprintf("r-%d", i))
		}
		ops := []struct {
			name  string
			count int
			op    func(i int, ours bool) error
		}{
			{"create", n, func(i int, ours bool) error {
				_, err := res(ours).Create(ctx, obj(i, ours), metav1.CreateOptions{})
				return err
			}},
			{"get", n, func(i int, ours bool) error {
				_, err := res(ours).Get(ctx, fmt.Sprintf("r-%d", i), metav1.GetOptions{})
				return err
			}},
			{"update", n, func(i int, ours bool) error {
				u, err := res(ours).Get(ctx, fmt.Sprintf("r-%d", i), metav1.GetOptions{})
				if err != nil {
					return err
				}
				u.SetLabels(map[string]string{"bench": strconv.Itoa(i)})
				_, err = res(ours).Update(ctx, u, metav1.UpdateOptions{})
				return err
			}},
			{"list", max(20, n/10), func(i int, ours bool) error {
				_, err := res(ours).List(ctx, metav1.ListOptions{})
				return err
			}},
		}
		for _, o := range ops {
			ours, peers := interleaved(t, workers, o.count, o.op)
			ourRate, crdRate := throughput(ours, workers)*listSize(o.name, n), throughput(peers, workers)*listSize(o.name, n)
			rows = append(rows, stats.Row{
				Scenario: "storage",
				Measured: stats.Series{Name: fmt.Sprintf("release %s ×%d", o.name, workers), Samples: ours},
				Baseline: &stats.Series{Name: fmt.Sprintf("CRD %s ×%d", o.name, workers), Samples: peers},
				Values:   map[string]float64{"objects/s": ourRate, "CRD objects/s": crdRate},
				Goals: []stats.Goal{{Figure: fmt.Sprintf("release %s ×%d, objects/s ÷ the CRD's", o.name, workers),
					Got: ourRate / crdRate, Limit: 1, AtLeast: true}},
			})
		}
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

// rss is a process's resident memory in bytes, from /proc.
func rss(pid int) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}
