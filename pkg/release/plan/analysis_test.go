package plan_test

// The analysis engine: a Baking batch is Baked only once its checks have passed for bakeSeconds; a check
// fails its batch by failureLimit or errorLimit; Error never passes; dryRun never holds; `next` says which
// check a batch waits for.

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/apis/releases/validation"
	"github.com/triton-io/triton/pkg/release/plan"
)

// analysed is the tutorial release with checks, at batch 2 Baking (its pods in traffic).
func analysed(t *testing.T, bake int32, checks ...releases.AnalysisCheck) *releases.Release {
	t.Helper()
	r := newRelease(tutorial())
	r.Spec.Strategy.Analysis = &releases.ReleaseAnalysis{Checks: checks, IntervalSeconds: p32(10), BakeSeconds: bake}
	r.Status.AnalysisChecks = checks
	return driveTo(t, r, 2, releases.BatchBaking)
}

func errorRate(limits ...int32) releases.AnalysisCheck {
	c := releases.AnalysisCheck{Name: "error-rate", Prometheus: &releases.PrometheusCheck{Query: "rate(errors[1m])"},
		SuccessCondition: "result < 0.01", ErrorLimit: p32(3)}
	if len(limits) > 0 {
		c.FailureLimit = limits[0]
	}
	return c
}

func measurement(now metav1.Time, phase releases.AnalysisPhase) releases.Measurement {
	return releases.Measurement{Time: now, Value: "0.001", Phase: phase}
}

func allReady() plan.Observation {
	return plan.Observation{Replicas: 3, Desired: 3, Updated: 3, ContainersReady: 3, Ready: 3}
}

func TestABakingBatchIsBakedOnlyOnceItsChecksPassedForBakeSeconds(t *testing.T) {
	r := analysed(t, 30, errorRate())
	now := clock(r)
	obs := allReady()

	due, _ := plan.AnalysisDue(r, now.Time)
	require.Len(t, due, 1, "the check is due as soon as the batch is in traffic")
	assert.Equal(t, int32(2), due[0].Batch)
	plan.Progress(r, obs, nil, now)
	assert.Equal(t, releases.BatchBaking, plan.Current(&r.Status).Phase, "no measurement yet: every pod Ready is not enough")
	c := meta.FindStatusCondition(r.Status.Conditions, releases.ConditionAnalysisPassed)
	require.NotNil(t, c)
	assert.Equal(t, metav1.ConditionFalse, c.Status)
	assert.Contains(t, c.Message, "error-rate")

	require.True(t, plan.RecordMeasurement(r, 2, "error-rate", measurement(now, releases.AnalysisPassed)))
	requeue := plan.Progress(r, obs, nil, now)
	assert.Equal(t, releases.BatchBaking, plan.Current(&r.Status).Phase, "passing, but not for 30 s yet")
	assert.InDelta(t, float64(30*time.Second), float64(requeue), float64(time.Second), "looks again when the bake ends")
	_, wait := plan.AnalysisDue(r, now.Time)
	assert.Equal(t, 10*time.Second, wait, "the next measurement falls due after the interval")
	message := meta.FindStatusCondition(r.Status.Conditions, releases.ConditionAnalysisPassed).Message
	plan.Progress(r, obs, nil, metav1.NewTime(now.Add(5*time.Second)))
	assert.Equal(t, message, meta.FindStatusCondition(r.Status.Conditions, releases.ConditionAnalysisPassed).Message,
		"the message does not count down: a look with nothing new writes nothing")
	assert.Contains(t, message, "its bake ends at ")

	// An Error restarts the bake: it is never a pass.
	later := metav1.NewTime(now.Add(10 * time.Second))
	require.True(t, plan.RecordMeasurement(r, 2, "error-rate", measurement(later, releases.AnalysisError)))
	plan.Progress(r, obs, nil, metav1.NewTime(now.Add(31*time.Second)))
	assert.Equal(t, releases.BatchBaking, plan.Current(&r.Status).Phase, "an Error holds the batch")
	assert.Equal(t, releases.ReleaseProgressing, r.Status.Phase, "one Error is within errorLimit")

	again := metav1.NewTime(now.Add(20 * time.Second))
	require.True(t, plan.RecordMeasurement(r, 2, "error-rate", measurement(again, releases.AnalysisPassed)))
	plan.Progress(r, obs, nil, metav1.NewTime(again.Add(29*time.Second)))
	assert.Equal(t, releases.BatchBaking, plan.Current(&r.Status).Phase, "the bake counts from the pass after the Error")
	plan.Progress(r, obs, nil, metav1.NewTime(again.Add(30*time.Second)))
	b := plan.Current(&r.Status)
	assert.Equal(t, releases.BatchBaked, b.Phase)
	assert.Equal(t, releases.AnalysisPassed, b.Analysis[0].Phase)
	assert.Equal(t, metav1.ConditionTrue, meta.FindStatusCondition(r.Status.Conditions, releases.ConditionAnalysisPassed).Status)
	due, _ = plan.AnalysisDue(r, again.Add(time.Hour))
	assert.Empty(t, due, "a Baked batch is measured no more")
}

