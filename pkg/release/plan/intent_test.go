package plan_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/release/plan"
)

func pausedWith(t *testing.T, r *releases.Release, obs plan.Observation) *releases.Release {
	t.Helper()
	changed, err := plan.Act(r, plan.VerbPause, nil, obs, "bob", clock(r))
	require.NoError(t, err)
	require.True(t, changed)
	return r
}

func failedWith(t *testing.T, r *releases.Release, obs plan.Observation) *releases.Release {
	t.Helper()
	require.True(t, plan.Fail(r, obs, "crash loop", clock(r)))
	return r
}

// canceling cancels r: its pods are still leaving traffic.
func canceling(t *testing.T, r *releases.Release) *releases.Release {
	t.Helper()
	changed, err := plan.Act(r, plan.VerbCancel, nil, plan.Observation{}, "bob", clock(r))
	require.NoError(t, err)
	require.True(t, changed)
	return r
}

// canceled cancels r and marks it Reverted: its pods have left traffic and the CloneSet is back.
func canceled(t *testing.T, r *releases.Release) *releases.Release {
	t.Helper()
	canceling(t, r)
	plan.MarkReverted(r, clock(r))
	return r
}

func iu(n int32) *intstr.IntOrString { v := intstr.FromInt32(n); return &v }

func TestIntentOf(t *testing.T) {
	update5 := setup{action: releases.ActionUpdate, before: 5, canary: 1, batchSize: n(2)}              // targets 1, 3, 5
	create4 := setup{action: releases.ActionCreate, replicas: p32(4), canary: 1, batchSize: pct("50%")} // targets 1, 3, 4
	scaleOut := setup{action: releases.ActionScale, before: 3, replicas: p32(7), batchSize: n(2)}       // targets 2, 4
	scaleIn := setup{action: releases.ActionScale, before: 7, replicas: p32(3), batchSize: n(2),        // targets 2, 4
		podsToDelete: []string{"demo-a", "demo-b", "demo-c", "demo-d", "demo-e"}}
	firstTwo := []string{"demo-a", "demo-b"}
	firstFour := []string{"demo-a", "demo-b", "demo-c", "demo-d"}

	const (
		keep    = plan.TemplateKeep
		release = plan.TemplateRelease
		prior   = plan.TemplateBefore
	)
	type rel = *releases.Release
	tests := []struct {
		name    string
		release func(t *testing.T) rel
		want    plan.Intent
	}{
		// Update, Restart, Rollback: the partition.
		{"update pending: the CloneSet is left alone",
			func(t *testing.T) rel { return newRelease(update5) },
			plan.Intent{}},
		{"update paused before it started: the CloneSet is left alone",
			func(t *testing.T) rel { return pausedWith(t, newRelease(update5), plan.Observation{Replicas: 5}) },
			plan.Intent{}},
		{"update canceled before it started: the CloneSet is left alone",
			func(t *testing.T) rel { return canceled(t, newRelease(update5)) },
			plan.Intent{}},
		{"update canceled after a pause before it started: the CloneSet is left alone",
			func(t *testing.T) rel {
				return canceled(t, pausedWith(t, newRelease(update5), plan.Observation{Replicas: 5}))
			},
			plan.Intent{}},
		{"update canary Smoking",
			func(t *testing.T) rel { return driveTo(t, newRelease(update5), 1, releases.BatchSmoking) },
			plan.Intent{Touch: true, Template: release, Partition: p32(4), Updated: p32(1), Owned: true, MaxUnavailable: iu(1)}},
		{"update canary Smoked: not in traffic, but updated",
			func(t *testing.T) rel { return driveTo(t, newRelease(update5), 1, releases.BatchSmoked) },
			plan.Intent{Touch: true, Template: release, Partition: p32(4), Updated: p32(1), Owned: true, MaxUnavailable: iu(1)}},
		{"update batch 2 (target 3) Smoking",
			func(t *testing.T) rel { return driveTo(t, newRelease(update5), 2, releases.BatchSmoking) },
			plan.Intent{Touch: true, Template: release, Partition: p32(2), Updated: p32(3), Owned: true, MaxUnavailable: iu(2)}},
		{"update batch 2 Baked",
			func(t *testing.T) rel { return driveTo(t, newRelease(update5), 2, releases.BatchBaked) },
			plan.Intent{Touch: true, Template: release, Partition: p32(2), Updated: p32(3), Owned: true, MaxUnavailable: iu(2)}},
		{"update: a current batch still Pending uses the previous target",
			func(t *testing.T) rel {
				r := driveTo(t, newRelease(update5), 1, releases.BatchBaked)
				r.Status.CurrentBatch = 2
				return r
			},
			plan.Intent{Touch: true, Template: release, Partition: p32(4), Updated: p32(1), Owned: true, MaxUnavailable: iu(2)}},
		{"update: a first batch still Pending changes no pod",
			func(t *testing.T) rel {
				r := newRelease(update5)
				r.Status.Phase = releases.ReleaseProgressing
				r.Status.CurrentBatch = 1
				return r
			},
			plan.Intent{Touch: true, Template: release, Partition: p32(5), Updated: p32(0), Owned: true, MaxUnavailable: iu(1)}},
		{"update paused: held",
			func(t *testing.T) rel {
				return pausedWith(t, driveTo(t, newRelease(update5), 2, releases.BatchSmoking), plan.Observation{Replicas: 5, Updated: 2})
			},
			plan.Intent{Touch: true, Template: release, Partition: p32(3), Updated: p32(2), Paused: true, Owned: true, MaxUnavailable: iu(2)}},
		{"update paused without a hold recorded: the batch's value",
			func(t *testing.T) rel {
				r := pausedWith(t, driveTo(t, newRelease(update5), 2, releases.BatchSmoking), plan.Observation{Replicas: 5, Updated: 2})
				r.Status.CloneSet.HeldAt = nil
				return r
			},
			plan.Intent{Touch: true, Template: release, Partition: p32(2), Updated: p32(3), Paused: true, Owned: true, MaxUnavailable: iu(2)}},
		{"update failed: held",
			func(t *testing.T) rel {
				return failedWith(t, driveTo(t, newRelease(update5), 2, releases.BatchBaking), plan.Observation{Replicas: 5, Updated: 1})
			},
			plan.Intent{Touch: true, Template: release, Partition: p32(4), Updated: p32(1), Paused: true, Owned: true, MaxUnavailable: iu(2)}},
		{"update succeeded: maxUnavailable from before the release is put back",
			func(t *testing.T) rel {
				r := newRelease(update5)
				r.Status.CloneSet.MaxUnavailableBeforeRelease = iu(1)
				return finish(t, r)
			},
			plan.Intent{Touch: true, Template: release, Partition: p32(0), MaxUnavailable: iu(1)}},
		{"update canceled: maxUnavailable from before the release is put back",
			func(t *testing.T) rel {
				r := newRelease(update5)
				r.Status.CloneSet.MaxUnavailableBeforeRelease = iu(1)
				return canceled(t, driveTo(t, r, 2, releases.BatchBaking))
			},
			plan.Intent{Touch: true, Template: prior, Partition: p32(0), MaxUnavailable: iu(1)}},
		{"update canceling: the template before at once, but held with the hooks until its pods left traffic",
			func(t *testing.T) rel {
				r := newRelease(update5)
				r.Status.CloneSet.MaxUnavailableBeforeRelease = iu(1)
				return canceling(t, driveTo(t, r, 2, releases.BatchBaking))
			},
			plan.Intent{Touch: true, Template: prior, Partition: p32(0), MaxUnavailable: iu(3), Owned: true}},
		{"update canceling in the canary: kruise may take its pod",
			func(t *testing.T) rel { return canceling(t, driveTo(t, newRelease(update5), 1, releases.BatchSmoking)) },
			plan.Intent{Touch: true, Template: prior, Partition: p32(0), MaxUnavailable: iu(1), Owned: true}},
		{"update with noPullIn canceled: nothing to drain, let go at once",
			func(t *testing.T) rel {
				r := newRelease(update5)
				r.Spec.Strategy.NoPullIn = true
				return canceling(t, driveTo(t, r, 2, releases.BatchBaking))
			},
			plan.Intent{Touch: true, Template: prior, Partition: p32(0)}},
		{"update succeeded: the knob at the last target, no owner",
			func(t *testing.T) rel { return finish(t, newRelease(update5)) },
			plan.Intent{Touch: true, Template: release, Partition: p32(0)}},
		{"update canceled: the template before, every pod",
			func(t *testing.T) rel { return canceled(t, driveTo(t, newRelease(update5), 2, releases.BatchBaking)) },
			plan.Intent{Touch: true, Template: prior, Partition: p32(0)}},
		{"update canceled while paused: the hold is gone",
			func(t *testing.T) rel {
				return canceled(t, pausedWith(t, driveTo(t, newRelease(update5), 2, releases.BatchSmoking), plan.Observation{Updated: 2}))
			},
			plan.Intent{Touch: true, Template: prior, Partition: p32(0)}},
		{"update canceled while failed: unpaused",
			func(t *testing.T) rel {
				return canceled(t, failedWith(t, driveTo(t, newRelease(update5), 1, releases.BatchSmoked), plan.Observation{Updated: 1}))
			},
			plan.Intent{Touch: true, Template: prior, Partition: p32(0)}},
		{"restart batch 2 Baking",
			func(t *testing.T) rel {
				return driveTo(t, newRelease(setup{action: releases.ActionRestart, before: 5, canary: 1, batchSize: n(2)}), 2, releases.BatchBaking)
			},
			plan.Intent{Touch: true, Template: release, Partition: p32(2), Updated: p32(3), Owned: true, MaxUnavailable: iu(2)}},
		{"rollback batch 1 Smoking",
			func(t *testing.T) rel {
				return driveTo(t, newRelease(setup{action: releases.ActionRollback, before: 4, batchSize: pct("25%")}), 1, releases.BatchSmoking)
			},
			plan.Intent{Touch: true, Template: release, Partition: p32(3), Updated: p32(1), Owned: true, MaxUnavailable: iu(1)}},
		{"rollback succeeded",
			func(t *testing.T) rel {
				return finish(t, newRelease(setup{action: releases.ActionRollback, before: 4, batchSize: pct("25%")}))
			},
			plan.Intent{Touch: true, Template: release, Partition: p32(0)}},
		{"restart of an InPlaceIfPossible CloneSet: its pods are recreated (an annotation alone restarts no container)",
			func(t *testing.T) rel {
				r := newRelease(setup{action: releases.ActionRestart, before: 3, batchSize: n(1)})
				r.Status.CloneSet.UpdateStrategyTypeBeforeRelease = plan.UpdateInPlaceIfPossible
				return driveTo(t, r, 2, releases.BatchSmoking)
			},
			plan.Intent{Touch: true, Template: release, Partition: p32(1), Updated: p32(2), Owned: true, MaxUnavailable: iu(1),
				UpdateType: plan.UpdateReCreate}},
		{"restart of an InPlaceIfPossible CloneSet paused: still recreating",
			func(t *testing.T) rel {
				r := newRelease(setup{action: releases.ActionRestart, before: 3, batchSize: n(1)})
				r.Status.CloneSet.UpdateStrategyTypeBeforeRelease = plan.UpdateInPlaceIfPossible
				return pausedWith(t, driveTo(t, r, 2, releases.BatchSmoking), plan.Observation{Updated: 2})
			},
			plan.Intent{Touch: true, Template: release, Partition: p32(1), Updated: p32(2), Owned: true, MaxUnavailable: iu(1),
				UpdateType: plan.UpdateReCreate, Paused: true}},
		{"restart of an InPlaceIfPossible CloneSet succeeded: in place again",
			func(t *testing.T) rel {
				r := newRelease(setup{action: releases.ActionRestart, before: 3, batchSize: n(1)})
				r.Status.CloneSet.UpdateStrategyTypeBeforeRelease = plan.UpdateInPlaceIfPossible
				return finish(t, r)
			},
			plan.Intent{Touch: true, Template: release, Partition: p32(0), UpdateType: plan.UpdateInPlaceIfPossible}},
		{"restart of an InPlaceIfPossible CloneSet canceled: in place again at once (its pods were recreated already)",
			func(t *testing.T) rel {
				r := newRelease(setup{action: releases.ActionRestart, before: 3, batchSize: n(1)})
				r.Status.CloneSet.UpdateStrategyTypeBeforeRelease = plan.UpdateInPlaceIfPossible
				return canceling(t, driveTo(t, r, 2, releases.BatchSmoking))
			},
			plan.Intent{Touch: true, Template: prior, Partition: p32(0), Owned: true, MaxUnavailable: iu(2), UpdateType: plan.UpdateInPlaceIfPossible}},
		{"update of an InPlaceIfPossible CloneSet: updated in place, as its owner chose",
			func(t *testing.T) rel {
				r := newRelease(update5)
				r.Status.CloneSet.UpdateStrategyTypeBeforeRelease = plan.UpdateInPlaceIfPossible
				return driveTo(t, r, 2, releases.BatchBaking)
			},
			plan.Intent{Touch: true, Template: release, Partition: p32(2), Updated: p32(3), Owned: true, MaxUnavailable: iu(2)}},
		{"restart canceled",
			func(t *testing.T) rel {
				return canceled(t, driveTo(t, newRelease(setup{action: releases.ActionRestart, before: 3, batchSize: n(1)}), 2, releases.BatchSmoking))
			},
			plan.Intent{Touch: true, Template: prior, Partition: p32(0)}},

		// Create: the replicas are the target.
		{"create pending: nothing is created yet",
			func(t *testing.T) rel { return newRelease(create4) },
			plan.Intent{}},
		{"create canary Smoking",
			func(t *testing.T) rel { return driveTo(t, newRelease(create4), 1, releases.BatchSmoking) },
			plan.Intent{Touch: true, Template: release, Replicas: p32(1), Owned: true}},
		{"create batch 2 Baking",
			func(t *testing.T) rel { return driveTo(t, newRelease(create4), 2, releases.BatchBaking) },
			plan.Intent{Touch: true, Template: release, Replicas: p32(3), Owned: true}},
		{"create paused: held at the pods there are",
			func(t *testing.T) rel {
				return pausedWith(t, driveTo(t, newRelease(create4), 2, releases.BatchSmoking), plan.Observation{Replicas: 2})
			},
			plan.Intent{Touch: true, Template: release, Replicas: p32(2), Paused: true, Owned: true}},
		{"create succeeded",
			func(t *testing.T) rel { return finish(t, newRelease(create4)) },
			plan.Intent{Touch: true, Template: release, Replicas: p32(4)}},
		{"create canceled: scaled to 0",
			func(t *testing.T) rel { return canceled(t, driveTo(t, newRelease(create4), 2, releases.BatchBaked)) },
			plan.Intent{Touch: true, Template: release, Replicas: p32(0)}},
		{"create canceling: scaled to 0, held until its pods left traffic",
			func(t *testing.T) rel { return canceling(t, driveTo(t, newRelease(create4), 2, releases.BatchBaked)) },
			plan.Intent{Touch: true, Template: release, Replicas: p32(0), Owned: true}},
		{"create canceled with no CloneSet observed: scaled to 0",
			func(t *testing.T) rel {
				r := canceled(t, driveTo(t, newRelease(create4), 1, releases.BatchSmoking))
				r.Status.CloneSet = nil
				return r
			},
			plan.Intent{Touch: true, Template: release, Replicas: p32(0)}},
		{"create canceled before it started, no CloneSet observed: nothing to do",
			func(t *testing.T) rel {
				r := canceled(t, newRelease(create4))
				r.Status.CloneSet = nil
				return r
			},
			plan.Intent{}},
		{"create paused before it started: nothing is created",
			func(t *testing.T) rel { return pausedWith(t, newRelease(create4), plan.Observation{}) },
			plan.Intent{}},

		// Scale out: before + target.
		{"scale out 3→7 batch 1",
			func(t *testing.T) rel { return driveTo(t, newRelease(scaleOut), 1, releases.BatchSmoking) },
			plan.Intent{Touch: true, Template: keep, Replicas: p32(5), Owned: true}},
		{"scale out 3→7 batch 2",
			func(t *testing.T) rel { return driveTo(t, newRelease(scaleOut), 2, releases.BatchBaking) },
			plan.Intent{Touch: true, Template: keep, Replicas: p32(7), Owned: true}},
		{"scale out failed: held at the pods there are",
			func(t *testing.T) rel {
				return failedWith(t, driveTo(t, newRelease(scaleOut), 2, releases.BatchSmoking), plan.Observation{Replicas: 6})
			},
			plan.Intent{Touch: true, Template: keep, Replicas: p32(6), Paused: true, Owned: true}},
		{"scale out succeeded",
			func(t *testing.T) rel { return finish(t, newRelease(scaleOut)) },
			plan.Intent{Touch: true, Template: keep, Replicas: p32(7)}},
		{"scale out canceled: back to the size before",
			func(t *testing.T) rel { return canceled(t, driveTo(t, newRelease(scaleOut), 2, releases.BatchSmoking)) },
			plan.Intent{Touch: true, Template: keep, Replicas: p32(3)}},

		// Scale in: before − target, the named pods first.
		{"scale in 7→3 pending",
			func(t *testing.T) rel { return newRelease(scaleIn) },
			plan.Intent{}},
		{"scale in 7→3 paused before it started: no pod named, none removed",
			func(t *testing.T) rel { return pausedWith(t, newRelease(scaleIn), plan.Observation{Replicas: 7}) },
			plan.Intent{}},
		{"scale out canceled before it started: the CloneSet is left alone",
			func(t *testing.T) rel { return canceled(t, newRelease(scaleOut)) },
			plan.Intent{}},
		{"scale in 7→3 batch 1: its two pods are the first two named",
			func(t *testing.T) rel { return driveTo(t, newRelease(scaleIn), 1, releases.BatchSmoking) },
			plan.Intent{Touch: true, Template: keep, Replicas: p32(5), PodsToDelete: firstTwo, Owned: true}},
		{"scale in 7→3 batch 2 Baked: four named, never the fifth",
			func(t *testing.T) rel { return driveTo(t, newRelease(scaleIn), 2, releases.BatchBaked) },
			plan.Intent{Touch: true, Template: keep, Replicas: p32(3), PodsToDelete: firstFour, Owned: true}},
		{"scale in with fewer names than pods to remove",
			func(t *testing.T) rel {
				s := scaleIn
				s.podsToDelete = []string{"demo-x"}
				return driveTo(t, newRelease(s), 2, releases.BatchSmoking)
			},
			plan.Intent{Touch: true, Template: keep, Replicas: p32(3), PodsToDelete: []string{"demo-x"}, Owned: true}},
		{"scale in with no names",
			func(t *testing.T) rel {
				s := scaleIn
				s.podsToDelete = nil
				return driveTo(t, newRelease(s), 1, releases.BatchSmoking)
			},
			plan.Intent{Touch: true, Template: keep, Replicas: p32(5), Owned: true}},
		{"scale in paused: held, the named pods still go first",
			func(t *testing.T) rel {
				return pausedWith(t, driveTo(t, newRelease(scaleIn), 2, releases.BatchSmoking), plan.Observation{Replicas: 4})
			},
			plan.Intent{Touch: true, Template: keep, Replicas: p32(4), PodsToDelete: firstFour, Paused: true, Owned: true}},
		{"scale out ignores podsToDelete",
			func(t *testing.T) rel {
				s := scaleOut
				s.podsToDelete = []string{"demo-a"}
				return driveTo(t, newRelease(s), 1, releases.BatchSmoking)
			},
			plan.Intent{Touch: true, Template: keep, Replicas: p32(5), Owned: true}},
		{"scale in succeeded: no pods to delete any more",
			func(t *testing.T) rel { return finish(t, newRelease(scaleIn)) },
			plan.Intent{Touch: true, Template: keep, Replicas: p32(3)}},
		{"scale in canceled: back to the size before",
			func(t *testing.T) rel { return canceled(t, driveTo(t, newRelease(scaleIn), 1, releases.BatchBaking)) },
			plan.Intent{Touch: true, Template: keep, Replicas: p32(7)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.release(t)
			before := r.DeepCopy()
			got := plan.IntentOf(r)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, before, r, "IntentOf does not change the release")
			assert.Equal(t, got, plan.IntentOf(r), "IntentOf is a function of the release")
		})
	}
}

