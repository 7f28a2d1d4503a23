//go:build bench

package bench

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

// batchTrace records, on watches of a CloneSet and its pods, when each step of a rollout in batches
// happened, as this client saw it: the partition writes, each old pod marked for deletion by kruise
// (lifecycle state PreparingDelete) and deleted, each new pod made, its containers Ready and the pod
// Ready.
type batchTrace struct {
	mu         sync.Mutex
	partitions []stamp // the partition after each change
	preparing  map[string]time.Time
	deleting   map[string]time.Time
	made       map[string]time.Time
	containers map[string]time.Time
	ready      map[string]time.Time
}

type stamp struct {
	at    time.Time
	value int
}

// traceBatches starts the watches; the function returned stops them and returns, in ms, the median over
// batches of each step: partition write → the batch's old pods marked (kruise), marked → deleted (the
// drain: out of traffic, out of the EndpointSlices, let go), deleted → the new pods' containers Ready
// (kruise, the scheduler, kwok), containers Ready → pods Ready (the pull-in), pods Ready → the next
// partition write (Baked, and the controller's reaction). The k-th batch's step ends when the
// (k×size)-th pod reached it.
func traceBatches(t *testing.T, ctx context.Context, c *cluster, ns, name, image string, replicas, batches int) func() map[string]float64 {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	tr := &batchTrace{preparing: map[string]time.Time{}, deleting: map[string]time.Time{}, made: map[string]time.Time{},
		containers: map[string]time.Time{}, ready: map[string]time.Time{}}
	pods, err := c.kube.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{LabelSelector: "app=" + name})
	require.NoError(t, err)
	sets, err := c.kruise.AppsV1alpha1().CloneSets(ns).Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name})
	require.NoError(t, err)
	var wg sync.WaitGroup
	wg.Add(2)
	first := func(m map[string]time.Time, key string, now time.Time) {
		if _, ok := m[key]; !ok {
			m[key] = now
		}
	}
	go func() {
		defer wg.Done()
		for ev := range pods.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			now := time.Now()
			tr.mu.Lock()
			isNew := len(p.Spec.Containers) > 0 && p.Spec.Containers[0].Image == image
			switch {
			case !isNew && (ev.Type == watch.Deleted || p.DeletionTimestamp != nil):
				first(tr.deleting, p.Name, now)
				first(tr.preparing, p.Name, now)
			case !isNew && p.Labels["lifecycle.apps.kruise.io/state"] == "PreparingDelete":
				first(tr.preparing, p.Name, now)
			case isNew && ev.Type != watch.Deleted:
				first(tr.made, p.Name, now)
				for _, cond := range p.Status.Conditions {
					if cond.Status != corev1.ConditionTrue {
						continue
					}
					switch cond.Type {
					case corev1.ContainersReady:
						first(tr.containers, p.Name, now)
					case corev1.PodReady:
						first(tr.ready, p.Name, now)
					}
				}
			}
			tr.mu.Unlock()
		}
	}()
	go func() {
		defer wg.Done()
		last := -1
		for ev := range sets.ResultChan() {
			set, ok := ev.Object.(*kruiseappsv1alpha1.CloneSet)
			if !ok || set.Spec.UpdateStrategy.Partition == nil || len(set.Spec.Template.Spec.Containers) == 0 {
				continue
			}
			v := set.Spec.UpdateStrategy.Partition.IntValue()
			if set.Spec.Template.Spec.Containers[0].Image != image || v == last {
				continue
			}
			last = v
			tr.mu.Lock()
			tr.partitions = append(tr.partitions, stamp{at: time.Now(), value: v})
			tr.mu.Unlock()
		}
	}()
	return func() map[string]float64 {
		cancel()
		pods.Stop()
		sets.Stop()
		wg.Wait()
		return tr.steps(replicas, batches)
	}
}

// nth returns the n-th earliest time of m (1-based), or zero.
func nth(m map[string]time.Time, n int) time.Time {
	times := make([]time.Time, 0, len(m))
	for _, at := range m {
		times = append(times, at)
	}
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	if n < 1 || n > len(times) {
		return time.Time{}
	}
	return times[n-1]
}

func (tr *batchTrace) steps(replicas, batches int) map[string]float64 {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	written := func(k int) time.Time {
		for _, p := range tr.partitions {
			if p.value <= replicas-replicas*k/batches {
				return p.at
			}
		}
		return time.Time{}
	}
	names := []string{"partition → old pods marked", "marked → deleted (drain)", "deleted → new containers Ready",
		"containers Ready → pods Ready (pull-in)", "pods Ready → next partition"}
	samples := make([][]float64, len(names))
	for k := 1; k <= batches; k++ {
		n := replicas * k / batches
		at := []time.Time{written(k), nth(tr.preparing, n), nth(tr.deleting, n), nth(tr.containers, n), nth(tr.ready, n)}
		if k < batches {
			at = append(at, written(k+1))
		}
		for i := 0; i+1 < len(at); i++ {
			if !at[i].IsZero() && !at[i+1].IsZero() {
				samples[i] = append(samples[i], float64(at[i+1].Sub(at[i]).Microseconds())/1000)
			}
		}
	}
	out := map[string]float64{}
	for i, s := range samples {
		if len(s) == 0 {
			continue
		}
		sort.Float64s(s)
		out[fmt.Sprintf("median ms a batch, %d. %s", i+1, names[i])] = s[len(s)/2]
	}
	return out
}
