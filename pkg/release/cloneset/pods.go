package cloneset

import (
	"context"
	"encoding/json"
	"sort"

	kruiseappspub "github.com/openkruise/kruise-api/apps/pub"
	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/release/plan"
)

// Pods lists the CloneSet's pods: those its selector matches and it controls.
func (d *Driver) Pods(ctx context.Context, cs *kruiseappsv1alpha1.CloneSet) ([]corev1.Pod, error) {
	return d.read().Pods(ctx, cs)
}

// ControlledBy keeps the pods whose controller is cs. Labels alone are not enough: the pods of a
// deleted CloneSet of the same name that were left behind, or of another controller with an
// overlapping selector, would count as this one's and a scale-in would wait for ever for them to go.
func ControlledBy(cs *kruiseappsv1alpha1.CloneSet, pods []corev1.Pod) []corev1.Pod {
	owned := pods[:0:0]
	for i := range pods {
		if metav1.IsControlledBy(&pods[i], cs) {
			owned = append(owned, pods[i])
		}
	}
	return owned
}

// existedBefore reports whether a pod was the CloneSet's before the release (Scale records them).
func existedBefore(r *releases.Release, name string) bool {
	if r.Status.CloneSet == nil {
		return false
	}
	for _, n := range r.Status.CloneSet.PodsBeforeRelease {
		if n == name {
			return true
		}
	}
	return false
}

// ReleasePods are the pods a release has brought up so far: for Update, Restart and Rollback the pods at
// the CloneSet's update revision; for Create, a scale-out and a Restart of named pods the pods that were
// not there before. Pods on their way out are not counted.
func ReleasePods(r *releases.Release, cs *kruiseappsv1alpha1.CloneSet, pods []corev1.Pod) []corev1.Pod {
	var out []corev1.Pod
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			continue
		}
		switch {
		case byPods(r):
			if !existedBefore(r, p.Name) {
				out = append(out, p)
			}
		default:
			if atReleaseRevision(r, cs) && p.Labels[appsv1.ControllerRevisionHashLabelKey] == cs.Status.UpdateRevision {
				out = append(out, p)
			}
		}
	}
	return out
}

// NewPods are the pods a release brought in, whatever the CloneSet's revisions are now: for Update,
// Restart and Rollback the pods not at the revision from before the release; for Create and Scale the
// pods that were not there before. What `cancel` pulls out of traffic. None for a Restart of named pods:
// its new pods are the CloneSet's template as before, and stay in traffic after a cancel.
func NewPods(r *releases.Release, pods []corev1.Pod) []corev1.Pod {
	if plan.RestartsPods(r) {
		return nil
	}
	before := ""
	if r.Status.CloneSet != nil {
		before = r.Status.CloneSet.RevisionBeforeRelease
	}
	var out []corev1.Pod
	for _, p := range pods {
		switch r.Spec.Action {
		case releases.ActionCreate, releases.ActionScale:
			if !existedBefore(r, p.Name) {
				out = append(out, p)
			}
		default:
			if p.Labels[appsv1.ControllerRevisionHashLabelKey] != before {
				out = append(out, p)
			}
		}
	}
	return out
}

// releasePodsKnown reports whether ReleasePods can tell the release's pods from the CloneSet: always for
// Create and Scale (the pods that were not there before) and for a canceled release, else once kruise has
// seen the CloneSet's latest spec.
func releasePodsKnown(r *releases.Release, cs *kruiseappsv1alpha1.CloneSet) bool {
	switch {
	case byPods(r), r.Status.Phase == releases.ReleaseCanceled:
		return true
	}
	return cs != nil && cs.Status.ObservedGeneration >= cs.Generation
}

// atReleaseRevision reports whether the CloneSet has taken the release's template: it has seen its latest
// spec, and its update revision is no longer the one from before the release.
func atReleaseRevision(r *releases.Release, cs *kruiseappsv1alpha1.CloneSet) bool {
	if cs == nil || cs.Status.ObservedGeneration < cs.Generation {
		return false
	}
	before := ""
	if r.Status.CloneSet != nil {
		before = r.Status.CloneSet.RevisionBeforeRelease
	}
	return cs.Status.UpdateRevision != before
}

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

