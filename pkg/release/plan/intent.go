package plan

import (
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/triton-io/triton/pkg/apis/releases"
)

// TemplateChoice says which pod template the CloneSet should have.
type TemplateChoice int

const (
	// TemplateKeep leaves the CloneSet's template as it is (Scale).
	TemplateKeep TemplateChoice = iota
	// TemplateRelease is the release's template: spec.template (Create, Update), the template of
	// toRevision (Rollback), or the template before the release with a restart annotation (Restart).
	TemplateRelease
	// TemplateBefore is the template of the revision before the release (cancel).
	TemplateBefore
)

// Intent is the CloneSet a release wants. It is derived from the Release alone, so that the Release can
// be written first (the intent) and the CloneSet patched after it with absolute values: applying an
// intent twice changes nothing, and after a crash the controller converges the CloneSet to it.
type Intent struct {
	// Touch is false while the release has not started: the CloneSet is left alone.
	Touch bool
	// Template says which template the CloneSet gets.
	Template TemplateChoice
	// Partition (Update, Restart, Rollback): pods kept at the old revision, counted against the replicas
	// the CloneSet had before the release. Nil: no partition.
	Partition *int32
	// Updated (Update, Restart, Rollback while the release holds the CloneSet): how many pods may be at the
	// release's revision, whatever the CloneSet's replicas are now. A scale-out (by hand or an HPA) must
	// not update the pods it adds, so the partition is the replicas the CloneSet has now less these
	// (PartitionFor). Nil: every pod may be (the last batch, or the release let go): Partition as is.
	Updated *int32
	// Replicas (Create, Scale, BlueGreen, and cancel of those): the CloneSet's size. Nil: leave it.
	Replicas *int32
	// MaxUnavailable is the CloneSet's updateStrategy.maxUnavailable. Nil: leave it.
	MaxUnavailable *intstr.IntOrString
	// MaxSurge is the CloneSet's updateStrategy.maxSurge. Nil: leave it.
	MaxSurge *intstr.IntOrString
	// PodsToDelete (scale in, a Restart of named pods): these pods go first.
	PodsToDelete []string
	// WithdrawPods (a canceled Restart of named pods): these names come out of the CloneSet's
	// scaleStrategy.podsToDelete, so that kruise no longer deletes the pods not restarted yet.
	WithdrawPods []string
	// UpdateType is the CloneSet's updateStrategy.type. Empty: leave it.
	UpdateType string
	// Paused is the CloneSet's updateStrategy.paused.
	Paused bool
	// Owned: the CloneSet carries the release's name in its annotation.
	Owned bool
}

// byPartition reports whether an action moves the CloneSet by its partition (rather than its replicas).
func byPartition(a releases.ReleaseAction) bool {
	return a == releases.ActionUpdate || a == releases.ActionRestart || a == releases.ActionRollback
}

// EffectiveTarget is how many pods the release has changed, or is changing, in its current batch: the
// current batch's target once it has started, the previous batch's before.
func EffectiveTarget(s *releases.ReleaseStatus) int32 {
	b := Current(s)
	if b == nil {
		return 0
	}
	if b.Phase == releases.BatchPending || b.Phase == "" {
		if b.Index > 1 {
			return s.Batches[b.Index-2].Target
		}
		return 0
	}
	return b.Target
}

func before(s *releases.ReleaseStatus) int32 {
	if s.CloneSet == nil || s.CloneSet.ReplicasBeforeRelease == nil {
		return 0
	}
	return *s.CloneSet.ReplicasBeforeRelease
}

// knob is the value of the CloneSet's driving field once target pods are changed: the partition for
// Update, Restart and Rollback, the replicas for Create and Scale.
func knob(r *releases.Release, target int32) int32 {
	b := before(&r.Status)
	switch r.Spec.Action {
	case releases.ActionCreate:
		return target
	case releases.ActionScale:
		if r.Spec.Replicas != nil && *r.Spec.Replicas < b {
			return b - target
		}
		return b + target
	default:
		if v := b - target; v > 0 {
			return v
		}
		return 0
	}
}

// HeldValue is where a pause (or a failure) holds the CloneSet: no more pods than are changed now.
func HeldValue(r *releases.Release, obs Observation) int32 {
	target := EffectiveTarget(&r.Status)
	switch r.Spec.Action {
	case releases.ActionCreate, releases.ActionScale:
		// The pods there are now, but never beyond the batch's target.
		want := knob(r, target)
		b := before(&r.Status)
		if want >= b {
			return clamp(obs.Replicas, b, want)
		}
		return clamp(obs.Replicas, want, b)
	default:
		if BlueGreen(r) {
			return clampInt32(int(before(&r.Status)) + int(min(obs.Updated, target)))
		}
		return knob(r, min(obs.Updated, target))
	}
}

// PartitionFor is the partition a CloneSet with replicas pods needs so that no more of them are at the
// release's revision than the intent allows (invariants 2 and 9): counted against the replicas it has now,
// not those it had when the release began.
func (in Intent) PartitionFor(replicas int32) *int32 {
	if in.Updated == nil || in.Partition == nil {
		return in.Partition
	}
	return ptr(max(replicas-*in.Updated, 0))
}

