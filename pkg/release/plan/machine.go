package plan

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases"
)

// The transition table of a release: every change of phase, made by a caller (a verb) or by the
// controller (an event), goes through the functions of this file, so both see the same rules. They
// change the Release's status in place and record each change in its history; the CloneSet follows from
// the status (see Intent).

// Verb is a caller's action on a release: the action subresources.
type Verb string

const (
	VerbNext   Verb = "next"
	VerbPause  Verb = "pause"
	VerbResume Verb = "resume"
	VerbCancel Verb = "cancel"
)

// Verbs are the action subresources, in the order the API documents them.
var Verbs = []Verb{VerbPause, VerbResume, VerbNext, VerbCancel}

// IsVerb reports whether s names an action subresource.
func IsVerb(s string) bool {
	for _, v := range Verbs {
		if string(v) == s {
			return true
		}
	}
	return false
}

// HistoryLimit is how many history entries a release keeps, newest last.
const HistoryLimit = 50

// MaxHistoryUserLength is the longest user name, in bytes, a history entry keeps.
const MaxHistoryUserLength = 256

// ControllerUser is the user recorded in the history for what the controller does.
const ControllerUser = "triton-controller"

// Refusal is a verb refused in the release's state: the API answers 409 Conflict with its message.
type Refusal struct{ Message string }

func (r *Refusal) Error() string { return r.Message }

// Invalid is a request that can never hold for this release (a toBatch beyond its plan, a toBatch on a
// verb other than next): the API answers 422 Unprocessable Entity on Field.
type Invalid struct {
	Field   string
	Value   interface{}
	Message string
}

func (e *Invalid) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Message) }

func refuse(format string, args ...interface{}) *Refusal {
	return &Refusal{Message: fmt.Sprintf(format, args...)}
}

// Observation is the target CloneSet as just read: for the messages of refusals, and for where a pause
// holds it.
type Observation struct {
	// Replicas is the CloneSet's status.replicas: the pods it has.
	Replicas int32
	// Desired is the CloneSet's spec.replicas: the pods it is to have (1 when unset, as kruise defaults).
	Desired int32
	// Updated pods of the release so far (at the new revision), ContainersReady among them, Ready among them.
	Updated, ContainersReady, Ready int32
	// BlueGreen: the pods at the revision from before the release (blue), and Ready among them.
	Blue, BlueReady int32
	// BlueServing (BlueGreen, once switched): blue pods that an EndpointSlice still lists as ready
	// endpoints. A pod that is no longer Ready still gets traffic until the endpointslice controller has
	// caught up; kruise removes blue as soon as the release ends, so it ends only once this is 0.
	BlueServing int32
	// Alive is the CloneSet's pods that are not being deleted, the release's and the others. A surging
	// release's old pods leave only once new ones are Ready: while Alive is above Desired, some are
	// still leaving traffic (see OldPodsLeaving).
	Alive int32
}

// OldPodsLeaving is how many of the pods a surging release's batches replaced are still there: kruise
// removes them only after the new ones are Ready, through the hold protocol (out of traffic first). A
// batch is not Baked while they are: a release that ended then would take its hold away and let kruise
// delete them while a Service may still send them traffic, and the next batch would start with kruise
// still busy with the last one. 0 for a release that does not surge.
func OldPodsLeaving(r *releases.Release, obs Observation) int32 {
	if !Surges(r) || obs.Alive <= obs.Desired {
		return 0
	}
	return obs.Alive - obs.Desired
}

// Needed is how many of a batch's pods must be up for it to move on. A batch's target counts pods
// changed, whatever the CloneSet's size is now; but after a scale-in below the target (by hand or an
// HPA) a release that moves the partition can never have that many, and waiting would only end at the
// progress deadline: the pods the CloneSet is to have are enough then. (Not below one pod: a CloneSet
// that is gone, or scaled to zero, moves no batch on.)
func Needed(r *releases.Release, target int32, obs Observation) int32 {
	if byPartition(r.Spec.Action) && obs.Desired > 0 && obs.Desired < target {
		return obs.Desired
	}
	return target
}

// Finished reports whether a release has ended for good.
func Finished(phase releases.ReleasePhase) bool {
	return phase == releases.ReleaseSucceeded || phase == releases.ReleaseCanceled
}

