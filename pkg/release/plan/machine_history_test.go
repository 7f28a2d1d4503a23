package plan_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/release/plan"
)

// pauseResume has user pause and resume r pairs times.
func pauseResume(t *testing.T, r *releases.Release, user string, pairs int) {
	t.Helper()
	for i := 1; i <= pairs; i++ {
		for _, verb := range []plan.Verb{plan.VerbPause, plan.VerbResume} {
			changed, err := plan.Act(r, verb, &releases.ReleaseRequest{Reason: fmt.Sprintf("%s %d", verb, i)}, plan.Observation{}, user, clock(r))
			require.NoError(t, err)
			require.True(t, changed)
			require.LessOrEqual(t, len(r.Status.History), plan.HistoryLimit)
		}
	}
}

func actions(h []releases.ReleaseHistoryEntry) []string {
	var out []string
	for _, e := range h {
		out = append(out, e.Action+" "+e.User)
	}
	return out
}

// The history keeps HistoryLimit entries: always its first two (the start) and the first entry a caller
// made (the first approval), the newest, and one entry where the others were dropped that counts them.
func TestHistoryKeepsItsFirstEntries(t *testing.T) {
	tests := []struct {
		name string
		// begin brings the release to where the approver's pauses and resumes start, and returns how many
		// of its first entries the history must keep.
		begin func(t *testing.T) (*releases.Release, int)
		pairs int
		// The first entries kept, as "action user".
		first []string
		// How many entries the one ActionDropped entry after them stands for.
		dropped int
	}{
		{
			name: "30 pause/resume pairs after the canary's next",
			begin: func(t *testing.T) (*releases.Release, int) {
				r := driveTo(t, newRelease(tenPods()), 1, releases.BatchSmoked)
				changed, err := plan.Act(r, plan.VerbNext, &releases.ReleaseRequest{Reason: "canary looks good"}, plan.Observation{}, "alice", clock(r))
				require.NoError(t, err)
				require.True(t, changed)
				return r, 3
			},
			pairs:   30,
			first:   []string{"start " + plan.ControllerUser, "smoked " + plan.ControllerUser, "next alice"},
			dropped: 3 + 60 - 3 - 46, // 63 entries: 3 first, the dropped entry, the newest 46
		},
		{
			name: "the first next after three entries of the controller",
			begin: func(t *testing.T) (*releases.Release, int) {
				// No canary, Manual: the controller starts, pulls in and bakes batch 1, then alice calls next.
				r := driveTo(t, newRelease(setup{action: releases.ActionUpdate, before: 10, batchSize: n(3)}), 1, releases.BatchBaked)
				changed, err := plan.Act(r, plan.VerbNext, nil, plan.Observation{}, "alice", clock(r))
				require.NoError(t, err)
				require.True(t, changed)
				return r, 4
			},
			pairs: 30,
			// baked stays: alone between the start and the first next, dropping it would save no place.
			first:   []string{"start " + plan.ControllerUser, "smoked " + plan.ControllerUser, "baked " + plan.ControllerUser, "next alice"},
			dropped: 4 + 60 - 4 - 45,
		},
		{
			name: "the approver's first call is a pause",
			begin: func(t *testing.T) (*releases.Release, int) {
				r := newRelease(tutorial())
				require.True(t, plan.Start(r, at(0)))
				return r, 1
			},
			pairs:   40,
			first:   []string{"start " + plan.ControllerUser, "pause approver"},
			dropped: 1 + 80 - 2 - 47,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, kept := tc.begin(t)
			first := append([]releases.ReleaseHistoryEntry(nil), r.Status.History[:kept]...)
			pauseResume(t, r, "approver", tc.pairs)
			h := r.Status.History
			require.Len(t, h, plan.HistoryLimit)
			assert.Equal(t, tc.first, actions(h[:len(tc.first)]))
			assert.Equal(t, first, h[:kept], "the first entries are kept as they were")
			m := h[len(tc.first)]
			assert.Equal(t, plan.ActionDropped, m.Action)
			assert.Equal(t, plan.ControllerUser, m.User)
			assert.True(t, strings.HasPrefix(m.Reason, fmt.Sprintf("%d entries dropped", tc.dropped)), m.Reason)
			for _, e := range h[len(tc.first)+1:] {
				assert.Equal(t, "approver", e.User, "then the newest entries, all the approver's")
			}
			assert.Equal(t, fmt.Sprintf("resume %d", tc.pairs), h[len(h)-1].Reason)
		})
	}
}