// FloorPartition is the lowest partition a CloneSet with replicas pods may have while release r holds it:
// any lower and more pods than the batches approved would be at the release's revision. ok is false when
// r does not limit them (not started, finished, or at the last batch, which takes every pod).
func FloorPartition(r *releases.Release, replicas int32) (partition int32, ok bool) {
	in := IntentOf(r)
	if !in.Touch || !in.Owned || in.Updated == nil {
		return 0, false
	}
	return *in.PartitionFor(replicas), true
}

func clamp(v, lo, hi int32) int32 {
	return max(lo, min(v, hi))
}

// IntentOf returns the CloneSet a release wants.
func IntentOf(r *releases.Release) Intent {
	s := &r.Status
	if _, lost := Lost(r); lost {
		// The CloneSet it was admitted for is gone: the one of that name now (if any) is not its to touch.
		return Intent{}
	}
	if s.CurrentBatch == 0 {
		// Never started (Pending, or paused or canceled before it started): nothing to do to the CloneSet.
		return Intent{}
	}
	switch s.Phase {
	case releases.ReleasePending, "":
		return Intent{}
	}
	if RevisionGone(r) {
		return revisionGoneIntent(r)
	}
	if BlueGreen(r) {
		return blueGreenIntent(r)
	}
	if RestartsPods(r) {
		return restartPodsIntent(r)
	}
	switch s.Phase {
	case releases.ReleaseCanceled:
		in := Intent{Touch: true}
		switch r.Spec.Action {
		case releases.ActionCreate, releases.ActionScale:
			in.Replicas = ptr(before(s))
			if r.Spec.Action == releases.ActionCreate {
				in.Template = TemplateRelease
			}
		default:
			in.Template = TemplateBefore
			in.Partition = ptr(0)
			in.MaxUnavailable = maxUnavailableBefore(s)
			if Surges(r) {
				in.MaxSurge = maxSurgeBefore(s)
			}
		}
		// A Restart's pods were recreated; the revert of its annotation need not recreate them again.
		in.UpdateType = updateTypeBefore(r)
		if Reverting(r) {
			// The CloneSet goes back at once, but the release holds it, hooks and all, until its pods have
			// left traffic: kruise removes (or updates back) each of them only once it is out of the
			// endpoints. Those pods are all out of traffic already (cancel pulled them out), so kruise may
			// take all of them at once.
			in.Owned = true
			if byPartition(r.Spec.Action) {
				v := intstr.FromInt32(max(EffectiveTarget(s), 1))
				in.MaxUnavailable = &v
			}
		}
		return in
	}

	in := Intent{Touch: true, Owned: true, Template: TemplateRelease}
	if r.Spec.Action == releases.ActionScale {
		in.Template = TemplateKeep
		if r.Spec.Replicas != nil && *r.Spec.Replicas < before(s) {
			// Only the pods the batches so far remove: the CloneSet deletes every pod it is told to
			// (and replaces those beyond its replicas), so naming more would change more pods than
			// the current batch's target.
			if n := min(int(EffectiveTarget(s)), len(r.Spec.PodsToDelete)); n > 0 {
				in.PodsToDelete = r.Spec.PodsToDelete[:n:n]
			}
		}
	}
	value := knob(r, EffectiveTarget(s))
	switch s.Phase {
	case releases.ReleasePaused, releases.ReleaseFailed:
		in.Paused = true
		if s.CloneSet != nil && s.CloneSet.HeldAt != nil {
			value = *s.CloneSet.HeldAt
		}
	case releases.ReleaseSucceeded:
		in.Owned = false
		in.PodsToDelete = nil
		value = knob(r, lastTarget(s))
	}
	if byPartition(r.Spec.Action) {
		in.Partition = ptr(value)
		if b := before(s); in.Owned && value > 0 && value <= b {
			in.Updated = ptr(b - value)
		}
		if in.Owned {
			// A batch's pods are out of traffic until they are pulled in, so kruise must be allowed to
			// have the whole batch unavailable at once; the partition is what limits the batch.
			in.MaxUnavailable = batchUnavailable(s)
			if Surges(r) {
				// New pods come up beside the old ones, which kruise removes only once new ones are
				// available (Ready, so pulled in): none of the old ones may be unavailable meanwhile.
				in.MaxSurge = ptrIntOrString(SurgePods(r))
				in.MaxUnavailable = ptrIntOrString(0)
			}
			in.UpdateType = updateTypeWhileHeld(r)
		} else {
			in.MaxUnavailable = maxUnavailableBefore(s)
			if Surges(r) {
				in.MaxSurge = maxSurgeBefore(s)
			}
			in.UpdateType = updateTypeBefore(r)
		}
	} else {
		in.Replicas = ptr(value)
	}
	return in
}