func TestAFailedCheckFailsTheBatch(t *testing.T) {
	for _, tt := range []struct {
		name   string
		check  releases.AnalysisCheck
		phases []releases.AnalysisPhase
		fails  bool
		reason string
	}{
		{"a failed measurement, none tolerated", errorRate(), []releases.AnalysisPhase{releases.AnalysisFailed}, true, "1 failed measurements, 0 tolerated"},
		{"within failureLimit", errorRate(2), []releases.AnalysisPhase{releases.AnalysisFailed, releases.AnalysisFailed}, false, ""},
		{"past failureLimit", errorRate(2), []releases.AnalysisPhase{releases.AnalysisFailed, releases.AnalysisPassed, releases.AnalysisFailed, releases.AnalysisFailed}, true, "3 failed measurements"},
		{"errors within errorLimit", errorRate(), []releases.AnalysisPhase{releases.AnalysisError, releases.AnalysisError, releases.AnalysisError}, false, ""},
		{"more errors in a row than errorLimit", errorRate(), []releases.AnalysisPhase{releases.AnalysisError, releases.AnalysisError, releases.AnalysisError, releases.AnalysisError}, true, "4 measurements in a row could not be taken"},
		{"errors broken by a pass", errorRate(), []releases.AnalysisPhase{releases.AnalysisError, releases.AnalysisError, releases.AnalysisError, releases.AnalysisPassed, releases.AnalysisError}, false, ""},
		{"a dry run never fails", func() releases.AnalysisCheck { c := errorRate(); c.DryRun = true; return c }(), []releases.AnalysisPhase{releases.AnalysisFailed}, false, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := analysed(t, 0, tt.check)
			now := clock(r)
			for i, phase := range tt.phases {
				plan.RecordMeasurement(r, 2, tt.check.Name, measurement(metav1.NewTime(now.Add(time.Duration(i)*10*time.Second)), phase))
			}
			plan.Progress(r, plan.Observation{Replicas: 3, Desired: 3, Updated: 3, ContainersReady: 3, Ready: 2}, nil, now)
			if !tt.fails {
				assert.Equal(t, releases.ReleaseProgressing, r.Status.Phase)
				return
			}
			assert.Equal(t, releases.ReleaseFailed, r.Status.Phase)
			assert.Equal(t, releases.BatchFailed, plan.Current(&r.Status).Phase)
			last := r.Status.History[len(r.Status.History)-1]
			assert.Contains(t, last.Reason, `analysis check "error-rate" failed`)
			assert.Contains(t, last.Reason, tt.reason)
		})
	}
}

func TestADryRunCheckNeverHoldsTheBatch(t *testing.T) {
	c := errorRate()
	c.DryRun = true
	r := analysed(t, 60, c)
	plan.Progress(r, allReady(), nil, clock(r))
	assert.Equal(t, releases.BatchBaked, plan.Current(&r.Status).Phase)
}

