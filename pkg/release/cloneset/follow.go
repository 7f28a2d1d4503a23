package cloneset

import (
	"context"
	"errors"
	"fmt"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/klog/v2"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/release/plan"
)

// Following is what Follow did and left in motion.
type Following struct {
	// CloneSet is the CloneSet after the release's intent was applied; nil when there is none.
	CloneSet *kruiseappsv1alpha1.CloneSet
	// Draining: a pod kruise is about to take is still leaving traffic (the hold protocol).
	Draining bool
	// Again: something is in motion that no event of the release's may announce in time (a pod draining,
	// blue waiting for green to serve or coming back, pods beyond those approved): look again within a
	// second.
	Again bool
	// Lost: a finished release (canceled) found its CloneSet replaced or deleted, and wrote nothing.
	Lost *LostError
}

// Follow makes a CloneSet and its pods follow what a release, as stored, wants of them. It is the one path
// by which both the verbs (right after they store the release's new state) and the controller (on every
// event) change them, for every strategy. Each step writes only what is not so already, so running it
// again is harmless. pods are the CloneSet's pods as read before, obs what was observed of them.
//
//  1. Out of traffic first: a canceled blue/green release brings blue back, green serving until blue does
//     (see BlueServes); any other canceled release takes its pods out.
//  2. The CloneSet: Apply (template, partition, replicas, hooks, owner).
//  3. Into traffic (not on a dry run): the pods of a batch in traffic, as many as the batches approved
//     (those beyond are taken out and replaced at the old revision); blue/green's blue leaves traffic once
//     green serves, and comes back after a failed switch; pods made without the readiness gate are kept out
//     through KruisePodReady until their batch is pulled in; pods of the revision from before that came up
//     during the release serve as before.
//  4. The hold protocol (not on a dry run): every pod of a running release is held, and a pod kruise is
//     about to take leaves traffic first.
//
// A release that lost its CloneSet (plan.Lost) touches neither the CloneSet of that name nor its pods; one
// that finds it lost (Pinned) writes nothing either: a release still running gets the *LostError, a
// finished one (a cancel, which has nothing to put back on a CloneSet that is not its own) gets it in
// Following.Lost.
func (d *Driver) Follow(ctx context.Context, r *releases.Release, pods []corev1.Pod, obs plan.Observation, dryRun bool) (Following, error) {
	var f Following
	if _, lost := plan.Lost(r); lost {
		// Apply writes nothing to it but, at most, the removal of the release's name.
		after, err := d.Apply(ctx, r, dryRun)
		f.CloneSet = after
		return f, err
	}
	if PinnedUID(r) != "" {
		// pods are the CloneSet's as read: they must be the release's before any of them is written.
		cs, err := d.CheckPinned(ctx, r)
		var lost *LostError
		switch {
		case errors.As(err, &lost) && plan.Finished(r.Status.Phase):
			f.CloneSet, f.Lost = cs, lost
			return f, nil
		case err != nil:
			return f, fmt.Errorf("CloneSet %s/%s: %w", r.Namespace, r.Spec.CloneSetName, err)
		}
	}
	// 1. Out of traffic.
	switch {
	case plan.SwitchingBack(r):
		if err := d.setNotReadyKeys(ctx, BluePods(r, pods), false, dryRun, "bringing back blue"); err != nil {
			return f, err
		}
		f.Again = true
	case r.Status.Phase == releases.ReleaseCanceled && r.Status.CurrentBatch > 0 && !plan.RevisionGone(r):
		// (A cancel that cannot put the template back leaves the release's pods as they are: in traffic.)
		if err := d.PullOut(ctx, NewPods(r, pods), dryRun); err != nil {
			return f, fmt.Errorf("pulling out the canceled release's pods: %w", err)
		}
	}
	// 2. The CloneSet (repaired, too, if it drifted).
	after, err := d.Apply(ctx, r, dryRun)
	if err != nil {
		return f, fmt.Errorf("CloneSet %s/%s: %w", r.Namespace, r.Spec.CloneSetName, err)
	}
	f.CloneSet = after
	if dryRun {
		return f, nil
	}
	if after != nil && newerIntent(after, r) {
		// A newer state of the release has been applied already (this one came from a cache behind it):
		// its limits are older than the CloneSet's. Read as the pods' limits they would take pods out of
		// traffic that the newer state approved (a batch an Auto release started a moment ago). The newer
		// state's own event brings the pods in line.
		f.Again = true
		return f, nil
	}
	// 3. Into traffic: no more pods than the batches approved (invariant 9). Pods at the release's revision
	// beyond those (a scale-out that kruise acted on before the partition counted it) leave traffic and are
	// replaced at the old revision.
	limit := approvedPods(r)
	approved, excess := Approved(ReleasePods(r, after, pods), limit)
	if len(excess) > 0 {
		f.Again = true
		if err := d.replaceExcess(ctx, r, after, excess, limit); err != nil {
			return f, err
		}
	}
	if b := plan.Current(&r.Status); b != nil && plan.NeedsPullIn(r) && r.Status.Phase == releases.ReleaseProgressing &&
		(b.Phase == releases.BatchBaking || b.Phase == releases.BatchBaked || plan.PullsInWhileSmoking(r)) {
		var pullIn []corev1.Pod
		for _, p := range approved {
			if Gated(&p) && !PulledIn(&p) {
				pullIn = append(pullIn, p)
			}
		}
		if err := d.setGates(ctx, pullIn, true, false, "pulling in"); err != nil {
			return f, err
		}
	}
	if plan.BlueBack(r) {
		if err := d.setNotReadyKeys(ctx, BluePods(r, pods), false, false, "bringing back blue"); err != nil {
			return f, err
		}
	}
	if plan.BlueOut(r) {
		if b := plan.Current(&r.Status); b != nil && obs.Ready >= plan.Needed(r, b.Target, obs) {
			if err := d.setNotReadyKeys(ctx, BluePods(r, pods), true, false, "taking out blue"); err != nil {
				return f, err
			}
		} else {
			f.Again = true // green is not all Ready yet
		}
	}
	ungatedOut, ungatedIn := UngatedTraffic(r, after, pods)
	for _, p := range ungatedOut {
		klog.InfoS("A pod of the release has no readiness gate: out of traffic through KruisePodReady until its batch is pulled in",
			"release", klog.KObj(r), "pod", klog.KObj(&p))
	}
	if err := d.setNotReadyKeys(ctx, ungatedOut, true, false, "taking out ungated"); err != nil {
		return f, err
	}
	if err := d.setNotReadyKeys(ctx, ungatedIn, false, false, "pulling in ungated"); err != nil {
		return f, err
	}
	if plan.NeedsPullIn(r) && (!plan.Finished(r.Status.Phase) || plan.Reverting(r)) && r.Status.CurrentBatch > 0 {
		if err := d.setGates(ctx, StableStrays(r, pods), true, false, "pulling in"); err != nil {
			return f, err
		}
	}
	// 4. The hold protocol.
	if f.Draining, err = d.holdAndDrain(ctx, r, pods); err != nil {
		return f, err
	}
	f.Again = f.Again || f.Draining
	return f, nil
}

