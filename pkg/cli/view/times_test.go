package view

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

// times is what the tests expect of a batch: started (-1: not started), took (-1: not known) and waited,
// as offsets from t0 and durations.
type times struct {
	started, took, waited time.Duration
	running               bool
}

func TestBatchTimesCountWhatTheHistorySays(t *testing.T) {
	const notYet = -1
	m := time.Minute
	for _, tc := range []struct {
		name    string
		release func() *v1alpha1.Release
		now     time.Duration
		want    []times
	}{{
		name: "midway: the canary's two waits, batch 2 so far", release: midwayRelease, now: 11 * m,
		want: []times{{0, 3*m + 30*time.Second, 9*m + 30*time.Second, false}, {10 * m, m, 0, true}, {notYet, notYet, 0, false}},
	}, {
		name: "finished", release: finishedRelease, now: 2 * time.Hour,
		want: []times{{0, 3*m + 30*time.Second, 9*m + 30*time.Second, false}, {10 * m, 90 * time.Second, m, false},
			{12*m + 30*time.Second, 70 * time.Second, 80 * time.Second, false}},
	}, {
		name: "failed: batch 2 until its failure", release: failedRelease, now: 15 * m,
		want: []times{{0, 3*m + 30*time.Second, 9*m + 30*time.Second, false}, {10 * m, 2 * m, 0, false}, {notYet, notYet, 0, false}},
	}, {
		name: "waiting for you now: counted to now", release: blueGreenWaiting, now: 5 * m,
		want: []times{{0, 5 * m, 4*m + 20*time.Second, true}, {notYet, notYet, 0, false}},
	}, {
		name: "no AwaitingNext: the time since is not a wait", now: 5 * m,
		release: func() *v1alpha1.Release { r := blueGreenWaiting(); r.Status.Conditions = nil; return r },
		want:    []times{{0, 5 * m, 0, true}, {notYet, notYet, 0, false}},
	}, {
		// Paused 4m in the middle of the canary's wait, and again while batch 2 was Smoking: the pause is
		// no wait, and batch 2's start does not move with its startedAt.
		name: "pauses", now: 30 * m,
		release: func() *v1alpha1.Release {
			r := midwayRelease()
			s := &r.Status
			s.Phase = v1alpha1.ReleasePaused
			s.Batches[1].StartedAt = at(25 * m)
			s.History = append(s.History[:2],
				entry("pause", "alice", m, 1, "Progressing/Smoked", 1, "Paused/Smoked"),
				entry("resume", "alice", 5*m, 1, "Paused/Smoked", 1, "Progressing/Smoked"),
				entry("next", "alice", 6*m, 1, "Progressing/Smoked", 1, "Progressing/Baking"),
				entry("baked", ctl, 7*m, 1, "Progressing/Baking", 1, "Progressing/Baked"),
				entry("next", "alice", 8*m, 1, "Progressing/Baked", 2, "Progressing/Smoking"),
				entry("pause", "bob", 9*m, 2, "Progressing/Smoking", 2, "Paused/Smoking"),
				entry("resume", "bob", 25*m, 2, "Paused/Smoking", 2, "Progressing/Smoking"),
				entry("smoked", ctl, 26*m, 2, "Progressing/Smoking", 2, "Progressing/Baking"),
				entry("pause", "bob", 27*m, 2, "Progressing/Baking", 2, "Paused/Baking"),
			)
			return r
		},
		// The canary: 40s to the pause, 1m from the resume to next, 1m from Baked to batch 2.
		want: []times{{0, 3*m + 30*time.Second, 2*m + 40*time.Second, false}, {8 * m, 22 * m, 0, true}, {notYet, notYet, 0, false}},
	}, {
		// Auto: batch 2 Baked, the controller advanced after the interval: nobody was waited for.
		name: "an Auto interval is no wait", now: 20 * m,
		release: func() *v1alpha1.Release {
			r := finishedRelease()
			r.Spec.Strategy.Mode = v1alpha1.ModeAuto
			h := r.Status.History
			h[7].Action, h[7].User = "advance", ctl
			h[9].ToPhase = "Succeeded/Baked"
			r.Status.History = h[:10]
			return r
		},
		want: []times{{0, 3*m + 30*time.Second, 9*m + 30*time.Second, false}, {10 * m, 90 * time.Second, 0, false},
			{12*m + 30*time.Second, 70 * time.Second, 0, false}},
	}, {
		// next --to-batch 3 from the canary, Smoked: batch 1 ended with the jump, batch 2 never started.
		name: "a jump", now: 6 * m,
		release: func() *v1alpha1.Release {
			r := midwayRelease()
			s := &r.Status
			s.CurrentBatch = 3
			s.Batches[0].Phase, s.Batches[0].BakedAt = v1alpha1.BatchSkipped, nil
			s.Batches[1] = v1alpha1.ReleaseBatch{Index: 2, Replicas: 2, Target: 3, Phase: v1alpha1.BatchSkipped}
			s.Batches[2].Phase, s.Batches[2].StartedAt = v1alpha1.BatchSmoking, at(5*m)
			s.History = append(s.History[:2],
				entry("skip", "alice", 5*m, 1, "Progressing/Smoked", 2, "Progressing/Skipped"),
				entry("next", "alice", 5*m, 1, "Progressing/Smoked", 3, "Progressing/Smoking"))
			return r
		},
		want: []times{{0, 5 * m, 4*m + 40*time.Second, false}, {notYet, notYet, 0, false}, {5 * m, m, 0, true}},
	}, {
		// Retried after a failure: the batch's start stays the first, its duration runs to its Baked.
		name: "a retry", now: 30 * m,
		release: func() *v1alpha1.Release {
			r := failedRelease()
			s := &r.Status
			s.Phase, s.Conditions = v1alpha1.ReleaseProgressing, nil
			s.Batches[1].Phase, s.Batches[1].StartedAt, s.Batches[1].BakedAt = v1alpha1.BatchBaked, at(20*m), at(21*m)
			s.History = append(s.History,
				entry("resume", "alice", 20*m, 2, "Failed/Failed", 2, "Progressing/Smoking"),
				entry("baked", ctl, 21*m, 2, "Progressing/Baking", 2, "Progressing/Baked"))
			s.Conditions = []metav1.Condition{{Type: v1alpha1.ConditionAwaitingNext, Status: metav1.ConditionTrue}}
			return r
		},
		want: []times{{0, 3*m + 30*time.Second, 9*m + 30*time.Second, false}, {10 * m, 11 * m, 9 * m, false}, {notYet, notYet, 0, false}},
	}, {
		// More than 50 entries: the start of batch 2 was folded away (its startedAt stands in), and so was
		// the end of the canary's wait after Baked (not counted).
		name: "a history with entries dropped", now: 11 * m,
		release: func() *v1alpha1.Release {
			r := midwayRelease()
			h := r.Status.History
			dropped := entry("dropped", ctl, 10*m+30*time.Second, 1, "Progressing/Baked", 2, "Progressing/Baking")
			dropped.Reason = "2 entries dropped here: the history keeps its first entries and its newest"
			r.Status.History = append(h[:4], dropped)
			return r
		},
		want: []times{{0, 3*m + 30*time.Second, 3 * m, false}, {10 * m, m, 0, true}, {notYet, notYet, 0, false}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got := BatchTimes(tc.release(), t0.Add(tc.now))
			var want []BatchTime
			for _, w := range tc.want {
				bt := BatchTime{Waited: w.waited, Running: w.running}
				if w.started != notYet {
					bt.Started, bt.Age = t0.Add(w.started), tc.now-w.started
				}
				if w.took != notYet {
					bt.Took, bt.TookKnown = w.took, true
				}
				want = append(want, bt)
			}
			assert.Equal(t, want, got)
		})
	}
}

func TestDurationIsKubectlsAge(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", 5 * time.Second: "5s", 119 * time.Second: "119s", 190 * time.Second: "3m10s", 4 * time.Minute: "4m",
		45 * time.Minute: "45m", 2 * time.Hour: "120m", 150 * time.Minute: "150m", 5*time.Hour + 30*time.Minute: "5h30m",
		30 * time.Hour: "30h", 75 * time.Hour: "3d3h", -time.Second: "0s",
	} {
		assert.Equal(t, want, Duration(d), "%s", d)
	}
}
