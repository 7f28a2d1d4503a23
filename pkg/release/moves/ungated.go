package moves

import (
	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/release/plan"
)

// A pod made while kube-apiserver could not run the pull-in gate policy (right after it restarts, until it
// can resolve the policy's paramKind; the policy fails open) has no readiness gate: it would be in traffic
// as soon as it is up, a canary before `next`. The controller keeps such a pod of a release out of traffic
// through kruise's own KruisePodReady gate, with triton's not-ready key (as blue/green does with blue), until
// its batch is pulled in, and takes the key off then, on let-go, or once the pod is no longer the release's.

// UngatedTraffic says which pods must carry triton's not-ready key (out) and which must not (in), for the
// pods without the readiness gate: out for a release pod whose batch is not pulled in yet, or whose release
// was canceled; in for a release pod whose batch is pulled in, for every pod once the release has
// succeeded, and for a pod that carries the key but is no longer the release's (updated back in place
// after a cancel). Blue pods of a blue/green release are left to it.
func UngatedTraffic(r *releases.Release, cs *kruiseappsv1alpha1.CloneSet, pods []corev1.Pod) (out, in []corev1.Pod) {
	cur := plan.Current(&r.Status)
	if !plan.NeedsPullIn(r) || cur == nil || cur.Phase == releases.BatchPending {
		return nil, nil
	}
	listed := map[string]int32{}
	for _, b := range r.Status.Batches {
		for _, p := range b.Pods {
			listed[p.Name] = b.Index
		}
	}
	pulledIn := func(name string) bool {
		switch r.Status.Phase {
		case releases.ReleaseSucceeded:
			return true
		case releases.ReleaseCanceled:
			return false
		}
		batch, ok := listed[name]
		if !ok {
			batch = cur.Index
		}
		if batch < cur.Index {
			return true
		}
		return batch == cur.Index && (cur.Phase == releases.BatchBaking || cur.Phase == releases.BatchBaked || plan.PullsInWhileSmoking(r))
	}
	var mine []corev1.Pod
	if r.Status.Phase == releases.ReleaseCanceled {
		mine = NewPods(r, pods)
	} else {
		mine = ReleasePods(r, cs, pods)
	}
	isMine := map[string]bool{}
	for i := range mine {
		p := &mine[i]
		isMine[p.Name] = true
		if p.DeletionTimestamp != nil || Gated(p) || !HasKruiseGate(p) {
			continue
		}
		switch want := !pulledIn(p.Name); {
		case want && !keyedOut(p):
			out = append(out, *p)
		case !want && HasNotReadyKey(p):
			in = append(in, *p)
		}
	}
	before := ""
	if r.Status.CloneSet != nil {
		before = r.Status.CloneSet.RevisionBeforeRelease
	}
	// Which pods are the release's comes from the CloneSet's update revision. Until kruise has seen its
	// latest spec (right after a write), that says nothing: only a pod at the revision from before the
	// release is surely not the release's then. Taking the key off the others would put a canary into
	// traffic until the next look took it out again.
	known := r.Status.Phase == releases.ReleaseCanceled || byPods(r) || atReleaseRevision(r, cs)
	for i := range pods {
		p := &pods[i]
		if isMine[p.Name] || p.DeletionTimestamp != nil || !HasNotReadyKey(p) {
			continue
		}
		if !known && p.Labels[appsv1.ControllerRevisionHashLabelKey] != before {
			continue
		}
		if plan.BlueGreen(r) && p.Labels[appsv1.ControllerRevisionHashLabelKey] == before {
			continue // blue: the switch's business
		}
		in = append(in, *p)
	}
	return out, in
}