// approvedPods is how many pods may be at the release's revision now; -1 when every pod may be.
func approvedPods(r *releases.Release) int {
	in := plan.IntentOf(r)
	if !in.Owned || in.Updated == nil {
		return -1
	}
	return int(*in.Updated)
}

// replaceExcess takes pods at the release's revision beyond what the batches approved out of traffic, and
// has kruise replace them once its partition keeps the CloneSet's other pods at the old revision (so the
// replacements come back there).
func (d *Driver) replaceExcess(ctx context.Context, r *releases.Release, cs *kruiseappsv1alpha1.CloneSet, excess []corev1.Pod, limit int) error {
	if err := d.PullOut(ctx, excess, false); err != nil {
		return fmt.Errorf("pulling out pods beyond the approved: %w", err)
	}
	if limit < 0 || !PartitionHolds(cs, int32(limit)) {
		return nil
	}
	names := make([]string, 0, len(excess))
	for _, p := range excess {
		names = append(names, p.Name)
	}
	klog.InfoS("Replacing pods at the release's revision beyond those approved", "release", klog.KObj(r),
		"approved", limit, "pods", names)
	if err := d.Replace(ctx, cs, excess); err != nil && !apierrors.IsConflict(err) {
		return fmt.Errorf("replacing pods beyond the approved: %w", err)
	}
	return nil
}