// Current returns the current batch, or nil before the release starts.
func Current(s *releases.ReleaseStatus) *releases.ReleaseBatch {
	if s.CurrentBatch < 1 || int(s.CurrentBatch) > len(s.Batches) {
		return nil
	}
	return &s.Batches[s.CurrentBatch-1]
}

// NeedsPullIn reports whether a release's pods wait for a pull-in before they get traffic.
func NeedsPullIn(r *releases.Release) bool { return !r.Spec.Strategy.NoPullIn }

// Act applies a caller's verb to r. It returns changed=false when the verb is a no-op in this state
// (pause on a paused release, resume on a running one), and a *Refusal when it is refused.
func Act(r *releases.Release, verb Verb, req *releases.ReleaseRequest, obs Observation, user string, now metav1.Time) (changed bool, err error) {
	s := &r.Status
	if verb != VerbCancel {
		if err := lostRefusal(r, verb); err != nil {
			return false, err
		}
	}
	if err := checkExpectations(s, req); err != nil {
		return false, err
	}
	reason := ""
	if req != nil {
		reason = req.Reason
	}
	if req != nil && req.OverrideAnalysis && verb != VerbNext {
		return false, &Invalid{Field: "overrideAnalysis", Value: true, Message: fmt.Sprintf("only `next` goes past analysis checks, not `%s`", verb)}
	}
	if req != nil && req.ToBatch != nil && verb != VerbNext {
		return false, &Invalid{Field: "toBatch", Value: *req.ToBatch, Message: fmt.Sprintf("only `next` moves to a batch, not `%s`", verb)}
	}
	before := snapshot(s)
	switch verb {
	case VerbNext:
		override := req != nil && req.OverrideAnalysis
		if override && req.Reason == "" {
			return false, &Invalid{Field: "reason", Value: "", Message: "going past analysis checks needs a reason, for the history"}
		}
		if override {
			// The current batch's checks first; the batches toBatch skips are jump's.
			finished, err := overrideAnalysis(r, req, obs, user, now)
			if err != nil {
				return false, err
			}
			if finished {
				// The last batch of an Auto release: Baked, the release Succeeded; nothing is left to move.
				return true, nil
			}
		}
		if req != nil && req.ToBatch != nil {
			err = jump(r, *req.ToBatch, obs, user, reason, override, now)
		} else {
			err = next(r, obs, now)
		}
	case VerbPause:
		changed, err = pause(r, obs)
		if !changed || err != nil {
			return false, err
		}
	case VerbResume:
		changed, err = resume(r, now)
		if !changed || err != nil {
			return false, err
		}
	case VerbCancel:
		err = cancel(s, now)
	default:
		return false, refuse("unknown action %q", verb)
	}
	if err != nil {
		return false, err
	}
	record(r, string(verb), user, reason, before, now)
	return true, nil
}

func checkExpectations(s *releases.ReleaseStatus, req *releases.ReleaseRequest) error {
	if req == nil {
		return nil
	}
	if req.ExpectedBatch != nil && *req.ExpectedBatch != s.CurrentBatch {
		return refuse("expected batch %d, but the current batch is %d", *req.ExpectedBatch, s.CurrentBatch)
	}
	if req.ExpectedPhase != "" {
		b := Current(s)
		if b == nil {
			return refuse("expected batch phase %s, but the release has not started", req.ExpectedPhase)
		}
		if b.Phase != req.ExpectedPhase {
			return refuse("expected batch %d to be %s, but it is %s", b.Index, req.ExpectedPhase, b.Phase)
		}
	}
	return nil
}

