package plan_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/release/plan"
)

// blueGreen is a BlueGreen Update of 4 pods with a preview of 50% (2 green pods), as the server stores it.
func blueGreen(autoPromote bool) *releases.Release {
	r := newRelease(setup{action: releases.ActionUpdate, before: 4})
	r.Spec.Strategy.Type = releases.StrategyBlueGreen
	r.Spec.Strategy.BatchSize = nil
	r.Spec.Strategy.BatchIntervalSeconds = 5
	r.Spec.Strategy.BlueGreen = &releases.BlueGreenStrategy{PreviewReplicas: pct("50%"), AutoPromote: autoPromote, ScaleDownDelaySeconds: p32(30)}
	r.Status.Batches = mustBatches(&r.Spec, 4)
	return r
}

func replicasPartition(t *testing.T, r *releases.Release) (int32, int32) {
	t.Helper()
	in := plan.IntentOf(r)
	require.NotNil(t, in.Replicas, where(r))
	require.NotNil(t, in.Partition, where(r))
	assert.Nil(t, in.Updated, "the partition is absolute: it keeps every blue pod")
	return *in.Replicas, *in.Partition
}

func TestBlueGreenPlanIsPreviewThenSwitch(t *testing.T) {
	r := blueGreen(false)
	require.Len(t, r.Status.Batches, 2)
	assert.Equal(t, releases.ReleaseBatch{Index: 1, Replicas: 2, Target: 2, Phase: releases.BatchPending}, r.Status.Batches[0])
	assert.Equal(t, releases.ReleaseBatch{Index: 2, Replicas: 2, Target: 4, Phase: releases.BatchPending}, r.Status.Batches[1])
	assert.Equal(t, int64(2), plan.BatchCount(&r.Spec, 4))

	full := newRelease(setup{action: releases.ActionUpdate, before: 3})
	full.Spec.Strategy.Type = releases.StrategyBlueGreen
	full.Spec.Strategy.BlueGreen = &releases.BlueGreenStrategy{PreviewReplicas: pct("100%")}
	batches := mustBatches(&full.Spec, 3)
	assert.Equal(t, int32(3), batches[0].Replicas)
	assert.Equal(t, int32(0), batches[1].Replicas, "the switch brings no more green pods")
	assert.Equal(t, int32(3), batches[1].Target)
}

func TestBlueGreenLifecycle(t *testing.T) {
	r := blueGreen(false)
	require.True(t, plan.Start(r, at(0)))
	replicas, partition := replicasPartition(t, r)
	assert.Equal(t, int32(6), replicas, "2 green pods beside the 4 blue")
	assert.Equal(t, int32(4), partition, "every blue pod kept")
	assert.True(t, plan.IntentOf(r).Owned)

	// The preview is Smoked and waits for `next`: not pulled in.
	require.True(t, plan.Smoked(r, at(10)))
	assert.Equal(t, releases.BatchSmoked, plan.Current(&r.Status).Phase)
	awaiting, why := plan.AwaitingNext(r)
	assert.True(t, awaiting)
	assert.Contains(t, why, "switches traffic")
	assert.False(t, plan.Switched(r))
	_, auto := plan.AutoAdvanceAt(r)
	assert.False(t, auto, "no autoPromote")

	// `next` is the switch: the preview is done, green comes to full size.
	_, err := plan.Act(r, plan.VerbNext, nil, plan.Observation{}, "alice", at(20))
	require.NoError(t, err)
	assert.Equal(t, int32(2), r.Status.CurrentBatch)
	assert.Equal(t, []releases.BatchPhase{releases.BatchBaked, releases.BatchSmoking}, phases(r))
	replicas, partition = replicasPartition(t, r)
	assert.Equal(t, int32(8), replicas)
	assert.Equal(t, int32(4), partition)

	// Green is up: pulled in at once; blue goes out once green is Ready (the controller).
	require.True(t, plan.Smoked(r, at(30)))
	assert.Equal(t, releases.BatchBaking, plan.Current(&r.Status).Phase)
	assert.True(t, plan.Switched(r))
	assert.True(t, plan.BlueOut(r))
	require.True(t, plan.Baked(r, at(40)))
	assert.Equal(t, releases.ReleaseProgressing, r.Status.Phase, "blue stays for scaleDownDelaySeconds, Manual or not")
	awaiting, _ = plan.AwaitingNext(r)
	assert.False(t, awaiting)
	at2, ok := plan.AutoAdvanceAt(r)
	require.True(t, ok)
	assert.Equal(t, at(70), at2)
	assert.False(t, plan.Advance(r, at(69)))
	require.True(t, plan.Advance(r, at(70)))
	assert.Equal(t, releases.ReleaseSucceeded, r.Status.Phase)
	in := plan.IntentOf(r)
	assert.False(t, in.Owned)
	assert.Equal(t, int32(4), *in.Replicas, "back to 4: kruise removes blue")
	assert.Equal(t, int32(0), *in.Partition)
	assert.Equal(t, plan.TemplateRelease, in.Template)
	checkConditions(t, r)
}