func TestABackgroundCheckIsMeasuredInEveryPhaseAndFailsTheBatch(t *testing.T) {
	c := errorRate()
	c.Name, c.Background = "latency", true
	r := newRelease(tutorial())
	r.Spec.Strategy.Analysis = &releases.ReleaseAnalysis{Checks: []releases.AnalysisCheck{c}, IntervalSeconds: p32(10)}
	r.Status.AnalysisChecks = r.Spec.Strategy.Analysis.Checks
	r = driveTo(t, r, 1, releases.BatchSmoking)
	now := clock(r)
	due, _ := plan.AnalysisDue(r, now.Time)
	require.Len(t, due, 1, "measured while the batch is Smoking")
	require.True(t, plan.RecordMeasurement(r, 1, "latency", measurement(now, releases.AnalysisFailed)))
	plan.Progress(r, plan.Observation{Replicas: 3, Desired: 3}, nil, now)
	assert.Equal(t, releases.ReleaseFailed, r.Status.Phase)
}

func TestAMeasurementOfABatchThatMovedOnIsDropped(t *testing.T) {
	r := analysed(t, 0, errorRate())
	assert.False(t, plan.RecordMeasurement(r, 1, "error-rate", measurement(clock(r), releases.AnalysisFailed)), "batch 1 is done")
	assert.False(t, plan.RecordMeasurement(r, 2, "other", measurement(clock(r), releases.AnalysisFailed)), "no such check")
	assert.Empty(t, plan.Current(&r.Status).Analysis)
}

func TestNextOnABatchWhoseCheckWaitsSaysWhichCheck(t *testing.T) {
	r := analysed(t, 0, errorRate())
	now := clock(r)
	plan.Progress(r, allReady(), nil, now)
	_, err := plan.Act(r, plan.VerbNext, &releases.ReleaseRequest{}, allReady(), "alice", now)
	requireRefusal(t, err, `batch 2 is Baking: every pod is Ready; analysis: check "error-rate" waits for its first measurement`)
}

func TestTheAnalysisOfEveryBatchStaysWithinItsBytes(t *testing.T) {
	var checks []releases.AnalysisCheck
	for i := 0; i < validation.MaxAnalysisChecks; i++ {
		c := errorRate()
		c.Name = "check-" + string(rune('a'+i))
		checks = append(checks, c)
	}
	r := newRelease(tutorial())
	r.Spec.Strategy.Analysis = &releases.ReleaseAnalysis{Checks: checks}
	r.Status.AnalysisChecks = checks
	// Every batch before the current one full of the largest measurements.
	long := strings.Repeat("9", validation.MaxMeasurementValueLength)
	r = driveTo(t, r, 2, releases.BatchBaking)
	for i := range r.Status.Batches {
		b := &r.Status.Batches[i]
		if b.Index == 2 {
			continue
		}
		for _, c := range checks {
			st := releases.AnalysisStatus{Name: c.Name, Phase: releases.AnalysisPassed}
			for j := 0; j < validation.MaxMeasurements; j++ {
				st.Measurements = append(st.Measurements, releases.Measurement{Time: clock(r), Value: long, Phase: releases.AnalysisPassed})
			}
			b.Analysis = append(b.Analysis, st)
		}
	}
	for j := 0; j < 3*validation.MaxMeasurements; j++ {
		for _, c := range checks {
			m := measurement(clock(r), releases.AnalysisPassed)
			m.Value = long
			plan.RecordMeasurement(r, 2, c.Name, m)
		}
	}
	assert.LessOrEqual(t, validation.AnalysisStatusBytes(r.Status.Batches), validation.MaxAnalysisStatusBytes)
	for _, st := range plan.Current(&r.Status).Analysis {
		assert.NotEmpty(t, st.Measurements, "the current batch keeps its newest measurements")
		assert.LessOrEqual(t, len(st.Measurements), validation.MaxMeasurements)
	}
}