// recreates reports whether r is a Restart of a CloneSet that updates its pods in place where it can: its
// restart annotation alone would be updated in place (kruise patches the pod's metadata, and no container
// restarts), so the release has the CloneSet recreate its pods instead.
func recreates(r *releases.Release) bool {
	s := &r.Status
	return r.Spec.Action == releases.ActionRestart && !RestartsPods(r) && s.CloneSet != nil &&
		s.CloneSet.UpdateStrategyTypeBeforeRelease == UpdateInPlaceIfPossible
}

// updateTypeWhileHeld is the CloneSet's updateStrategy.type while r holds it; empty leaves it as it is.
func updateTypeWhileHeld(r *releases.Release) string {
	if recreates(r) {
		return UpdateReCreate
	}
	return ""
}

// updateTypeBefore puts back the updateStrategy.type a release changed; empty leaves it as it is.
func updateTypeBefore(r *releases.Release) string {
	if recreates(r) {
		return r.Status.CloneSet.UpdateStrategyTypeBeforeRelease
	}
	return ""
}

// The CloneSet update strategy types (kruise's), as the plan needs them.
const (
	UpdateReCreate          = "ReCreate"
	UpdateInPlaceIfPossible = "InPlaceIfPossible"
	UpdateInPlaceOnly       = "InPlaceOnly"
)

// changing is how many pods the current batch changes since the last Baked batch: its own, and after a
// `next` with toBatch also those of the batches it skipped. At least 1.
func changing(s *releases.ReleaseStatus) int32 {
	n := int32(1)
	if b := Current(s); b != nil {
		baked := int32(0)
		for i := int(b.Index) - 2; i >= 0; i-- {
			if s.Batches[i].Phase == releases.BatchBaked {
				baked = s.Batches[i].Target
				break
			}
		}
		n = max(n, b.Replicas, b.Target-baked)
	}
	return n
}

// batchUnavailable is the CloneSet's maxUnavailable while a batch runs: every pod the release changed
// since its last Baked batch may be out of traffic at once (a canary that was Smoked and skipped, never
// pulled in, is not Ready: counted against a smaller maxUnavailable it would keep kruise from updating
// the rest).
func batchUnavailable(s *releases.ReleaseStatus) *intstr.IntOrString {
	return ptrIntOrString(changing(s))
}

// Surges reports whether a release brings its new pods up beside the old ones (strategy.maxSurge above 0;
// Update, Restart and Rollback only).
func Surges(r *releases.Release) bool {
	v := r.Spec.Strategy.MaxSurge
	if v == nil || !byPartition(r.Spec.Action) {
		return false
	}
	n, err := intstr.GetScaledValueFromIntOrPercent(v, 100, true)
	return err == nil && n > 0
}

// SurgePods is how many new pods the current batch of a surging release brings up beside the old ones at
// a time: strategy.maxSurge of the pods it changes (a percentage rounded up), at least 1 and at most all of
// them. A canary comes up whole: it waits out of traffic for `next`, and only pods in traffic let old ones
// go. 0 when the release does not surge.
func SurgePods(r *releases.Release) int32 {
	if !Surges(r) {
		return 0
	}
	s := &r.Status
	n := changing(s)
	if b := Current(s); b != nil && b.Canary {
		return n
	}
	v, err := intstr.GetScaledValueFromIntOrPercent(r.Spec.Strategy.MaxSurge, int(n), true)
	if err != nil {
		return n
	}
	return clamp(clampInt32(v), 1, n)
}

// PullsInWhileSmoking reports whether the current batch's pods are pulled into traffic as they come up
// rather than once all of them are up: every batch of a surging release but the canary. Kruise brings a
// surge pod up only while it also has an old pod to let go of, and then waits for that pod to be available
// (Ready, so pulled in) before it makes the next one: a batch whose surge is smaller than it (waves), or one
// that starts while old pods of the batch before are still leaving (kruise then makes fewer new pods than
// the surge allows), would otherwise wait for pods that kruise makes only once the first are in traffic.
func PullsInWhileSmoking(r *releases.Release) bool {
	b := Current(&r.Status)
	return Surges(r) && b != nil && !b.Canary && b.Phase == releases.BatchSmoking
}

func maxSurgeBefore(s *releases.ReleaseStatus) *intstr.IntOrString {
	if s.CloneSet == nil || s.CloneSet.MaxSurgeBeforeRelease == nil {
		return ptrIntOrString(0)
	}
	v := *s.CloneSet.MaxSurgeBeforeRelease
	return &v
}

func ptrIntOrString(n int32) *intstr.IntOrString {
	v := intstr.FromInt32(n)
	return &v
}

func maxUnavailableBefore(s *releases.ReleaseStatus) *intstr.IntOrString {
	if s.CloneSet == nil || s.CloneSet.MaxUnavailableBeforeRelease == nil {
		return nil
	}
	v := *s.CloneSet.MaxUnavailableBeforeRelease
	return &v
}

func lastTarget(s *releases.ReleaseStatus) int32 {
	if len(s.Batches) == 0 {
		return 0
	}
	return s.Batches[len(s.Batches)-1].Target
}

func ptr(v int32) *int32 { return &v }

func secondsDuration(s int32) time.Duration { return time.Duration(s) * time.Second }