// movable checks that a caller may move the release on: it runs, and its current batch is Smoked or Baked.
func movable(r *releases.Release, p Observation, now metav1.Time) (*releases.ReleaseBatch, error) {
	s := &r.Status
	switch s.Phase {
	case releases.ReleaseSucceeded, releases.ReleaseCanceled:
		return nil, refuse("the release is %s", s.Phase)
	case releases.ReleaseFailed:
		return nil, refuse("the release failed; `resume` retries batch %d", s.CurrentBatch)
	case releases.ReleasePaused:
		return nil, refuse("the release is paused; `resume` it first")
	case releases.ReleasePending, "":
		return nil, refuse("the release has not started yet")
	}
	b := Current(s)
	if b == nil {
		return nil, refuse("the release has no current batch")
	}
	switch b.Phase {
	case releases.BatchSmoked, releases.BatchBaked:
		return b, nil
	case releases.BatchSmoking:
		return nil, refuse("batch %d is Smoking: %d of %d pods ready to take traffic", b.Index, min(p.ContainersReady, b.Target), b.Target)
	case releases.BatchBaking:
		if leaving := OldPodsLeaving(r, p); leaving > 0 && p.Ready >= b.Target {
			return nil, refuse("batch %d is Baking: %d of %d pods Ready, %d old pods still leaving traffic", b.Index, b.Target, b.Target, leaving)
		}
		if p.Ready >= b.Target {
			if waits := AnalysisWaits(r, now.Time); waits != "" {
				return nil, refuse("batch %d is Baking: every pod is Ready; analysis: %s", b.Index, waits)
			}
		}
		return nil, refuse("batch %d is Baking: %d of %d pods Ready", b.Index, min(p.Ready, b.Target), b.Target)
	default:
		return nil, refuse("batch %d is %s", b.Index, b.Phase)
	}
}

func next(r *releases.Release, p Observation, now metav1.Time) error {
	b, err := movable(r, p, now)
	if err != nil {
		return err
	}
	switch {
	case previewWaits(r, b):
		switchToGreen(&r.Status, now)
	case b.Phase == releases.BatchSmoked:
		pullIn(b)
	default:
		advance(&r.Status, now)
	}
	return nil
}

// jump moves the release straight to batch to: every batch before it that is not Baked is Skipped (and
// recorded as skipped by the caller), and batch to starts, with its partition or replicas and, once
// Smoked, its pull-in. Its target counts the pods of the batches skipped. Moving to the last batch
// promotes the release fully: it succeeds once that batch is Baked.
func jump(r *releases.Release, to int32, p Observation, user, reason string, override bool, now metav1.Time) error {
	s := &r.Status
	if n := int32(len(s.Batches)); to > n {
		return &Invalid{Field: "toBatch", Value: to, Message: fmt.Sprintf("the release has %d batches", n)}
	}
	if _, err := movable(r, p, now); err != nil {
		return err
	}
	if BlueGreen(r) && s.CurrentBatch == 1 {
		// The switch batch is the last: the switch, and the end once blue has been scaled down.
		s.Promoted = true
		return next(r, p, now)
	}
	if to == s.CurrentBatch && int(to) == len(s.Batches) {
		// Already at the last batch: promoting fully is `next`, and no other `next` after it.
		s.Promoted = true
		return next(r, p, now)
	}
	if to <= s.CurrentBatch {
		return refuse("the release is at batch %d already: toBatch must be a later batch (plain `next` moves this one on)", s.CurrentBatch)
	}
	// Skipping a batch skips its analysis checks: that is going past checks that have not passed, and
	// needs the override (its own permission, and a reason) as going past the current batch's does.
	if unchecked := checksSkipped(r, to); unchecked != "" && !override {
		return refuse("toBatch %d skips %s, whose analysis checks have not passed: going past them needs overrideAnalysis (a permission of its own) and a reason", to, unchecked)
	}
	// One entry for the batches skipped, however many: a jump over 200 batches must not push the start
	// of the release and its first approval out of the history. They are consecutive: those before the
	// current batch are done, and only the current one may be Baked.
	var skip *releases.ReleaseHistoryEntry
	for i := s.CurrentBatch; i < to; i++ {
		b := &s.Batches[i-1]
		if b.Phase == releases.BatchBaked {
			continue
		}
		from := string(s.Phase) + "/" + string(b.Phase)
		b.Phase = releases.BatchSkipped
		if skip == nil {
			skip = &releases.ReleaseHistoryEntry{Action: ActionSkip, User: historyUser(user), Time: now,
				FromBatch: i, FromPhase: from, Reason: reason}
		}
		skip.ToBatch, skip.ToPhase = i, string(s.Phase)+"/"+string(b.Phase)
	}
	if skip != nil {
		appendHistory(r, *skip)
		if override && checksGate(r) {
			appendHistory(r, releases.ReleaseHistoryEntry{Action: ActionOverrideAnalysis, User: historyUser(user), Time: now,
				FromBatch: skip.FromBatch, ToBatch: skip.ToBatch, FromPhase: skip.FromPhase, ToPhase: skip.ToPhase, Reason: reason})
		}
	}
	s.CurrentBatch = to
	startBatch(&s.Batches[to-1], now)
	if int(to) == len(s.Batches) {
		s.Promoted = true
	}
	return nil
}

