package dashboard

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

// t0 is when the test releases start.
var t0 = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)

// at is t0 plus s seconds.
func at(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }

func mt(s int) *metav1.Time { t := metav1.NewTime(at(s)); return &t }

// entry is a history entry at s seconds.
func hist(s int, action, user string, fromBatch int32, fromPhase string, toBatch int32, toPhase string) v1alpha1.ReleaseHistoryEntry {
	return v1alpha1.ReleaseHistoryEntry{Time: *mt(s), Action: action, User: user, FromBatch: fromBatch, FromPhase: fromPhase,
		ToBatch: toBatch, ToPhase: toPhase}
}

// manualCanary is a Manual release of 3 batches (a canary of 1, then 2 and 2) on its second batch, Baked
// and waiting for a person: alice pulled the canary in 30 s after it was Smoked, bob started batch 2 50 s
// after the canary was Baked, and carol paused it for 30 s.
func manualCanary() *v1alpha1.Release {
	r := release("ns", "web", v1alpha1.ReleaseProgressing, 2, v1alpha1.BatchBaked, v1alpha1.BatchBaked, v1alpha1.BatchPending)
	r.Status.Batches[0].Canary = true
	b := r.Status.Batches
	b[0].StartedAt, b[0].SmokedAt, b[0].BakedAt = mt(0), mt(10), mt(50)
	b[1].StartedAt, b[1].SmokedAt, b[1].BakedAt = mt(100), mt(110), mt(120)
	r.Status.History = []v1alpha1.ReleaseHistoryEntry{
		hist(0, "start", "", 0, "Pending", 1, "Progressing/Smoking"),
		hist(10, "smoked", "", 1, "Progressing/Smoking", 1, "Progressing/Smoked"),
		hist(40, "next", "alice", 1, "Progressing/Smoked", 1, "Progressing/Baking"),
		hist(50, "baked", "", 1, "Progressing/Baking", 1, "Progressing/Baked"),
		hist(100, "next", "bob", 1, "Progressing/Baked", 2, "Progressing/Smoking"),
		hist(110, "smoked", "", 2, "Progressing/Smoking", 2, "Progressing/Smoked"),
		hist(120, "baked", "", 2, "Progressing/Baking", 2, "Progressing/Baked"),
		hist(130, "pause", "carol", 2, "Progressing/Baked", 2, "Paused/Baked"),
		hist(160, "resume", "carol", 2, "Paused/Baked", 2, "Progressing/Baked"),
	}
	return withCondition(r, v1alpha1.ConditionAwaitingNext, "batch 2 is Baked: `next` starts batch 3")
}

func TestTimelineShowsTheWaitsForAPersonAndThePauses(t *testing.T) {
	tl := timeline(manualCanary(), at(200))
	assert.Equal(t, at(0), tl.From)
	assert.Equal(t, at(200), tl.To, "a running release is drawn up to now")
	assert.Equal(t, []Span{
		{Batch: 1, Kind: SpanSmoking, From: at(0), To: at(10)},
		{Batch: 1, Kind: SpanWaiting, From: at(10), To: at(40), By: "alice"},
		{Batch: 1, Kind: SpanBaking, From: at(40), To: at(50)},
		{Batch: 1, Kind: SpanWaiting, From: at(50), To: at(100), By: "bob"},
		{Batch: 2, Kind: SpanSmoking, From: at(100), To: at(110)},
		{Batch: 2, Kind: SpanBaking, From: at(110), To: at(120)},
		{Batch: 2, Kind: SpanWaiting, From: at(120), To: at(200), Open: true},
		{Batch: 2, Kind: SpanPaused, From: at(130), To: at(160), By: "carol"},
	}, tl.Spans)
	var marks []string
	for _, m := range tl.Marks {
		marks = append(marks, m.Action+" "+m.User)
	}
	assert.Equal(t, []string{"next alice", "next bob", "pause carol", "resume carol"}, marks,
		"people's actions are marked; the controller's own steps are the spans")
	assert.Equal(t, []PlannedBatch{{Index: 3, Replicas: 2, Target: 6, StartsOn: "a person's `next` once batch 2 is Baked"}}, tl.ToCome)
}

