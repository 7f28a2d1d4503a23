package caches

import (
	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// The transforms below run on every object an informer receives, before it is cached: the caches keep only
// what the server reads, so that a cluster's pods cost it little memory.

// TrimPod keeps, of a pod a CloneSet controls, what a release reads (package cloneset): its identity,
// labels, controller reference, creation and deletion, readiness gates, phase, IP, conditions (whole:
// KruisePodReady's message is written back) and the state of its containers. Any other pod is reduced to
// its identity and controller reference, which is all that waking a release reads; no release acts on it.
// The pod informer caches this only for the pods a release can act on, and a smaller stub for the others
// (trimOrStub, stubs.go).
func TrimPod(obj interface{}) (interface{}, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil // a DeletedFinalStateUnknown tombstone: its pod was trimmed when it was cached
	}
	ref := metav1.GetControllerOf(pod)
	kept := &corev1.Pod{ObjectMeta: identity(&pod.ObjectMeta, ref)}
	if !isCloneSet(ref) {
		return kept, nil
	}
	kept.Generation = pod.Generation
	kept.CreationTimestamp = pod.CreationTimestamp
	kept.DeletionTimestamp = pod.DeletionTimestamp
	kept.DeletionGracePeriodSeconds = pod.DeletionGracePeriodSeconds
	kept.Labels = pod.Labels
	kept.Spec.NodeName = pod.Spec.NodeName
	kept.Spec.ReadinessGates = pod.Spec.ReadinessGates
	kept.Status = corev1.PodStatus{
		Phase:                 pod.Status.Phase,
		Conditions:            pod.Status.Conditions,
		PodIP:                 pod.Status.PodIP,
		PodIPs:                pod.Status.PodIPs,
		ContainerStatuses:     containerStates(pod.Status.ContainerStatuses),
		InitContainerStatuses: containerStates(pod.Status.InitContainerStatuses),
	}
	return kept, nil
}

// containerStates keeps of each container status its name, readiness, restarts and state.
func containerStates(in []corev1.ContainerStatus) []corev1.ContainerStatus {
	if len(in) == 0 {
		return nil
	}
	out := make([]corev1.ContainerStatus, len(in))
	for i, s := range in {
		out[i] = corev1.ContainerStatus{Name: s.Name, Ready: s.Ready, RestartCount: s.RestartCount, State: s.State}
	}
	return out
}

// TrimRevision keeps a CloneSet's ControllerRevision but its managed fields; any other is reduced to its
// identity.
func TrimRevision(obj interface{}) (interface{}, error) {
	rev, ok := obj.(*appsv1.ControllerRevision)
	if !ok {
		return obj, nil
	}
	ref := metav1.GetControllerOf(rev)
	if !isCloneSet(ref) {
		return &appsv1.ControllerRevision{ObjectMeta: identity(&rev.ObjectMeta, ref)}, nil
	}
	rev.ManagedFields = nil
	return rev, nil
}

// TrimCloneSet drops a CloneSet's managed fields. Nothing else: a CloneSet write is a merge patch from the
// CloneSet as read to the CloneSet as wanted, so a field missing from both is never written.
func TrimCloneSet(obj interface{}) (interface{}, error) {
	if cs, ok := obj.(*kruiseappsv1alpha1.CloneSet); ok {
		cs.ManagedFields = nil
	}
	return obj, nil
}

// identity is an object's name, namespace, uid and resourceVersion, and its controller reference.
func identity(m *metav1.ObjectMeta, controller *metav1.OwnerReference) metav1.ObjectMeta {
	kept := metav1.ObjectMeta{Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion}
	if controller != nil {
		kept.OwnerReferences = []metav1.OwnerReference{*controller}
	}
	return kept
}

var cloneSetKind = kruiseappsv1alpha1.SchemeGroupVersion.WithKind("CloneSet")

// isCloneSet reports whether a controller reference names a CloneSet.
func isCloneSet(ref *metav1.OwnerReference) bool {
	if ref == nil || ref.Kind != cloneSetKind.Kind {
		return false
	}
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	return err == nil && gv.Group == cloneSetKind.Group
}
