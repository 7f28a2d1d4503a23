//go:build e2e

package e2e

// maxSurge over many shapes, on kruise's real behaviour: each release runs to Succeeded with every
// replica in traffic throughout, and never more pods at the new image than its batches allowed.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/test/e2e/framework"
)

// surgeShape is one release of the property: replicas pods, a canary of canary pods (0: none), later
// batches of batchSize, each brought up beside the old pods by maxSurge.
type surgeShape struct {
	replicas  int32
	canary    int32
	batchSize intstr.IntOrString
	maxSurge  intstr.IntOrString
}

func (s surgeShape) String() string {
	return fmt.Sprintf("replicas=%d,canary=%d,batch=%s,surge=%s", s.replicas, s.canary, s.batchSize.String(), s.maxSurge.String())
}

// The shape a user met: 4 replicas, batches of 2, a surge of a whole batch. Batch 2 brought up one new pod
// and stalled, because kruise brings up a surge pod only while it also has an old pod to let go of, and
// the second old pod of batch 1 was still leaving: kruise then waits for the new pod to be available before
// it makes the next, so the release has to let the batch's pods into traffic as they come up.
func TestSurgeOfAWholeBatchOfTwoOnFourReplicas(t *testing.T) {
	t.Parallel()
	runSurgeShape(t, surgeShape{replicas: 4, batchSize: intstr.FromInt32(2), maxSurge: intstr.FromString("100%")})
}

// TestSurgeShapes runs a sample of every shape: replicas 1–10, canary none, 1 or 2, batches of 1, 2, 3,
// 50% or 100%, surge of 1 pod, 2 pods, 50% or 100%. The boundary shapes always run, plus
// TRITON_SURGE_SHAPES more drawn at random (default 6; "all" runs every shape), seeded by
// TRITON_SURGE_SEED (default: the time; the seed is logged so a failing draw can be run again).
func TestSurgeShapes(t *testing.T) {
	t.Parallel()
	all := allSurgeShapes()
	shapes := []surgeShape{
		{replicas: 1, batchSize: intstr.FromString("100%"), maxSurge: intstr.FromInt32(1)},
		{replicas: 2, canary: 1, batchSize: intstr.FromInt32(1), maxSurge: intstr.FromString("100%")},
		{replicas: 5, batchSize: intstr.FromInt32(2), maxSurge: intstr.FromInt32(1)},
		{replicas: 6, canary: 1, batchSize: intstr.FromString("50%"), maxSurge: intstr.FromString("100%")},
		{replicas: 10, canary: 2, batchSize: intstr.FromInt32(3), maxSurge: intstr.FromString("50%")},
		{replicas: 10, batchSize: intstr.FromString("100%"), maxSurge: intstr.FromString("100%")},
	}
	switch n := os.Getenv("TRITON_SURGE_SHAPES"); {
	case n == "all":
		shapes = all
	case strings.HasPrefix(n, "only:"):
		shapes = nil
		for _, s := range all {
			if s.String() == strings.TrimPrefix(n, "only:") {
				shapes = append(shapes, s)
			}
		}
	default:
		more := 6
		if n != "" {
			v, err := strconv.Atoi(n)
			require.NoError(t, err, "TRITON_SURGE_SHAPES is a number or all")
			more = v
		}
		seed := uint64(time.Now().UnixNano())
		if s := os.Getenv("TRITON_SURGE_SEED"); s != "" {
			v, err := strconv.ParseUint(s, 10, 64)
			require.NoError(t, err, "TRITON_SURGE_SEED")
			seed = v
		}
		t.Logf("TRITON_SURGE_SEED=%d", seed)
		rng := rand.New(rand.NewPCG(seed, seed))
		for _, i := range rng.Perm(len(all))[:min(more, len(all))] {
			shapes = append(shapes, all[i])
		}
	}
	for _, s := range shapes {
		t.Run(s.String(), func(t *testing.T) {
			t.Parallel()
			runSurgeShape(t, s)
		})
	}
}

func allSurgeShapes() []surgeShape {
	var out []surgeShape
	for replicas := int32(1); replicas <= 10; replicas++ {
		for _, canary := range []int32{0, 1, 2} {
			if canary >= replicas {
				continue
			}
			for _, batch := range []intstr.IntOrString{intstr.FromInt32(1), intstr.FromInt32(2), intstr.FromInt32(3), intstr.FromString("50%"), intstr.FromString("100%")} {
				for _, surge := range []intstr.IntOrString{intstr.FromInt32(1), intstr.FromInt32(2), intstr.FromString("50%"), intstr.FromString("100%")} {
					out = append(out, surgeShape{replicas: replicas, canary: canary, batchSize: batch, maxSurge: surge})
				}
			}
		}
	}
	return out
}