// ActionSkip is the history action of the batches a caller skipped with `next` and toBatch: one entry per
// call, FromBatch the first batch skipped and ToBatch the last (equal when one was), FromPhase the first
// one's phase before, ToPhase Skipped.
const ActionSkip = "skip"

func pause(r *releases.Release, obs Observation) (bool, error) {
	s := &r.Status
	switch s.Phase {
	case releases.ReleasePaused:
		return false, nil
	case releases.ReleaseSucceeded, releases.ReleaseCanceled, releases.ReleaseFailed:
		return false, refuse("the release is %s", s.Phase)
	}
	hold(r, obs)
	s.Phase = releases.ReleasePaused
	return true, nil
}

func resume(r *releases.Release, now metav1.Time) (bool, error) {
	s := &r.Status
	switch s.Phase {
	case releases.ReleaseSucceeded, releases.ReleaseCanceled:
		return false, refuse("the release is %s", s.Phase)
	case releases.ReleasePaused:
		release(s)
		if s.CurrentBatch == 0 {
			s.Phase = releases.ReleasePending
			return true, nil
		}
		s.Phase = releases.ReleaseProgressing
		// Time spent paused does not count against the batch's progress deadline.
		if b := Current(s); b != nil && (b.Phase == releases.BatchSmoking || b.Phase == releases.BatchBaking) {
			b.StartedAt = &now
		}
		return true, nil
	case releases.ReleaseFailed:
		// Retry the failed batch from the start: its deadline restarts.
		release(s)
		s.Phase = releases.ReleaseProgressing
		if b := Current(s); b != nil {
			startBatch(b, now)
			// Its checks start again too: one that failed it would fail it again at once.
			b.Analysis = nil
		}
		return true, nil
	}
	return false, nil
}

func cancel(s *releases.ReleaseStatus, now metav1.Time) error {
	if Finished(s.Phase) {
		return refuse("the release is %s", s.Phase)
	}
	s.Phase = releases.ReleaseCanceled
	return nil
}

// Start begins a Pending release with its first batch.
func Start(r *releases.Release, now metav1.Time) bool {
	s := &r.Status
	if s.Phase != releases.ReleasePending || len(s.Batches) == 0 {
		return false
	}
	before := snapshot(s)
	s.Phase = releases.ReleaseProgressing
	s.CurrentBatch = 1
	startBatch(&s.Batches[0], now)
	record(r, "start", "", "", before, now)
	return true
}

// Smoked moves a Smoking batch whose pods are all up to Smoked; a batch that needs no pull-in by a caller
// (not the canary, or no readiness gate) is pulled in at once and goes on to Baking.
func Smoked(r *releases.Release, now metav1.Time) bool {
	s := &r.Status
	b := Current(s)
	if s.Phase != releases.ReleaseProgressing || b == nil || b.Phase != releases.BatchSmoking {
		return false
	}
	before := snapshot(s)
	b.Phase = releases.BatchSmoked
	b.SmokedAt = &now
	if (!NeedsPullIn(r) || !b.Canary) && !previewWaits(r, b) {
		pullIn(b)
	}
	record(r, "smoked", "", "", before, now)
	return true
}

// Baked moves a Baking batch whose pods are all Ready to Baked. An Auto release whose last batch (not a
// canary) is Baked succeeds here, and so does a release a caller promoted fully; every other Baked batch waits for `next` or, in Auto mode, for Advance.
func Baked(r *releases.Release, now metav1.Time) bool {
	s := &r.Status
	b := Current(s)
	if s.Phase != releases.ReleaseProgressing || b == nil || b.Phase != releases.BatchBaking {
		return false
	}
	before := snapshot(s)
	b.Phase = releases.BatchBaked
	b.BakedAt = &now
	last := int(s.CurrentBatch) == len(s.Batches)
	if last && !BlueGreen(r) && (s.Promoted || (r.Spec.Strategy.Mode == releases.ModeAuto && !b.Canary)) {
		s.Phase = releases.ReleaseSucceeded
	}
	record(r, "baked", "", "", before, now)
	return true
}

