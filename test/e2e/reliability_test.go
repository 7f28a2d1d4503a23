//go:build e2e

package e2e

// Shared by the reliability tests (issue 8): a fleet of CloneSets, a driver that moves many releases with
// concurrent `next` calls, and a log of every partition each CloneSet had. `make test` runs the short
// versions; `make test-reliability` sets TRITON_RELIABILITY=full for the long ones.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/generated/clientset/versioned"
	"github.com/triton-io/triton/pkg/generated/informers/externalversions"
	"github.com/triton-io/triton/test/bench/stats"
	"github.com/triton-io/triton/test/e2e/framework"
)

// full reports whether the long versions run (make test-reliability).
func full() bool { return os.Getenv("TRITON_RELIABILITY") == "full" }

// sized is short in make test and long in make test-reliability.
func sized(short, long int) int {
	if full() {
		return long
	}
	return short
}

// fleet creates n CloneSets app-000, app-001, ... of replicas pods at image v1 (ReCreate updates) and
// waits until every pod is ready.
func fleet(t *testing.T, ctx context.Context, c *framework.Cluster, ns string, n int, replicas int32) []string {
	t.Helper()
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("app-%03d", i)
		cs := framework.NewCloneSet(names[i], replicas, framework.WithContainer("app", "app:v1"))
		_, err := c.Kruise.AppsV1alpha1().CloneSets(ns).Create(ctx, cs, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	framework.WaitUntil(t, ctx, "the fleet to come up", func(ctx context.Context) (struct{}, bool, string) {
		list, err := c.Kruise.AppsV1alpha1().CloneSets(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return struct{}{}, false, err.Error()
		}
		ready := 0
		for _, cs := range list.Items {
			if cs.Status.ReadyReplicas == replicas && cs.Status.UpdatedReplicas == replicas {
				ready++
			}
		}
		return struct{}{}, ready == n, fmt.Sprintf("%d of %d CloneSets ready", ready, n)
	}, framework.Every(500*time.Millisecond), framework.Within(time.Duration(30+n)*time.Second))
	return names
}

// manualUpdate is a Manual release of CloneSet name to image, a canary of one pod and then batches of one.
func manualUpdate(name, image string) *v1alpha1.Release {
	r := framework.UpdateTo(image, 1, intstr.FromInt32(1), v1alpha1.ModeManual)
	r.Name = name
	r.Spec.CloneSetName = name
	r.Spec.Template.Labels = map[string]string{"app": name}
	r.Spec.Template.Spec.Containers[0].Name = "app"
	return r
}

// partitionLog watches every CloneSet of a namespace through kube-apiserver (so it sees every change,
// whatever happens to triton-apiserver) and records, while a release owns the CloneSet, each distinct
// number of pods the partition allows to be updated, and any moment when more pods were updated.
type partitionLog struct {
	// kubeRestarts: kube-apiserver restarts while the log runs. When the watch cannot resume, it lists
	// again and goes on (the steps seen are then only some of the steps taken). And kruise-manager may
	// create a pod too many for a moment: a pod create that kube-apiserver committed as it died answers
	// kruise with an error, kruise creates another, sees the surplus and deletes one (seen: 7 of 6 pods,
	// 3 at the new revision with the partition allowing 2, for 0.25 s). Such moments, with more pods than
	// the CloneSet's replicas, are counted as surges, not failures: the partition Triton wrote was right.
	kubeRestarts bool
	relisted     int
	surges       []string
	mu           sync.Mutex
	allowed      map[string][]int32
	over         []string
	broken       string
	events       int
	stop         context.CancelFunc
	done         chan struct{}
}

func logPartitions(t *testing.T, ctx context.Context, c *framework.Cluster, ns string, kubeRestarts bool) *partitionLog {
	t.Helper()
	list, err := c.Kruise.AppsV1alpha1().CloneSets(ns).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	l := &partitionLog{allowed: map[string][]int32{}, done: make(chan struct{}), kubeRestarts: kubeRestarts}
	ctx, l.stop = context.WithCancel(ctx)
	rv := list.ResourceVersion
	gone := func(err error) bool { return apierrors.IsGone(err) || apierrors.IsResourceExpired(err) }
	go func() {
		defer close(l.done)
		for ctx.Err() == nil {
			if rv == "" {
				// The watch could not resume where it was: list again (only when allowed).
				list, err := c.Kruise.AppsV1alpha1().CloneSets(ns).List(ctx, metav1.ListOptions{})
				if err != nil {
					pause(ctx, 200*time.Millisecond)
					continue
				}
				l.mu.Lock()
				l.relisted++
				l.mu.Unlock()
				for i := range list.Items {
					l.observe(&list.Items[i])
				}
				rv = list.ResourceVersion
			}
			w, err := c.Kruise.AppsV1alpha1().CloneSets(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: true})
			if err != nil {
				if gone(err) {
					if !l.kubeRestarts {
						l.fail("the CloneSet watch lost events: %v", err)
						return
					}
					rv = ""
				}
				pause(ctx, 200*time.Millisecond)
				continue
			}
			for ev := range w.ResultChan() {
				if ev.Type == watch.Error {
					if ctx.Err() != nil {
						break // stopped
					}
					if status := apierrors.FromObject(ev.Object); l.kubeRestarts && gone(status) {
						rv = ""
						break
					}
					l.fail("the CloneSet watch failed: %v", apierrors.FromObject(ev.Object))
					w.Stop()
					return
				}
				cs, ok := ev.Object.(*kruiseappsv1alpha1.CloneSet)
				if !ok {
					continue
				}
				rv = cs.ResourceVersion
				if ev.Type != watch.Bookmark {
					l.observe(cs)
				}
			}
			w.Stop()
		}
	}()
	t.Cleanup(l.stop)
	return l
}

