package plan

import (
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases"
)

// The analysis engine: what to measure, what a measurement means for its check, and whether a batch's
// checks let it count as Baked. Pure; the controller takes the measurements (pkg/analysis/runner).
//
//   - A check is measured for the current batch while it is Baking (in traffic, not yet Baked); a
//     background check in every phase of the current batch, while the release progresses.
//   - Passed: every measurement since passingSince passed, and that is bakeSeconds ago (at least one).
//   - Failed: more Failed measurements than failureLimit, or more Error measurements in a row than
//     errorLimit. A failed check fails the batch (a background one in any phase); the release then does
//     what onFailure says.
//   - Error (Prometheus down, no data) is never a pass: it restarts the bake, and holds the batch.
//   - A dryRun check is measured and shown, and never holds or fails a batch.

// DefaultAnalysisInterval is the time between two measurements of a check when intervalSeconds is unset.
const DefaultAnalysisInterval = 10 * time.Second

// MaxMessageBytes bounds a measurement's or a check's message as recorded.
const MaxMessageBytes = 256

// HasAnalysis reports whether the release has checks.
func HasAnalysis(r *releases.Release) bool { return len(r.Status.AnalysisChecks) > 0 }

// DueCheck is one check to measure for one batch.
type DueCheck struct {
	Batch int32
	Check releases.AnalysisCheck
}

// AnalysisInterval is the time between two measurements of a check of r.
func AnalysisInterval(r *releases.Release) time.Duration {
	if a := r.Spec.Strategy.Analysis; a != nil && a.IntervalSeconds != nil && *a.IntervalSeconds > 0 {
		return time.Duration(*a.IntervalSeconds) * time.Second
	}
	return DefaultAnalysisInterval
}

func bakeTime(r *releases.Release) time.Duration {
	if a := r.Spec.Strategy.Analysis; a != nil && a.BakeSeconds > 0 {
		return time.Duration(a.BakeSeconds) * time.Second
	}
	return 0
}

// measured reports whether check c is measured for batch b now.
func measured(r *releases.Release, b *releases.ReleaseBatch, c *releases.AnalysisCheck) bool {
	if r.Status.Phase != releases.ReleaseProgressing || b == nil {
		return false
	}
	if c.Background {
		return b.Phase == releases.BatchSmoking || b.Phase == releases.BatchSmoked || b.Phase == releases.BatchBaking ||
			b.Phase == releases.BatchBaked
	}
	return b.Phase == releases.BatchBaking
}

// AnalysisDue returns the checks of the current batch to measure at now, and how long until the next one
// falls due (0: none is measured now).
func AnalysisDue(r *releases.Release, now time.Time) ([]DueCheck, time.Duration) {
	b := Current(&r.Status)
	var due []DueCheck
	var wait time.Duration
	interval := AnalysisInterval(r)
	for i := range r.Status.AnalysisChecks {
		c := &r.Status.AnalysisChecks[i]
		if !measured(r, b, c) {
			continue
		}
		st := analysisOf(b, c.Name)
		if st == nil || len(st.Measurements) == 0 {
			due = append(due, DueCheck{Batch: b.Index, Check: *c})
			continue
		}
		next := st.Measurements[len(st.Measurements)-1].Time.Add(interval)
		if left := next.Sub(now); left > 0 {
			if wait == 0 || left < wait {
				wait = left
			}
			continue
		}
		due = append(due, DueCheck{Batch: b.Index, Check: *c})
	}
	return due, wait
}

func analysisOf(b *releases.ReleaseBatch, name string) *releases.AnalysisStatus {
	if b == nil {
		return nil
	}
	for i := range b.Analysis {
		if b.Analysis[i].Name == name {
			return &b.Analysis[i]
		}
	}
	return nil
}

func checkOf(r *releases.Release, name string) *releases.AnalysisCheck {
	for i := range r.Status.AnalysisChecks {
		if r.Status.AnalysisChecks[i].Name == name {
			return &r.Status.AnalysisChecks[i]
		}
	}
	return nil
}

