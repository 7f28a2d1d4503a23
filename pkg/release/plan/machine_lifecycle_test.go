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

// step is one thing that happens to a release and what a user then sees. A step that changes nothing
// (changed false, or a refusal) must leave the release exactly as it was.
type step struct {
	name    string
	do      event
	changed bool
	refusal string

	phase       releases.ReleasePhase
	batch       int32
	batchPhase  releases.BatchPhase
	awaiting    bool
	awaitingMsg string // a substring of the AwaitingNext message, when awaiting
	partition   *int32 // IntentOf(r).Partition, when set
	replicas    *int32 // IntentOf(r).Replicas, when set
	check       func(t *testing.T, r *releases.Release)
}

func walk(t *testing.T, r *releases.Release, steps []step) {
	t.Helper()
	for i, s := range steps {
		msg := fmt.Sprintf("step %d (%s)", i+1, s.name)
		before := r.DeepCopy()
		changed, err := s.do(r)
		if s.refusal != "" {
			requireRefusal(t, err, s.refusal, msg)
			require.False(t, changed, msg)
			require.Equal(t, before, r, msg+": a refused call changes nothing")
			continue
		}
		require.NoError(t, err, msg)
		require.Equal(t, s.changed, changed, msg)
		if !changed {
			require.Equal(t, before, r, msg+": a no-op changes nothing")
			continue
		}
		require.Len(t, r.Status.History, len(before.Status.History)+1, msg+": one history entry per change")
		require.Equal(t, s.phase, r.Status.Phase, msg)
		require.Equal(t, s.batch, r.Status.CurrentBatch, msg)
		c := plan.Current(&r.Status)
		require.NotNil(t, c, msg)
		require.Equal(t, s.batchPhase, c.Phase, msg)
		aw := condition(t, r, releases.ConditionAwaitingNext)
		if s.awaiting {
			require.Equal(t, metav1.ConditionTrue, aw.Status, msg)
			require.Contains(t, aw.Message, s.awaitingMsg, msg)
		} else {
			require.Equal(t, metav1.ConditionFalse, aw.Status, msg)
		}
		checkConditions(t, r, msg)
		in := plan.IntentOf(r)
		if s.partition != nil {
			require.NotNil(t, in.Partition, msg)
			require.Equal(t, *s.partition, *in.Partition, msg+": partition")
		}
		if s.replicas != nil {
			require.NotNil(t, in.Replicas, msg)
			require.Equal(t, *s.replicas, *in.Replicas, msg+": replicas")
		}
		if s.check != nil {
			s.check(t, r)
		}
	}
}