// An Auto release that the controller alone drives through many batches keeps its first two entries.
func TestHistoryOfTheControllerAloneKeepsTheStart(t *testing.T) {
	r := newRelease(setup{action: releases.ActionUpdate, before: 40, batchSize: n(1), mode: releases.ModeAuto})
	require.True(t, plan.Start(r, at(0)))
	require.True(t, plan.Smoked(r, at(1)))
	first := append([]releases.ReleaseHistoryEntry(nil), r.Status.History...)
	for sec := 2; r.Status.Phase == releases.ReleaseProgressing && sec < 1000; sec++ {
		switch plan.Current(&r.Status).Phase {
		case releases.BatchSmoking:
			plan.Smoked(r, at(sec))
		case releases.BatchBaking:
			plan.Baked(r, at(sec))
		case releases.BatchBaked:
			plan.Advance(r, at(sec))
		}
	}
	require.Equal(t, releases.ReleaseSucceeded, r.Status.Phase)
	h := r.Status.History
	require.Len(t, h, plan.HistoryLimit)
	assert.Equal(t, first, h[:2])
	assert.Equal(t, plan.ActionDropped, h[2].Action)
	for _, e := range h[3:] {
		assert.NotEqual(t, plan.ActionDropped, e.Action, "one entry for the entries dropped: %v", actions(h))
	}
	assert.Equal(t, "baked", h[len(h)-1].Action)
}

// `next` to a batch far ahead writes one skip entry for all the batches it skips, whatever their number.
func TestNextToBatchFarAheadWritesOneSkipEntry(t *testing.T) {
	tests := []struct {
		name      string
		setup     setup
		at        releases.BatchPhase
		to        int32
		fromBatch int32
		toBatch   int32
		fromPhase string
	}{
		// 70 batches of 1 after a canary of 1: from the Smoked canary to batch 62, batches 1 to 61 skipped.
		{name: "from the Smoked canary", setup: setup{action: releases.ActionUpdate, before: 71, canary: 1, batchSize: n(1)},
			at: releases.BatchSmoked, to: 62, fromBatch: 1, toBatch: 61, fromPhase: "Progressing/Smoked"},
		// 70 batches: from Baked batch 1 to batch 63, batches 2 to 62 (61 of them) skipped.
		{name: "from a Baked batch", setup: setup{action: releases.ActionUpdate, before: 70, batchSize: n(1)},
			at: releases.BatchBaked, to: 63, fromBatch: 2, toBatch: 62, fromPhase: "Progressing/Pending"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := driveTo(t, newRelease(tc.setup), 1, tc.at)
			require.Greater(t, len(r.Status.Batches), 62)
			before := append([]releases.ReleaseHistoryEntry(nil), r.Status.History...)
			req := toBatch(tc.to)
			req.Reason = "the canary is fine"
			changed, err := plan.Act(r, plan.VerbNext, req, plan.Observation{}, "alice", at(5000))
			require.NoError(t, err)
			require.True(t, changed)

			require.Len(t, r.Status.History, len(before)+2, "one skip entry, then the next: %v", actions(r.Status.History))
			assert.Equal(t, before, r.Status.History[:len(before)], "nothing pushed out")
			assert.Equal(t, releases.ReleaseHistoryEntry{Action: plan.ActionSkip, User: "alice", Time: at(5000),
				FromBatch: tc.fromBatch, ToBatch: tc.toBatch, FromPhase: tc.fromPhase, ToPhase: "Progressing/Skipped",
				Reason: "the canary is fine"}, r.Status.History[len(before)])
			assert.Equal(t, "next", r.Status.History[len(before)+1].Action)
			for i := tc.fromBatch; i <= tc.toBatch; i++ {
				assert.Equal(t, releases.BatchSkipped, r.Status.Batches[i-1].Phase, "batch %d", i)
			}
			assert.Equal(t, tc.to, r.Status.CurrentBatch)
		})
	}
}