// AutoAdvanceAt returns when an Auto release moves on from its Baked batch by itself, or false when it
// waits for a caller.
func AutoAdvanceAt(r *releases.Release) (metav1.Time, bool) {
	s := &r.Status
	b := Current(s)
	if BlueGreen(r) {
		if s.Phase != releases.ReleaseProgressing || b == nil {
			return metav1.Time{}, false
		}
		return switchAt(r, b)
	}
	if r.Spec.Strategy.Mode != releases.ModeAuto || s.Phase != releases.ReleaseProgressing || b == nil ||
		b.Phase != releases.BatchBaked || b.Canary || b.BakedAt == nil || int(s.CurrentBatch) == len(s.Batches) {
		return metav1.Time{}, false
	}
	return metav1.NewTime(b.BakedAt.Add(secondsDuration(r.Spec.Strategy.BatchIntervalSeconds))), true
}

// Advance starts the next batch of an Auto release whose interval has passed.
func Advance(r *releases.Release, now metav1.Time) bool {
	at, ok := AutoAdvanceAt(r)
	if !ok || now.Before(&at) {
		return false
	}
	before := snapshot(&r.Status)
	if previewWaits(r, Current(&r.Status)) {
		switchToGreen(&r.Status, now)
		record(r, "advance", "", "blueGreen.autoPromote: the preview is Smoked", before, now)
		return true
	}
	advance(&r.Status, now)
	reason := ""
	if BlueGreen(r) {
		reason = "blueGreen.scaleDownDelaySeconds passed: blue is removed"
	}
	record(r, "advance", "", reason, before, now)
	return true
}

// Fail marks the current batch and the release Failed; the CloneSet is paused and held where it is.
func Fail(r *releases.Release, obs Observation, reason string, now metav1.Time) bool {
	s := &r.Status
	b := Current(s)
	if s.Phase != releases.ReleaseProgressing || b == nil {
		return false
	}
	before := snapshot(s)
	hold(r, obs)
	b.Phase = releases.BatchFailed
	s.Phase = releases.ReleaseFailed
	record(r, "fail", "", reason, before, now)
	if r.Spec.Strategy.OnFailure == releases.FailureCancel {
		// Nobody is waiting to decide: the release cancels itself, as `cancel` would (traffic first).
		before = snapshot(s)
		_ = cancel(s, now)
		record(r, string(VerbCancel), "", CanceledOnFailure+": "+reason, before, now)
	}
	return true
}

// CanceledOnFailure begins the reason of the cancel a failed batch makes when strategy.onFailure is Cancel.
const CanceledOnFailure = "onFailure is Cancel"

// canceledOnFailure returns the failure that canceled the release by itself (onFailure: Cancel), if it was.
func canceledOnFailure(s *releases.ReleaseStatus) (string, bool) {
	if s.Phase != releases.ReleaseCanceled {
		return "", false
	}
	for i := len(s.History) - 1; i >= 0; i-- {
		if h := s.History[i]; h.Action == string(VerbCancel) {
			if h.User == ControllerUser && strings.HasPrefix(h.Reason, CanceledOnFailure+": ") {
				return strings.TrimPrefix(h.Reason, CanceledOnFailure+": "), true
			}
			return "", false
		}
	}
	return "", false
}

func startBatch(b *releases.ReleaseBatch, now metav1.Time) {
	b.Phase = releases.BatchSmoking
	b.StartedAt = &now
	b.SmokedAt = nil
	b.BakedAt = nil
}

func pullIn(b *releases.ReleaseBatch) {
	b.Phase = releases.BatchBaking
}

// hold pins the CloneSet where it is now, so that no further pod changes (not even surge pods) happen.
func hold(r *releases.Release, obs Observation) {
	cs := observation(&r.Status)
	at := HeldValue(r, obs)
	cs.HeldAt = &at
}

func release(s *releases.ReleaseStatus) {
	if s.CloneSet != nil {
		s.CloneSet.HeldAt = nil
	}
}

