package plan

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases"
)

// A release drives the CloneSet it was admitted for, the one with the UID recorded in
// status.cloneSet.uid, and no other. Once that CloneSet is gone (deleted, or replaced by another of the
// same name) the release has lost it for good: it is ended with a condition that says so, and from then on
// it touches nothing. Its plan is kept as it was, to show how far it got.

// The history actions of a release that lost its CloneSet, or could not put it back.
const (
	// ActionLost ends a release whose CloneSet was replaced or deleted.
	ActionLost = "lost"
	// ActionRevisionGone lets a canceled release go of a CloneSet it cannot put back.
	ActionRevisionGone = "revisionGone"
)

// Lost returns the reason (releases.ReasonCloneSetReplaced or ReasonCloneSetGone) when the release has
// lost its CloneSet: condition Failed (a release that had not finished) or Reverted (a canceled one that
// still held it) says so.
func Lost(r *releases.Release) (string, bool) {
	return lostReason(&r.Status)
}

func lostReason(s *releases.ReleaseStatus) (string, bool) {
	for _, t := range []string{releases.ConditionFailed, releases.ConditionReverted} {
		c := meta.FindStatusCondition(s.Conditions, t)
		if c != nil && c.Status == metav1.ConditionTrue && IsLostReason(c.Reason) {
			return c.Reason, true
		}
	}
	return "", false
}

// IsLostReason reports whether a condition reason says the release lost its CloneSet.
func IsLostReason(reason string) bool {
	return reason == releases.ReasonCloneSetReplaced || reason == releases.ReasonCloneSetGone
}

// MarkLost ends a release whose CloneSet is lost, for the reason given (releases.ReasonCloneSetReplaced or
// ReasonCloneSetGone) and with message saying which CloneSet it was and what is there now. One that had not
// finished goes Failed, with condition Failed True for that reason; a canceled one still holding the
// CloneSet (Reverting) lets go of it, with condition Reverted True for that reason. Either way it is
// recorded in the history, and from then on its intent touches nothing (IntentOf). It returns false when
// there is nothing to mark: marked already, or finished and let go of its CloneSet before.
func MarkLost(r *releases.Release, reason, message string, now metav1.Time) bool {
	if _, lost := Lost(r); lost || !IsLostReason(reason) {
		return false
	}
	s := &r.Status
	switch {
	case !Finished(s.Phase):
		before := snapshot(s)
		s.Phase = releases.ReleaseFailed
		meta.SetStatusCondition(&s.Conditions, metav1.Condition{
			Type: releases.ConditionFailed, Status: metav1.ConditionTrue, Reason: reason, Message: message,
			ObservedGeneration: r.Generation, LastTransitionTime: now,
		})
		record(r, ActionLost, "", message, before, now)
	case Reverting(r):
		before := snapshot(s)
		meta.SetStatusCondition(&s.Conditions, metav1.Condition{
			Type: releases.ConditionReverted, Status: metav1.ConditionTrue, Reason: reason,
			Message:            "nothing was put back: " + message,
			ObservedGeneration: r.Generation, LastTransitionTime: now,
		})
		record(r, ActionLost, "", message, before, now)
	default:
		return false
	}
	return true
}

// RevisionGone reports whether a canceled release let go of its CloneSet without putting its template back,
// because the revision from before the release is gone (see MarkRevisionGone).
func RevisionGone(r *releases.Release) bool {
	c := meta.FindStatusCondition(r.Status.Conditions, releases.ConditionReverted)
	return r.Status.Phase == releases.ReleaseCanceled && c != nil && c.Status == metav1.ConditionTrue &&
		c.Reason == releases.ReasonRevisionGone
}

// MarkRevisionGone lets a canceled release go of its CloneSet as it is when the template from before the
// release cannot be had (its ControllerRevision is gone, or is another CloneSet's): condition Reverted True,
// reason releases.ReasonRevisionGone, with message; recorded in the history. Its intent then keeps the
// CloneSet's template and partition and only takes off what is the release's (IntentOf): a cancel that
// cannot go back lets go, and never retries for ever. It returns false when the release is not canceled,
// or is marked already.
func MarkRevisionGone(r *releases.Release, message string, now metav1.Time) bool {
	if r.Status.Phase != releases.ReleaseCanceled || RevisionGone(r) {
		return false
	}
	if _, lost := Lost(r); lost {
		return false
	}
	before := snapshot(&r.Status)
	meta.SetStatusCondition(&r.Status.Conditions, metav1.Condition{
		Type: releases.ConditionReverted, Status: metav1.ConditionTrue, Reason: releases.ReasonRevisionGone,
		Message:            message,
		ObservedGeneration: r.Generation, LastTransitionTime: now,
	})
	record(r, ActionRevisionGone, "", message, before, now)
	return true
}

// lostRefusal is the 409 of a verb other than cancel on a release that lost its CloneSet.
func lostRefusal(r *releases.Release, verb Verb) error {
	reason, lost := Lost(r)
	if !lost {
		return nil
	}
	what := "was replaced by another CloneSet of the same name"
	if reason == releases.ReasonCloneSetGone {
		what = "was deleted"
	}
	return refuse("the CloneSet %s this release was admitted for %s: the release no longer acts on it, and cannot %s; cancel or delete it, and create a new release",
		r.Spec.CloneSetName, what, verb)
}

// lostFailure is the Failed condition of a release that lost its CloneSet, or nil.
func lostFailure(s *releases.ReleaseStatus) *metav1.Condition {
	c := meta.FindStatusCondition(s.Conditions, releases.ConditionFailed)
	if c == nil || c.Status != metav1.ConditionTrue || !IsLostReason(c.Reason) {
		return nil
	}
	return c
}

// revisionGoneIntent is what a canceled release that cannot put its CloneSet's template back wants of it
// (MarkRevisionGone): the template, partition and replicas as they are (the partition at 0 would roll the
// canceled template out to every pod), and everything else that was the release's taken off: its owner
// annotation, hooks and pull-in label, its pause, the strategy from before the release.
func revisionGoneIntent(r *releases.Release) Intent {
	s := &r.Status
	in := Intent{Touch: true, Template: TemplateKeep, MaxUnavailable: maxUnavailableBefore(s), UpdateType: updateTypeBefore(r)}
	if Surges(r) {
		in.MaxSurge = maxSurgeBefore(s)
	}
	return in
}