func TestNextWithOverrideAnalysisGoesPastTheChecksAndSaysWho(t *testing.T) {
	r := analysed(t, 0, errorRate(1000))
	now := clock(r)
	plan.RecordMeasurement(r, 2, "error-rate", measurement(now, releases.AnalysisFailed))
	plan.Progress(r, allReady(), nil, now)
	require.Equal(t, releases.BatchBaking, plan.Current(&r.Status).Phase)

	_, err := plan.Act(r, plan.VerbNext, &releases.ReleaseRequest{OverrideAnalysis: true}, allReady(), "bob", now)
	var invalid *plan.Invalid
	require.ErrorAs(t, err, &invalid, "a reason is needed")
	assert.Equal(t, "reason", invalid.Field)
	_, err = plan.Act(r, plan.VerbPause, &releases.ReleaseRequest{OverrideAnalysis: true, Reason: "x"}, allReady(), "bob", now)
	require.ErrorAs(t, err, &invalid, "only next overrides")

	notReady := allReady()
	notReady.Ready = 0
	_, err = plan.Act(r.DeepCopy(), plan.VerbNext, &releases.ReleaseRequest{OverrideAnalysis: true, Reason: "x"}, notReady, "bob", now)
	requireRefusal(t, err, "batch 2 is Baking: 0 of 2 pods Ready", "pods not Ready are never gone past")

	changed, err := plan.Act(r, plan.VerbNext, &releases.ReleaseRequest{OverrideAnalysis: true, Reason: "the errors are a known flake"}, allReady(), "bob", now)
	require.NoError(t, err)
	assert.True(t, changed)
	assert.Equal(t, int32(3), r.Status.CurrentBatch, "batch 2 counted as Baked, and next moved on")
	assert.Equal(t, releases.BatchBaked, r.Status.Batches[1].Phase)
	assert.Contains(t, r.Status.Batches[1].Analysis[0].Message, "gone past by bob: the errors are a known flake")
	var override *releases.ReleaseHistoryEntry
	for i := range r.Status.History {
		if r.Status.History[i].Action == "override-analysis" {
			override = &r.Status.History[i]
		}
	}
	require.NotNil(t, override, "the history records the override")
	assert.Equal(t, "bob", override.User)
	assert.Equal(t, "the errors are a known flake", override.Reason)
}

func TestResumingABatchAFailedCheckFailedStartsItsChecksAgain(t *testing.T) {
	r := analysed(t, 0, errorRate())
	now := clock(r)
	plan.RecordMeasurement(r, 2, "error-rate", measurement(now, releases.AnalysisFailed))
	plan.Progress(r, allReady(), nil, now)
	require.Equal(t, releases.ReleaseFailed, r.Status.Phase)
	_, err := plan.Act(r, plan.VerbResume, &releases.ReleaseRequest{}, allReady(), "bob", now)
	require.NoError(t, err)
	plan.Progress(r, plan.Observation{Replicas: 3, Desired: 3}, nil, now)
	assert.Equal(t, releases.ReleaseProgressing, r.Status.Phase, "the failed check does not fail the retried batch at once")
	for _, st := range plan.Current(&r.Status).Analysis {
		assert.Empty(t, st.Measurements)
	}
}

// withChecksAt is the tutorial release with checks, in Manual mode, at batch in phase.
func withChecksAt(t *testing.T, batch int32, phase releases.BatchPhase, checks ...releases.AnalysisCheck) *releases.Release {
	t.Helper()
	setup := tutorial()
	setup.mode = releases.ModeManual
	r := newRelease(setup)
	r.Spec.Strategy.Analysis = &releases.ReleaseAnalysis{Checks: checks, IntervalSeconds: p32(10)}
	r.Status.AnalysisChecks = checks
	return driveTo(t, r, batch, phase)
}

