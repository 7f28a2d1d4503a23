package dashboard

import (
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/cli/view"
	"github.com/triton-io/triton/pkg/release/plan"
)

// Kinds of a timeline's spans: what a batch was doing over a stretch of time.
const (
	// SpanSmoking: the batch's pods were being made, from its start to Smoked.
	SpanSmoking = "smoking"
	// SpanBaking: the batch's pods were in traffic, waiting to be Ready (and for its checks), until Baked.
	SpanBaking = "baking"
	// SpanWaiting: the release waited for a person's `next` (By names who sent it).
	SpanWaiting = "waiting"
	// SpanInterval: an Auto release waited out its batch interval.
	SpanInterval = "interval"
	// SpanPaused: the release was paused (By names who paused it).
	SpanPaused = "paused"
	// SpanFailed: the batch had failed, until someone resumed or canceled the release.
	SpanFailed = "failed"
)

// Timeline is a release drawn over time: what each batch did, the waits for a person, the pauses and
// failures, the marks of who did what, and the batches still to come.
type Timeline struct {
	// From and To bound the drawing: the first batch's start (or the release's creation) and now, or the
	// last entry of a finished release.
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Spans are in the order of the batches, then of time.
	Spans []Span `json:"spans"`
	// Marks are the history's entries of people and failures, in time order.
	Marks []Mark `json:"marks"`
	// ToCome is the plan still to come: the batches that have not started.
	ToCome []PlannedBatch `json:"toCome"`
}

// Span is one stretch of time of one batch.
type Span struct {
	Batch int32     `json:"batch"`
	Kind  string    `json:"kind"`
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
	// Open is true while the span goes on: To is now.
	Open bool `json:"open,omitempty"`
	// By is who ended a wait (the `next`) or began a pause; "" for the controller.
	By string `json:"by,omitempty"`
}

// Mark is one moment of the history worth a sign on the timeline: a person's action, a failure.
type Mark struct {
	Batch  int32     `json:"batch"`
	Time   time.Time `json:"time"`
	Action string    `json:"action"`
	User   string    `json:"user,omitempty"`
	Reason string    `json:"reason,omitempty"`
}

// PlannedBatch is a batch that has not started: how many pods it brings and what starts it.
type PlannedBatch struct {
	Index    int32 `json:"index"`
	Canary   bool  `json:"canary,omitempty"`
	Replicas int32 `json:"replicas"`
	Target   int32 `json:"target"`
	// StartsOn says what starts it, in words: a person's `next`, or the interval of an Auto release.
	StartsOn string `json:"startsOn"`
	// Checks are the analysis checks it must pass to be Baked.
	Checks []string `json:"checks,omitempty"`
}

// markedActions are the history's actions that get a mark: those of people and failures. The
// controller's own steps (start, smoked, baked, advance) are the spans already.
var markedActions = map[string]bool{
	"next": true, "pause": true, "resume": true, "cancel": true, "fail": true,
	plan.ActionSkip: true, plan.ActionOverrideAnalysis: true, plan.ActionLost: true, plan.ActionRevisionGone: true,
}

// timeline draws r as of now. It reads only r: the batches' times and the history (which may have been
// trimmed: a stretch whose ending entry is gone is drawn as the batch's own phase, without who ended it).
func timeline(r *v1alpha1.Release, now time.Time) Timeline {
	st := &r.Status
	t := Timeline{From: r.CreationTimestamp.Time, To: now, Spans: []Span{}, Marks: []Mark{}, ToCome: []PlannedBatch{}}
	if view.Finished(r) {
		t.To = lastEntry(st)
	}
	// A batch's start is when it first started, as the plugin's status counts it: a resume after a pause
	// or a failure sets its startedAt again.
	times := view.BatchTimes(r, now)
	if len(times) > 0 && !times[0].Started.IsZero() {
		t.From = times[0].Started
	}
	if t.To.Before(t.From) {
		t.To = t.From
	}
	for i := range st.Batches {
		t.Spans = append(t.Spans, batchSpans(r, &st.Batches[i], times[i].Started, t.To)...)
	}
	t.Spans = append(t.Spans, stopSpans(r, t.To)...)
	for _, h := range st.History {
		if markedActions[h.Action] {
			t.Marks = append(t.Marks, Mark{Batch: h.FromBatch, Time: h.Time.Time, Action: h.Action, User: cleanLine(h.User),
				Reason: cleanLine(h.Reason)})
		}
	}
	t.ToCome = toCome(r)
	return t
}