func TestEffectiveTarget(t *testing.T) {
	r := newRelease(setup{action: releases.ActionUpdate, before: 5, canary: 1, batchSize: n(2)}) // targets 1, 3, 5
	assert.Equal(t, int32(0), plan.EffectiveTarget(&r.Status), "not started")
	driveTo(t, r, 1, releases.BatchSmoking)
	assert.Equal(t, int32(1), plan.EffectiveTarget(&r.Status))
	driveTo(t, r, 2, releases.BatchSmoking)
	assert.Equal(t, int32(3), plan.EffectiveTarget(&r.Status))
	r.Status.Batches[1].Phase = releases.BatchPending
	assert.Equal(t, int32(1), plan.EffectiveTarget(&r.Status), "a Pending current batch: the previous target")
}

// kind is a release action with its sizes, changing m pods.
type kind struct {
	name  string
	setup func(m int32) setup
}

var kinds = []kind{
	{"update", func(m int32) setup { return setup{action: releases.ActionUpdate, before: m} }},
	{"restart", func(m int32) setup { return setup{action: releases.ActionRestart, before: m} }},
	{"rollback", func(m int32) setup { return setup{action: releases.ActionRollback, before: m} }},
	{"create", func(m int32) setup { return setup{action: releases.ActionCreate, replicas: p32(m)} }},
	{"scale out", func(m int32) setup { return setup{action: releases.ActionScale, before: 2, replicas: p32(2 + m)} }},
	{"scale in", func(m int32) setup {
		// One more pod named than the release removes.
		var names []string
		for i := int32(0); i <= m; i++ {
			names = append(names, fmt.Sprintf("demo-%d", i))
		}
		return setup{action: releases.ActionScale, before: m + 1, replicas: p32(1), podsToDelete: names}
	}},
}