// Condition reports whether a pod's condition is True.
func Condition(p *corev1.Pod, t corev1.PodConditionType) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == t {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// PulledIn reports whether a pod's readiness gate is True.
func PulledIn(p *corev1.Pod) bool { return Condition(p, v1alpha1.ReadinessGate) }

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

// Strays are the CloneSet's pods that carry the readiness gate but are not in traffic although they
// could be: at the CloneSet's update revision (once it has seen its latest spec), ContainersReady, not
// on their way out. The gate stays in the template after a release, so pods made while no release
// runs (a scale, a replacement, the pods a cancel brings back) are strays until someone pulls them in.
func Strays(cs *kruiseappsv1alpha1.CloneSet, pods []corev1.Pod) []corev1.Pod {
	if cs.Status.ObservedGeneration != cs.Generation || cs.Status.UpdateRevision == "" {
		return nil
	}
	var strays []corev1.Pod
	for i := range pods {
		p := &pods[i]
		if p.DeletionTimestamp != nil || !specHasGate(&p.Spec) || PulledIn(p) || !Condition(p, corev1.ContainersReady) ||
			p.Labels[appsv1.ControllerRevisionHashLabelKey] != cs.Status.UpdateRevision {
			continue
		}
		switch kruiseappspub.LifecycleStateType(p.Labels[kruiseappspub.LifecycleStateKey]) {
		case kruiseappspub.LifecycleStatePreparingDelete, kruiseappspub.LifecycleStatePreparingUpdate:
			continue
		}
		strays = append(strays, *p)
	}
	return strays
}

// Approved splits a release's pods (ReleasePods) into the limit pods the batches approved so far and the
// excess beyond them. A negative limit approves every pod. The approved are those in traffic first (so
// that no pod in traffic is the one taken out), then the oldest: the pods a batch brought up before a
// scale-out added more at the release's revision, which can happen while no admission rewrote the
// partition in the same write (kruise acted on the new replicas before the release corrected it).
func Approved(pods []corev1.Pod, limit int) (approved, excess []corev1.Pod) {
	if limit < 0 || len(pods) <= limit {
		return pods, nil
	}
	sorted := append([]corev1.Pod(nil), pods...)
	sort.SliceStable(sorted, func(i, j int) bool {
		a, b := &sorted[i], &sorted[j]
		if pa, pb := PulledIn(a), PulledIn(b); pa != pb {
			return pa
		}
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.CreationTimestamp.Before(&b.CreationTimestamp)
		}
		return a.Name < b.Name
	})
	return sorted[:limit:limit], sorted[limit:]
}

// PartitionHolds reports whether kruise has seen a partition that keeps all but at most updated pods of
// the CloneSet at the old revision: then a pod at the release's revision it replaces comes back at the
// old one.
func PartitionHolds(cs *kruiseappsv1alpha1.CloneSet, updated int32) bool {
	if cs == nil || cs.Status.ObservedGeneration < cs.Generation || cs.Spec.UpdateStrategy.Partition == nil {
		return false
	}
	replicas := int32(1)
	if cs.Spec.Replicas != nil {
		replicas = *cs.Spec.Replicas
	}
	p := cs.Spec.UpdateStrategy.Partition
	return p.Type == intstr.Int && p.IntVal >= replicas-updated
}

// Replace asks kruise to replace the named pods (spec.scaleStrategy.podsToDelete): it deletes each, through
// its lifecycle hooks, so a pod in traffic is pulled out first, and creates one in its place at the
// revision the partition says. The write carries the CloneSet's resourceVersion as a precondition.
func (d *Driver) Replace(ctx context.Context, cs *kruiseappsv1alpha1.CloneSet, pods []corev1.Pod) error {
	names := make([]string, 0, len(pods))
	for _, p := range pods {
		names = append(names, p.Name)
	}
	// Live: only pods that exist now go into podsToDelete (kruise refuses the others).
	all, err := d.Live().Pods(ctx, cs)
	if err != nil {
		return err
	}
	listed := map[string]bool{}
	for _, n := range cs.Spec.ScaleStrategy.PodsToDelete {
		listed[n] = true
	}
	added := false
	for _, n := range existing(names, all) {
		added = added || !listed[n]
	}
	if !added {
		return nil
	}
	want := existing(mergeNames(cs.Spec.ScaleStrategy.PodsToDelete, names), all)
	patch, err := json.Marshal(map[string]interface{}{
		"metadata": map[string]interface{}{"resourceVersion": cs.ResourceVersion},
		"spec":     map[string]interface{}{"scaleStrategy": map[string]interface{}{"podsToDelete": want}},
	})
	if err != nil {
		return err
	}
	_, err = d.patch(ctx, cs, patch, false)
	return err
}

// StableStrays are the pods at the revision from before a release (Update, Restart, Rollback) that carry the
// readiness gate and are ready for traffic, but out of it: a scale-out, or a replacement, while the release
// runs. They are what the CloneSet served before the release, so they go into traffic as any pod would
// without a release; only the pods at the release's revision wait for their batch.
func StableStrays(r *releases.Release, pods []corev1.Pod) []corev1.Pod {
	if r.Status.CloneSet == nil || r.Status.CloneSet.RevisionBeforeRelease == "" {
		return nil
	}
	switch r.Spec.Action {
	case releases.ActionUpdate, releases.ActionRestart, releases.ActionRollback:
	default:
		return nil
	}
	if plan.RestartsPods(r) {
		// Its new pods are at that revision too, and wait for their batch.
		return nil
	}
	var strays []corev1.Pod
	for i := range pods {
		p := &pods[i]
		if p.DeletionTimestamp != nil || !specHasGate(&p.Spec) || PulledIn(p) || !Condition(p, corev1.ContainersReady) ||
			p.Labels[appsv1.ControllerRevisionHashLabelKey] != r.Status.CloneSet.RevisionBeforeRelease {
			continue
		}
		switch kruiseappspub.LifecycleStateType(p.Labels[kruiseappspub.LifecycleStateKey]) {
		case kruiseappspub.LifecycleStatePreparingDelete, kruiseappspub.LifecycleStatePreparingUpdate:
			continue
		}
		strays = append(strays, *p)
	}
	return strays
}

// byPods reports whether a release's pods are told apart by name rather than by revision: the pods that
// were not there when it was admitted (status.cloneSet.podsBeforeRelease) are its own. Create, Scale and a
// Restart of named pods.
func byPods(r *releases.Release) bool {
	return r.Spec.Action == releases.ActionCreate || r.Spec.Action == releases.ActionScale || plan.RestartsPods(r)
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
