package plan

import (
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases"
)

// A BlueGreen release has two batches:
//
//  1. preview: green pods come up beside blue (the CloneSet gets the pods of the preview in addition to its
//     replicas, and a partition that keeps every blue pod), out of traffic: Smoking, then Smoked, where it
//     waits for `next` (or, with autoPromote, batchIntervalSeconds). `next` is the switch.
//  2. switch: green comes to full size beside blue (Smoking), is Smoked, and is pulled in at once
//     (Baking); once every green pod is Ready the controller takes blue out of traffic, and the batch is
//     Baked when no blue pod is Ready. Blue stays, out of traffic, for scaleDownDelaySeconds; then the
//     release succeeds and the CloneSet goes back to its replicas, which removes blue.
//
// A cancel before that switches back: blue back into traffic first (SwitchingBack), then green out and
// removed, as any cancel (Draining).

// BlueGreen reports whether a release switches from blue to green rather than going batch by batch.
func BlueGreen(r *releases.Release) bool {
	return r.Spec.Strategy.Type == releases.StrategyBlueGreen && byPartition(r.Spec.Action)
}

// Switched reports whether a BlueGreen release has moved traffic to green, or is moving it: its switch
// batch is pulled in. Blue may be out of traffic then, and a cancel must bring it back first.
func Switched(r *releases.Release) bool {
	if !BlueGreen(r) || r.Status.CurrentBatch < 2 {
		return false
	}
	b := Current(&r.Status)
	return b != nil && (b.Phase == releases.BatchBaking || b.Phase == releases.BatchBaked || b.Phase == releases.BatchFailed)
}

// BlueOut reports whether the controller keeps blue out of traffic: a BlueGreen release that has switched
// and runs (or is paused, which changes no traffic).
func BlueOut(r *releases.Release) bool {
	return Switched(r) && (r.Status.Phase == releases.ReleaseProgressing || r.Status.Phase == releases.ReleasePaused)
}

// BlueBack reports whether a switched BlueGreen release brings blue back into traffic while it stays: it
// failed (green may be failing; blue is what is known to serve), and `resume` retries the switch.
func BlueBack(r *releases.Release) bool {
	return Switched(r) && r.Status.Phase == releases.ReleaseFailed
}

// previewWaits reports whether a BlueGreen release's preview is Smoked and waits for the switch.
func previewWaits(r *releases.Release, b *releases.ReleaseBatch) bool {
	return BlueGreen(r) && b.Index == 1 && b.Phase == releases.BatchSmoked
}

// switchAt is when a BlueGreen release moves on by itself: the switch, autoPromote batchIntervalSeconds
// after the preview is Smoked; the end, scaleDownDelaySeconds after the switch is Baked.
func switchAt(r *releases.Release, b *releases.ReleaseBatch) (metav1.Time, bool) {
	bg := r.Spec.Strategy.BlueGreen
	switch {
	case previewWaits(r, b) && bg != nil && bg.AutoPromote && b.SmokedAt != nil:
		return metav1.NewTime(b.SmokedAt.Add(secondsDuration(r.Spec.Strategy.BatchIntervalSeconds))), true
	case b.Index == 2 && b.Phase == releases.BatchBaked && b.BakedAt != nil:
		delay := int32(0)
		if bg != nil && bg.ScaleDownDelaySeconds != nil {
			delay = *bg.ScaleDownDelaySeconds
		}
		return metav1.NewTime(b.BakedAt.Add(time.Duration(delay) * time.Second)), true
	}
	return metav1.Time{}, false
}

// switchToGreen starts the switch batch of a BlueGreen release whose preview is Smoked: the preview is done.
func switchToGreen(s *releases.ReleaseStatus, now metav1.Time) {
	b := Current(s)
	b.Phase = releases.BatchBaked
	b.BakedAt = &now
	advance(s, now)
}

// Reasons of the Reverted condition while a canceled release holds its CloneSet.
const (
	// RevertSwitchingBack: a BlueGreen release canceled after its switch brings blue back into traffic
	// before green leaves it; the CloneSet stays as it is until then.
	RevertSwitchingBack = "SwitchingBack"
	// RevertDraining: the release's pods leave traffic before kruise removes them or updates them back.
	RevertDraining = "Draining"
)

// SwitchingBack reports whether a canceled BlueGreen release is still bringing blue back into traffic.
func SwitchingBack(r *releases.Release) bool {
	c := meta.FindStatusCondition(r.Status.Conditions, releases.ConditionReverted)
	return Reverting(r) && c != nil && c.Reason == RevertSwitchingBack
}

// MarkSwitchedBack records that blue is back in traffic: green may now leave it and the CloneSet go back.
func MarkSwitchedBack(r *releases.Release, now metav1.Time) {
	meta.SetStatusCondition(&r.Status.Conditions, metav1.Condition{
		Type: releases.ConditionReverted, Status: metav1.ConditionFalse, Reason: RevertDraining,
		Message:            drainingMessage,
		ObservedGeneration: r.Generation, LastTransitionTime: now,
	})
}

const drainingMessage = "the release's pods are leaving traffic; the CloneSet is let go of once kruise has removed or reverted them"

// blueGreenIntent is the CloneSet a started BlueGreen release wants. While it runs: the release's template,
// the replicas from before plus the green pods of the current batch, and a partition of the replicas from
// before, which keeps every blue pod (kruise brings green up as pods in addition, and removes none). At the
// end: the replicas from before and partition 0, which has kruise remove blue. Canceled: the template from
// before, the replicas from before and partition 0, which has kruise remove green; but while blue is coming
// back into traffic (SwitchingBack) the CloneSet stays switched, so that green keeps serving until then.
func blueGreenIntent(r *releases.Release) Intent {
	s := &r.Status
	replicas := before(s)
	switched := Intent{Touch: true, Owned: true, Template: TemplateRelease, Partition: ptr(replicas),
		Replicas: ptr(clampInt32(int(replicas) + int(EffectiveTarget(s)))), UpdateType: updateTypeWhileHeld(r)}
	switch s.Phase {
	case releases.ReleaseSucceeded:
		return Intent{Touch: true, Template: TemplateRelease, Partition: ptr(0), Replicas: ptr(replicas),
			MaxUnavailable: maxUnavailableBefore(s), UpdateType: updateTypeBefore(r)}
	case releases.ReleaseCanceled:
		if SwitchingBack(r) {
			return switched
		}
		in := Intent{Touch: true, Template: TemplateBefore, Partition: ptr(0), Replicas: ptr(replicas),
			MaxUnavailable: maxUnavailableBefore(s), UpdateType: updateTypeBefore(r)}
		if Reverting(r) {
			// Held, hooks and all, until green has left traffic; out of traffic already, kruise may take
			// all of green at once.
			in.Owned = true
			in.MaxUnavailable = ptrIntOrString(max(EffectiveTarget(s), 1))
		}
		return in
	case releases.ReleasePaused, releases.ReleaseFailed:
		switched.Paused = true
		if s.CloneSet != nil && s.CloneSet.HeldAt != nil {
			switched.Replicas = ptr(*s.CloneSet.HeldAt)
		}
	}
	return switched
}