func TestLifecycles(t *testing.T) {
	const (
		P = releases.ReleaseProgressing
		S = releases.ReleaseSucceeded
	)
	const (
		smoking = releases.BatchSmoking
		smokedB = releases.BatchSmoked
		baking  = releases.BatchBaking
		bakedB  = releases.BatchBaked
	)
	pullIn := "`next` pulls it into traffic"

	tests := []struct {
		name    string
		setup   setup
		steps   []step
		history []string // "action user from->to", in order; the controller's events are recorded as plan.ControllerUser
	}{
		{
			name:  "the Triton tutorial: Update 3, canary 1, batchSize 1, Auto",
			setup: tutorial(),
			steps: []step{
				{name: "accepted: the canary comes up at once", do: start(0), changed: true, phase: P, batch: 1, batchPhase: smoking, partition: p32(2),
					check: func(t *testing.T, r *releases.Release) {
						assert.Equal(t, at(0), *r.Status.Batches[0].StartedAt)
						assert.True(t, plan.IntentOf(r).Owned)
					}},
				{name: "start again does nothing", do: start(1)},
				{name: "no advance while smoking", do: advance(5000)},
				{name: "canary smoked: stays out of traffic", do: smoked(10), changed: true, phase: P, batch: 1, batchPhase: smokedB, awaiting: true, awaitingMsg: pullIn, partition: p32(2),
					check: func(t *testing.T, r *releases.Release) {
						assert.Equal(t, "batch 1 is Smoked: `next` pulls it into traffic", condition(t, r, releases.ConditionAwaitingNext).Message)
						assert.Equal(t, at(10), *r.Status.Batches[0].SmokedAt)
					}},
				{name: "Auto does not pull the canary in", do: advance(5000)},
				{name: "baked before pull-in does nothing", do: baked(15)},
				{name: "next pulls the canary in", do: next(20), changed: true, phase: P, batch: 1, batchPhase: baking, partition: p32(2)},
				{name: "canary baked: waits even in Auto", do: baked(30), changed: true, phase: P, batch: 1, batchPhase: bakedB, awaiting: true, awaitingMsg: "batch 1 is Baked: `next` starts batch 2", partition: p32(2),
					check: func(t *testing.T, r *releases.Release) {
						_, ok := plan.AutoAdvanceAt(r)
						assert.False(t, ok, "the canary never advances by itself")
						assert.Equal(t, at(30), *r.Status.Batches[0].BakedAt)
					}},
				{name: "no advance past the canary, however long", do: advance(100000)},
				{name: "next starts batch 2", do: next(40), changed: true, phase: P, batch: 2, batchPhase: smoking, partition: p32(1),
					check: func(t *testing.T, r *releases.Release) {
						assert.Equal(t, at(40), *r.Status.Batches[1].StartedAt)
						assert.Equal(t, releases.BatchBaked, r.Status.Batches[0].Phase, "the canary stays Baked")
						assert.Equal(t, releases.BatchPending, r.Status.Batches[2].Phase)
					}},
				{name: "batch 2 smoked: pulled in at once", do: smoked(50), changed: true, phase: P, batch: 2, batchPhase: baking, partition: p32(1),
					check: func(t *testing.T, r *releases.Release) {
						assert.Equal(t, at(50), *r.Status.Batches[1].SmokedAt)
					}},
				{name: "batch 2 baked: Auto goes on after the interval", do: baked(60), changed: true, phase: P, batch: 2, batchPhase: bakedB, partition: p32(1),
					check: func(t *testing.T, r *releases.Release) {
						when, ok := plan.AutoAdvanceAt(r)
						require.True(t, ok)
						assert.Equal(t, at(90), when, "BakedAt + batchIntervalSeconds")
					}},
				{name: "advance before the interval does nothing", do: advance(89)},
				{name: "advance at the interval starts batch 3", do: advance(90), changed: true, phase: P, batch: 3, batchPhase: smoking, partition: p32(0),
					check: func(t *testing.T, r *releases.Release) {
						assert.Equal(t, at(90), *r.Status.Batches[2].StartedAt)
						_, ok := plan.AutoAdvanceAt(r)
						assert.False(t, ok)
					}},
				{name: "advance again does nothing", do: advance(1000)},
				{name: "batch 3 smoked", do: smoked(100), changed: true, phase: P, batch: 3, batchPhase: baking, partition: p32(0)},
				{name: "the last batch baked in Auto: Succeeded", do: baked(110), changed: true, phase: S, batch: 3, batchPhase: bakedB, partition: p32(0),
					check: func(t *testing.T, r *releases.Release) {
						assert.Equal(t, metav1.ConditionTrue, condition(t, r, releases.ConditionComplete).Status)
						assert.False(t, plan.IntentOf(r).Owned, "the CloneSet loses the owner annotation")
						assert.False(t, plan.IntentOf(r).Paused)
						for _, b := range r.Status.Batches {
							assert.Equal(t, releases.BatchBaked, b.Phase)
						}
					}},
				{name: "next on a Succeeded release", do: next(120), refusal: "the release is Succeeded"},
				{name: "advance on a Succeeded release", do: advance(100000)},
			},
			history: []string{
				"start triton-controller 0:Pending->1:Progressing/Smoking",
				"smoked triton-controller 1:Progressing/Smoking->1:Progressing/Smoked",
				"next alice 1:Progressing/Smoked->1:Progressing/Baking",
				"baked triton-controller 1:Progressing/Baking->1:Progressing/Baked",
				"next alice 1:Progressing/Baked->2:Progressing/Smoking",
				"smoked triton-controller 2:Progressing/Smoking->2:Progressing/Baking",
				"baked triton-controller 2:Progressing/Baking->2:Progressing/Baked",
				"advance triton-controller 2:Progressing/Baked->3:Progressing/Smoking",
				"smoked triton-controller 3:Progressing/Smoking->3:Progressing/Baking",
				"baked triton-controller 3:Progressing/Baking->3:Succeeded/Baked",
			},
		},
		{
			name:  "Manual: every Baked batch waits for next",
			setup: setup{action: releases.ActionUpdate, before: 4, batchSize: n(2), mode: releases.ModeManual, interval: 5},
			steps: []step{
				{name: "start", do: start(0), changed: true, phase: P, batch: 1, batchPhase: smoking, partition: p32(2)},
				{name: "no canary: pulled in at once", do: smoked(10), changed: true, phase: P, batch: 1, batchPhase: baking, partition: p32(2)},
				{name: "baked: waits", do: baked(20), changed: true, phase: P, batch: 1, batchPhase: bakedB, awaiting: true, awaitingMsg: "batch 1 is Baked: `next` starts batch 2",
					check: func(t *testing.T, r *releases.Release) {
						_, ok := plan.AutoAdvanceAt(r)
						assert.False(t, ok)
					}},
				{name: "Manual never advances by itself", do: advance(100000)},
				{name: "next starts batch 2", do: next(30), changed: true, phase: P, batch: 2, batchPhase: smoking, partition: p32(0)},
				{name: "smoked", do: smoked(40), changed: true, phase: P, batch: 2, batchPhase: baking},
				{name: "the last batch baked: still waits", do: baked(50), changed: true, phase: P, batch: 2, batchPhase: bakedB, awaiting: true, awaitingMsg: "batch 2, the last, is Baked: `next` completes the release", partition: p32(0),
					check: func(t *testing.T, r *releases.Release) {
						assert.Equal(t, metav1.ConditionFalse, condition(t, r, releases.ConditionComplete).Status)
						assert.True(t, plan.IntentOf(r).Owned)
					}},
				{name: "Manual never finishes by itself", do: advance(100000)},
				{name: "next on the last Baked batch: Succeeded", do: next(60), changed: true, phase: S, batch: 2, batchPhase: bakedB, partition: p32(0),
					check: func(t *testing.T, r *releases.Release) {
						assert.Equal(t, metav1.ConditionTrue, condition(t, r, releases.ConditionComplete).Status)
						assert.False(t, plan.IntentOf(r).Owned)
					}},
				{name: "next again", do: next(70), refusal: "the release is Succeeded"},
			},
			history: []string{
				"start triton-controller 0:Pending->1:Progressing/Smoking",
				"smoked triton-controller 1:Progressing/Smoking->1:Progressing/Baking",
				"baked triton-controller 1:Progressing/Baking->1:Progressing/Baked",
				"next alice 1:Progressing/Baked->2:Progressing/Smoking",
				"smoked triton-controller 2:Progressing/Smoking->2:Progressing/Baking",
				"baked triton-controller 2:Progressing/Baking->2:Progressing/Baked",
				"next alice 2:Progressing/Baked->2:Succeeded/Baked",
			},
		},
		{
			name:  "Manual with a canary: the canary waits twice, later batches once",
			setup: setup{action: releases.ActionRestart, before: 3, canary: 1, batchSize: pct("100%")},
			steps: []step{
				{name: "start", do: start(0), changed: true, phase: P, batch: 1, batchPhase: smoking, partition: p32(2)},
				{name: "canary smoked", do: smoked(10), changed: true, phase: P, batch: 1, batchPhase: smokedB, awaiting: true, awaitingMsg: pullIn},
				{name: "pull in", do: next(20), changed: true, phase: P, batch: 1, batchPhase: baking},
				{name: "canary baked", do: baked(30), changed: true, phase: P, batch: 1, batchPhase: bakedB, awaiting: true, awaitingMsg: "`next` starts batch 2"},
				{name: "batch 2", do: next(40), changed: true, phase: P, batch: 2, batchPhase: smoking, partition: p32(0)},
				{name: "batch 2 pulled in at once", do: smoked(50), changed: true, phase: P, batch: 2, batchPhase: baking},
				{name: "batch 2 baked", do: baked(60), changed: true, phase: P, batch: 2, batchPhase: bakedB, awaiting: true, awaitingMsg: "the last, is Baked"},
				{name: "done", do: next(70), changed: true, phase: S, batch: 2, batchPhase: bakedB},
			},
		},
		{
			name:  "noPullIn: the canary goes from Smoked straight on to Baking",
			setup: setup{action: releases.ActionUpdate, before: 3, canary: 1, batchSize: n(1), mode: releases.ModeAuto, interval: 30, noPullIn: true},
			steps: []step{
				{name: "start", do: start(0), changed: true, phase: P, batch: 1, batchPhase: smoking},
				{name: "canary smoked: no pull-in to wait for", do: smoked(10), changed: true, phase: P, batch: 1, batchPhase: baking,
					check: func(t *testing.T, r *releases.Release) {
						assert.Equal(t, at(10), *r.Status.Batches[0].SmokedAt, "SmokedAt is still recorded")
					}},
				{name: "next while the canary is Baking", do: act(15, plan.VerbNext, nil, plan.Observation{Updated: 1, ContainersReady: 1}), refusal: "batch 1 is Baking: 0 of 1 pods Ready"},
				{name: "canary baked: still waits for next", do: baked(20), changed: true, phase: P, batch: 1, batchPhase: bakedB, awaiting: true, awaitingMsg: "`next` starts batch 2"},
				{name: "no advance past the canary", do: advance(100000)},
				{name: "next", do: next(30), changed: true, phase: P, batch: 2, batchPhase: smoking},
				{name: "batch 2 smoked", do: smoked(40), changed: true, phase: P, batch: 2, batchPhase: baking},
				{name: "batch 2 baked", do: baked(50), changed: true, phase: P, batch: 2, batchPhase: bakedB},
				{name: "advance", do: advance(80), changed: true, phase: P, batch: 3, batchPhase: smoking},
				{name: "batch 3 smoked", do: smoked(90), changed: true, phase: P, batch: 3, batchPhase: baking},
				{name: "batch 3 baked", do: baked(100), changed: true, phase: S, batch: 3, batchPhase: bakedB},
			},
			history: []string{
				"start triton-controller 0:Pending->1:Progressing/Smoking",
				"smoked triton-controller 1:Progressing/Smoking->1:Progressing/Baking",
				"baked triton-controller 1:Progressing/Baking->1:Progressing/Baked",
				"next alice 1:Progressing/Baked->2:Progressing/Smoking",
				"smoked triton-controller 2:Progressing/Smoking->2:Progressing/Baking",
				"baked triton-controller 2:Progressing/Baking->2:Progressing/Baked",
				"advance triton-controller 2:Progressing/Baked->3:Progressing/Smoking",
				"smoked triton-controller 3:Progressing/Smoking->3:Progressing/Baking",
				"baked triton-controller 3:Progressing/Baking->3:Succeeded/Baked",
			},
		},
		{
			name:  "Auto, interval 0: a Baked batch advances at once; next may also skip the wait",
			setup: setup{action: releases.ActionCreate, replicas: p32(6), batchSize: n(2), mode: releases.ModeAuto},
			steps: []step{
				{name: "start", do: start(0), changed: true, phase: P, batch: 1, batchPhase: smoking, replicas: p32(2)},
				{name: "smoked", do: smoked(10), changed: true, phase: P, batch: 1, batchPhase: baking, replicas: p32(2)},
				{name: "baked", do: baked(20), changed: true, phase: P, batch: 1, batchPhase: bakedB, replicas: p32(2)},
				{name: "advance at BakedAt", do: advance(20), changed: true, phase: P, batch: 2, batchPhase: smoking, replicas: p32(4)},
				{name: "smoked", do: smoked(30), changed: true, phase: P, batch: 2, batchPhase: baking},
				{name: "baked", do: baked(40), changed: true, phase: P, batch: 2, batchPhase: bakedB},
				{name: "a caller's next does not wait for Auto", do: next(40), changed: true, phase: P, batch: 3, batchPhase: smoking, replicas: p32(6)},
				{name: "advance has nothing to do", do: advance(40)},
				{name: "smoked", do: smoked(50), changed: true, phase: P, batch: 3, batchPhase: baking},
				{name: "baked: Succeeded", do: baked(60), changed: true, phase: S, batch: 3, batchPhase: bakedB, replicas: p32(6)},
			},
		},
		{
			name:  "Auto, the canary is the whole release: it still waits at Baked, next completes",
			setup: setup{action: releases.ActionUpdate, before: 2, canary: 5, mode: releases.ModeAuto},
			steps: []step{
				{name: "start", do: start(0), changed: true, phase: P, batch: 1, batchPhase: smoking, partition: p32(0)},
				{name: "smoked", do: smoked(10), changed: true, phase: P, batch: 1, batchPhase: smokedB, awaiting: true, awaitingMsg: pullIn},
				{name: "pull in", do: next(20), changed: true, phase: P, batch: 1, batchPhase: baking},
				{name: "baked: waits", do: baked(30), changed: true, phase: P, batch: 1, batchPhase: bakedB, awaiting: true, awaitingMsg: "the last, is Baked: `next` completes the release"},
				{name: "no advance", do: advance(100000)},
				{name: "next completes", do: next(40), changed: true, phase: S, batch: 1, batchPhase: bakedB},
			},
		},
		{
			name:  "a release that changes no pods still goes through its one batch",
			setup: setup{action: releases.ActionScale, before: 3, replicas: p32(3), mode: releases.ModeAuto},
			steps: []step{
				{name: "start", do: start(0), changed: true, phase: P, batch: 1, batchPhase: smoking, replicas: p32(3)},
				{name: "smoked", do: smoked(1), changed: true, phase: P, batch: 1, batchPhase: baking, replicas: p32(3)},
				{name: "baked: Succeeded", do: baked(2), changed: true, phase: S, batch: 1, batchPhase: bakedB, replicas: p32(3)},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRelease(tt.setup)
			walk(t, r, tt.steps)
			if tt.history == nil {
				return
			}
			var got []string
			for _, h := range r.Status.History {
				got = append(got, fmt.Sprintf("%s %s %d:%s->%d:%s", h.Action, h.User, h.FromBatch, h.FromPhase, h.ToBatch, h.ToPhase))
			}
			assert.Equal(t, tt.history, got)
		})
	}
}
