package view

import (
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

// History actions and the user that BatchTimes reads (the controller's names for them).
const (
	historyStart   = "start"   // the release started its first batch
	historyAdvance = "advance" // the controller moved on by itself: an Auto interval, autoPromote, blue's scale-down delay
	historySkip    = "skip"    // a caller jumped past batches with next --to-batch
	historyDropped = "dropped" // entries folded away to keep the history at 50
	controllerUser = "triton-controller"
)

// BatchTime is when one batch of a release ran, and how long it waited for a person. Every time comes
// from the release's status: the batch's startedAt and bakedAt, and its history.
type BatchTime struct {
	// Started is when the batch first started: the history entry that made it the current batch (the
	// release's start, a `next` after the batch before, an Auto advance, a jump), else its startedAt. A
	// pause or a retry after a failure sets startedAt again (the progress deadline counts from there);
	// Started does not move. Zero: the batch has not started (Pending, or Skipped before it started).
	Started time.Time
	// Age is how long ago Started was.
	Age time.Duration
	// Took is from Started to the batch's end: bakedAt for a Baked batch; now for the current batch of a
	// release that runs or is paused (Running); the failure for a Failed batch; the cancel for the
	// current batch of a Canceled release; for a batch moved past before it was Baked (Skipped), the
	// move. It counts the time the batch waited for `next` between Smoked and its pull-in, and any pause.
	Took time.Duration
	// TookKnown is false when the batch has no start or no end to count Took between.
	TookKnown bool
	// Running: the batch is the current batch of a release that has not ended, and Took is so far.
	Running bool
	// Waited is how long the release waited for a person's `next` while this was its current batch: each
	// time it stood Progressing with this batch Smoked (a canary, or a blue/green preview, to be pulled
	// in) or Baked (Manual mode, or the canary: for the next batch to start, or the release to finish),
	// from the history entry that put it there to the entry after it (the `next`, or a pause, a cancel or
	// a failure that ended the wait first), or to now while it still waits (condition AwaitingNext True).
	// Not counted: a wait that ended with the controller's own advance (an Auto interval, autoPromote, the
	// blue/green scale-down delay: nobody was waited for), time paused or failed, and waits whose end the
	// history has dropped (it keeps its first entries and its newest 50).
	Waited time.Duration
}

// BatchTimes are the times of every batch of r, in order, as of now.
func BatchTimes(r *v1alpha1.Release, now time.Time) []BatchTime {
	s := &r.Status
	h := s.History
	out := make([]BatchTime, len(s.Batches))
	awaiting := meta.IsStatusConditionTrue(s.Conditions, v1alpha1.ConditionAwaitingNext)
	for i := range s.Batches {
		b := &s.Batches[i]
		t := &out[i]
		t.Started = started(b, h)
		if !t.Started.IsZero() {
			t.Age = max(now.Sub(t.Started), 0)
			end, running, ok := ended(r, b, t.Started, now)
			if ok {
				t.Took, t.TookKnown, t.Running = max(end.Sub(t.Started), 0), true, running
			}
		}
		for k := range h {
			e := h[k]
			if e.ToBatch != b.Index || (e.ToPhase != waitSmoked && e.ToPhase != waitBaked) || isDropped(e) {
				continue
			}
			switch {
			case k+1 < len(h):
				next := h[k+1]
				if isDropped(next) || (next.Action == historyAdvance && next.User == controllerUser) {
					continue
				}
				t.Waited += max(next.Time.Sub(e.Time.Time), 0)
			case awaiting && b.Index == s.CurrentBatch:
				t.Waited += max(now.Sub(e.Time.Time), 0)
			}
		}
	}
	return out
}

// The states in which a release may wait for `next`, as its history writes them.
var (
	waitSmoked = string(v1alpha1.ReleaseProgressing) + "/" + string(v1alpha1.BatchSmoked)
	waitBaked  = string(v1alpha1.ReleaseProgressing) + "/" + string(v1alpha1.BatchBaked)
)

func isDropped(e v1alpha1.ReleaseHistoryEntry) bool {
	return e.Action == historyDropped && e.User == controllerUser
}

// started is when batch b first became the current batch.
func started(b *v1alpha1.ReleaseBatch, h []v1alpha1.ReleaseHistoryEntry) time.Time {
	for _, e := range h {
		if e.ToBatch == b.Index && e.FromBatch != b.Index && e.Action != historySkip && !isDropped(e) {
			return e.Time.Time
		}
	}
	if b.StartedAt != nil {
		return b.StartedAt.Time
	}
	return time.Time{}
}

// ended is when batch b, started at start, ended (see BatchTime.Took), whether it still runs, and
// whether its end is known.
func ended(r *v1alpha1.Release, b *v1alpha1.ReleaseBatch, start, now time.Time) (time.Time, bool, bool) {
	s := &r.Status
	if b.Phase == v1alpha1.BatchBaked && b.BakedAt != nil {
		return b.BakedAt.Time, false, true
	}
	h := s.History
	if b.Index == s.CurrentBatch {
		switch s.Phase {
		case v1alpha1.ReleaseProgressing, v1alpha1.ReleasePaused:
			return now, true, true
		case v1alpha1.ReleaseFailed, v1alpha1.ReleaseCanceled:
			// The newest entry that left the release Failed or Canceled at this batch.
			prefix := string(s.Phase) + "/"
			for k := len(h) - 1; k >= 0; k-- {
				if e := h[k]; e.ToBatch == b.Index && strings.HasPrefix(e.ToPhase, prefix) && !isDropped(e) {
					return e.Time.Time, false, true
				}
			}
			return time.Time{}, false, false
		}
	}
	// Moved past before it was Baked: the first entry after its start that left it.
	for _, e := range h {
		if e.FromBatch == b.Index && e.ToBatch > b.Index && !e.Time.Time.Before(start) && !isDropped(e) {
			return e.Time.Time, false, true
		}
	}
	return time.Time{}, false, false
}

// Duration is d as kubectl's AGE column says it: 5s, 119s, 3m10s, 45m, 2h30m, 2d.
func Duration(d time.Duration) string {
	return duration.HumanDuration(max(d, 0))
}
