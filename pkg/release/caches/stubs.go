package caches

import (
	"strings"

	kruiseappspub "github.com/openkruise/kruise-api/apps/pub"
	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/release/moves"
)

// The pod informer watches every pod of the cluster, with no label selector. A selector on kruise's
// apps.kruise.io/cloneset-instance-id label would leave out other controllers' pods, but kruise counts a
// pod as a CloneSet's by its controller reference alone (it lists a CloneSet's pods by owner UID): the
// label is on the pods kruise creates, yet a pod whose label was taken off or changed (tried on the test
// bed: still counted in the CloneSet's replicas), or one another client created with a controller
// reference, is the CloneSet's too, and a release must see every pod it may have to take out of traffic.
// So the transform decides, pod by pod and event by event, what to keep:
//
//   - a pod a release can act on, kept as TrimPod trims it: one of a CloneSet that a release drives (the
//     CloneSet names it, OwnerAnnotation, or is held for pull-in, PullInLabel), or one that carries a mark
//     of Triton's (Marked);
//   - any other pod, a stub: its identity and controller reference in a *metav1.PartialObjectMetadata (a
//     few hundred bytes, against kilobytes for a trimmed pod; see memory_test.go).
//
// A pod is classified again at each of its events: prepare puts the hold label on every pod of a CloneSet
// when a release starts, and triton-pull-in-gate gives new ones the readiness gate and the hold label, so
// the pods of a CloneSet a release takes hold of are kept whole within moments. Until then Pods answers
// from kube-apiserver, so no reader ever sees a stub. The controller's pod handlers take only a
// *corev1.Pod: a stub's events (its add, its updates, its delete, a pod's change into a stub) wake no
// release.

// podStubKind is a stub's kind, for anyone who prints one.
var podStubKind = metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}

// Constant strings of a CloneSet's controller reference: a stub points at them rather than keeping the
// copies each decoded pod brings.
var (
	cloneSetAPIVersion = kruiseappsv1alpha1.SchemeGroupVersion.String()
	controllerTrue     = true
)

// trimOrStub is the pod informer's transform: a pod a release can act on (see above) trimmed by TrimPod,
// any other a stub. cloneSetOf returns the cached CloneSet a controller reference names (nil when there is
// none, or one of another UID). A tombstone (cache.DeletedFinalStateUnknown) is left as it is: its pod was
// classified when it was cached.
func trimOrStub(obj interface{}, cloneSetOf func(namespace string, ref *metav1.OwnerReference) *kruiseappsv1alpha1.CloneSet) (interface{}, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	ref := metav1.GetControllerOf(pod)
	if !isCloneSet(ref) {
		return podStub(pod, ref, nil), nil
	}
	cs := cloneSetOf(pod.Namespace, ref)
	if Marked(pod) || (cs != nil && drivenCloneSet(cs)) {
		return TrimPod(pod)
	}
	return podStub(pod, ref, cs), nil
}

// isStub reports whether a cached pod is a stub.
func isStub(obj interface{}) bool {
	_, ok := obj.(*metav1.PartialObjectMetadata)
	return ok
}

// podStub is a pod's name, namespace, uid and resourceVersion, and its controller reference: what the
// controller reads of a pod event (pkg/release/controller: the namespace, and the kind and name of the
// controller) and what the caches index (the controller's UID). Not its labels: waking a release does not
// match the CloneSet's selector, and a stub is never returned as a pod (Pods reads live instead). The
// strings a stub shares with its CloneSet (cs, when cached) are the cached CloneSet's, not copies.
func podStub(pod *corev1.Pod, ref *metav1.OwnerReference, cs *kruiseappsv1alpha1.CloneSet) *metav1.PartialObjectMetadata {
	stub := &metav1.PartialObjectMetadata{TypeMeta: podStubKind, ObjectMeta: metav1.ObjectMeta{
		Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID, ResourceVersion: pod.ResourceVersion,
	}}
	if ref == nil {
		return stub
	}
	kept := metav1.OwnerReference{APIVersion: ref.APIVersion, Kind: ref.Kind, Name: ref.Name, UID: ref.UID, Controller: &controllerTrue}
	if kept.APIVersion == cloneSetAPIVersion && kept.Kind == cloneSetKind.Kind {
		kept.APIVersion, kept.Kind = cloneSetAPIVersion, cloneSetKind.Kind
	}
	if cs != nil {
		stub.Namespace, kept.Name, kept.UID = cs.Namespace, cs.Name, cs.UID
	}
	stub.OwnerReferences = []metav1.OwnerReference{kept}
	return stub
}

// Marked reports whether a pod carries one of Triton's marks, which a release (or the caretaker of a
// CloneSet no release runs on) acts on: the readiness gate apps.triton.io/ready in its spec or its
// condition in its status, the hold label, the release's labels, or triton's not-ready key in kruise's
// KruisePodReady condition.
func Marked(pod *corev1.Pod) bool {
	for _, key := range []string{v1alpha1.HoldLabel, v1alpha1.ReleaseLabel, v1alpha1.BatchLabel} {
		if _, ok := pod.Labels[key]; ok {
			return true
		}
	}
	for _, g := range pod.Spec.ReadinessGates {
		if g.ConditionType == v1alpha1.ReadinessGate {
			return true
		}
	}
	for _, c := range pod.Status.Conditions {
		switch {
		case c.Type == v1alpha1.ReadinessGate:
			return true
		case c.Type == kruiseappspub.KruisePodReadyConditionType && strings.Contains(c.Message, v1alpha1.NotReadyKey):
			// The substring first: decoding the message at every event of every pod would cost more.
			return moves.HasNotReadyKey(pod)
		}
	}
	return false
}

// drivenCloneSet reports whether a CloneSet a release drives: one it names (OwnerAnnotation) or holds for
// pull-in (PullInLabel).
func drivenCloneSet(cs *kruiseappsv1alpha1.CloneSet) bool {
	return cs.Annotations[v1alpha1.OwnerAnnotation] != "" || cs.Labels[v1alpha1.PullInLabel] != ""
}
