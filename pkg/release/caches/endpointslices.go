package caches

import (
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/triton-io/triton/pkg/release/cloneset"
)

// EndpointSlices are what the cache of EndpointSlices keeps: of each slice, its identity and, of each of
// its endpoints, the addresses, whether ready, and the pod it targets. It tells when a pod a release
// drains has left every Service, and wakes that release when it does (pkg/release/controller).
//
// The informer is not part of HasSynced: a server whose role may list EndpointSlices but not watch them
// (a role from before it needed to) never syncs it, and reads them live instead (ReadyEndpoints says so).

// TrimEndpointSlice keeps of an EndpointSlice its identity and, of each endpoint, the addresses, the ready
// condition and the target reference.
func TrimEndpointSlice(obj interface{}) (interface{}, error) {
	s, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok {
		return obj, nil
	}
	kept := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: s.Name, Namespace: s.Namespace, UID: s.UID,
		ResourceVersion: s.ResourceVersion}, AddressType: s.AddressType}
	if len(s.Endpoints) > 0 {
		kept.Endpoints = make([]discoveryv1.Endpoint, len(s.Endpoints))
		for i, e := range s.Endpoints {
			kept.Endpoints[i] = discoveryv1.Endpoint{Addresses: e.Addresses,
				Conditions: discoveryv1.EndpointConditions{Ready: e.Conditions.Ready}, TargetRef: e.TargetRef}
		}
	}
	return kept, nil
}

// ReadyEndpoints returns the IPs that an EndpointSlice of the namespace lists as ready endpoints, as the
// cache has them, and false when the cache has not synced (the caller reads them live).
func (c *Caches) ReadyEndpoints(namespace string) (map[string]bool, bool) {
	if c.EndpointSliceInformer == nil || !c.EndpointSliceInformer.HasSynced() {
		return nil, false
	}
	objs, err := c.EndpointSliceInformer.GetIndexer().ByIndex(cache.NamespaceIndex, namespace)
	if err != nil {
		return nil, false
	}
	ready := map[string]bool{}
	for _, obj := range objs {
		if s, ok := obj.(*discoveryv1.EndpointSlice); ok {
			cloneset.AddReadyEndpoints(ready, s)
		}
	}
	return ready, true
}