func (l *partitionLog) fail(format string, args ...interface{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.broken == "" {
		l.broken = fmt.Sprintf(format, args...)
	}
}

func (l *partitionLog) observe(cs *kruiseappsv1alpha1.CloneSet) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events++
	if cs.Annotations[v1alpha1.OwnerAnnotation] == "" || cs.Spec.UpdateStrategy.Partition == nil || cs.Spec.Replicas == nil {
		return
	}
	allowed := *cs.Spec.Replicas - framework.Partition(cs)
	steps := l.allowed[cs.Name]
	if len(steps) == 0 || steps[len(steps)-1] != allowed {
		l.allowed[cs.Name] = append(steps, allowed)
	}
	// Once kruise has seen this generation, updatedReplicas counts pods at the release's revision.
	if cs.Status.ObservedGeneration == cs.Generation && cs.Status.UpdatedReplicas > allowed {
		if l.kubeRestarts && cs.Status.Replicas > *cs.Spec.Replicas {
			l.surges = append(l.surges, fmt.Sprintf("%s: %d pods of %d, %d updated while the partition allows %d (rv %s)",
				cs.Name, cs.Status.Replicas, *cs.Spec.Replicas, cs.Status.UpdatedReplicas, allowed, cs.ResourceVersion))
			return
		}
		l.over = append(l.over, fmt.Sprintf("%s: %d pods updated while the partition allows %d (rv %s)",
			cs.Name, cs.Status.UpdatedReplicas, allowed, cs.ResourceVersion))
	}
}

// check stops the log and asserts, for each release, that its CloneSet went through exactly the targets
// of its batches in order (none skipped, none moved twice, never ahead), and never had more pods updated
// than its partition allowed.
func (l *partitionLog) check(t *testing.T, finished []*v1alpha1.Release) {
	t.Helper()
	l.stop()
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	assert.Empty(t, l.broken)
	assert.Empty(t, l.over, "a CloneSet had more pods updated than its batch allowed")
	if len(l.surges) > 0 {
		t.Logf("kruise-manager surged past replicas after a kube-apiserver restart (not Triton's write): %v", l.surges)
	}
	for _, r := range finished {
		var targets []int32
		for _, b := range r.Status.Batches {
			targets = append(targets, b.Target)
		}
		// The release writes the new template with every pod held back first: 0 allowed, then batch 1.
		steps := l.allowed[r.Spec.CloneSetName]
		for len(steps) > 0 && steps[0] == 0 {
			steps = steps[1:]
		}
		if l.relisted == 0 {
			assert.Equal(t, targets, steps, "CloneSet %s: the pods its partition allowed, in order, against the batch targets", r.Spec.CloneSetName)
			continue
		}
		// Some events were never seen: what was seen must still be batch targets, in order.
		next := 0
		for _, s := range steps {
			for next < len(targets) && targets[next] != s {
				next++
			}
			assert.Less(t, next, len(targets), "CloneSet %s: the pods its partition allowed %v, not in order among the batch targets %v", r.Spec.CloneSetName, steps, targets)
		}
	}
}

