package controller

import (
	"slices"
	"strings"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/triton-io/triton/pkg/release/cloneset"
)

// endpointsHandler wakes the releases whose pods an EndpointSlice's change concerns: a pod a release
// drains is let go once no Service lists it as a ready endpoint, and the slice's change is the event
// that says so. pods is the pod cache, which names each pod's controller.
func (c *Controller) endpointsHandler(pods cache.Indexer) cache.ResourceEventHandler {
	wake := func(s *discoveryv1.EndpointSlice, only func(discoveryv1.Endpoint) bool) {
		for _, e := range s.Endpoints {
			if e.TargetRef == nil || e.TargetRef.Kind != "Pod" || (only != nil && !only(e)) {
				continue
			}
			// Only the slice's own namespace: a slice naming another namespace's pod (anyone who may write
			// EndpointSlices can) wakes nothing there.
			ns := s.Namespace
			if e.TargetRef.Namespace != "" && e.TargetRef.Namespace != ns {
				continue
			}
			obj, exists, err := pods.GetByKey(ns + "/" + e.TargetRef.Name)
			if err != nil || !exists {
				continue
			}
			if o, ok := obj.(metav1.Object); ok {
				if ref := metav1.GetControllerOf(o); ref != nil && ref.Kind == cloneSetKind {
					c.enqueueCloneSetKey(ns, ref.Name)
				}
			}
		}
	}
	slice := func(obj interface{}) *discoveryv1.EndpointSlice {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		s, _ := obj.(*discoveryv1.EndpointSlice)
		return s
	}
	return cache.ResourceEventHandlerFuncs{
		// A new slice adds endpoints, which lets no pod go: nothing to wake.
		UpdateFunc: func(old, obj interface{}) {
			o, s := slice(old), slice(obj)
			if o == nil || s == nil {
				return
			}
			// The endpoints that were ready and are no longer (gone, or not ready).
			now := map[string]bool{}
			for _, e := range s.Endpoints {
				if cloneset.EndpointReady(e) {
					now[key(e)] = true
				}
			}
			wake(o, func(e discoveryv1.Endpoint) bool { return cloneset.EndpointReady(e) && !now[key(e)] })
		},
		DeleteFunc: func(obj interface{}) {
			if s := slice(obj); s != nil {
				wake(s, cloneset.EndpointReady)
			}
		},
	}
}

// key names an endpoint by its addresses.
func key(e discoveryv1.Endpoint) string {
	a := slices.Clone(e.Addresses)
	slices.Sort(a)
	return strings.Join(a, ",")
}

var cloneSetKind = kruiseappsv1alpha1.SchemeGroupVersion.WithKind("CloneSet").Kind
