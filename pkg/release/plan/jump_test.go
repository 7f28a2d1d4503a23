package plan_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/release/plan"
)

// tenPods is an Update of 10 pods: canary 1, then batches of 3 (targets 1, 4, 7, 10), Manual.
func tenPods() setup {
	return setup{action: releases.ActionUpdate, before: 10, canary: 1, batchSize: n(3)}
}

func toBatch(to int32) *releases.ReleaseRequest { return &releases.ReleaseRequest{ToBatch: p32(to)} }

func phases(r *releases.Release) []releases.BatchPhase {
	var out []releases.BatchPhase
	for _, b := range r.Status.Batches {
		out = append(out, b.Phase)
	}
	return out
}

func TestNextToBatchSkipsTheBatchesBetween(t *testing.T) {
	r := driveTo(t, newRelease(tenPods()), 1, releases.BatchSmoked)
	history := len(r.Status.History)
	req := toBatch(3)
	req.Reason = "canary looks good, go to 70%"

	changed, err := plan.Act(r, plan.VerbNext, req, plan.Observation{}, "alice", at(5000))
	require.NoError(t, err)
	require.True(t, changed)

	assert.Equal(t, releases.ReleaseProgressing, r.Status.Phase)
	assert.Equal(t, int32(3), r.Status.CurrentBatch)
	assert.Equal(t, []releases.BatchPhase{releases.BatchSkipped, releases.BatchSkipped, releases.BatchSmoking, releases.BatchPending}, phases(r))
	assert.False(t, r.Status.Promoted, "batch 3 is not the last")
	// Batch 3's target takes the pods of the batches skipped, and no more: partition 10 - 7.
	in := plan.IntentOf(r)
	require.NotNil(t, in.Partition)
	assert.Equal(t, int32(3), *in.Partition)
	require.NotNil(t, in.Updated)
	assert.Equal(t, int32(7), *in.Updated)
	// The canary was never pulled in: kruise may have all 7 pods out of traffic at once, or it would wait
	// for the canary to become Ready before it updates the rest.
	require.NotNil(t, in.MaxUnavailable)
	assert.Equal(t, intstr.FromInt32(7), *in.MaxUnavailable)

	added := r.Status.History[history:]
	require.Len(t, added, 2, "one entry for the batches skipped, then the next")
	assert.Equal(t, releases.ReleaseHistoryEntry{Action: "skip", User: "alice", Time: at(5000), FromBatch: 1, ToBatch: 2,
		FromPhase: "Progressing/Smoked", ToPhase: "Progressing/Skipped", Reason: req.Reason}, added[0])
	assert.Equal(t, releases.ReleaseHistoryEntry{Action: "next", User: "alice", Time: at(5000), FromBatch: 1, ToBatch: 3,
		FromPhase: "Progressing/Smoked", ToPhase: "Progressing/Smoking", Reason: req.Reason}, added[1])
	assert.Equal(t, "batches 1-2: Progressing/Smoked -> Progressing/Skipped by alice: canary looks good, go to 70%", plan.Describe(added[0]))

	// Batch 3 is not the canary: pulled in as soon as it is Smoked; Baked, it waits for `next` (Manual).
	require.True(t, plan.Smoked(r, at(5010)))
	assert.Equal(t, releases.BatchBaking, plan.Current(&r.Status).Phase)
	require.True(t, plan.Baked(r, at(5020)))
	assert.Equal(t, releases.ReleaseProgressing, r.Status.Phase)
	awaiting, why := plan.AwaitingNext(r)
	assert.True(t, awaiting)
	assert.Contains(t, why, "`next` starts batch 4")
}

func TestNextToBatchKeepsBakedBatchesBaked(t *testing.T) {
	r := driveTo(t, newRelease(tenPods()), 2, releases.BatchBaked)
	history := len(r.Status.History)
	_, err := plan.Act(r, plan.VerbNext, toBatch(4), plan.Observation{}, "alice", at(5000))
	require.NoError(t, err)
	assert.Equal(t, []releases.BatchPhase{releases.BatchBaked, releases.BatchBaked, releases.BatchSkipped, releases.BatchSmoking}, phases(r))
	assert.Equal(t, intstr.FromInt32(6), *plan.IntentOf(r).MaxUnavailable, "the pods of batches 3 and 4, since batch 2 Baked")
	added := r.Status.History[history:]
	require.Len(t, added, 2)
	assert.Equal(t, "skip", added[0].Action)
	assert.Equal(t, int32(3), added[0].FromBatch)
	assert.Equal(t, int32(3), added[0].ToBatch, "batch 3 alone was skipped")
	assert.Equal(t, "batch 3: Progressing/Pending -> Progressing/Skipped by alice", plan.Describe(added[0]))
	assert.Equal(t, "next", added[1].Action)
	assert.Equal(t, int32(2), added[1].FromBatch)
	assert.Equal(t, int32(4), added[1].ToBatch)
}

func TestNextToTheLastBatchPromotesFully(t *testing.T) {
	r := driveTo(t, newRelease(tenPods()), 1, releases.BatchBaked)
	_, err := plan.Act(r, plan.VerbNext, toBatch(4), plan.Observation{}, "alice", at(5000))
	require.NoError(t, err)
	assert.True(t, r.Status.Promoted)
	in := plan.IntentOf(r)
	assert.Equal(t, int32(0), *in.Partition, "every pod may be updated")

	require.True(t, plan.Smoked(r, at(5010)))
	require.True(t, plan.Baked(r, at(5020)))
	// Manual mode, yet no further `next`: the release was promoted fully.
	assert.Equal(t, releases.ReleaseSucceeded, r.Status.Phase)
	assert.Equal(t, metav1.ConditionTrue, condition(t, r, releases.ConditionComplete).Status)
	assert.False(t, plan.IntentOf(r).Owned, "the release lets go of its CloneSet")
	checkConditions(t, r)
}

