//go:build e2e

package e2e

// Pull-out, proven on the EndpointSlices of a Service (kube-controller-manager's endpointslice controller):
// every pod a release replaces has left the Service's ready endpoints before kruise deletes it.

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/test/e2e/framework"
)

// endpointsWatch follows the Service's EndpointSlices and the pods, and records every pod that was still a
// ready endpoint when kruise deleted it or updated it in place.
//
// "When" is ordered by resourceVersion, not by the order the two informers deliver events (a slice's
// event may be handled before a pod's event that happened earlier): kube-apiserver stores pods and
// EndpointSlices in one etcd, whose revision orders every write. A pod's IP was a ready endpoint at the
// revision of its deletion (or in-place update) if the last version of some slice written before that
// revision lists it as ready.
type endpointsWatch struct {
	mu      sync.Mutex
	slices  map[string][]sliceVersion // slice name → its versions, in order
	ip      map[string]string         // pod name → IP
	deleted map[string]bool
	image   map[string]string // pod name → its containers' images, as last seen
	exits   []podExit
	removed int // pods that got a deletion timestamp
	inPlace int // pods whose images changed in place
	stop    chan struct{}
}

type sliceVersion struct {
	rv    uint64
	ready map[string]bool
}

// podExit is a pod kruise took out of service: deleted, or updated in place, at revision rv.
type podExit struct {
	pod, ip, what string
	rv            uint64
}

func revision(obj metav1.Object) uint64 {
	rv, _ := strconv.ParseUint(obj.GetResourceVersion(), 10, 64)
	return rv
}

// readyIP reports whether ip is a ready endpoint now (as last seen).
func (w *endpointsWatch) readyIP(ip string) bool { return w.readyAt(ip, math.MaxUint64) }

// readyPod reports whether the pod's IP, as last seen, is a ready endpoint now.
func (w *endpointsWatch) readyPod(name string) bool {
	ip := w.ip[name]
	return ip != "" && w.readyIP(ip)
}

// readyAt reports whether ip was a ready endpoint just before revision rv.
func (w *endpointsWatch) readyAt(ip string, rv uint64) bool {
	for _, versions := range w.slices {
		for i := len(versions) - 1; i >= 0; i-- {
			if versions[i].rv < rv {
				if versions[i].ready[ip] {
					return true
				}
				break
			}
		}
	}
	return false
}

// leftAt is the revision of the slice version that took ip out of the ready endpoints last before rv (0:
// it was never one).
func (w *endpointsWatch) leftAt(ip string, rv uint64) uint64 {
	var left uint64
	for _, versions := range w.slices {
		wasReady := false
		for _, v := range versions {
			if v.rv >= rv {
				break
			}
			if wasReady && !v.ready[ip] && v.rv > left {
				left = v.rv
			}
			wasReady = v.ready[ip]
		}
	}
	return left
}

// report logs, for each pod taken out of service, when its IP left the ready endpoints and when kruise
// took it.
func (w *endpointsWatch) report(t *testing.T) {
	t.Helper()
	for _, e := range w.exits {
		t.Logf("pod %s (%s): left the ready endpoints at revision %d, %s at revision %d (still ready then: %v)",
			e.pod, e.ip, w.leftAt(e.ip, e.rv), e.what, e.rv, w.readyAt(e.ip, e.rv))
	}
}

// readyEndpoints counts the Service's ready endpoints.
func (w *endpointsWatch) readyEndpoints() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, versions := range w.slices {
		if len(versions) > 0 {
			n += len(versions[len(versions)-1].ready)
		}
	}
	return n
}

// fewestReady is the fewest ready endpoints the Service had at any revision from rv on (every version of
// every slice counted as it stood then), and the revision where it had them.
func (w *endpointsWatch) fewestReady(rv uint64) (fewest int, at uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var revisions []uint64
	for _, versions := range w.slices {
		for _, v := range versions {
			if v.rv >= rv {
				revisions = append(revisions, v.rv)
			}
		}
	}
	fewest = math.MaxInt
	for _, r := range revisions {
		n := 0
		for _, versions := range w.slices {
			for i := len(versions) - 1; i >= 0; i-- {
				if versions[i].rv <= r {
					n += len(versions[i].ready)
					break
				}
			}
		}
		if n < fewest {
			fewest, at = n, r
		}
	}
	return fewest, at
}

// lastRevision is the revision of the newest slice version seen.
func (w *endpointsWatch) lastRevision() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	var last uint64
	for _, versions := range w.slices {
		if n := len(versions); n > 0 && versions[n-1].rv > last {
			last = versions[n-1].rv
		}
	}
	return last
}

