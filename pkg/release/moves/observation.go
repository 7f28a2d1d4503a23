package moves

import (
	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	corev1 "k8s.io/api/core/v1"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/release/plan"
)

// ObservationOf counts how far a release's pods are.
func ObservationOf(r *releases.Release, cs *kruiseappsv1alpha1.CloneSet, pods []corev1.Pod) plan.Observation {
	var obs plan.Observation
	if cs == nil {
		return obs
	}
	obs.Replicas = cs.Status.Replicas
	obs.Desired = 1
	if cs.Spec.Replicas != nil {
		obs.Desired = *cs.Spec.Replicas
	}
	if plan.RestartsPods(r) {
		return restartObservation(r, obs, pods)
	}
	if r.Spec.Action == releases.ActionScale && r.Spec.Replicas != nil && r.Status.CloneSet != nil &&
		r.Status.CloneSet.ReplicasBeforeRelease != nil && *r.Spec.Replicas < *r.Status.CloneSet.ReplicasBeforeRelease {
		// Scale in: a removed pod is done as soon as it is gone.
		alive := int32(0)
		for _, p := range pods {
			if p.DeletionTimestamp == nil {
				alive++
			}
		}
		removed := max(*r.Status.CloneSet.ReplicasBeforeRelease-alive, 0)
		return plan.Observation{Replicas: cs.Status.Replicas, Desired: obs.Desired, Updated: removed, ContainersReady: removed, Ready: removed}
	}
	for i := range pods {
		if pods[i].DeletionTimestamp == nil {
			obs.Alive++
		}
	}
	if plan.BlueGreen(r) {
		for _, p := range BluePods(r, pods) {
			obs.Blue++
			if Condition(&p, corev1.PodReady) {
				obs.BlueReady++
			}
		}
	}
	countReleasePods(&obs, ReleasePods(r, cs, pods))
	return obs
}

// restartObservation counts how far a Restart of named pods is: a replacement counts once as many of the
// pods named so far are gone (a pod made for another reason, by a scale-out or an eviction, does not
// stand for one that is still there).
func restartObservation(r *releases.Release, obs plan.Observation, pods []corev1.Pod) plan.Observation {
	alive := map[string]bool{}
	for i := range pods {
		if pods[i].DeletionTimestamp == nil {
			alive[pods[i].Name] = true
		}
	}
	gone := int32(0)
	named := r.Spec.PodsToDelete[:min(int(plan.EffectiveTarget(&r.Status)), len(r.Spec.PodsToDelete))]
	for _, n := range named {
		if !alive[n] {
			gone++
		}
	}
	countReleasePods(&obs, ReleasePods(r, nil, pods))
	obs.Updated = min(obs.Updated, gone)
	obs.ContainersReady = min(obs.ContainersReady, gone)
	obs.Ready = min(obs.Ready, gone)
	return obs
}

// countReleasePods adds a release's pods to obs: all of them as updated, and those ContainersReady and Ready.
func countReleasePods(obs *plan.Observation, pods []corev1.Pod) {
	for i := range pods {
		obs.Updated++
		if Condition(&pods[i], corev1.ContainersReady) {
			obs.ContainersReady++
		}
		if Condition(&pods[i], corev1.PodReady) {
			obs.Ready++
		}
	}
}

// MaxListedPods is how many pods a release lists in its batches' status, all batches together: the status
// is stored in etcd and must not grow with the CloneSet. The batches' replicas and targets still count
// every pod.
const MaxListedPods = 500

// AssignBatchPods records the release's pods (ReleasePods of the CloneSet's pods) in its batches: pods
// already listed in a batch stay there (with their IP, phase and pull-in refreshed, or dropped when no
// longer the release's); new pods join the current batch, as long as fewer than MaxListedPods are listed.
// Right after a write, before kruise has seen the CloneSet's latest spec, its revisions cannot tell the
// release's pods: then the listed pods stay (dropped only when gone) and none join. Dropping them would
// have them join the current batch a moment later, a canary counted in batch 2.
func AssignBatchPods(r *releases.Release, cs *kruiseappsv1alpha1.CloneSet, pods []corev1.Pod) {
	s := &r.Status
	cur := plan.Current(s)
	if cur == nil || cur.Phase == releases.BatchPending {
		return
	}
	known := releasePodsKnown(r, cs)
	if known {
		pods = ReleasePods(r, cs, pods)
	}
	byName := make(map[string]*corev1.Pod, len(pods))
	for i := range pods {
		byName[pods[i].Name] = &pods[i]
	}
	listed := map[string]bool{}
	for i := range s.Batches {
		b := &s.Batches[i]
		kept := b.Pods[:0:0]
		for _, bp := range b.Pods {
			if p, ok := byName[bp.Name]; ok {
				kept = append(kept, batchPod(p))
				listed[bp.Name] = true
			}
		}
		b.Pods = kept
	}
	count := len(listed)
	for i := range pods {
		if known && !listed[pods[i].Name] && count < MaxListedPods {
			cur.Pods = append(cur.Pods, batchPod(&pods[i]))
			count++
		}
	}
	for i := range s.Batches {
		if len(s.Batches[i].Pods) == 0 {
			s.Batches[i].Pods = nil
		}
	}
}

func batchPod(p *corev1.Pod) releases.BatchPod {
	return releases.BatchPod{Name: p.Name, IP: p.Status.PodIP, Phase: p.Status.Phase, PulledIn: PulledIn(p),
		Ready: Condition(p, corev1.PodReady)}
}