func observation(s *releases.ReleaseStatus) *releases.CloneSetObservation {
	if s.CloneSet == nil {
		s.CloneSet = &releases.CloneSetObservation{}
	}
	return s.CloneSet
}

// advance starts the batch after a Baked one, or finishes the release after the last.
func advance(s *releases.ReleaseStatus, now metav1.Time) {
	if int(s.CurrentBatch) >= len(s.Batches) {
		s.Phase = releases.ReleaseSucceeded
		return
	}
	s.CurrentBatch++
	startBatch(&s.Batches[s.CurrentBatch-1], now)
}

type state struct {
	batch int32
	phase string
}

func snapshot(s *releases.ReleaseStatus) state {
	p := string(s.Phase)
	if b := Current(s); b != nil {
		p += "/" + string(b.Phase)
	}
	return state{batch: s.CurrentBatch, phase: p}
}

// record appends a history entry and refreshes the conditions.
func record(r *releases.Release, action, user, reason string, before state, now metav1.Time) {
	after := snapshot(&r.Status)
	appendHistory(r, releases.ReleaseHistoryEntry{
		Action:    action,
		User:      historyUser(user),
		Time:      now,
		FromBatch: before.batch,
		ToBatch:   after.batch,
		FromPhase: before.phase,
		ToPhase:   after.phase,
		Reason:    reason,
	})
	SetConditions(r, now)
}

// appendHistory appends an entry, keeping at most HistoryLimit (trimHistory).
func appendHistory(r *releases.Release, h releases.ReleaseHistoryEntry) {
	r.Status.History = trimHistory(append(r.Status.History, h))
}

// ActionDropped is the history action of an entry that stands for entries dropped to keep the history
// within HistoryLimit, where they were: its Reason starts with how many ("14 entries dropped ..."),
// FromBatch and FromPhase are the first dropped entry's, ToBatch, ToPhase and Time the last one's. Its
// user is the controller's.
const ActionDropped = "dropped"

// historyHead is how many of the first entries the history always keeps: the start of the release.
const historyHead = 2

// trimHistory keeps a history within HistoryLimit entries. It always keeps its first historyHead entries
// (the start of the release), the first entry a caller made (its first approval, usually the first
// `next`), and its newest entry; of the others, the oldest go first. Each run of consecutive entries
// dropped becomes one ActionDropped entry, which takes a place of its own and counts them, so that a
// reader sees where entries are missing (an entry alone between two kept ones stays: a marker would take
// its place and save nothing). The result does not share its array with h.
func trimHistory(h []releases.ReleaseHistoryEntry) []releases.ReleaseHistoryEntry {
	if len(h) <= HistoryLimit {
		return h
	}
	out := append([]releases.ReleaseHistoryEntry(nil), h...)
	for len(out) > HistoryLimit {
		var ok bool
		if out, ok = dropOldest(out); !ok {
			// Nothing left to fold (cannot happen with HistoryLimit above 7): keep the newest.
			return append([]releases.ReleaseHistoryEntry(nil), out[len(out)-HistoryLimit:]...)
		}
	}
	return out
}

// dropOldest shortens h by one entry, dropping the oldest entry it may: into the ActionDropped entry
// before or after it, or with the entry after it into a new ActionDropped entry. It reports false when
// no entry may go.
func dropOldest(h []releases.ReleaseHistoryEntry) ([]releases.ReleaseHistoryEntry, bool) {
	firstCaller := -1
	for i := range h {
		if h[i].User != ControllerUser && h[i].User != "" && !isDropped(h[i]) {
			firstCaller = i
			break
		}
	}
	droppable := func(i int) bool {
		return i >= historyHead && i < len(h)-1 && i != firstCaller && !isDropped(h[i])
	}
	remove := func(i int) []releases.ReleaseHistoryEntry { return append(h[:i], h[i+1:]...) }
	for i := historyHead; i < len(h)-1; i++ {
		if !droppable(i) {
			continue
		}
		switch {
		case isDropped(h[i-1]):
			h[i-1] = foldDropped(h[i-1], h[i])
			return remove(i), true
		case isDropped(h[i+1]):
			m := h[i+1]
			m.Reason = droppedReason(droppedEntries(m) + 1)
			m.FromBatch, m.FromPhase = h[i].FromBatch, h[i].FromPhase
			h[i+1] = m
			return remove(i), true
		case droppable(i + 1):
			m := releases.ReleaseHistoryEntry{Action: ActionDropped, User: ControllerUser, FromBatch: h[i].FromBatch,
				FromPhase: h[i].FromPhase, Reason: droppedReason(1)}
			h[i] = foldDropped(m, h[i+1])
			return remove(i + 1), true
		}
	}
	return h, false
}

