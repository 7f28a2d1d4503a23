package plan_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/release/plan"
)

// surging is tenPods (canary 1, then batches of 3: targets 1, 4, 7, 10) with strategy.maxSurge, on a
// CloneSet whose maxSurge was 25% and maxUnavailable 2 before the release.
func surging(maxSurge string) *releases.Release {
	r := newRelease(tenPods())
	v := intstr.Parse(maxSurge)
	r.Spec.Strategy.MaxSurge = &v
	r.Status.CloneSet.MaxSurgeBeforeRelease = pct("25%")
	r.Status.CloneSet.MaxUnavailableBeforeRelease = n(2)
	return r
}

func TestSurgeBringsEachBatchUpBesideTheOldPods(t *testing.T) {
	for _, tt := range []struct {
		maxSurge string
		batch    int32
		phase    releases.BatchPhase
		surge    int32
		waves    bool
	}{
		// The canary comes up whole, whatever the surge: it waits out of traffic for `next`.
		{"50%", 1, releases.BatchSmoking, 1, false},
		{"50%", 1, releases.BatchSmoked, 1, false},
		// Batch 2 changes 3 pods: 50% of them rounded up is 2 at a time, in waves pulled in as they come up.
		{"50%", 2, releases.BatchSmoking, 2, true},
		{"50%", 2, releases.BatchBaking, 2, false},
		// A surge of the whole batch is pulled in as it comes up too: kruise may bring it up in parts.
		{"100%", 2, releases.BatchSmoking, 3, true},
		{"1", 2, releases.BatchSmoking, 1, true},
		{"1%", 2, releases.BatchSmoking, 1, true},
		// More than the batch is the batch.
		{"7", 3, releases.BatchSmoking, 3, true},
	} {
		r := driveTo(t, surging(tt.maxSurge), tt.batch, tt.phase)
		name := tt.maxSurge + " " + where(r)
		assert.True(t, plan.Surges(r), name)
		assert.Equal(t, tt.surge, plan.SurgePods(r), name)
		assert.Equal(t, tt.waves, plan.PullsInWhileSmoking(r), name)
		in := plan.IntentOf(r)
		require.NotNil(t, in.MaxSurge, name)
		assert.Equal(t, intstr.FromInt32(tt.surge), *in.MaxSurge, name)
		require.NotNil(t, in.MaxUnavailable, name)
		assert.Equal(t, intstr.FromInt32(0), *in.MaxUnavailable, name+": no old pod may be unavailable while new ones come up")
	}
}

func TestSurgeIsPutBackAtTheEnd(t *testing.T) {
	done := finish(t, surging("100%"))
	in := plan.IntentOf(done)
	require.NotNil(t, in.MaxSurge)
	assert.Equal(t, intstr.FromString("25%"), *in.MaxSurge)
	assert.Equal(t, intstr.FromInt32(2), *in.MaxUnavailable)

	canceled := driveTo(t, surging("100%"), 2, releases.BatchBaking)
	_, err := plan.Act(canceled, plan.VerbCancel, nil, plan.Observation{}, "alice", clock(canceled))
	require.NoError(t, err)
	in = plan.IntentOf(canceled)
	require.NotNil(t, in.MaxSurge)
	assert.Equal(t, intstr.FromString("25%"), *in.MaxSurge, "a cancel puts the surge from before back at once")
}

func TestNoSurge(t *testing.T) {
	for _, r := range []*releases.Release{newRelease(tenPods()), surging("0%"), surging("0")} {
		r = driveTo(t, r, 2, releases.BatchSmoking)
		assert.False(t, plan.Surges(r))
		assert.Zero(t, plan.SurgePods(r))
		assert.False(t, plan.PullsInWhileSmoking(r))
		in := plan.IntentOf(r)
		assert.Nil(t, in.MaxSurge, "the CloneSet's maxSurge is left alone")
		assert.Equal(t, intstr.FromInt32(3), *in.MaxUnavailable)
	}
	// Create and Scale never surge (validation refuses it too).
	scale := newRelease(setup{action: releases.ActionScale, before: 2, replicas: p32(6), batchSize: n(2)})
	scale.Spec.Strategy.MaxSurge = pct("100%")
	scale = driveTo(t, scale, 1, releases.BatchSmoking)
	assert.False(t, plan.Surges(scale))
	assert.Nil(t, plan.IntentOf(scale).MaxSurge)
}

// A surging batch's old pods leave only after its new ones are Ready: the batch is Baked (and a release
// ends, letting kruise delete them at once) only once they are gone, and `next` says what it waits for.
func TestASurgingBatchIsBakedOnceTheOldPodsHaveLeft(t *testing.T) {
	r := driveTo(t, surging("100%"), 2, releases.BatchBaking)
	target := r.Status.Batches[1].Target
	leaving := plan.Observation{Desired: 10, Alive: 13, Updated: target, ContainersReady: target, Ready: target}
	assert.Equal(t, int32(3), plan.OldPodsLeaving(r, leaving))
	plan.Progress(r, leaving, nil, clock(r))
	assert.Equal(t, releases.BatchBaking, r.Status.Batches[1].Phase, "3 old pods are still leaving traffic")
	_, err := plan.Act(r, plan.VerbNext, nil, leaving, "alice", clock(r))
	requireRefusal(t, err, "batch 2 is Baking: 4 of 4 pods Ready, 3 old pods still leaving traffic")

	gone := leaving
	gone.Alive = 10
	plan.Progress(r, gone, nil, clock(r))
	assert.Equal(t, releases.BatchBaked, r.Status.Batches[1].Phase)

	plain := driveTo(t, newRelease(tenPods()), 2, releases.BatchBaking)
	assert.Zero(t, plan.OldPodsLeaving(plain, leaving), "a release that does not surge has no old pods of its own leaving")
	plan.Progress(plain, leaving, nil, clock(plain))
	assert.Equal(t, releases.BatchBaked, plain.Status.Batches[1].Phase)
}
