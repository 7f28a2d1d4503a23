package controller

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/release/caches"
	"github.com/triton-io/triton/pkg/release/cloneset"
)

// liveSliceLists counts the live lists of EndpointSlices the fixture's clients made.
func (f *fixture) liveSliceLists() int {
	n := 0
	for _, a := range f.kube.Actions() {
		if a.GetVerb() == "list" && a.GetResource().Resource == "endpointslices" {
			n++
		}
	}
	return n
}

// addLeavingPod adds pod web-d (10.0.0.9): held, out of traffic, and about to be deleted by kruise.
func addLeavingPod(t *testing.T, f *fixture) {
	t.Helper()
	leaving := webPod("web-d", true, false)
	leaving.Status.PodIP = "10.0.0.9"
	leaving.Labels[v1alpha1.HoldLabel] = "true"
	leaving.Labels["lifecycle.apps.kruise.io/state"] = "PreparingDelete"
	_, err := f.kube.CoreV1().Pods("default").Create(context.Background(), leaving, metav1.CreateOptions{})
	require.NoError(t, err)
}

// A held pod out of traffic that a Service still lists waits, with no live read, for the EndpointSlice to
// drop it; the slice's change wakes the release, which confirms with one live read and lets the pod go.
func TestADrainingPodIsLetGoWhenItsEndpointSliceDropsIt(t *testing.T) {
	f := runningWeb(t, func(p *corev1.Pod) {})
	ctx := context.Background()
	addLeavingPod(t, f)
	ready := true
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "web-abc", Namespace: "default"},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.9"}, Conditions: discoveryv1.EndpointConditions{Ready: &ready},
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web-d"}}},
	}
	slice, err := f.kube.DiscoveryV1().EndpointSlices("default").Create(ctx, slice, metav1.CreateOptions{})
	require.NoError(t, err)
	informers := f.c.driver.Cache.(interface {
		ReadyEndpoints(string) (map[string]bool, bool)
	})
	require.Eventually(t, func() bool {
		pods, _ := f.c.driver.Cache.Pods(ctx, webCloneSet())
		ips, synced := informers.ReadyEndpoints("default")
		return len(pods) == 4 && synced && ips["10.0.0.9"]
	}, 5*time.Second, 10*time.Millisecond)
	f.kube.ClearActions()

	requeue := f.reconcile(t, "default/web-update")
	d, err := f.kube.CoreV1().Pods("default").Get(ctx, "web-d", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "true", d.Labels[v1alpha1.HoldLabel], "held while a Service lists it")
	assert.Positive(t, requeue, "looked at again while a pod drains")
	assert.Zero(t, f.liveSliceLists(), "the cache says it is listed: no live read")

	// The endpointslice controller drops it: the release is woken, and lets the pod go.
	for f.c.queue.Len() > 0 {
		key, _ := f.c.queue.Get()
		f.c.queue.Done(key)
	}
	slice.Endpoints = nil
	_, err = f.kube.DiscoveryV1().EndpointSlices("default").Update(ctx, slice, metav1.UpdateOptions{})
	require.NoError(t, err)
	// The first reconcile's own pod writes may wake the release too, from events that arrive late; so the
	// reconcile below waits until the slices' cache has seen the drop as well (the informer calls its handler,
	// which wakes the release, only after its store holds the change). That the slice wakes it is asserted on
	// the handler itself in TestASliceOfAnotherNamespaceWakesNoRelease.
	require.Eventually(t, func() bool {
		ips, _ := informers.ReadyEndpoints("default")
		return f.c.queue.Len() > 0 && !ips["10.0.0.9"]
	}, 5*time.Second, 10*time.Millisecond, "the slice's change wakes the release")
	key, _ := f.c.queue.Get()
	f.c.queue.Done(key)
	assert.Equal(t, "default/web-update", key)
	f.kube.ClearActions()
	f.reconcile(t, key)
	d, err = f.kube.CoreV1().Pods("default").Get(ctx, "web-d", metav1.GetOptions{})
	require.NoError(t, err)
	assert.NotContains(t, d.Labels, v1alpha1.HoldLabel, "no Service lists it: kruise may go on")
	assert.Equal(t, 1, f.liveSliceLists(), "confirmed by one live read before it was let go")
}

// A pod the cache no longer lists but a live read still does (the cache behind) is not let go.
func TestAPodTheCacheNoLongerListsIsConfirmedLive(t *testing.T) {
	f := runningWeb(t, func(p *corev1.Pod) {})
	ctx := context.Background()
	addLeavingPod(t, f)
	require.Eventually(t, func() bool {
		pods, _ := f.c.driver.Cache.Pods(ctx, webCloneSet())
		return len(pods) == 4
	}, 5*time.Second, 10*time.Millisecond)
	// Stop the slices' cache from seeing what follows: a live read sees the slice, the cache does not.
	f.c.driver.Cache = behindOnSlices{f.c.driver.Cache}
	ready := true
	_, err := f.kube.DiscoveryV1().EndpointSlices("default").Create(ctx, &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: "web-abc", Namespace: "default"}, AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.9"}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	f.reconcile(t, "default/web-update")
	d, err := f.kube.CoreV1().Pods("default").Get(ctx, "web-d", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "true", d.Labels[v1alpha1.HoldLabel], "a Service still lists it, live")
}

// behindOnSlices is a cache whose EndpointSlices are synced but empty.
type behindOnSlices struct{ cloneset.Reader }

func (behindOnSlices) ReadyEndpoints(string) (map[string]bool, bool) { return map[string]bool{}, true }

// A slice in another namespace that names a release's pod (anyone who may write EndpointSlices there can)
// wakes nothing: only a slice of the pod's own namespace speaks for it.
func TestASliceOfAnotherNamespaceWakesNoRelease(t *testing.T) {
	f := runningWeb(t, func(p *corev1.Pod) {})
	addLeavingPod(t, f)
	require.Eventually(t, func() bool {
		pods, _ := f.c.driver.Cache.Pods(context.Background(), webCloneSet())
		return len(pods) == 4
	}, 5*time.Second, 10*time.Millisecond)
	for f.c.queue.Len() > 0 {
		key, _ := f.c.queue.Get()
		f.c.queue.Done(key)
	}
	ready := true
	listing := func(ns string) *discoveryv1.EndpointSlice {
		return &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: ns}, AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.9"}, Conditions: discoveryv1.EndpointConditions{Ready: &ready},
				TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web-d"}}}}
	}
	dropped := func(s *discoveryv1.EndpointSlice) *discoveryv1.EndpointSlice {
		s = s.DeepCopy()
		s.Endpoints = nil
		return s
	}
	h := f.c.endpointsHandler(f.c.driver.Cache.(*caches.Caches).PodInformer.GetIndexer())

	forged := listing("tenant")
	h.OnUpdate(forged, dropped(forged))
	assert.Zero(t, f.c.queue.Len(), "a slice of another namespace woke the release")
	own := listing("default")
	h.OnUpdate(own, dropped(own))
	assert.Equal(t, 1, f.c.queue.Len(), "its own namespace's slice wakes it")
}