func TestBlueGreenAutoPromote(t *testing.T) {
	r := blueGreen(true)
	require.True(t, plan.Start(r, at(0)))
	require.True(t, plan.Smoked(r, at(10)))
	awaiting, _ := plan.AwaitingNext(r)
	assert.False(t, awaiting)
	when, ok := plan.AutoAdvanceAt(r)
	require.True(t, ok)
	assert.Equal(t, at(15), when, "batchIntervalSeconds after Smoked")
	require.True(t, plan.Advance(r, at(15)))
	assert.Equal(t, int32(2), r.Status.CurrentBatch)
	assert.Equal(t, "blueGreen.autoPromote: the preview is Smoked", r.Status.History[len(r.Status.History)-1].Reason)
}

func TestBlueGreenNextBeforeThePreviewIsSmokedIsRefused(t *testing.T) {
	r := blueGreen(false)
	require.True(t, plan.Start(r, at(0)))
	before := r.DeepCopy()
	_, err := plan.Act(r, plan.VerbNext, toBatch(2), plan.Observation{Updated: 1}, "alice", at(5))
	requireRefusal(t, err, "batch 1 is Smoking: 0 of 2 pods ready to take traffic")
	assert.Equal(t, before, r)

	require.True(t, plan.Smoked(r, at(10)))
	_, err = plan.Act(r, plan.VerbNext, toBatch(2), plan.Observation{}, "alice", at(20))
	require.NoError(t, err)
	assert.Equal(t, int32(2), r.Status.CurrentBatch, "toBatch 2 is the switch")
	assert.True(t, r.Status.Promoted)
}

func TestBlueGreenCancel(t *testing.T) {
	t.Run("before the switch: green goes at once", func(t *testing.T) {
		r := blueGreen(false)
		require.True(t, plan.Start(r, at(0)))
		require.True(t, plan.Smoked(r, at(10)))
		_, err := plan.Act(r, plan.VerbCancel, nil, plan.Observation{}, "alice", at(20))
		require.NoError(t, err)
		assert.Equal(t, plan.RevertDraining, condition(t, r, releases.ConditionReverted).Reason)
		assert.False(t, plan.SwitchingBack(r))
		in := plan.IntentOf(r)
		assert.Equal(t, plan.TemplateBefore, in.Template)
		assert.Equal(t, int32(4), *in.Replicas)
		assert.Equal(t, int32(0), *in.Partition)
		assert.True(t, in.Owned, "held until green has left traffic")
	})
	t.Run("after the switch: blue back first, then green goes", func(t *testing.T) {
		r := blueGreen(false)
		require.True(t, plan.Start(r, at(0)))
		require.True(t, plan.Smoked(r, at(10)))
		_, err := plan.Act(r, plan.VerbNext, nil, plan.Observation{}, "alice", at(20))
		require.NoError(t, err)
		require.True(t, plan.Smoked(r, at(30)))
		require.True(t, plan.Baked(r, at(40)))
		_, err = plan.Act(r, plan.VerbCancel, nil, plan.Observation{}, "alice", at(50))
		require.NoError(t, err)
		reverted := condition(t, r, releases.ConditionReverted)
		assert.Equal(t, metav1.ConditionFalse, reverted.Status)
		assert.Equal(t, plan.RevertSwitchingBack, reverted.Reason)
		assert.True(t, plan.SwitchingBack(r))
		assert.False(t, plan.BlueOut(r), "blue comes back")
		replicas, partition := replicasPartition(t, r)
		assert.Equal(t, int32(8), replicas, "the CloneSet stays switched while blue comes back")
		assert.Equal(t, int32(4), partition)
		assert.Equal(t, plan.TemplateRelease, plan.IntentOf(r).Template)

		// A spec edit re-derives the conditions: still switching back.
		r.Generation++
		plan.SetConditions(r, at(55))
		assert.True(t, plan.SwitchingBack(r))

		plan.MarkSwitchedBack(r, at(60))
		assert.False(t, plan.SwitchingBack(r))
		assert.True(t, plan.Reverting(r))
		in := plan.IntentOf(r)
		assert.Equal(t, plan.TemplateBefore, in.Template)
		assert.Equal(t, int32(4), *in.Replicas)
		assert.Equal(t, int32(0), *in.Partition)
		plan.SetConditions(r, at(65))
		assert.Equal(t, plan.RevertDraining, condition(t, r, releases.ConditionReverted).Reason)
	})
}

