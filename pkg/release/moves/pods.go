package moves

import (
	"sort"

	kruiseappspub "github.com/openkruise/kruise-api/apps/pub"
	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/release/plan"
)

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

// byPods reports whether a release's pods are told apart by name rather than by revision: the pods that
// were not there when it was admitted (status.cloneSet.podsBeforeRelease) are its own. Create, Scale and a
// Restart of named pods.
func byPods(r *releases.Release) bool {
	return r.Spec.Action == releases.ActionCreate || r.Spec.Action == releases.ActionScale || plan.RestartsPods(r)
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

// Gated reports whether a pod carries the readiness gate: it is in traffic only once pulled in.
func Gated(p *corev1.Pod) bool { return specHasGate(&p.Spec) }

// HasGate reports whether a template's pods carry the readiness gate.
func HasGate(t *corev1.PodTemplateSpec) bool { return specHasGate(&t.Spec) }

// specHasGate reports whether a pod spec carries the readiness gate.
func specHasGate(spec *corev1.PodSpec) bool {
	for _, g := range spec.ReadinessGates {
		if g.ConditionType == v1alpha1.ReadinessGate {
			return true
		}
	}
	return false
}

// Strays are the CloneSet's pods that carry the readiness gate but are not in traffic although they
// could be: at the CloneSet's update revision (once it has seen its latest spec), ContainersReady, not
// on their way out. The gate stays in the template after a release, so pods made while no release
// runs (a scale, a replacement, the pods a cancel brings back) are strays until someone pulls them in.
func Strays(cs *kruiseappsv1alpha1.CloneSet, pods []corev1.Pod) []corev1.Pod {
	if cs.Status.ObservedGeneration != cs.Generation || cs.Status.UpdateRevision == "" {
		return nil
	}
	return straysAt(cs.Status.UpdateRevision, pods)
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
	return straysAt(r.Status.CloneSet.RevisionBeforeRelease, pods)
}

// straysAt are the pods at revision rev that carry the readiness gate and are ready for traffic
// (ContainersReady) but out of it, and that kruise is not taking away.
func straysAt(rev string, pods []corev1.Pod) []corev1.Pod {
	var strays []corev1.Pod
	for i := range pods {
		p := &pods[i]
		if p.DeletionTimestamp != nil || !specHasGate(&p.Spec) || PulledIn(p) || !Condition(p, corev1.ContainersReady) ||
			p.Labels[appsv1.ControllerRevisionHashLabelKey] != rev {
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

// Held are the pods that carry the hold label and are not on their way out: what a release lets go of
// once it no longer holds the CloneSet, and what no release holds on a CloneSet none runs on.
func Held(pods []corev1.Pod) []corev1.Pod {
	var held []corev1.Pod
	for i := range pods {
		if _, ok := pods[i].Labels[v1alpha1.HoldLabel]; ok && pods[i].DeletionTimestamp == nil {
			held = append(held, pods[i])
		}
	}
	return held
}

// pulledIn keeps the pods whose readiness gate is True: those a pull-out changes.
func pulledIn(pods []corev1.Pod) []corev1.Pod {
	var in []corev1.Pod
	for i := range pods {
		if PulledIn(&pods[i]) {
			in = append(in, pods[i])
		}
	}
	return in
}
