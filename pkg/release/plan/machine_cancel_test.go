package plan_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/release/plan"
)

func TestCancel(t *testing.T) {
	paused := func(t *testing.T) *releases.Release {
		r := driveTo(t, newRelease(tutorial()), 2, releases.BatchSmoking)
		_, err := plan.Act(r, plan.VerbPause, nil, plan.Observation{Updated: 1}, "bob", clock(r))
		require.NoError(t, err)
		return r
	}
	failed := func(t *testing.T) *releases.Release {
		r := driveTo(t, newRelease(tutorial()), 2, releases.BatchBaking)
		require.True(t, plan.Fail(r, plan.Observation{Updated: 2}, "crash loop", clock(r)))
		return r
	}
	tests := []struct {
		name      string
		release   func(t *testing.T) *releases.Release
		fromPhase string
	}{
		{"pending", func(t *testing.T) *releases.Release { return newRelease(tutorial()) }, "Pending"},
		{"canary smoked", func(t *testing.T) *releases.Release {
			return driveTo(t, newRelease(tutorial()), 1, releases.BatchSmoked)
		}, "Progressing/Smoked"},
		{"batch 2 baked", func(t *testing.T) *releases.Release {
			return driveTo(t, newRelease(tutorial()), 2, releases.BatchBaked)
		}, "Progressing/Baked"},
		{"paused", paused, "Paused/Smoking"},
		{"failed", failed, "Failed/Failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.release(t)
			batch := r.Status.CurrentBatch
			changed, err := plan.Act(r, plan.VerbCancel, &releases.ReleaseRequest{Reason: "abort"}, plan.Observation{}, "bob", at(9000))
			require.NoError(t, err)
			require.True(t, changed)
			assert.Equal(t, releases.ReleaseCanceled, r.Status.Phase)
			for _, typ := range []string{releases.ConditionAwaitingNext, releases.ConditionPaused, releases.ConditionFailed, releases.ConditionComplete} {
				assert.Equal(t, metav1.ConditionFalse, condition(t, r, typ).Status, typ)
			}
			in := plan.IntentOf(r)
			if batch == 0 {
				assert.Equal(t, plan.Intent{}, in, "a release canceled before it started leaves the CloneSet alone")
				assert.Equal(t, metav1.ConditionTrue, condition(t, r, releases.ConditionReverted).Status, "nothing to drain")
				assert.False(t, plan.Reverting(r))
			} else {
				assert.Equal(t, metav1.ConditionFalse, condition(t, r, releases.ConditionReverted).Status, "its pods leave traffic first")
				assert.True(t, plan.Reverting(r))
				assert.Equal(t, plan.Intent{Touch: true, Template: plan.TemplateBefore, Partition: p32(0), Owned: true,
					MaxUnavailable: iu(max(plan.EffectiveTarget(&r.Status), 1))}, in,
					"the CloneSet goes back to the revision before, unpaused, but keeps the owner annotation (and hooks) while its pods leave traffic")
				plan.MarkReverted(r, at(9001))
				assert.False(t, plan.Reverting(r))
				assert.Equal(t, plan.Intent{Touch: true, Template: plan.TemplateBefore, Partition: p32(0)}, plan.IntentOf(r),
					"once reverted, without the owner annotation")
				plan.SetConditions(r, at(9002))
				assert.Equal(t, metav1.ConditionTrue, condition(t, r, releases.ConditionReverted).Status, "deriving the conditions again keeps Reverted")
			}
			last := r.Status.History[len(r.Status.History)-1]
			toPhase := "Canceled"
			if batch > 0 {
				toPhase += "/" + string(plan.Current(&r.Status).Phase)
			}
			assert.Equal(t, releases.ReleaseHistoryEntry{
				Action: "cancel", User: "bob", Time: at(9000), FromBatch: batch, ToBatch: batch,
				FromPhase: tt.fromPhase, ToPhase: toPhase, Reason: "abort",
			}, last)

			// Nothing moves a canceled release.
			for name, e := range map[string]event{"start": start(9100), "smoked": smoked(9100), "baked": baked(9100),
				"advance": advance(100000), "fail": fail(9100, plan.Observation{}, "x")} {
				snapshot := r.DeepCopy()
				changed, _ := e(r)
				assert.False(t, changed, name)
				assert.Equal(t, snapshot, r, name)
			}
		})
	}
}
