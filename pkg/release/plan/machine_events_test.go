package plan_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/release/plan"
)

func TestFail(t *testing.T) {
	for _, tt := range []struct {
		batch  int32
		phase  releases.BatchPhase
		obs    plan.Observation
		heldAt int32
	}{
		{1, releases.BatchSmoking, plan.Observation{Replicas: 3, Updated: 1}, 2},
		{1, releases.BatchSmoked, plan.Observation{Replicas: 3, Updated: 1, ContainersReady: 1}, 2},
		{2, releases.BatchSmoking, plan.Observation{Replicas: 3, Updated: 1}, 2},
		{2, releases.BatchBaking, plan.Observation{Replicas: 3, Updated: 2, ContainersReady: 2}, 1},
		{2, releases.BatchBaked, plan.Observation{Replicas: 4, Updated: 3, ContainersReady: 2}, 1},
	} {
		name := fmt.Sprintf("batch %d %s", tt.batch, tt.phase)
		t.Run(name, func(t *testing.T) {
			r := driveTo(t, newRelease(tutorial()), tt.batch, tt.phase)
			before := r.DeepCopy()
			require.True(t, plan.Fail(r, tt.obs, "pod demo-x: CrashLoopBackOff", at(8000)))
			assert.Equal(t, releases.ReleaseFailed, r.Status.Phase)
			assert.Equal(t, releases.BatchFailed, plan.Current(&r.Status).Phase)
			assert.Equal(t, tt.batch, r.Status.CurrentBatch)
			require.NotNil(t, r.Status.CloneSet.HeldAt)
			assert.Equal(t, tt.heldAt, *r.Status.CloneSet.HeldAt)
			assert.Equal(t, plan.HeldValue(before, tt.obs), *r.Status.CloneSet.HeldAt)
			failed := condition(t, r, releases.ConditionFailed)
			assert.Equal(t, metav1.ConditionTrue, failed.Status)
			assert.Equal(t, "pod demo-x: CrashLoopBackOff", failed.Message)
			assert.Equal(t, metav1.ConditionFalse, condition(t, r, releases.ConditionAwaitingNext).Status)
			checkConditions(t, r)
			in := plan.IntentOf(r)
			assert.True(t, in.Paused, "a failed release pauses the CloneSet")
			assert.Equal(t, tt.heldAt, *in.Partition)
			assert.True(t, in.Owned)
			assert.Equal(t, releases.ReleaseHistoryEntry{
				Action: "fail", User: plan.ControllerUser, Time: at(8000), FromBatch: tt.batch, ToBatch: tt.batch,
				FromPhase: "Progressing/" + string(tt.phase), ToPhase: "Failed/Failed", Reason: "pod demo-x: CrashLoopBackOff",
			}, r.Status.History[len(r.Status.History)-1])

			// Failing again does nothing.
			snapshot := r.DeepCopy()
			assert.False(t, plan.Fail(r, plan.Observation{}, "again", at(8100)))
			assert.Equal(t, snapshot, r)
		})
	}
	t.Run("only a Progressing release fails", func(t *testing.T) {
		pending := newRelease(tutorial())
		paused := driveTo(t, newRelease(tutorial()), 1, releases.BatchSmoking)
		_, err := plan.Act(paused, plan.VerbPause, nil, plan.Observation{}, "bob", clock(paused))
		require.NoError(t, err)
		cases := append(finishedOrFailed(t), named{"pending", pending}, named{"paused", paused})
		for _, c := range cases {
			before := c.release.DeepCopy()
			assert.False(t, plan.Fail(c.release, plan.Observation{}, "deadline", at(100000)), c.name)
			assert.Equal(t, before, c.release, c.name)
		}
	})
}

// ---- controller events out of place ----

func TestEventsOutOfPlaceDoNothing(t *testing.T) {
	tests := []struct {
		name    string
		release func(t *testing.T) *releases.Release
		do      event
	}{
		{"start a running release", func(t *testing.T) *releases.Release {
			return driveTo(t, newRelease(tutorial()), 1, releases.BatchSmoking)
		}, start(1000)},
		{"smoked while Baking", func(t *testing.T) *releases.Release {
			return driveTo(t, newRelease(tutorial()), 1, releases.BatchBaking)
		}, smoked(1000)},
		{"smoked while Smoked", func(t *testing.T) *releases.Release {
			return driveTo(t, newRelease(tutorial()), 1, releases.BatchSmoked)
		}, smoked(1000)},
		{"smoked before start", func(t *testing.T) *releases.Release { return newRelease(tutorial()) }, smoked(1000)},
		{"baked while Smoking", func(t *testing.T) *releases.Release {
			return driveTo(t, newRelease(tutorial()), 2, releases.BatchSmoking)
		}, baked(1000)},
		{"baked while Baked", func(t *testing.T) *releases.Release {
			return driveTo(t, newRelease(tutorial()), 2, releases.BatchBaked)
		}, baked(1000)},
		{"advance a Manual release", func(t *testing.T) *releases.Release {
			return driveTo(t, newRelease(setup{action: releases.ActionUpdate, before: 3, batchSize: n(1)}), 1, releases.BatchBaked)
		}, advance(100000)},
		{"advance while Baking", func(t *testing.T) *releases.Release {
			return driveTo(t, newRelease(tutorial()), 2, releases.BatchBaking)
		}, advance(100000)},
		{"start a release with no batches", func(t *testing.T) *releases.Release {
			r := newRelease(tutorial())
			r.Status.Batches = nil
			return r
		}, start(1000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.release(t)
			before := r.DeepCopy()
			changed, err := tt.do(r)
			require.NoError(t, err)
			assert.False(t, changed)
			assert.Equal(t, before, r)
		})
	}
}
