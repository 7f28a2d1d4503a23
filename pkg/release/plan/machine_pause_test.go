package plan_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/release/plan"
)

func TestPause(t *testing.T) {
	update5 := setup{action: releases.ActionUpdate, before: 5, batchSize: n(2)} // targets 2, 4, 5
	create4 := setup{action: releases.ActionCreate, replicas: p32(4), canary: 1, batchSize: pct("50%")}
	scaleOut := setup{action: releases.ActionScale, before: 3, replicas: p32(7), batchSize: n(2)} // targets 2, 4
	scaleIn := setup{action: releases.ActionScale, before: 7, replicas: p32(3), batchSize: n(2), podsToDelete: []string{"demo-a"}}
	tests := []struct {
		name   string
		setup  setup
		batch  int32 // 0: pause before the release starts
		phase  releases.BatchPhase
		obs    plan.Observation
		heldAt int32
		// after resume
		resumed releases.ReleasePhase
	}{
		{name: "update: partition pinned at the pods updated so far", setup: update5, batch: 2, phase: releases.BatchSmoking,
			obs: plan.Observation{Replicas: 5, Updated: 3}, heldAt: 2},
		{name: "update: never more updated pods than the batch's target", setup: update5, batch: 2, phase: releases.BatchSmoking,
			obs: plan.Observation{Replicas: 6, Updated: 5}, heldAt: 1},
		{name: "update: nothing updated yet in batch 1", setup: update5, batch: 1, phase: releases.BatchSmoking,
			obs: plan.Observation{Replicas: 5}, heldAt: 5},
		{name: "update: a Baked batch", setup: update5, batch: 1, phase: releases.BatchBaked,
			obs: plan.Observation{Replicas: 5, Updated: 2, ContainersReady: 2, Ready: 2}, heldAt: 3},
		{name: "update: the canary Smoked", setup: tutorial(), batch: 1, phase: releases.BatchSmoked,
			obs: plan.Observation{Replicas: 3, Updated: 1, ContainersReady: 1}, heldAt: 2},
		{name: "rollback: like update", setup: setup{action: releases.ActionRollback, before: 4, batchSize: n(1)}, batch: 3, phase: releases.BatchBaking,
			obs: plan.Observation{Replicas: 4, Updated: 3}, heldAt: 1},
		{name: "create: held at the pods there are", setup: create4, batch: 2, phase: releases.BatchSmoking,
			obs: plan.Observation{Replicas: 2}, heldAt: 2},
		{name: "create: never beyond the batch's target", setup: create4, batch: 2, phase: releases.BatchSmoking,
			obs: plan.Observation{Replicas: 5}, heldAt: 3},
		{name: "scale out: held at the pods there are", setup: scaleOut, batch: 1, phase: releases.BatchSmoking,
			obs: plan.Observation{Replicas: 4}, heldAt: 4},
		{name: "scale out: not below the size before", setup: scaleOut, batch: 1, phase: releases.BatchSmoking,
			obs: plan.Observation{Replicas: 2}, heldAt: 3},
		{name: "scale out: not beyond the batch's target", setup: scaleOut, batch: 2, phase: releases.BatchSmoking,
			obs: plan.Observation{Replicas: 9}, heldAt: 7},
		{name: "scale in: held at the pods there are", setup: scaleIn, batch: 1, phase: releases.BatchSmoking,
			obs: plan.Observation{Replicas: 6}, heldAt: 6},
		{name: "scale in: not below the batch's target", setup: scaleIn, batch: 1, phase: releases.BatchSmoking,
			obs: plan.Observation{Replicas: 4}, heldAt: 5},
		{name: "scale in: not above the size before", setup: scaleIn, batch: 2, phase: releases.BatchBaking,
			obs: plan.Observation{Replicas: 8}, heldAt: 7},
		{name: "update before start", setup: update5, obs: plan.Observation{Replicas: 5}, heldAt: 5, resumed: releases.ReleasePending},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRelease(tt.setup)
			if tt.batch > 0 {
				driveTo(t, r, tt.batch, tt.phase)
			}
			wantHeld := plan.HeldValue(r, tt.obs)
			assert.Equal(t, tt.heldAt, wantHeld, "HeldValue")
			before := r.DeepCopy()
			req := &releases.ReleaseRequest{Reason: "error rate up"}
			if tt.batch > 0 {
				req.ExpectedBatch = p32(tt.batch)
			}
			changed, err := plan.Act(r, plan.VerbPause, req, tt.obs, "bob", at(5000))
			require.NoError(t, err)
			require.True(t, changed)

			assert.Equal(t, releases.ReleasePaused, r.Status.Phase)
			require.NotNil(t, r.Status.CloneSet.HeldAt)
			assert.Equal(t, tt.heldAt, *r.Status.CloneSet.HeldAt)
			assert.Equal(t, before.Status.CurrentBatch, r.Status.CurrentBatch)
			assert.Equal(t, before.Status.Batches, r.Status.Batches, "pause leaves the batches as they are")
			assert.Equal(t, metav1.ConditionTrue, condition(t, r, releases.ConditionPaused).Status)
			assert.Equal(t, metav1.ConditionFalse, condition(t, r, releases.ConditionAwaitingNext).Status)
			checkConditions(t, r)

			in := plan.IntentOf(r)
			if tt.batch == 0 {
				assert.Equal(t, plan.Intent{}, in, "a release paused before it started leaves the CloneSet alone")
			} else {
				assert.True(t, in.Touch)
				assert.True(t, in.Paused, "the CloneSet is paused")
				held := in.Replicas
				if tt.setup.action == releases.ActionUpdate || tt.setup.action == releases.ActionRollback {
					held = in.Partition
				}
				require.NotNil(t, held)
				assert.Equal(t, tt.heldAt, *held, "the CloneSet is held where the pause found it")
			}

			require.Len(t, r.Status.History, len(before.Status.History)+1)
			last := r.Status.History[len(r.Status.History)-1]
			fromPhase := string(before.Status.Phase)
			toPhase := "Paused"
			if tt.batch > 0 {
				fromPhase += "/" + string(tt.phase)
				toPhase += "/" + string(tt.phase)
			}
			assert.Equal(t, releases.ReleaseHistoryEntry{
				Action: "pause", User: "bob", Time: at(5000), FromBatch: tt.batch, ToBatch: tt.batch,
				FromPhase: fromPhase, ToPhase: toPhase, Reason: "error rate up",
			}, last)

			// The controller does not move a paused release on.
			for name, e := range map[string]event{"smoked": smoked(6000), "baked": baked(6000), "advance": advance(100000), "start": start(6000),
				"fail": fail(6000, tt.obs, "deadline")} {
				snapshot := r.DeepCopy()
				changed, _ := e(r)
				assert.False(t, changed, name)
				assert.Equal(t, snapshot, r, name)
			}

			// pause again: 200, no change, no history.
			snapshot := r.DeepCopy()
			changed, err = plan.Act(r, plan.VerbPause, nil, plan.Observation{Replicas: 1, Updated: 1}, "carol", at(5500))
			require.NoError(t, err)
			assert.False(t, changed)
			assert.Equal(t, snapshot, r)

			// resume undoes it.
			changed, err = plan.Act(r, plan.VerbResume, nil, tt.obs, "bob", at(7000))
			require.NoError(t, err)
			require.True(t, changed)
			want := tt.resumed
			if want == "" {
				want = releases.ReleaseProgressing
			}
			assert.Equal(t, want, r.Status.Phase)
			assert.Nil(t, r.Status.CloneSet.HeldAt, "resume releases the hold")
			wantBatches := before.DeepCopy().Status.Batches
			if tt.phase == releases.BatchSmoking || tt.phase == releases.BatchBaking {
				// Time spent paused does not count against the progress deadline.
				now := at(7000)
				wantBatches[tt.batch-1].StartedAt = &now
			}
			assert.Equal(t, wantBatches, r.Status.Batches, "resume of a paused release does not restart its batch")
			assert.Equal(t, metav1.ConditionFalse, condition(t, r, releases.ConditionPaused).Status)
			checkConditions(t, r)
			assert.Equal(t, plan.IntentOf(before), plan.IntentOf(r), "the CloneSet goes back to what it was before the pause")
			last = r.Status.History[len(r.Status.History)-1]
			assert.Equal(t, "resume", last.Action)
			assert.Equal(t, toPhase, last.FromPhase)
			assert.Equal(t, fromPhase, last.ToPhase)
		})
	}
}
