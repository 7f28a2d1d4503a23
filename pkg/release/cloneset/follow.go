package cloneset

import (
	"context"
	"errors"
	"fmt"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	corev1 "k8s.io/api/core/v1"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/release/moves"
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
// It reads (the pinned check), decides which pods move (package moves, from the release's intent computed
// once), and writes (carryOut):
//
//  1. Out of traffic first (moves.OutFirst): a canceled blue/green release brings blue back, green
//     serving until blue does (see moves.BlueServes); any other canceled release takes its pods out.
//  2. The CloneSet: Apply (template, partition, replicas, hooks, owner).
//  3. Into traffic (moves.Decide; not on a dry run): the pods of a batch in traffic, as many as the
//     batches approved (those beyond are taken out and replaced at the old revision); blue/green's blue
//     leaves traffic once green serves, and comes back after a failed switch; pods made without the
//     readiness gate are kept out through KruisePodReady until their batch is pulled in; pods of the
//     revision from before that came up during the release serve as before. A state of the release older
//     than the one the CloneSet was last written for (read from a cache behind) moves no pod.
//  4. The hold protocol (moves.Decide; not on a dry run): every pod of a running release is held, and a
//     pod kruise is about to take leaves traffic first; it is let go once no Service lists it.
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
	// 1. Out of traffic first.
	first := moves.OutFirst(r, pods)
	if _, err := d.carryOut(ctx, r, nil, first, dryRun); err != nil {
		return f, err
	}
	f.Again = first.Again
	// 2. The CloneSet (repaired, too, if it drifted).
	after, err := d.Apply(ctx, r, dryRun)
	if err != nil {
		return f, fmt.Errorf("CloneSet %s/%s: %w", r.Namespace, r.Spec.CloneSetName, err)
	}
	f.CloneSet = after
	if dryRun {
		return f, nil
	}
	// 3 and 4. Into traffic, and the hold protocol.
	m := moves.Decide(moves.Input{Release: r, CloneSet: after, Pods: pods, Observation: obs,
		ReadyEndpoints: d.cachedEndpoints(r.Namespace)})
	f.Draining, err = d.carryOut(ctx, r, after, m, false)
	f.Again = f.Again || m.Again || f.Draining
	return f, err
}