// StartAnalysis lists every check measured for the current batch in its analysis (Running, waiting for
// its first measurement), so that the status shows what the batch waits for before a measurement comes.
func StartAnalysis(r *releases.Release) {
	b := Current(&r.Status)
	for i := range r.Status.AnalysisChecks {
		c := &r.Status.AnalysisChecks[i]
		if measured(r, b, c) && analysisOf(b, c.Name) == nil {
			b.Analysis = append(b.Analysis, releases.AnalysisStatus{Name: c.Name, Phase: releases.AnalysisRunning,
				Message: "waiting for the first measurement"})
		}
	}
}

func errorLimit(c *releases.AnalysisCheck) int32 {
	if c.ErrorLimit != nil {
		return *c.ErrorLimit
	}
	return 3
}

// RecordMeasurement records m, a measurement of the check named check for batch, in r's status. A
// measurement of a batch that is no longer the current one, or of a check the release does not have, is
// dropped (it came after the batch moved on). It reports whether it was recorded.
func RecordMeasurement(r *releases.Release, batch int32, check string, m releases.Measurement) bool {
	b := Current(&r.Status)
	c := checkOf(r, check)
	if b == nil || b.Index != batch || c == nil || !measured(r, b, c) {
		return false
	}
	st := analysisOf(b, check)
	if st == nil {
		b.Analysis = append(b.Analysis, releases.AnalysisStatus{Name: check})
		st = &b.Analysis[len(b.Analysis)-1]
	}
	if st.Phase == releases.AnalysisFailed {
		return false // a failed check stays failed for this batch
	}
	m.Message = cut(m.Message, MaxMessageBytes)
	m.Value = cut(m.Value, releases.MaxMeasurementValueLength)
	st.Measurements = append(st.Measurements, m)
	if n := len(st.Measurements) - releases.MaxMeasurements; n > 0 {
		st.Measurements = append([]releases.Measurement(nil), st.Measurements[n:]...)
	}
	switch m.Phase {
	case releases.AnalysisPassed:
		st.ConsecutiveErrors = 0
		if st.PassingSince == nil {
			at := m.Time
			st.PassingSince = &at
		}
	case releases.AnalysisFailed:
		st.ConsecutiveErrors = 0
		st.PassingSince = nil
		st.Failures++
	default:
		st.ConsecutiveErrors++
		st.PassingSince = nil
	}
	switch {
	case st.Failures > c.FailureLimit:
		st.Phase = releases.AnalysisFailed
		st.Message = cut(fmt.Sprintf("%d failed measurements, %d tolerated; the last: %s", st.Failures, c.FailureLimit, describe(m)), MaxMessageBytes)
	case st.ConsecutiveErrors > errorLimit(c):
		st.Phase = releases.AnalysisFailed
		st.Message = cut(fmt.Sprintf("%d measurements in a row could not be taken, %d tolerated; the last: %s", st.ConsecutiveErrors, errorLimit(c), describe(m)), MaxMessageBytes)
	case m.Phase == releases.AnalysisError:
		st.Phase = releases.AnalysisError
		st.Message = cut(describe(m), MaxMessageBytes)
	default:
		st.Phase = releases.AnalysisRunning
		st.Message = cut(describe(m), MaxMessageBytes)
	}
	ForgetMeasurements(r)
	return true
}

func describe(m releases.Measurement) string {
	switch {
	case m.Message != "" && m.Value != "":
		return m.Value + ": " + m.Message
	case m.Message != "":
		return m.Message
	case m.Value != "":
		return fmt.Sprintf("last measured %s: %s", m.Value, strings.ToLower(string(m.Phase)))
	default:
		return strings.ToLower(string(m.Phase))
	}
}

// Verdict is what a batch's checks say.
type Verdict struct {
	// Passed: every check that holds the batch has passed (true when none does).
	Passed bool
	// Failed names the check that failed, and Why says how; empty when none did.
	Failed, Why string
	// Waiting says which check the batch waits for, and for what, when not Passed.
	Waiting string
	// Wait is how long until the bake of the slowest check is over, when only time is missing.
	Wait time.Duration
}