// changedBy is how many pods an intent lets the release change: replicasBefore − partition for Update,
// Restart and Rollback; how far the replicas moved from before for Create and Scale.
func changedBy(t *testing.T, r *releases.Release, in plan.Intent) int32 {
	t.Helper()
	before := *r.Status.CloneSet.ReplicasBeforeRelease
	switch r.Spec.Action {
	case releases.ActionUpdate, releases.ActionRestart, releases.ActionRollback:
		require.NotNil(t, in.Partition)
		require.Nil(t, in.Replicas)
		return before - *in.Partition
	default:
		require.NotNil(t, in.Replicas)
		require.Nil(t, in.Partition)
		if *in.Replicas >= before {
			return *in.Replicas - before
		}
		return before - *in.Replicas
	}
}

func heldIntent(r *releases.Release, obs plan.Observation) plan.Intent {
	c := r.DeepCopy()
	c.Status.Phase = releases.ReleasePaused
	held := plan.HeldValue(r, obs)
	c.Status.CloneSet.HeldAt = &held
	return plan.IntentOf(c)
}

// Invariant 2, as a property: in every state a release reaches through Start, Smoked, next, Baked and
// Advance, the CloneSet it asks for has no more changed pods than the current batch's target, and while
// it progresses the partition is only ever lowered (the replicas only ever move toward the target). A
// pause or a failure in any of these states holds the CloneSet at no more than that. Every path ends in
// Succeeded with every pod changed.
func TestIntentNeverChangesMorePodsThanTheCurrentBatch(t *testing.T) {
	sizes := []*intstr.IntOrString{n(1), n(2), pct("50%"), nil}
	configs := 0
	for _, k := range kinds {
		for m := int32(0); m <= 6; m++ {
			for _, canary := range []int32{0, 1, 3} {
				for _, size := range sizes {
					for _, mode := range []releases.ReleaseMode{releases.ModeManual, releases.ModeAuto} {
						for _, noPullIn := range []bool{false, true} {
							s := k.setup(m)
							s.canary, s.batchSize, s.mode, s.interval, s.noPullIn = canary, size, mode, 30, noPullIn
							name := fmt.Sprintf("%s of %d, canary %d, batchSize %v, %s, noPullIn %v", k.name, m, canary, size, mode, noPullIn)
							explore(t, name, newRelease(s), m)
							if t.Failed() {
								return
							}
							configs++
						}
					}
				}
			}
		}
	}
	t.Logf("%d configurations explored", configs)
}