func isDropped(h releases.ReleaseHistoryEntry) bool {
	return h.Action == ActionDropped && h.User == ControllerUser
}

// foldDropped counts one more entry, e, dropped right after those that m stands for.
func foldDropped(m, e releases.ReleaseHistoryEntry) releases.ReleaseHistoryEntry {
	m.Reason = droppedReason(droppedEntries(m) + 1)
	m.ToBatch, m.ToPhase, m.Time = e.ToBatch, e.ToPhase, e.Time
	return m
}

func droppedReason(n int) string {
	if n == 1 {
		return "1 entry dropped here: the history keeps its first entries and its newest"
	}
	return fmt.Sprintf("%d entries dropped here: the history keeps its first entries and its newest", n)
}

// droppedEntries is how many entries an ActionDropped entry stands for; 0 for any other entry.
func droppedEntries(h releases.ReleaseHistoryEntry) int {
	if !isDropped(h) {
		return 0
	}
	n := 0
	if _, err := fmt.Sscanf(h.Reason, "%d", &n); err != nil || n < 1 {
		return 1
	}
	return n
}

// historyUser is the user a history entry names: the controller's for what the controller does, and no
// more than MaxHistoryUserLength bytes (the history's size is bounded; an identity's name is not).
func historyUser(user string) string {
	if user == "" {
		user = ControllerUser
	}
	if len(user) > MaxHistoryUserLength {
		user = user[:MaxHistoryUserLength]
	}
	return user
}

// AwaitingNext reports whether only a `next` call moves the release on, and why.
func AwaitingNext(r *releases.Release) (bool, string) {
	s := &r.Status
	b := Current(s)
	if s.Phase != releases.ReleaseProgressing || b == nil {
		return false, ""
	}
	if BlueGreen(r) {
		if _, auto := AutoAdvanceAt(r); !auto && previewWaits(r, b) {
			return true, "the preview is Smoked: `next` switches traffic to it"
		}
		return false, ""
	}
	switch b.Phase {
	case releases.BatchSmoked:
		return true, fmt.Sprintf("batch %d is Smoked: `next` pulls it into traffic", b.Index)
	case releases.BatchBaked:
		if _, auto := AutoAdvanceAt(r); auto {
			return false, ""
		}
		if int(s.CurrentBatch) == len(s.Batches) {
			return true, fmt.Sprintf("batch %d, the last, is Baked: `next` completes the release", b.Index)
		}
		return true, fmt.Sprintf("batch %d is Baked: `next` starts batch %d", b.Index, b.Index+1)
	}
	return false, ""
}