// driver moves releases to the end with concurrent `next` calls, as a pipeline would: an informer on the
// releases of a namespace, and workers that call `next` (with expectedBatch and expectedPhase, and a
// reason unique to the call) on every release whose current batch is Smoked or Baked.
type driver struct {
	client versioned.Interface
	ns     string
	seq    atomic.Int64

	mu         sync.Mutex
	sent       map[string][]string // release -> reasons of every next sent
	acked      map[string][]string // release -> reasons of every next that answered 200
	latencies  []time.Duration     // of the calls that answered 200
	refused    int                 // 409: the release had moved on (another call, a stale cache)
	failed     map[string]int      // other errors by code, e.g. 503 while a server is down
	firstError map[string]string   // the first message of each
}

func newDriver(client versioned.Interface, ns string) *driver {
	return &driver{client: client, ns: ns, sent: map[string][]string{}, acked: map[string][]string{}, failed: map[string]int{},
		firstError: map[string]string{}}
}

// run drives until every release in names has finished (or ctx ends) and returns them as they finished.
func (d *driver) run(ctx context.Context, workers int, names []string) ([]*v1alpha1.Release, error) {
	ctx, cancel := context.WithCancel(ctx)
	factory := externalversions.NewSharedInformerFactoryWithOptions(d.client, 2*time.Second, externalversions.WithNamespace(d.ns))
	informer := factory.Releases().V1alpha1().Releases()
	queue := workqueue.NewTypedRateLimitingQueue(workqueue.NewTypedItemExponentialFailureRateLimiter[string](50*time.Millisecond, 2*time.Second))
	// The informers stop only once ctx is cancelled: cancel before waiting for them.
	defer func() {
		cancel()
		queue.ShutDown()
		factory.Shutdown()
	}()
	enqueue := func(obj interface{}) {
		if r, ok := obj.(*v1alpha1.Release); ok {
			queue.Add(r.Name)
		}
	}
	_, err := informer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj interface{}) { enqueue(obj) },
	})
	if err != nil {
		return nil, err
	}
	factory.Start(ctx.Done())
	lister := informer.Lister().Releases(d.ns)
	var working sync.WaitGroup
	for range workers {
		working.Add(1)
		go func() {
			defer working.Done()
			for {
				name, shutdown := queue.Get()
				if shutdown {
					return
				}
				if r, err := lister.Get(name); err == nil && !d.step(ctx, r) {
					queue.AddRateLimited(name)
				} else {
					queue.Forget(name)
				}
				queue.Done(name)
			}
		}()
	}
	finished, done, _ := framework.Poll(ctx, func(context.Context) ([]*v1alpha1.Release, bool, string) {
		var finished []*v1alpha1.Release
		for _, name := range names {
			r, err := lister.Get(name)
			if err != nil || !terminal(r) {
				return finished, false, ""
			}
			finished = append(finished, r.DeepCopy())
		}
		return finished, true, ""
	}, framework.Every(250*time.Millisecond))
	// Calls in flight answer before anything is cancelled: the `next` that ends a release stores it as
	// finished (which the lister may already show) before it answers.
	queue.ShutDown()
	working.Wait()
	if !done {
		return nil, fmt.Errorf("%d of %d releases finished: %w", len(finished), len(names), ctx.Err())
	}
	return finished, nil
}

func terminal(r *v1alpha1.Release) bool {
	switch r.Status.Phase {
	case v1alpha1.ReleaseSucceeded, v1alpha1.ReleaseFailed, v1alpha1.ReleaseCanceled:
		return true
	}
	return false
}