func explore(t *testing.T, name string, r0 *releases.Release, total int32) {
	t.Helper()
	seen := map[string]bool{}
	succeeded := false
	var visit func(r *releases.Release, now int)
	visit = func(r *releases.Release, now int) {
		key := stateKey(r)
		if seen[key] || t.Failed() {
			return
		}
		seen[key] = true
		msg := name + " at " + where(r)

		in := plan.IntentOf(r)
		switch r.Status.Phase {
		case releases.ReleasePending:
			assert.Equal(t, plan.Intent{}, in, msg)
		case releases.ReleaseProgressing:
			cur := plan.Current(&r.Status)
			for _, b := range r.Status.Batches {
				switch {
				case b.Index < cur.Index:
					assert.Equal(t, releases.BatchBaked, b.Phase, "%s: batch %d before the current one", msg, b.Index)
				case b.Index > cur.Index:
					assert.Equal(t, releases.BatchPending, b.Phase, "%s: batch %d after the current one", msg, b.Index)
				}
			}
			got := changedBy(t, r, in)
			assert.GreaterOrEqual(t, got, int32(0), msg)
			assert.LessOrEqual(t, got, cur.Target, msg+": more changed pods than the current batch's target")
			assert.LessOrEqual(t, int32(len(in.PodsToDelete)), got, msg+": more pods named for deletion than removed")
			assert.True(t, in.Owned, msg)
			assert.False(t, in.Paused, msg)
			// A pause or a failure here holds the CloneSet at no more changed pods than now.
			before := *r.Status.CloneSet.ReplicasBeforeRelease
			for u := int32(0); u <= before+total+2; u++ {
				held := changedBy(t, r, heldIntent(r, plan.Observation{Replicas: u, Updated: u, ContainersReady: u, Ready: u}))
				if held > got {
					t.Errorf("%s: a pause with %d pods holds %d changed pods, more than the %d now", msg, u, held, got)
				}
			}
		case releases.ReleaseSucceeded:
			succeeded = true
			assert.Equal(t, total, changedBy(t, r, in), msg+": every pod changed")
			assert.Nil(t, in.PodsToDelete, msg)
			assert.False(t, in.Owned, msg)
		default:
			t.Errorf("%s: unexpected phase", msg)
		}

		// An Auto release does not advance a second early.
		if when, ok := plan.AutoAdvanceAt(r); ok {
			assert.Equal(t, plan.Current(&r.Status).BakedAt.Add(30*time.Second), when.Time, msg)
			c := r.DeepCopy()
			assert.False(t, plan.Advance(c, metav1.NewTime(when.Add(-time.Second))), msg)
			assertSame(t, r, c, msg)
		}

		moved := false
		for _, e := range []struct {
			name string
			do   event
		}{
			{"start", start(now)}, {"smoked", smoked(now)}, {"next", next(now)}, {"baked", baked(now)}, {"advance", advance(now)},
		} {
			c := r.DeepCopy()
			changed, err := e.do(c)
			if err != nil {
				var refusal *plan.Refusal
				assert.ErrorAs(t, err, &refusal, msg)
				assertSame(t, r, c, msg+": refused "+e.name)
				continue
			}
			if !changed {
				assertSame(t, r, c, msg+": no-op "+e.name)
				continue
			}
			moved = true
			step := c.Status.CurrentBatch - r.Status.CurrentBatch
			assert.True(t, step == 0 || step == 1, "%s: %s moved from batch %d to %d", msg, e.name, r.Status.CurrentBatch, c.Status.CurrentBatch)
			if r.Status.Phase == releases.ReleaseProgressing && c.Status.Phase == releases.ReleaseProgressing {
				from, to := plan.IntentOf(r), plan.IntentOf(c)
				assert.GreaterOrEqual(t, changedBy(t, c, to), changedBy(t, r, from), msg+": "+e.name+" went back")
				if from.Partition != nil {
					assert.LessOrEqual(t, *to.Partition, *from.Partition, msg+": "+e.name+" raised the partition")
				}
			}
			visit(c, now+100)
		}
		if !moved {
			assert.Equal(t, releases.ReleaseSucceeded, r.Status.Phase, msg+": stuck")
		}
	}
	visit(r0, 0)
	assert.True(t, succeeded, name+": never succeeded")
}