// violations are the pods that were taken out of service while still ready endpoints.
func (w *endpointsWatch) violations() []string {
	var out []string
	for _, e := range w.exits {
		if w.readyAt(e.ip, e.rv) {
			out = append(out, fmt.Sprintf("pod %s (%s) was %s at revision %d while a ready endpoint", e.pod, e.ip, e.what, e.rv))
		}
	}
	return out
}

func images(p *corev1.Pod) string {
	s := ""
	for _, c := range p.Spec.Containers {
		s += c.Name + "=" + c.Image + " "
	}
	return s
}

func watchEndpoints(t *testing.T, c *framework.Cluster, ns, service string) *endpointsWatch {
	t.Helper()
	w := &endpointsWatch{slices: map[string][]sliceVersion{}, ip: map[string]string{}, deleted: map[string]bool{},
		image: map[string]string{}, stop: make(chan struct{})}
	factory := informers.NewSharedInformerFactoryWithOptions(c.Kube, 0, informers.WithNamespace(ns))
	slices := factory.Discovery().V1().EndpointSlices().Informer()
	onSlice := func(obj interface{}) {
		s, ok := obj.(*discoveryv1.EndpointSlice)
		if !ok || s.Labels[discoveryv1.LabelServiceName] != service {
			return
		}
		ips := map[string]bool{}
		for _, e := range s.Endpoints {
			if e.Conditions.Ready != nil && *e.Conditions.Ready {
				for _, a := range e.Addresses {
					ips[a] = true
				}
			}
		}
		w.mu.Lock()
		w.slices[s.Name] = append(w.slices[s.Name], sliceVersion{rv: revision(s), ready: ips})
		w.mu.Unlock()
	}
	_, err := slices.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: onSlice, UpdateFunc: func(_, obj interface{}) { onSlice(obj) },
		DeleteFunc: func(obj interface{}) {
			if s, ok := obj.(*discoveryv1.EndpointSlice); ok {
				w.mu.Lock()
				w.slices[s.Name] = append(w.slices[s.Name], sliceVersion{rv: revision(s) + 1, ready: map[string]bool{}})
				w.mu.Unlock()
			}
		},
	})
	require.NoError(t, err)
	pods := factory.Core().V1().Pods().Informer()
	onPod := func(obj interface{}) {
		p, ok := obj.(*corev1.Pod)
		if !ok {
			if tomb, isTomb := obj.(cache.DeletedFinalStateUnknown); isTomb {
				p, ok = tomb.Obj.(*corev1.Pod)
			}
			if !ok {
				return
			}
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		if p.Status.PodIP != "" {
			w.ip[p.Name] = p.Status.PodIP
		}
		if was, seen := w.image[p.Name]; seen && was != images(p) && p.DeletionTimestamp == nil {
			// kruise updated the pod in place: it must have left the endpoints before.
			w.inPlace++
			w.exits = append(w.exits, podExit{pod: p.Name, ip: w.ip[p.Name], rv: revision(p),
				what: fmt.Sprintf("updated in place (%s→%s)", was, images(p))})
		}
		w.image[p.Name] = images(p)
		if p.DeletionTimestamp == nil || w.deleted[p.Name] {
			return
		}
		w.deleted[p.Name] = true
		w.removed++
		w.exits = append(w.exits, podExit{pod: p.Name, ip: w.ip[p.Name], rv: revision(p), what: "deleted"})
	}
	_, err = pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: onPod, UpdateFunc: func(_, obj interface{}) { onPod(obj) }, DeleteFunc: onPod,
	})
	require.NoError(t, err)
	factory.Start(w.stop)
	factory.WaitForCacheSync(w.stop)
	t.Cleanup(func() {
		select {
		case <-w.stop:
		default:
			close(w.stop)
		}
	})
	return w
}

func TestPodsLeaveTheEndpointsBeforeKruiseDeletesThem(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.CloneSet("nginx", 4))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	lateKubelets(t, ctx, admin, ns)
	w := service(t, ctx, admin, ns, 4)

	r, err := admin.Releases.ReleasesV1alpha1().Releases(ns).Create(ctx,
		framework.UpdateTo("nginx:1.28", 1, intstr.FromInt32(2), v1alpha1.ModeAuto), metav1.CreateOptions{})
	require.NoError(t, err)
	// The canary waits for next at Smoked; Auto does the rest.
	nextUntilBaked(t, ctx, admin, ns, r.Name, 1)
	framework.WaitRelease(t, ctx, admin, ns, r.Name, "Succeeded", func(r *v1alpha1.Release) bool {
		return framework.Succeeded(r) || framework.ConditionIs(r, v1alpha1.ConditionAwaitingNext, metav1.ConditionTrue)
	})
	if got, _ := admin.Releases.ReleasesV1alpha1().Releases(ns).Get(ctx, r.Name, metav1.GetOptions{}); !framework.Succeeded(got) {
		_, err = admin.Releases.ReleasesV1alpha1().Releases(ns).Next(ctx, r.Name,
			&v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(got.Status.CurrentBatch)}, metav1.CreateOptions{})
		require.NoError(t, err)
		framework.WaitRelease(t, ctx, admin, ns, r.Name, "Succeeded", framework.Succeeded)
	}
	waitServing(t, ctx, admin, ns, 4, 4, "nginx:1.28")
	framework.WaitFor(t, ctx, "the new pods are the Service's 4 ready endpoints", func() bool { return w.readyEndpoints() == 4 })

	w.mu.Lock()
	defer w.mu.Unlock()
	assert.Equal(t, 4, w.removed, "kruise replaced the 4 old pods")
	w.report(t)
	assert.Empty(t, w.violations(), "a pod left the endpoints only after kruise deleted it")
}