func TestNextToTheLastBatchFromTheLastBatchPromotesFully(t *testing.T) {
	r := driveTo(t, newRelease(setup{action: releases.ActionUpdate, before: 2, canary: 1, batchSize: n(1)}), 2, releases.BatchBaking)
	require.True(t, plan.Baked(r, at(5000)))
	awaiting, _ := plan.AwaitingNext(r)
	require.True(t, awaiting, "Manual: the last Baked batch waits for `next`")
	_, err := plan.Act(r, plan.VerbNext, toBatch(2), plan.Observation{}, "alice", at(5010))
	require.NoError(t, err)
	assert.Equal(t, releases.ReleaseSucceeded, r.Status.Phase)
	assert.True(t, r.Status.Promoted)

	// A plan of one canary batch: promoting it fully pulls it in, and it succeeds once Baked.
	c := driveTo(t, newRelease(setup{action: releases.ActionUpdate, before: 1, canary: 1}), 1, releases.BatchSmoked)
	_, err = plan.Act(c, plan.VerbNext, toBatch(1), plan.Observation{}, "alice", at(6000))
	require.NoError(t, err)
	assert.Equal(t, releases.BatchBaking, plan.Current(&c.Status).Phase)
	require.True(t, plan.Baked(c, at(6010)))
	assert.Equal(t, releases.ReleaseSucceeded, c.Status.Phase)
}

func TestNextToBatchIsExactlyOnce(t *testing.T) {
	r := driveTo(t, newRelease(tenPods()), 1, releases.BatchSmoked)
	req := toBatch(3)
	req.ExpectedBatch = p32(1)
	_, err := plan.Act(r, plan.VerbNext, req, plan.Observation{}, "alice", at(5000))
	require.NoError(t, err)
	after := r.DeepCopy()
	_, err = plan.Act(r, plan.VerbNext, req, plan.Observation{}, "bob", at(5001))
	requireRefusal(t, err, "expected batch 1, but the current batch is 3")
	assert.Equal(t, after, r, "the second call changes nothing")
}

func TestOnFailureCancelCancelsTheReleaseItself(t *testing.T) {
	s := tenPods()
	r := newRelease(s)
	r.Spec.Strategy.OnFailure = releases.FailureCancel
	r = driveTo(t, r, 2, releases.BatchBaking)
	history := len(r.Status.History)

	require.True(t, plan.Fail(r, plan.Observation{Replicas: 10, Updated: 4, ContainersReady: 3}, "batch 2: 1 failing pods, 0 tolerated: demo-x CrashLoopBackOff", at(7000)))

	assert.Equal(t, releases.ReleaseCanceled, r.Status.Phase)
	added := r.Status.History[history:]
	require.Len(t, added, 2, "the failure, then the cancel")
	assert.Equal(t, "fail", added[0].Action)
	assert.Equal(t, releases.ReleaseHistoryEntry{Action: "cancel", User: plan.ControllerUser, Time: at(7000), FromBatch: 2, ToBatch: 2,
		FromPhase: "Failed/Failed", ToPhase: "Canceled/Failed",
		Reason: "onFailure is Cancel: batch 2: 1 failing pods, 0 tolerated: demo-x CrashLoopBackOff"}, added[1])

	failed := condition(t, r, releases.ConditionFailed)
	assert.Equal(t, metav1.ConditionTrue, failed.Status, "a pipeline waiting for Failed learns of it")
	assert.Equal(t, "CanceledOnFailure", failed.Reason)
	assert.Equal(t, "batch 2: 1 failing pods, 0 tolerated: demo-x CrashLoopBackOff", failed.Message)
	reverted := condition(t, r, releases.ConditionReverted)
	assert.Equal(t, metav1.ConditionFalse, reverted.Status, "traffic leaves first, as for cancel")
	assert.Equal(t, metav1.ConditionFalse, condition(t, r, releases.ConditionComplete).Status)

	// The CloneSet goes back, as for a caller's cancel: the template before, every pod, held until drained.
	in := plan.IntentOf(r)
	assert.Equal(t, plan.TemplateBefore, in.Template)
	assert.Equal(t, int32(0), *in.Partition)
	assert.False(t, in.Paused)
	assert.True(t, in.Owned)
}

func TestOnFailurePauseWaitsForAPerson(t *testing.T) {
	r := driveTo(t, newRelease(tenPods()), 2, releases.BatchBaking)
	require.True(t, plan.Fail(r, plan.Observation{Replicas: 10, Updated: 4}, "deadline", at(7000)))
	assert.Equal(t, releases.ReleaseFailed, r.Status.Phase)
	assert.True(t, plan.IntentOf(r).Paused)

	// A person's cancel afterwards is a cancel, not a failure: Failed goes False.
	_, err := plan.Act(r, plan.VerbCancel, nil, plan.Observation{}, "alice", at(7100))
	require.NoError(t, err)
	assert.Equal(t, metav1.ConditionFalse, condition(t, r, releases.ConditionFailed).Status)
	checkConditions(t, r)
}