// SetConditions derives the conditions from the phases and the spec (a pace edit changes whether the
// release waits for `next`), and records the generation of the spec they reflect, in status and in each
// condition: `kubectl wait --for=condition=...` takes a condition of an older generation as not met.
func SetConditions(r *releases.Release, now metav1.Time) {
	s := &r.Status
	s.ObservedGeneration = r.Generation
	set := func(t string, ok bool, reason, message string) {
		status := metav1.ConditionFalse
		if ok {
			status = metav1.ConditionTrue
		}
		meta.SetStatusCondition(&s.Conditions, metav1.Condition{
			Type: t, Status: status, Reason: reason, Message: message,
			ObservedGeneration: r.Generation, LastTransitionTime: now,
		})
	}
	awaiting, why := AwaitingNext(r)
	if awaiting {
		set(releases.ConditionAwaitingNext, true, "WaitingForNext", why)
	} else {
		set(releases.ConditionAwaitingNext, false, string(orPending(s.Phase)), "")
	}
	set(releases.ConditionPaused, s.Phase == releases.ReleasePaused, string(orPending(s.Phase)), "")
	if failure, ok := canceledOnFailure(s); ok {
		// A release that canceled itself on a failed batch failed all the same: a pipeline that waits for
		// Failed (or Complete) learns of it, and why.
		set(releases.ConditionFailed, true, "CanceledOnFailure", failure)
	} else if lost := lostFailure(s); lost != nil {
		// A release that lost its CloneSet failed for good, whatever it does after (a cancel).
		set(releases.ConditionFailed, true, lost.Reason, lost.Message)
	} else {
		set(releases.ConditionFailed, s.Phase == releases.ReleaseFailed, string(orPending(s.Phase)), lastReason(s, "fail"))
	}
	set(releases.ConditionComplete, s.Phase == releases.ReleaseSucceeded, string(orPending(s.Phase)), "")
	if s.Phase == releases.ReleaseCanceled && !meta.IsStatusConditionTrue(s.Conditions, releases.ConditionReverted) {
		switch {
		case SwitchingBack(r):
		case Reverting(r) && Switched(r) && meta.FindStatusCondition(s.Conditions, releases.ConditionReverted) == nil:
			set(releases.ConditionReverted, false, RevertSwitchingBack,
				"blue is coming back into traffic; then the new pods leave it and are removed")
		case Reverting(r):
			set(releases.ConditionReverted, false, RevertDraining, drainingMessage)
		case lostFailure(s) != nil:
			lost := lostFailure(s)
			set(releases.ConditionReverted, true, lost.Reason, "nothing was put back: "+lost.Message)
		default:
			set(releases.ConditionReverted, true, "Reverted", "")
		}
	}
}

// Reverting reports whether a canceled release still holds its CloneSet: its pods leave traffic before
// kruise removes them or updates them back (the lifecycle hooks stay on until then), and a new release
// of the CloneSet waits for that. Only a release that pulls pods in, and that had started, has anything to
// drain.
func Reverting(r *releases.Release) bool {
	s := &r.Status
	if _, lost := Lost(r); lost {
		return false // it holds nothing of a CloneSet that is not its own
	}
	return s.Phase == releases.ReleaseCanceled && s.CurrentBatch > 0 && NeedsPullIn(r) &&
		!meta.IsStatusConditionTrue(s.Conditions, releases.ConditionReverted)
}

// MarkReverted records that a canceled release's CloneSet is back where it was before the release and that
// none of its pods is left in traffic: the release lets go of the CloneSet.
func MarkReverted(r *releases.Release, now metav1.Time) {
	meta.SetStatusCondition(&r.Status.Conditions, metav1.Condition{
		Type: releases.ConditionReverted, Status: metav1.ConditionTrue, Reason: "Reverted",
		Message:            "the CloneSet is back at the revision and replicas from before the release",
		ObservedGeneration: r.Generation, LastTransitionTime: now,
	})
}

func orPending(p releases.ReleasePhase) releases.ReleasePhase {
	if p == "" {
		return releases.ReleasePending
	}
	return p
}

func lastReason(s *releases.ReleaseStatus, action string) string {
	if s.Phase != releases.ReleaseFailed {
		return ""
	}
	for i := len(s.History) - 1; i >= 0; i-- {
		if s.History[i].Action == action {
			return s.History[i].Reason
		}
	}
	return ""
}

// Describe says what a history entry did, for an Event: "batch 2: Progressing/Baked -> Progressing/Smoking
// by alice: canary looks good"; batches skipped in one call: "batches 2-5: ...".
func Describe(h releases.ReleaseHistoryEntry) string {
	message := fmt.Sprintf("batch %d: %s -> %s", h.ToBatch, h.FromPhase, h.ToPhase)
	if h.Action == ActionSkip && h.FromBatch > 0 && h.FromBatch < h.ToBatch {
		message = fmt.Sprintf("batches %d-%d: %s -> %s", h.FromBatch, h.ToBatch, h.FromPhase, h.ToPhase)
	}
	if h.User != "" && h.User != ControllerUser {
		message += " by " + h.User
	}
	if h.Reason != "" {
		message += ": " + h.Reason
	}
	return message
}

// EventReason is the Event reason of a history action: "next" -> "Next".
func EventReason(action string) string {
	if action == "" {
		return "Unknown"
	}
	return strings.ToUpper(action[:1]) + action[1:]
}