// waitCanarySmoked waits for a release's one-pod canary to be Smoked, its pod listed with its IP, and
// returns that pod.
func waitCanarySmoked(t *testing.T, ctx context.Context, c *framework.Cluster, ns, name string) v1alpha1.BatchPod {
	t.Helper()
	r := framework.WaitRelease(t, ctx, c, ns, name, "canary Smoked, its pod listed", func(r *v1alpha1.Release) bool {
		return framework.BatchIs(1, v1alpha1.BatchSmoked)(r) && len(r.Status.Batches[0].Pods) == 1 && r.Status.Batches[0].Pods[0].IP != ""
	})
	return r.Status.Batches[0].Pods[0]
}

// readyDelay is the pod annotation that makes kwok report Ready False a second after a readiness gate went
// False, as a kubelet that syncs the pod a moment later does (hack/local-up/kwok-stages.yaml).
const readyDelay = "kwok.triton.io/ready-delay"

// lateKubelets annotates the nginx pods there are with readyDelay.
func lateKubelets(t *testing.T, ctx context.Context, c *framework.Cluster, ns string) {
	t.Helper()
	for _, p := range framework.LivePods(t, ctx, c, ns) {
		_, err := c.Kube.CoreV1().Pods(ns).Patch(ctx, p.Name, types.MergePatchType,
			[]byte(`{"metadata":{"annotations":{"`+readyDelay+`":"1s"}}}`), metav1.PatchOptions{})
		require.NoError(t, err)
	}
}

// service makes Service nginx in ns, selecting the nginx pods, and follows its endpoints until all n pods
// are ready endpoints.
func service(t *testing.T, ctx context.Context, c *framework.Cluster, ns string, n int) *endpointsWatch {
	t.Helper()
	_, err := c.Kube.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "nginx"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "nginx"},
			Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(80)}}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	w := watchEndpoints(t, c, ns, "nginx")
	framework.WaitFor(t, ctx, fmt.Sprintf("%d ready endpoints", n), func() bool { return w.readyEndpoints() == n })
	return w
}