// lastEntry is the time of a release's last history entry, or of its last batch time without one.
func lastEntry(st *v1alpha1.ReleaseStatus) time.Time {
	var last time.Time
	for _, h := range st.History {
		if h.Time.After(last) {
			last = h.Time.Time
		}
	}
	for _, b := range st.Batches {
		for _, at := range []*time.Time{timeOf(b.StartedAt), timeOf(b.SmokedAt), timeOf(b.BakedAt)} {
			if at != nil && at.After(last) {
				last = *at
			}
		}
	}
	return last
}

// batchSpans are the spans of one batch: smoking, the wait for its pull-in, baking, and the wait after it
// was Baked for the next batch (a person's `next` or an Auto release's interval), from started (zero: it
// has not started). A span that has not ended ends at end, open.
func batchSpans(r *v1alpha1.Release, b *v1alpha1.ReleaseBatch, started, end time.Time) []Span {
	if started.IsZero() {
		return nil
	}
	st := &r.Status
	current := b.Index == st.CurrentBatch && !view.Finished(r)
	var spans []Span
	add := func(kind string, from time.Time, to *time.Time, by string) {
		s := Span{Batch: b.Index, Kind: kind, From: from, By: cleanLine(by)}
		if to == nil {
			if !current && b.Phase != v1alpha1.BatchFailed {
				return // a batch left without this step (skipped, or the release ended): nothing to draw
			}
			s.To, s.Open = end, true
		} else {
			s.To = *to
		}
		if s.To.Before(s.From) {
			s.To = s.From
		}
		spans = append(spans, s)
	}
	smoked := timeOf(b.SmokedAt)
	if smoked == nil && b.Phase == v1alpha1.BatchFailed {
		smoked = failedAt(st, b.Index) // it failed while its pods were being made
	}
	add(SpanSmoking, started, smoked, "")
	if smoked == nil || b.SmokedAt == nil {
		return spans
	}
	baked := timeOf(b.BakedAt)
	bakingFrom := b.SmokedAt.Time
	if pull, ok := entry(st, func(h *v1alpha1.ReleaseHistoryEntry) bool {
		return h.Action == "next" && h.FromBatch == b.Index && strings.HasSuffix(h.FromPhase, "/"+string(v1alpha1.BatchSmoked))
	}); ok {
		// A person pulled it into traffic: the time between Smoked and that `next` was a wait.
		add(SpanWaiting, b.SmokedAt.Time, &pull.Time.Time, pull.User)
		bakingFrom = pull.Time.Time
	} else if current && b.Phase == v1alpha1.BatchSmoked {
		if awaitingNext(r) {
			add(SpanWaiting, b.SmokedAt.Time, nil, "")
		}
		return spans
	}
	if b.Phase == v1alpha1.BatchSmoked {
		return spans
	}
	if baked == nil && b.Phase == v1alpha1.BatchFailed {
		baked = failedAt(st, b.Index)
	}
	add(SpanBaking, bakingFrom, baked, "")
	if b.BakedAt == nil {
		return spans
	}
	// After Baked: what moved the release on, the next batch's start or the completion.
	if moved, ok := entry(st, func(h *v1alpha1.ReleaseHistoryEntry) bool {
		return (h.Action == "next" || h.Action == "advance") && h.FromBatch == b.Index &&
			strings.HasSuffix(h.FromPhase, "/"+string(v1alpha1.BatchBaked))
	}); ok {
		kind := SpanWaiting
		if moved.Action == "advance" {
			kind = SpanInterval
		}
		add(kind, b.BakedAt.Time, &moved.Time.Time, moved.User)
		return spans
	}
	if current && b.Phase == v1alpha1.BatchBaked {
		if awaitingNext(r) {
			add(SpanWaiting, b.BakedAt.Time, nil, "")
		} else if st.Phase == v1alpha1.ReleaseProgressing {
			add(SpanInterval, b.BakedAt.Time, nil, "")
		}
	}
	return spans
}

