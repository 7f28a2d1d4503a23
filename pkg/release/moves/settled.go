package moves

import (
	kruiseappspub "github.com/openkruise/kruise-api/apps/pub"
	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// Settled reports whether kruise is done with the CloneSet's latest spec: it has observed it, has as many
// pods as it should, all of them at its template, and no pod is left that it is about to take away or is
// updating (pods on their way out were let go by the hold protocol only once out of the endpoints). A
// canceled release lets go of its CloneSet once it is settled on the revert; until then the hooks hold
// every pod kruise takes away. It is a pure function of what was read.
func Settled(cs *kruiseappsv1alpha1.CloneSet, pods []corev1.Pod) bool {
	if cs == nil {
		return true // nothing left to hold
	}
	if cs.Status.ObservedGeneration < cs.Generation {
		return false
	}
	replicas := int32(1)
	if cs.Spec.Replicas != nil {
		replicas = *cs.Spec.Replicas
	}
	if cs.Status.Replicas != replicas || cs.Status.UpdatedReplicas != cs.Status.Replicas {
		return false
	}
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			continue // let go of by the hold protocol: out of the endpoints
		}
		switch kruiseappspub.LifecycleStateType(p.Labels[kruiseappspub.LifecycleStateKey]) {
		case kruiseappspub.LifecycleStatePreparingDelete, kruiseappspub.LifecycleStatePreparingUpdate,
			kruiseappspub.LifecycleStateUpdating:
			return false
		}
		// Every pod is at the CloneSet's template: the one from before the release, or one someone wrote
		// since the cancel (that edit is theirs, and kruise rolls it out under the same hooks).
		if p.Labels[appsv1.ControllerRevisionHashLabelKey] != cs.Status.UpdateRevision {
			return false
		}
	}
	return true
}