func stateKey(r *releases.Release) string {
	key := fmt.Sprint(r.Status.Phase, r.Status.CurrentBatch)
	for _, b := range r.Status.Batches {
		key += " " + string(b.Phase)
	}
	return key
}

// assertSame is a cheap check that a call left r as it was (the other tests compare whole deep copies).
func assertSame(t *testing.T, r, c *releases.Release, msg string) {
	t.Helper()
	if stateKey(r) != stateKey(c) || len(r.Status.History) != len(c.Status.History) || len(r.Status.Conditions) != len(c.Status.Conditions) {
		t.Errorf("%s: the release changed: %s -> %s", msg, stateKey(r), stateKey(c))
	}
}

// A scale-out keeps the pods the release may update; the partition follows the replicas there are.
func TestPartitionForCountsTheReplicasThereAre(t *testing.T) {
	in := plan.Intent{Partition: p32(4), Updated: p32(1)}
	assert.Equal(t, int32(4), *in.PartitionFor(5))
	assert.Equal(t, int32(19), *in.PartitionFor(20), "scaled out to 20: one pod updated, as approved")
	assert.Equal(t, int32(0), *in.PartitionFor(1))
	assert.Equal(t, int32(0), *in.PartitionFor(0))
	all := plan.Intent{Partition: p32(0)}
	assert.Equal(t, int32(0), *all.PartitionFor(20), "the last batch: every pod there is")
	assert.Nil(t, plan.Intent{}.PartitionFor(20))
}

// A batch needs its target, or every pod the CloneSet is to have after a scale-in below it.
func TestNeededAfterAScaleIn(t *testing.T) {
	r := newRelease(setup{action: releases.ActionUpdate, before: 5, canary: 1, batchSize: n(2)})
	assert.Equal(t, int32(3), plan.Needed(r, 3, plan.Observation{Desired: 5}))
	assert.Equal(t, int32(3), plan.Needed(r, 3, plan.Observation{Desired: 20}), "a scale-out does not grow a batch")
	assert.Equal(t, int32(2), plan.Needed(r, 3, plan.Observation{Desired: 2}))
	assert.Equal(t, int32(3), plan.Needed(r, 3, plan.Observation{}), "no CloneSet (or zero replicas) moves no batch on")
	s := newRelease(setup{action: releases.ActionScale, before: 7, replicas: p32(3), batchSize: n(2)})
	assert.Equal(t, int32(3), plan.Needed(s, 3, plan.Observation{Desired: 2}), "a Scale's batches count pods added or removed")
}