func TestTimelineOfAFinishedReleaseEndsAtItsLastEntry(t *testing.T) {
	r := manualCanary()
	r.Status.Phase = v1alpha1.ReleaseSucceeded
	r.Status.Batches[2].Phase = v1alpha1.BatchBaked
	r.Status.Batches[2].StartedAt, r.Status.Batches[2].SmokedAt, r.Status.Batches[2].BakedAt = mt(210), mt(220), mt(230)
	r.Status.CurrentBatch = 3
	r.Status.History = append(r.Status.History,
		hist(210, "next", "dave", 2, "Progressing/Baked", 3, "Progressing/Smoking"),
		hist(230, "baked", "", 3, "Progressing/Baking", 3, "Succeeded/Baked"))
	r.Status.Conditions = nil
	tl := timeline(r, at(1000))
	assert.Equal(t, at(230), tl.To, "a finished release is drawn up to its end, not to now")
	assert.Empty(t, tl.ToCome)
	for _, s := range tl.Spans {
		assert.False(t, s.Open, "nothing is open on a finished release: %+v", s)
	}
	require.Contains(t, tl.Spans, Span{Batch: 2, Kind: SpanWaiting, From: at(120), To: at(210), By: "dave"})
}

func TestTimelineShowsAFailureUntilNow(t *testing.T) {
	r := release("ns", "web", v1alpha1.ReleaseFailed, 1, v1alpha1.BatchFailed, v1alpha1.BatchPending)
	r.Status.Batches[0].StartedAt = mt(0)
	r.Status.History = []v1alpha1.ReleaseHistoryEntry{
		hist(0, "start", "", 0, "Pending", 1, "Progressing/Smoking"),
		hist(30, "fail", "", 1, "Progressing/Smoking", 1, "Failed/Failed"),
	}
	r.Status.History[1].Reason = "pod web-1 crashes\x1b[2J"
	// A Failed release (onFailure: Pause) has not ended: it waits for a person's resume or cancel.
	tl := timeline(r, at(90))
	assert.Equal(t, []Span{
		{Batch: 1, Kind: SpanSmoking, From: at(0), To: at(30)},
		{Batch: 1, Kind: SpanFailed, From: at(30), To: at(90), Open: true},
	}, tl.Spans)
	require.Len(t, tl.Marks, 1)
	assert.Equal(t, "pod web-1 crashes\\x1b[2J", tl.Marks[0].Reason, "a reason's escapes are made visible")
}

// A resume after a pause while the batch's pods were being made sets its startedAt again (its progress
// deadline counts from there). The timeline still draws the batch from its first start, with the pause
// under it.
func TestTimelineDrawsABatchPausedWhileSmokingFromItsFirstStart(t *testing.T) {
	r := release("ns", "web", v1alpha1.ReleaseProgressing, 1, v1alpha1.BatchSmoked, v1alpha1.BatchPending)
	r.Status.Batches[0].StartedAt, r.Status.Batches[0].SmokedAt = mt(20), mt(30)
	r.Status.History = []v1alpha1.ReleaseHistoryEntry{
		hist(0, "start", "", 0, "Pending", 1, "Progressing/Smoking"),
		hist(5, "pause", "carol", 1, "Progressing/Smoking", 1, "Paused/Smoking"),
		hist(20, "resume", "carol", 1, "Paused/Smoking", 1, "Progressing/Smoking"),
		hist(30, "smoked", "", 1, "Progressing/Smoking", 1, "Progressing/Smoked"),
	}
	tl := timeline(withCondition(r, v1alpha1.ConditionAwaitingNext, "batch 1 is Smoked"), at(40))
	assert.Equal(t, at(0), tl.From)
	assert.Equal(t, []Span{
		{Batch: 1, Kind: SpanSmoking, From: at(0), To: at(30)},
		{Batch: 1, Kind: SpanWaiting, From: at(30), To: at(40), Open: true},
		{Batch: 1, Kind: SpanPaused, From: at(5), To: at(20), By: "carol"},
	}, tl.Spans)
}