func TestBlueGreenPauseHoldsTheGreenPodsThereAre(t *testing.T) {
	r := blueGreen(false)
	require.True(t, plan.Start(r, at(0)))
	require.True(t, plan.Smoked(r, at(10)))
	_, err := plan.Act(r, plan.VerbNext, nil, plan.Observation{}, "alice", at(20))
	require.NoError(t, err)
	_, err = plan.Act(r, plan.VerbPause, nil, plan.Observation{Updated: 3}, "alice", at(25))
	require.NoError(t, err)
	in := plan.IntentOf(r)
	assert.True(t, in.Paused)
	assert.Equal(t, int32(7), *in.Replicas, "4 blue and the 3 green there are")
}

func TestBlueGreenOfNoPodsStillSwitches(t *testing.T) {
	r := newRelease(setup{action: releases.ActionUpdate, before: 0})
	r.Spec.Strategy.Type = releases.StrategyBlueGreen
	r.Spec.Strategy.BlueGreen = &releases.BlueGreenStrategy{PreviewReplicas: pct("100%"), ScaleDownDelaySeconds: p32(0)}
	r.Status.Batches = mustBatches(&r.Spec, 0)
	require.Len(t, r.Status.Batches, 2)
	assert.Equal(t, int32(0), r.Status.Batches[0].Replicas)
	require.True(t, plan.Start(r, at(0)))
	require.True(t, plan.Smoked(r, at(1)))
	_, err := plan.Act(r, plan.VerbNext, nil, plan.Observation{}, "alice", at(2))
	require.NoError(t, err)
	require.True(t, plan.Smoked(r, at(3)))
	require.True(t, plan.Baked(r, at(4)))
	require.True(t, plan.Advance(r, at(4)))
	assert.Equal(t, releases.ReleaseSucceeded, r.Status.Phase)
}

func TestBlueGreenOfTheLargestCloneSetDoesNotOverflow(t *testing.T) {
	r := newRelease(setup{action: releases.ActionUpdate, before: 2147483647})
	r.Spec.Strategy.Type = releases.StrategyBlueGreen
	r.Spec.Strategy.BlueGreen = &releases.BlueGreenStrategy{PreviewReplicas: pct("100%"), ScaleDownDelaySeconds: p32(2147483647)}
	r.Status.Batches = mustBatches(&r.Spec, 2147483647)
	require.True(t, plan.Start(r, at(0)))
	replicas, _ := replicasPartition(t, r)
	assert.Equal(t, int32(2147483647), replicas, "clamped, never negative")
}

func TestBlueGreenFailedSwitchBringsBlueBack(t *testing.T) {
	r := blueGreen(false)
	require.True(t, plan.Start(r, at(0)))
	require.True(t, plan.Smoked(r, at(10)))
	_, err := plan.Act(r, plan.VerbNext, nil, plan.Observation{}, "alice", at(20))
	require.NoError(t, err)
	require.True(t, plan.Smoked(r, at(30)))
	assert.True(t, plan.BlueOut(r))
	require.True(t, plan.Fail(r, plan.Observation{Updated: 4}, "green crashes", at(40)))
	assert.False(t, plan.BlueOut(r))
	assert.True(t, plan.BlueBack(r), "blue serves while the failed switch waits for a person")
	_, err = plan.Act(r, plan.VerbResume, nil, plan.Observation{}, "alice", at(50))
	require.NoError(t, err)
	assert.False(t, plan.BlueBack(r))
	assert.False(t, plan.BlueOut(r), "the retried switch is Smoking: blue serves until green is up again")
	require.True(t, plan.Smoked(r, at(60)))
	assert.True(t, plan.BlueOut(r))
}
