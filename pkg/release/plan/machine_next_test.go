package plan_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/release/plan"
)

func TestNextWithMatchingExpectations(t *testing.T) {
	r := driveTo(t, newRelease(tutorial()), 1, releases.BatchSmoked)
	changed, err := plan.Act(r, plan.VerbNext, &releases.ReleaseRequest{ExpectedBatch: p32(1), ExpectedPhase: releases.BatchSmoked, Reason: "canary looks good"}, plan.Observation{}, "alice", at(1000))
	require.NoError(t, err)
	assert.True(t, changed)
	assert.Equal(t, releases.BatchBaking, r.Status.Batches[0].Phase)
	last := r.Status.History[len(r.Status.History)-1]
	assert.Equal(t, releases.ReleaseHistoryEntry{
		Action: "next", User: "alice", Time: at(1000), FromBatch: 1, ToBatch: 1,
		FromPhase: "Progressing/Smoked", ToPhase: "Progressing/Baking", Reason: "canary looks good",
	}, last)
}

// Invariant 1: `next` with expectedBatch is exactly-once, and no batch is skipped.
func TestNextIsExactlyOnce(t *testing.T) {
	tests := []struct {
		name      string
		setup     setup
		batch     int32
		phase     releases.BatchPhase
		req       releases.ReleaseRequest
		wantBatch int32
		wantPhase releases.BatchPhase
		refusal   string
	}{
		{
			name:  "start the next batch",
			setup: tutorial(), batch: 1, phase: releases.BatchBaked,
			req:       releases.ReleaseRequest{ExpectedBatch: p32(1)},
			wantBatch: 2, wantPhase: releases.BatchSmoking,
			refusal: "expected batch 1, but the current batch is 2",
		},
		{
			name:  "start the next batch in Manual mode",
			setup: setup{action: releases.ActionUpdate, before: 6, batchSize: n(2)}, batch: 2, phase: releases.BatchBaked,
			req:       releases.ReleaseRequest{ExpectedBatch: p32(2), ExpectedPhase: releases.BatchBaked},
			wantBatch: 3, wantPhase: releases.BatchSmoking,
			refusal: "expected batch 2, but the current batch is 3",
		},
		{
			name:  "pull in the canary",
			setup: tutorial(), batch: 1, phase: releases.BatchSmoked,
			req:       releases.ReleaseRequest{ExpectedBatch: p32(1), ExpectedPhase: releases.BatchSmoked},
			wantBatch: 1, wantPhase: releases.BatchBaking,
			refusal: "expected batch 1 to be Smoked, but it is Baking",
		},
		{
			name:  "without expectations a repeated next still does not skip a batch",
			setup: tutorial(), batch: 1, phase: releases.BatchBaked,
			wantBatch: 2, wantPhase: releases.BatchSmoking,
			refusal: "batch 2 is Smoking: 0 of 2 pods ready to take traffic",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := driveTo(t, newRelease(tt.setup), tt.batch, tt.phase)
			nexts := func() int {
				c := 0
				for _, h := range r.Status.History {
					if h.Action == "next" {
						c++
					}
				}
				return c
			}
			before := nexts()
			ok := 0
			for i := 0; i < 5; i++ {
				snapshot := r.DeepCopy()
				req := tt.req.DeepCopy()
				changed, err := plan.Act(r, plan.VerbNext, req, plan.Observation{}, fmt.Sprintf("pipeline-%d", i), at(10000+i))
				if i == 0 {
					require.NoError(t, err)
					require.True(t, changed)
					ok++
					continue
				}
				requireRefusal(t, err, tt.refusal, "call %d", i+1)
				assert.False(t, changed)
				assert.Equal(t, snapshot, r, "call %d changed the release", i+1)
			}
			assert.Equal(t, 1, ok)
			assert.Equal(t, before+1, nexts(), "exactly one next recorded")
			assert.Equal(t, tt.wantBatch, r.Status.CurrentBatch)
			assert.Equal(t, tt.wantPhase, plan.Current(&r.Status).Phase)
			for _, b := range r.Status.Batches[tt.wantBatch:] {
				assert.Equal(t, releases.BatchPending, b.Phase, "batch %d must not have started", b.Index)
			}
			for _, b := range r.Status.Batches[:tt.wantBatch-1] {
				assert.Equal(t, releases.BatchBaked, b.Phase, "batch %d before the current one is Baked", b.Index)
			}
		})
	}
}