// step calls next when the release awaits it and reports whether there was nothing to retry.
func (d *driver) step(ctx context.Context, r *v1alpha1.Release) bool {
	if r.Status.Phase != v1alpha1.ReleaseProgressing || r.Status.CurrentBatch < 1 || int(r.Status.CurrentBatch) > len(r.Status.Batches) {
		return true
	}
	batch := r.Status.CurrentBatch
	phase := r.Status.Batches[batch-1].Phase
	if phase != v1alpha1.BatchSmoked && phase != v1alpha1.BatchBaked {
		return true
	}
	reason := fmt.Sprintf("drive-%d", d.seq.Add(1))
	d.mu.Lock()
	d.sent[r.Name] = append(d.sent[r.Name], reason)
	d.mu.Unlock()
	start := time.Now()
	_, err := d.client.ReleasesV1alpha1().Releases(d.ns).Next(ctx, r.Name,
		&v1alpha1.ReleaseRequest{ExpectedBatch: &batch, ExpectedPhase: phase, Reason: reason}, metav1.CreateOptions{})
	took := time.Since(start)
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case err == nil:
		d.acked[r.Name] = append(d.acked[r.Name], reason)
		d.latencies = append(d.latencies, took)
		return true
	case apierrors.IsConflict(err):
		d.refused++
		return true
	default:
		kind := errorKind(err)
		if d.failed[kind] == 0 {
			d.firstError[kind] = err.Error()
		}
		d.failed[kind]++
		return false
	}
}

func errorKind(err error) string {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return fmt.Sprintf("%d %s", status.Status().Code, status.Status().Reason)
	}
	var netErr net.Error
	if errors.As(err, &netErr) || strings.Contains(err.Error(), "connection refused") {
		return "connection"
	}
	return "other"
}

// checkHistory asserts that every `next` answered 200 is in its release's history exactly once, and no
// call is there twice: nothing a caller was told succeeded was lost, and nothing was applied twice.
func (d *driver) checkHistory(t *testing.T, finished []*v1alpha1.Release) {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, r := range finished {
		seen := map[string]int{}
		moves := map[string]int{}
		for _, h := range r.Status.History {
			if h.Action != "next" {
				continue
			}
			seen[h.Reason]++
			moves[fmt.Sprintf("%d %s", h.FromBatch, h.FromPhase)]++
		}
		for _, reason := range d.acked[r.Name] {
			assert.Equal(t, 1, seen[reason], "release %s: acknowledged call %s in its history", r.Name, reason)
		}
		for reason, n := range seen {
			assert.True(t, slices.Contains(d.sent[r.Name], reason), "release %s: %s in its history was never sent", r.Name, reason)
			assert.Equal(t, 1, n, "release %s: call %s applied %d times", r.Name, reason, n)
		}
		for move, n := range moves {
			assert.Equal(t, 1, n, "release %s: next from %s happened %d times", r.Name, move, n)
		}
	}
}

// summary is a line for the test log: calls, refusals, failures, latency.
func (d *driver) summary() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	acked := 0
	for _, reasons := range d.acked {
		acked += len(reasons)
	}
	s := stats.Series{Samples: d.latencies}
	return fmt.Sprintf("%d next answered 200 (p50 %s, p99 %s), %d refused with 409, failures %v",
		acked, s.Median().Round(time.Millisecond), s.P99().Round(time.Millisecond), d.refused, d.failed)
}

// onlyUnavailable asserts that every call that failed was told to come back (503) or could not connect:
// a server that restarts or loses its store must never answer a caller 401, 403, 404 or 500.
func (d *driver) onlyUnavailable(t *testing.T) {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	for kind, n := range d.failed {
		if kind != "503 ServiceUnavailable" && kind != "connection" {
			t.Errorf("%d calls failed with %s, e.g.: %s", n, kind, d.firstError[kind])
		}
	}
}

// fastClient is the cluster's release client without client-go's default limit of 5 requests a second.
func fastClient(c *framework.Cluster) versioned.Interface {
	config := rest.CopyConfig(c.Config)
	config.QPS, config.Burst = 200, 400
	return versioned.NewForConfigOrDie(config)
}

// allSucceeded asserts that every release finished Succeeded.
func allSucceeded(t *testing.T, finished []*v1alpha1.Release) {
	t.Helper()
	for _, r := range finished {
		assert.Equal(t, v1alpha1.ReleaseSucceeded, r.Status.Phase, "release %s: %+v", r.Name, r.Status.Conditions)
	}
}

// killTriton SIGKILLs triton-apiserver (no drain, no lease release) and waits until it is gone.
func killTriton(t *testing.T, ctx context.Context) {
	t.Helper()
	stopLocal(t, ctx, "triton-apiserver", syscall.SIGKILL)
}

// pause waits d or until ctx ends (between retries of a lost connection).
func pause(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// randomMoment waits between lo and hi (the moment a fault is injected), or until ctx ends.
func randomMoment(ctx context.Context, lo, hi time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(lo + rand.N(hi-lo)):
	}
}