// Skipping a batch with `next` and toBatch skips its checks: without the override it is refused, naming
// the batches; with it (and a reason) the history says who went past them, and why. Checks that only
// watch (dryRun) hold nothing, and need no override.
func TestNextToABatchGoesPastChecksOnlyWithTheOverride(t *testing.T) {
	r := withChecksAt(t, 1, releases.BatchBaked, errorRate())
	now := clock(r)
	last := int32(len(r.Status.Batches))
	require.Equal(t, int32(3), last)
	_, err := plan.Act(r.DeepCopy(), plan.VerbNext, &releases.ReleaseRequest{ToBatch: &last}, allReady(), "bob", now)
	requireRefusal(t, err, "toBatch 3 skips batch 2, whose analysis checks have not passed: going past them needs overrideAnalysis (a permission of its own) and a reason")
	_, err = plan.Act(r.DeepCopy(), plan.VerbNext, &releases.ReleaseRequest{ToBatch: &last, OverrideAnalysis: true}, allReady(), "bob", now)
	var invalid *plan.Invalid
	require.ErrorAs(t, err, &invalid)
	assert.Equal(t, "reason", invalid.Field)

	watching := errorRate()
	watching.DryRun = true
	dry := withChecksAt(t, 1, releases.BatchBaked, watching)
	_, err = plan.Act(dry, plan.VerbNext, &releases.ReleaseRequest{ToBatch: &last}, allReady(), "bob", clock(dry))
	require.NoError(t, err, "a dryRun check holds nothing")
	assert.Equal(t, last, dry.Status.CurrentBatch)

	changed, err := plan.Act(r, plan.VerbNext, &releases.ReleaseRequest{ToBatch: &last, OverrideAnalysis: true, Reason: "hotfix"}, allReady(), "carol", now)
	require.NoError(t, err)
	assert.True(t, changed)
	assert.Equal(t, last, r.Status.CurrentBatch)
	assert.Equal(t, releases.BatchSkipped, r.Status.Batches[1].Phase)
	var actions []string
	var override releases.ReleaseHistoryEntry
	for _, h := range r.Status.History {
		actions = append(actions, h.Action)
		if h.Action == plan.ActionOverrideAnalysis {
			override = h
		}
	}
	assert.Equal(t, []string{plan.ActionSkip, plan.ActionOverrideAnalysis, "next"}, actions[len(actions)-3:])
	assert.Equal(t, "carol", override.User)
	assert.Equal(t, "hotfix", override.Reason)
	assert.Equal(t, int32(2), override.FromBatch)
	assert.Equal(t, int32(2), override.ToBatch)
}

// A Baking batch whose checks wait: toBatch is refused naming the check; with the override, its checks
// and those of the batches skipped are gone past at once.
func TestNextToABatchFromABatchWhoseChecksWait(t *testing.T) {
	r := withChecksAt(t, 1, releases.BatchBaking, errorRate())
	now := clock(r)
	last := int32(3)
	_, err := plan.Act(r.DeepCopy(), plan.VerbNext, &releases.ReleaseRequest{ToBatch: &last}, allReady(), "bob", now)
	requireRefusal(t, err, `batch 1 is Baking: every pod is Ready; analysis: check "error-rate" waits for its first measurement`)
	_, err = plan.Act(r, plan.VerbNext, &releases.ReleaseRequest{ToBatch: &last, OverrideAnalysis: true, Reason: "hotfix"}, allReady(), "carol", now)
	require.NoError(t, err)
	assert.Equal(t, last, r.Status.CurrentBatch)
	assert.Equal(t, releases.BatchBaked, r.Status.Batches[0].Phase, "the current batch gone past, Baked")
	assert.Equal(t, releases.BatchSkipped, r.Status.Batches[1].Phase)
	overrides := 0
	for _, h := range r.Status.History {
		if h.Action == plan.ActionOverrideAnalysis {
			overrides++
			assert.Equal(t, "carol", h.User)
			assert.Equal(t, "hotfix", h.Reason)
		}
	}
	assert.Equal(t, 2, overrides, "batch 1's checks, and batch 2's skipped")
}