// `cancel` puts the template from before back at once, but kruise removes the release's pods only once they
// have left the Service's endpoints: the release keeps its lifecycle hooks on until then (condition
// Reverted False), and a new release waits for it (409).
func TestCancelTakesTheReleasesPodsOutOfTheEndpointsBeforeKruiseRemovesThem(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.CloneSet("nginx", 4))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	w := service(t, ctx, admin, ns, 4)
	releases := s.Releases

	// The release's pods report Ready False a second after their gate goes False, as a kubelet may: the
	// cancel must not rest on kruise being slower than that.
	rel := framework.UpdateTo("nginx:1.28", 1, intstr.FromInt32(1), v1alpha1.ModeManual)
	rel.Spec.Template.Annotations = map[string]string{readyDelay: "1s"}
	r, err := releases.Create(ctx, rel, metav1.CreateOptions{})
	require.NoError(t, err)
	nextUntilBaked(t, ctx, admin, ns, r.Name, 2)
	waitServing(t, ctx, admin, ns, 4, 2, "nginx:1.28")
	release := framework.PodsAt(t, ctx, admin, ns, "nginx:1.28")
	require.Len(t, release, 2)
	framework.WaitFor(t, ctx, "the release's 2 pods among the 4 ready endpoints", func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, p := range release {
			if !w.readyIP(p.Status.PodIP) {
				return false
			}
		}
		return true
	})
	w.mu.Lock()
	removedBefore := w.removed
	w.mu.Unlock()

	r, err = releases.Cancel(ctx, r.Name, &v1alpha1.ReleaseRequest{Reason: "bad image"}, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, "nginx:1.27", framework.GetCloneSet(t, ctx, admin, ns).Spec.Template.Spec.Containers[0].Image, "the template from before, at once")
	// While its pods leave traffic, the canceled release still holds the CloneSet, and a new release waits.
	if !framework.ConditionIs(r, v1alpha1.ConditionReverted, metav1.ConditionTrue) {
		again := framework.UpdateTo("nginx:1.29", 1, intstr.FromInt32(1), v1alpha1.ModeManual)
		again.Name = "nginx-update-2"
		_, err := releases.Create(ctx, again, metav1.CreateOptions{})
		if err == nil {
			// Reverted in the moment between the cancel's answer and this create: allowed, but say so.
			r, getErr := releases.Get(ctx, r.Name, metav1.GetOptions{})
			require.NoError(t, getErr)
			require.True(t, framework.ConditionIs(r, v1alpha1.ConditionReverted, metav1.ConditionTrue),
				"a new release was admitted while the canceled one still held the CloneSet")
			t.Log("the canceled release was Reverted before the second create arrived")
			require.NoError(t, releases.Delete(ctx, again.Name, metav1.DeleteOptions{}))
		} else {
			require.True(t, apierrors.IsConflict(err), "a new release while the canceled one drains: %v", err)
			assert.Contains(t, err.Error(), "still leaving traffic")
		}
	}
	framework.WaitRelease(t, ctx, admin, ns, r.Name, "Reverted", func(r *v1alpha1.Release) bool {
		return framework.ConditionIs(r, v1alpha1.ConditionReverted, metav1.ConditionTrue)
	})
	cs := framework.WaitReleased(t, ctx, admin, ns)
	assert.Empty(t, cs.Spec.Lifecycle, "the hooks went with the release")
	waitServing(t, ctx, admin, ns, 4, 0, "nginx:1.28")
	framework.WaitFor(t, ctx, "4 ready endpoints again", func() bool { return w.readyEndpoints() == 4 })

	w.mu.Lock()
	defer w.mu.Unlock()
	for _, p := range release {
		assert.True(t, w.deleted[p.Name], "kruise removed the release's pod %s", p.Name)
	}
	assert.GreaterOrEqual(t, w.removed-removedBefore, 2, "the release's 2 pods were removed")
	w.report(t)
	assert.Empty(t, w.violations(), "a pod left the endpoints only after kruise deleted it")
}

// A Scale pulls its pods in and out like any release: the pods a scale-in deletes (the named ones first)
// leave the endpoints before kruise deletes them, and a scale-out's canary waits for `next` out of traffic.
func TestAScaleMovesTrafficLikeAnyRelease(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.CloneSet("nginx", 4))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	w := service(t, ctx, admin, ns, 4)
	releases := s.Releases
	names := framework.PodNames(framework.LivePods(t, ctx, admin, ns))
	require.Len(t, names, 4)

	in, err := releases.Create(ctx, framework.ScaleTo(2, intstr.FromInt32(1), names[0], names[2]), metav1.CreateOptions{})
	require.NoError(t, err)
	assert.False(t, in.Spec.Strategy.NoPullIn, "a Scale pulls pods in and out")
	nextUntilSucceeded(t, ctx, admin, ns, in.Name)
	waitServing(t, ctx, admin, ns, 2, 2, "nginx:1.27")
	framework.WaitFor(t, ctx, "2 ready endpoints", func() bool { return w.readyEndpoints() == 2 })
	w.mu.Lock()
	assert.True(t, w.deleted[names[0]] && w.deleted[names[2]], "the named pods went")
	w.report(t)
	assert.Empty(t, w.violations(), "a pod left the endpoints only after kruise deleted it")
	w.mu.Unlock()

	// Scale out 2 → 4 with a canary: the canary's pod is up but out of traffic until `next`.
	out := framework.ScaleTo(4, intstr.FromInt32(1))
	out.Name = "nginx-scale-out"
	out.Spec.Strategy.Canary = 1
	_, err = releases.Create(ctx, out, metav1.CreateOptions{})
	require.NoError(t, err)
	canary := waitCanarySmoked(t, ctx, admin, ns, out.Name)
	framework.Holds(t, ctx, 2*time.Second, "the canary stays out of the endpoints until next", func(ctx context.Context) (bool, string) {
		w.mu.Lock()
		inTraffic := w.readyIP(canary.IP) || w.readyPod(canary.Name)
		w.mu.Unlock()
		n := w.readyEndpoints()
		return !inTraffic && n == 2, fmt.Sprintf("canary in traffic: %v, %d ready endpoints", inTraffic, n)
	})
	nextUntilSucceeded(t, ctx, admin, ns, out.Name)
	waitServing(t, ctx, admin, ns, 4, 4, "nginx:1.27")
	framework.WaitFor(t, ctx, "4 ready endpoints", func() bool { return w.readyEndpoints() == 4 })
}
