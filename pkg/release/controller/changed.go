package controller

import (
	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// readChanged reports whether an update of a cached pod or CloneSet changed anything the controller can
// read. The caches keep only what a release reads (caches.TrimPod, caches.TrimCloneSet), so an update of
// anything else (a pod's annotations, most of its status, managed fields) arrives as the same object with
// a new resourceVersion: a reconcile would see what the last one saw, and none is woken for it. Anything
// else, an unknown type included, counts as changed.
func readChanged(oldObj, newObj interface{}) bool {
	switch n := newObj.(type) {
	case *corev1.Pod:
		o, ok := oldObj.(*corev1.Pod)
		return !ok || changedBeyondVersion(*o, *n, func(p *corev1.Pod) *metav1.ObjectMeta { return &p.ObjectMeta })
	case *kruiseappsv1alpha1.CloneSet:
		o, ok := oldObj.(*kruiseappsv1alpha1.CloneSet)
		return !ok || changedBeyondVersion(*o, *n, func(cs *kruiseappsv1alpha1.CloneSet) *metav1.ObjectMeta { return &cs.ObjectMeta })
	}
	return true
}

// changedBeyondVersion compares shallow copies of two versions of an object with the old one's
// resourceVersion set to the new one's; the cached objects are left as they are.
func changedBeyondVersion[T any](old, cur T, meta func(*T) *metav1.ObjectMeta) bool {
	meta(&old).ResourceVersion = meta(&cur).ResourceVersion
	return !equality.Semantic.DeepEqual(&old, &cur)
}