// AnalysisVerdict judges the checks of batch b at now; a check passes here once it has passed for
// bakeSeconds, and its phase becomes Passed.
func AnalysisVerdict(r *releases.Release, b *releases.ReleaseBatch, now time.Time) Verdict {
	v := Verdict{Passed: true}
	if b == nil {
		return v
	}
	bake := bakeTime(r)
	for i := range r.Status.AnalysisChecks {
		c := &r.Status.AnalysisChecks[i]
		st := analysisOf(b, c.Name)
		if c.DryRun {
			if st != nil && st.PassingSince != nil && st.Phase == releases.AnalysisRunning && !now.Before(st.PassingSince.Add(bake)) {
				st.Phase = releases.AnalysisPassed
			}
			continue
		}
		if st != nil && st.Phase == releases.AnalysisFailed {
			if v.Failed == "" {
				v.Passed, v.Failed, v.Why = false, c.Name, st.Message
			}
			continue
		}
		if c.Background && b.Phase != releases.BatchBaking && st == nil {
			continue // measured in every phase, judged for the bake
		}
		switch {
		case st == nil || len(st.Measurements) == 0:
			v.Passed = false
			if v.Waiting == "" {
				v.Waiting = fmt.Sprintf("check %q waits for its first measurement", c.Name)
			}
		case st.PassingSince == nil:
			v.Passed = false
			if v.Waiting == "" {
				v.Waiting = fmt.Sprintf("check %q has not passed: %s", c.Name, st.Message)
			}
		default:
			done := st.PassingSince.Add(bake)
			if now.Before(done) {
				v.Passed = false
				left := done.Sub(now)
				if v.Waiting == "" {
					// The end as a time, not a countdown: a message that changed every look would be one
					// more status write each time.
					v.Waiting = fmt.Sprintf("check %q passes; its bake ends at %s", c.Name, done.UTC().Format(time.RFC3339))
				}
				if left > v.Wait {
					v.Wait = left
				}
			} else if st.Phase != releases.AnalysisPassed {
				st.Phase = releases.AnalysisPassed
				st.Message = fmt.Sprintf("passed for %s", now.Sub(st.PassingSince.Time).Round(time.Second))
			}
		}
	}
	if v.Failed != "" {
		v.Waiting, v.Wait = "", 0
	}
	return v
}

// judgeAnalysis fails the release when a check of its current batch failed, and reports whether the
// batch's checks let it be Baked now, and how long to wait when only time is missing.
func judgeAnalysis(r *releases.Release, obs Observation, now metav1.Time) (ok bool, wait time.Duration, failed bool) {
	if !HasAnalysis(r) {
		return true, 0, false
	}
	StartAnalysis(r)
	b := Current(&r.Status)
	v := AnalysisVerdict(r, b, now.Time)
	condition := metav1.Condition{Type: releases.ConditionAnalysisPassed, Status: metav1.ConditionTrue, Reason: "Passed",
		ObservedGeneration: r.Generation, LastTransitionTime: now}
	switch {
	case v.Failed != "":
		condition.Status, condition.Reason = metav1.ConditionFalse, "Failed"
		condition.Message = cut(fmt.Sprintf("check %q failed: %s", v.Failed, v.Why), 2*MaxMessageBytes)
	case !v.Passed:
		condition.Status, condition.Reason, condition.Message = metav1.ConditionFalse, "Waiting", cut(v.Waiting, 2*MaxMessageBytes)
	}
	meta.SetStatusCondition(&r.Status.Conditions, condition)
	if v.Failed != "" {
		Fail(r, obs, fmt.Sprintf("batch %d: analysis check %q failed: %s", b.Index, v.Failed, v.Why), now)
		return false, 0, true
	}
	return v.Passed, v.Wait, false
}

// ForgetMeasurements keeps the analysis of every batch within releases.MaxAnalysisStatusBytes: the
// measurements of the earliest batches go first (their checks' phases and messages stay), the current
// batch's last.
func ForgetMeasurements(r *releases.Release) {
	s := &r.Status
	for i := range s.Batches {
		if releases.AnalysisStatusBytes(s.Batches) <= releases.MaxAnalysisStatusBytes {
			return
		}
		if int32(i+1) == s.CurrentBatch {
			continue
		}
		for j := range s.Batches[i].Analysis {
			s.Batches[i].Analysis[j].Measurements = nil
		}
	}
	// Still too large: the current batch keeps only its newest measurements.
	if b := Current(s); b != nil {
		for keep := releases.MaxMeasurements - 1; keep >= 1 && releases.AnalysisStatusBytes(s.Batches) > releases.MaxAnalysisStatusBytes; keep-- {
			for j := range b.Analysis {
				if m := b.Analysis[j].Measurements; len(m) > keep {
					b.Analysis[j].Measurements = append([]releases.Measurement(nil), m[len(m)-keep:]...)
				}
			}
		}
	}
}