// stopSpans are the pauses and failures: from a pause to its resume (or a cancel), from a failure to the
// resume, next or cancel that ended it; open while the release is still paused or failed.
func stopSpans(r *v1alpha1.Release, end time.Time) []Span {
	st := &r.Status
	var spans []Span
	var open *Span
	closeAt := func(at time.Time) {
		if open != nil {
			open.To = at
			if open.To.Before(open.From) {
				open.To = open.From
			}
			spans = append(spans, *open)
			open = nil
		}
	}
	for _, h := range st.History {
		switch h.Action {
		case "pause":
			closeAt(h.Time.Time)
			open = &Span{Batch: h.FromBatch, Kind: SpanPaused, From: h.Time.Time, By: cleanLine(h.User)}
		case "fail":
			closeAt(h.Time.Time)
			open = &Span{Batch: h.FromBatch, Kind: SpanFailed, From: h.Time.Time}
		case "resume", "cancel", "next":
			closeAt(h.Time.Time)
		}
	}
	if open != nil {
		if st.Phase == v1alpha1.ReleasePaused || st.Phase == v1alpha1.ReleaseFailed {
			open.Open = true
		}
		closeAt(end)
	}
	return spans
}

// toCome is the plan still to come: every batch that has not started, with what starts it.
func toCome(r *v1alpha1.Release) []PlannedBatch {
	st := &r.Status
	out := []PlannedBatch{}
	if view.Finished(r) {
		return out
	}
	var checks []string
	if a := r.Spec.Strategy.Analysis; a != nil {
		for _, c := range a.Checks {
			checks = append(checks, c.Name)
		}
		for _, name := range a.Templates {
			checks = append(checks, "template "+name)
		}
	}
	for _, b := range st.Batches {
		if b.StartedAt != nil || b.Phase == v1alpha1.BatchSkipped {
			continue
		}
		out = append(out, PlannedBatch{Index: b.Index, Canary: b.Canary, Replicas: b.Replicas, Target: b.Target,
			StartsOn: startsOn(r, b.Index), Checks: checks})
	}
	return out
}

// startsOn says in words what starts batch index, which has not started.
func startsOn(r *v1alpha1.Release, index int32) string {
	switch {
	case index == 1:
		return "the release's start"
	case blueGreen(r) && r.Spec.Strategy.BlueGreen != nil && r.Spec.Strategy.BlueGreen.AutoPromote:
		return fmt.Sprintf("by itself, %ds after the preview is Smoked", r.Spec.Strategy.BatchIntervalSeconds)
	case blueGreen(r):
		return "a person's `next` at the Smoked preview (the switch)"
	case r.Spec.Strategy.Mode == v1alpha1.ModeAuto && !(index == 2 && r.Status.Batches[0].Canary):
		return fmt.Sprintf("by itself, %ds after batch %d is Baked", r.Spec.Strategy.BatchIntervalSeconds, index-1)
	default:
		return fmt.Sprintf("a person's `next` once batch %d is Baked", index-1)
	}
}

// failedAt is when batch index failed, from the history; nil when the entry is gone.
func failedAt(st *v1alpha1.ReleaseStatus, index int32) *time.Time {
	if h, ok := entry(st, func(h *v1alpha1.ReleaseHistoryEntry) bool { return h.Action == "fail" && h.FromBatch == index }); ok {
		return &h.Time.Time
	}
	return nil
}

// entry is the last history entry that matches.
func entry(st *v1alpha1.ReleaseStatus, match func(*v1alpha1.ReleaseHistoryEntry) bool) (v1alpha1.ReleaseHistoryEntry, bool) {
	for i := len(st.History) - 1; i >= 0; i-- {
		if match(&st.History[i]) {
			return st.History[i], true
		}
	}
	return v1alpha1.ReleaseHistoryEntry{}, false
}

// timeOf is t's time, nil for nil.
func timeOf(t *metav1.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.Time
	return &v
}

// awaitingNext says whether the server holds r for a person's `next`.
func awaitingNext(r *v1alpha1.Release) bool {
	return meta.IsStatusConditionTrue(r.Status.Conditions, v1alpha1.ConditionAwaitingNext)
}

// blueGreen says whether r replaces its pods blue/green.
func blueGreen(r *v1alpha1.Release) bool {
	return r.Spec.Strategy.Type == v1alpha1.StrategyBlueGreen
}