func TestTimelineOfAnAutoReleaseShowsItsIntervals(t *testing.T) {
	r := release("ns", "web", v1alpha1.ReleaseProgressing, 2, v1alpha1.BatchBaked, v1alpha1.BatchBaked, v1alpha1.BatchPending)
	r.Spec.Strategy.Mode = v1alpha1.ModeAuto
	r.Spec.Strategy.BatchIntervalSeconds = 60
	r.Spec.Strategy.Analysis = &v1alpha1.ReleaseAnalysis{Checks: []v1alpha1.AnalysisCheck{{Name: "errors"}}}
	b := r.Status.Batches
	b[0].StartedAt, b[0].SmokedAt, b[0].BakedAt = mt(0), mt(10), mt(20)
	b[1].StartedAt, b[1].SmokedAt, b[1].BakedAt = mt(80), mt(90), mt(100)
	r.Status.History = []v1alpha1.ReleaseHistoryEntry{
		hist(80, "advance", "", 1, "Progressing/Baked", 2, "Progressing/Smoking"),
	}
	tl := timeline(r, at(130))
	assert.Equal(t, []Span{
		{Batch: 1, Kind: SpanSmoking, From: at(0), To: at(10)},
		{Batch: 1, Kind: SpanBaking, From: at(10), To: at(20)},
		{Batch: 1, Kind: SpanInterval, From: at(20), To: at(80)},
		{Batch: 2, Kind: SpanSmoking, From: at(80), To: at(90)},
		{Batch: 2, Kind: SpanBaking, From: at(90), To: at(100)},
		{Batch: 2, Kind: SpanInterval, From: at(100), To: at(130), Open: true},
	}, tl.Spans)
	assert.Equal(t, []PlannedBatch{{Index: 3, Replicas: 2, Target: 6, StartsOn: "by itself, 60s after batch 2 is Baked",
		Checks: []string{"errors"}}}, tl.ToCome)
}

func TestTimelineOfAPendingReleaseIsItsPlan(t *testing.T) {
	r := release("ns", "web", v1alpha1.ReleasePending, 0, v1alpha1.BatchPending, v1alpha1.BatchPending)
	r.CreationTimestamp = metav1.NewTime(at(0))
	r.Spec.Strategy.Type = v1alpha1.StrategyBlueGreen
	tl := timeline(r, at(5))
	assert.Empty(t, tl.Spans)
	assert.Equal(t, at(0), tl.From)
	require.Len(t, tl.ToCome, 2)
	assert.Equal(t, "the release's start", tl.ToCome[0].StartsOn)
	assert.Equal(t, "a person's `next` at the Smoked preview (the switch)", tl.ToCome[1].StartsOn)
}

func TestTimelineShowsUsersWithTheirEscapesVisible(t *testing.T) {
	r := manualCanary()
	r.Status.History[2].User = "oidc:alice\x1b]0;owned\x07" // the next that pulled the canary in
	r.Status.History[7].User = "carol\x1b[31m"              // the pause
	tl := timeline(r, at(200))
	assert.Contains(t, tl.Spans, Span{Batch: 1, Kind: SpanWaiting, From: at(10), To: at(40), By: `oidc:alice\x1b]0;owned\x07`})
	assert.Contains(t, tl.Spans, Span{Batch: 2, Kind: SpanPaused, From: at(130), To: at(160), By: `carol\x1b[31m`})
	assert.Equal(t, `oidc:alice\x1b]0;owned\x07`, tl.Marks[0].User)
}