// AnalysisWaits says why a Baking batch whose pods are all Ready is not Baked yet: the check it waits for,
// or "" when its checks do not hold it.
func AnalysisWaits(r *releases.Release, now time.Time) string {
	if !HasAnalysis(r) {
		return ""
	}
	b := Current(&r.Status)
	if b == nil {
		return ""
	}
	v := AnalysisVerdict(r.DeepCopy(), b.DeepCopy(), now)
	if v.Passed {
		return ""
	}
	if v.Failed != "" {
		return fmt.Sprintf("check %q failed: %s", v.Failed, v.Why)
	}
	return v.Waiting
}

// cut makes s fit a status field of n bytes (releases.Clip): no control characters, cut between runes.
func cut(s string, n int) string { return releases.Clip(s, n, "") }

// ActionOverrideAnalysis is the history action of a caller going past analysis checks that have not
// passed: the current batch's, or those of the batches `next` with toBatch skips.
const ActionOverrideAnalysis = "override-analysis"

// checksGate reports whether r has a check that holds its batches (one that is not dryRun).
func checksGate(r *releases.Release) bool {
	for i := range r.Status.AnalysisChecks {
		if !r.Status.AnalysisChecks[i].DryRun {
			return true
		}
	}
	return false
}

// checksSkipped names the batches before batch to that are not Baked ("batch 2", "batches 2-4"), those
// whose checks a jump to it would go past; "" when there are none, or r has no check that holds a batch.
func checksSkipped(r *releases.Release, to int32) string {
	if !checksGate(r) {
		return ""
	}
	first, last := int32(0), int32(0)
	for i := r.Status.CurrentBatch; i < to && int(i) <= len(r.Status.Batches); i++ {
		if i < 1 || r.Status.Batches[i-1].Phase == releases.BatchBaked {
			continue
		}
		if first == 0 {
			first = i
		}
		last = i
	}
	switch {
	case first == 0:
		return ""
	case first == last:
		return fmt.Sprintf("batch %d", first)
	}
	return fmt.Sprintf("batches %d-%d", first, last)
}

// overrideAnalysis is `next` with overrideAnalysis: a Baking batch whose pods are all Ready and whose
// checks have not passed counts as Baked, and the history records who went past the checks and why (the
// caller's right to, the verb `override` on releases, is checked by the server). Anything else is left to
// `next` as it is: a batch whose pods are not Ready yet is refused as always, one whose checks passed has
// nothing to go past, and a release a check failed is Failed (`resume` retries the batch).
func overrideAnalysis(r *releases.Release, req *releases.ReleaseRequest, obs Observation, user string, now metav1.Time) (finished bool, err error) {
	b := Current(&r.Status)
	if r.Status.Phase != releases.ReleaseProgressing || b == nil || b.Phase != releases.BatchBaking || !HasAnalysis(r) {
		return false, nil
	}
	if obs.Ready < Needed(r, b.Target, obs) || (BlueOut(r) && blueServes(obs)) || OldPodsLeaving(r, obs) > 0 {
		return false, nil
	}
	if AnalysisVerdict(r, b, now.Time).Passed {
		return false, nil
	}
	before := snapshot(&r.Status)
	for i := range b.Analysis {
		if b.Analysis[i].Phase != releases.AnalysisPassed {
			b.Analysis[i].Message = cut(fmt.Sprintf("gone past by %s: %s", historyUser(user), req.Reason), MaxMessageBytes)
		}
	}
	if !Baked(r, now) {
		return false, nil
	}
	record(r, ActionOverrideAnalysis, user, req.Reason, before, now)
	return r.Status.Phase != releases.ReleaseProgressing, nil
}