// runSurgeShape releases a new image to a CloneSet of s.replicas in Auto mode (a canary, if any, waits
// for `next` twice and gets it) and checks what a user would: the release Succeeded, every pod is at the
// new image and Ready, the Service never had fewer ready endpoints than replicas, no pod left the
// endpoints before kruise deleted it, and no more pods were at the new image than the batch the release
// was in allowed.
func runSurgeShape(t *testing.T, s surgeShape) {
	fixture := framework.Setup(t, framework.Timeout(6*time.Minute), framework.CloneSet("nginx", s.replicas))
	admin, ns, ctx := fixture.Admin, fixture.Namespace, fixture.Ctx
	n := int(s.replicas)
	w := service(t, ctx, admin, ns, n)
	from := w.lastRevision()
	releases := fixture.Releases

	rel := framework.UpdateTo("nginx:1.28", s.canary, s.batchSize, v1alpha1.ModeAuto)
	surge := s.maxSurge
	rel.Spec.Strategy.MaxSurge = &surge
	// A stalled batch fails the release well before the test's time is up, and says where it stalled.
	rel.Spec.Strategy.ProgressDeadlineSeconds = ptrTo(int32(150))
	r, err := releases.Create(ctx, rel, metav1.CreateOptions{})
	require.NoError(t, err)
	guard := watchBatchTargets(t, ctx, admin, ns, r.Name)

	r = framework.WaitUntil(t, ctx, "release "+r.Name+" to end (next given whenever it awaits it)", func(ctx context.Context) (*v1alpha1.Release, bool, string) {
		r, err := releases.Get(ctx, r.Name, metav1.GetOptions{})
		if err != nil {
			return nil, false, err.Error()
		}
		seen := fmt.Sprintf("phase %s, batch %d: %s", r.Status.Phase, r.Status.CurrentBatch, awaiting(r))
		if r.Status.Phase == v1alpha1.ReleaseProgressing && framework.ConditionIs(r, v1alpha1.ConditionAwaitingNext, metav1.ConditionTrue) {
			b := r.Status.CurrentBatch
			_, err := releases.Next(ctx, r.Name, &v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(b), ExpectedPhase: r.Status.Batches[b-1].Phase}, metav1.CreateOptions{})
			assert.NoError(t, err, "next at batch %d %s", b, r.Status.Batches[b-1].Phase)
			return r, false, seen
		}
		return r, r.Status.Phase != v1alpha1.ReleaseProgressing && r.Status.Phase != v1alpha1.ReleasePending, seen
	}, framework.Every(200*time.Millisecond))
	require.Equal(t, v1alpha1.ReleaseSucceeded, r.Status.Phase, "release %s: %+v", s, framework.LastHistory(r))
	waitServing(t, ctx, admin, ns, n, n, "nginx:1.28")
	framework.WaitFor(t, ctx, fmt.Sprintf("the %d new pods are the Service's ready endpoints", n), func() bool { return w.readyEndpoints() == n })
	guard.check(t)

	fewest, at := w.fewestReady(from)
	if !assert.GreaterOrEqual(t, fewest, n, "%s: capacity dropped below the CloneSet's %d replicas at revision %d", s, n, at) {
		w.logSlicesAround(t, at, 4)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	assert.Empty(t, w.violations(), "a pod left the endpoints only after kruise deleted it")
	if t.Failed() {
		w.report(t)
	}
}

// batchTargets samples the pods and then the release, in that order, until the test ends, and records any
// sample where more pods were at the release's image than the target of the batch the release was in
// when read after them (invariant 2, for a release the test does not step itself).
type batchTargets struct {
	mu     sync.Mutex
	over   []string
	stop   context.CancelFunc
	done   chan struct{}
	sample int
}

func watchBatchTargets(t *testing.T, ctx context.Context, c *framework.Cluster, ns, name string) *batchTargets {
	g := &batchTargets{done: make(chan struct{})}
	ctx, g.stop = context.WithCancel(ctx)
	go func() {
		defer close(g.done)
		// Sampled until stopped: the read is never done.
		framework.Poll(ctx, func(ctx context.Context) (struct{}, bool, string) {
			pods, err := c.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=nginx"})
			if err != nil {
				return struct{}{}, false, ""
			}
			r, err := c.Releases.ReleasesV1alpha1().Releases(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil || r.Status.CurrentBatch == 0 {
				return struct{}{}, false, ""
			}
			updated := framework.CountImage(pods.Items, "nginx:1.28")
			target := r.Status.Batches[r.Status.CurrentBatch-1].Target
			g.mu.Lock()
			defer g.mu.Unlock()
			g.sample++
			if updated > int(target) {
				g.over = append(g.over, fmt.Sprintf("%d pods at nginx:1.28 while batch %d (target %d) ran", updated, r.Status.CurrentBatch, target))
			}
			return struct{}{}, false, ""
		})
	}()
	t.Cleanup(g.halt)
	return g
}

func (g *batchTargets) halt() {
	g.stop()
	<-g.done
}

func (g *batchTargets) check(t *testing.T) {
	t.Helper()
	g.halt()
	g.mu.Lock()
	defer g.mu.Unlock()
	assert.NotZero(t, g.sample, "the pods were never sampled")
	assert.Empty(t, g.over, "more pods at the new image than the current batch's target")
}

func ptrTo[T any](v T) *T { return &v }

// awaiting is the release's conditions as they read.
func awaiting(r *v1alpha1.Release) string {
	var out []string
	for _, c := range r.Status.Conditions {
		out = append(out, fmt.Sprintf("%s=%s (%s)", c.Type, c.Status, c.Message))
	}
	return strings.Join(out, "; ")
}

// logSlicesAround logs the versions of every slice from around revision rv (around of them before and
// after): which pods were ready endpoints, and which came and went.
func (w *endpointsWatch) logSlicesAround(t *testing.T, rv uint64, around int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	pod := map[string]string{}
	for name, ip := range w.ip {
		pod[ip] = name
	}
	for name, versions := range w.slices {
		for i, v := range versions {
			if v.rv < rv && i+around < len(versions) && versions[i+around].rv < rv || v.rv > rv && i >= around && versions[i-around].rv > rv {
				continue
			}
			var came, went []string
			if i > 0 {
				for ip := range v.ready {
					if !versions[i-1].ready[ip] {
						came = append(came, pod[ip])
					}
				}
				for ip := range versions[i-1].ready {
					if !v.ready[ip] {
						went = append(went, pod[ip])
					}
				}
			}
			t.Logf("slice %s at revision %d: %d ready; came %v, went %v", name, v.rv, len(v.ready), came, went)
		}
	}
}
