package plan_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/release/plan"
)

// TestRefusals is every call the machine must refuse, with what it answers: a plan.Refusal (409) with its
// message, or a plan.Invalid (422) on toBatch. A refused call changes nothing, not even the history.
func TestRefusals(t *testing.T) {
	// The Update of 10 pods (tenPods), at the places a `next` with toBatch is refused.
	tenSmoking := func(t *testing.T) *releases.Release {
		return driveTo(t, newRelease(tenPods()), 2, releases.BatchSmoking)
	}
	tenSmoked := func(t *testing.T) *releases.Release {
		return driveTo(t, newRelease(tenPods()), 1, releases.BatchSmoked)
	}
	tenPaused := func(t *testing.T) *releases.Release {
		r := tenSmoked(t)
		_, err := plan.Act(r, plan.VerbPause, nil, plan.Observation{}, "bob", clock(r))
		require.NoError(t, err)
		return r
	}
	tenBaked := func(t *testing.T) *releases.Release { return driveTo(t, newRelease(tenPods()), 3, releases.BatchBaked) }

	tests := []struct {
		name    string
		release func(t *testing.T) *releases.Release
		verb    plan.Verb
		req     *releases.ReleaseRequest
		obs     plan.Observation
		user    string // alice when empty
		sec     int    // when the call comes, in seconds after t0: 100000 when 0
		refusal string // 409: a plan.Refusal with this message
		invalid string // 422: a plan.Invalid on toBatch with this message
	}{
		{
			name: "next: batch still Smoking: says how many pods are ready",
			verb: plan.VerbNext,
			release: func(t *testing.T) *releases.Release {
				return driveTo(t, newRelease(tutorial()), 2, releases.BatchSmoking)
			},
			obs:     plan.Observation{Replicas: 3, Updated: 2, ContainersReady: 1, Ready: 1},
			refusal: "batch 2 is Smoking: 1 of 2 pods ready to take traffic",
		},
		{
			name: "next: Smoking: counts beyond the batch's target are capped",
			verb: plan.VerbNext,
			release: func(t *testing.T) *releases.Release {
				return driveTo(t, newRelease(tutorial()), 2, releases.BatchSmoking)
			},
			obs:     plan.Observation{Replicas: 4, Updated: 3, ContainersReady: 3, Ready: 1},
			refusal: "batch 2 is Smoking: 2 of 2 pods ready to take traffic",
		},
		{
			name: "next: canary Smoking",
			verb: plan.VerbNext,
			release: func(t *testing.T) *releases.Release {
				return driveTo(t, newRelease(tutorial()), 1, releases.BatchSmoking)
			},
			obs:     plan.Observation{Replicas: 3, Updated: 1},
			refusal: "batch 1 is Smoking: 0 of 1 pods ready to take traffic",
		},
		{
			name: "next: batch still Baking: says how many pods are Ready",
			verb: plan.VerbNext,
			release: func(t *testing.T) *releases.Release {
				return driveTo(t, newRelease(tutorial()), 1, releases.BatchBaking)
			},
			obs:     plan.Observation{Replicas: 3, Updated: 1, ContainersReady: 1, Ready: 0},
			refusal: "batch 1 is Baking: 0 of 1 pods Ready",
		},
		{
			name: "next: Baking batch of a larger release",
			verb: plan.VerbNext,
			release: func(t *testing.T) *releases.Release {
				return driveTo(t, newRelease(setup{action: releases.ActionUpdate, before: 10, canary: 1, batchSize: pct("50%")}), 2, releases.BatchBaking)
			},
			obs:     plan.Observation{Replicas: 10, Updated: 6, ContainersReady: 6, Ready: 4},
			refusal: "batch 2 is Baking: 4 of 6 pods Ready",
		},
		{
			name: "next: Baking: counts beyond the batch's target are capped",
			verb: plan.VerbNext,
			release: func(t *testing.T) *releases.Release {
				return driveTo(t, newRelease(tutorial()), 2, releases.BatchBaking)
			},
			obs:     plan.Observation{Replicas: 4, Updated: 3, ContainersReady: 3, Ready: 3},
			refusal: "batch 2 is Baking: 2 of 2 pods Ready",
		},
		{
			name: "next: paused",
			verb: plan.VerbNext,
			release: func(t *testing.T) *releases.Release {
				r := driveTo(t, newRelease(tutorial()), 1, releases.BatchSmoked)
				_, err := plan.Act(r, plan.VerbPause, nil, plan.Observation{Updated: 1}, "bob", clock(r))
				require.NoError(t, err)
				return r
			},
			refusal: "the release is paused; `resume` it first",
		},
		{
			name:    "next: pending",
			verb:    plan.VerbNext,
			release: func(t *testing.T) *releases.Release { return newRelease(tutorial()) },
			refusal: "the release has not started yet",
		},
		{
			name:    "next: succeeded",
			verb:    plan.VerbNext,
			release: func(t *testing.T) *releases.Release { return finish(t, newRelease(tutorial())) },
			refusal: "the release is Succeeded",
		},
		{
			name: "next: canceled",
			verb: plan.VerbNext,
			release: func(t *testing.T) *releases.Release {
				r := driveTo(t, newRelease(tutorial()), 2, releases.BatchBaked)
				_, err := plan.Act(r, plan.VerbCancel, nil, plan.Observation{}, "bob", clock(r))
				require.NoError(t, err)
				return r
			},
			refusal: "the release is Canceled",
		},
		{
			name: "next: failed",
			verb: plan.VerbNext,
			release: func(t *testing.T) *releases.Release {
				r := driveTo(t, newRelease(tutorial()), 2, releases.BatchBaking)
				require.True(t, plan.Fail(r, plan.Observation{Updated: 2}, "crash loop", clock(r)))
				return r
			},
			refusal: "the release failed; `resume` retries batch 2",
		},
		{
			name: "next: expectedBatch is not the current batch",
			verb: plan.VerbNext,
			release: func(t *testing.T) *releases.Release {
				return driveTo(t, newRelease(tutorial()), 1, releases.BatchBaked)
			},
			req:     &releases.ReleaseRequest{ExpectedBatch: p32(2)},
			refusal: "expected batch 2, but the current batch is 1",
		},
		{
			name:    "next: expectedBatch on a release that has not started",
			verb:    plan.VerbNext,
			release: func(t *testing.T) *releases.Release { return newRelease(tutorial()) },
			req:     &releases.ReleaseRequest{ExpectedBatch: p32(1)},
			refusal: "expected batch 1, but the current batch is 0",
		},
		{
			name: "next: expectedPhase is not the current batch's phase",
			verb: plan.VerbNext,
			release: func(t *testing.T) *releases.Release {
				return driveTo(t, newRelease(tutorial()), 2, releases.BatchSmoking)
			},
			req:     &releases.ReleaseRequest{ExpectedPhase: releases.BatchBaked},
			refusal: "expected batch 2 to be Baked, but it is Smoking",
		},
		{
			name: "next: right batch, wrong phase: a stale pull-in does not start the next batch",
			verb: plan.VerbNext,
			release: func(t *testing.T) *releases.Release {
				return driveTo(t, newRelease(tutorial()), 1, releases.BatchBaked)
			},
			req:     &releases.ReleaseRequest{ExpectedBatch: p32(1), ExpectedPhase: releases.BatchSmoked, Reason: "pull in the canary"},
			refusal: "expected batch 1 to be Smoked, but it is Baked",
		},
		{
			name:    "next: expectedPhase on a release that has not started",
			verb:    plan.VerbNext,
			release: func(t *testing.T) *releases.Release { return newRelease(tutorial()) },
			req:     &releases.ReleaseRequest{ExpectedPhase: releases.BatchSmoked},
			refusal: "expected batch phase Smoked, but the release has not started",
		},
		{
			name:    "next: expectations are checked before the phase",
			verb:    plan.VerbNext,
			release: func(t *testing.T) *releases.Release { return finish(t, newRelease(tutorial())) },
			req:     &releases.ReleaseRequest{ExpectedBatch: p32(2)},
			refusal: "expected batch 2, but the current batch is 3",
		},
		{
			name: "an unknown verb",
			release: func(t *testing.T) *releases.Release {
				return driveTo(t, newRelease(tutorial()), 1, releases.BatchSmoked)
			},
			verb: plan.Verb("promote"), sec: 1000,
			refusal: `unknown action "promote"`,
		},

		// pause, resume and cancel on a finished release, and pause on a failed one.
		{name: "pause: succeeded", release: succeededTutorial, verb: plan.VerbPause, obs: plan.Observation{Updated: 1}, user: "bob", refusal: "the release is Succeeded"},
		{name: "pause: canceled", release: canceledTutorial, verb: plan.VerbPause, obs: plan.Observation{Updated: 1}, user: "bob", refusal: "the release is Canceled"},
		{name: "pause: failed", release: failedTutorial, verb: plan.VerbPause, obs: plan.Observation{Updated: 1}, user: "bob", refusal: "the release is Failed"},
		{name: "resume: succeeded", release: succeededTutorial, verb: plan.VerbResume, user: "bob", refusal: "the release is Succeeded"},
		{name: "resume: canceled", release: canceledTutorial, verb: plan.VerbResume, user: "bob", refusal: "the release is Canceled"},
		{name: "cancel: succeeded", release: succeededTutorial, verb: plan.VerbCancel, user: "bob", refusal: "the release is Succeeded"},
		{name: "cancel: canceled", release: canceledTutorial, verb: plan.VerbCancel, user: "bob", refusal: "the release is Canceled"},

		// toBatch.
		{name: "next toBatch: a batch still Smoking", release: tenSmoking, verb: plan.VerbNext, req: toBatch(4), sec: 9000,
			refusal: "batch 2 is Smoking: 0 of 4 pods ready to take traffic"},
		{name: "next toBatch: the current batch", release: tenSmoked, verb: plan.VerbNext, req: toBatch(1), sec: 9000,
			refusal: "the release is at batch 1 already: toBatch must be a later batch (plain `next` moves this one on)"},
		{name: "next toBatch: an earlier batch", release: tenBaked, verb: plan.VerbNext, req: toBatch(2), sec: 9000,
			refusal: "the release is at batch 3 already: toBatch must be a later batch (plain `next` moves this one on)"},
		{name: "next toBatch: paused", release: tenPaused, verb: plan.VerbNext, req: toBatch(3), sec: 9000, refusal: "the release is paused; `resume` it first"},
		{name: "next toBatch: beyond the plan", release: tenSmoked, verb: plan.VerbNext, req: toBatch(5), sec: 9000, invalid: "toBatch: the release has 4 batches"},
		{name: "pause toBatch", release: tenSmoked, verb: plan.VerbPause, req: toBatch(3), sec: 9000, invalid: "toBatch: only `next` moves to a batch, not `pause`"},
		{name: "cancel toBatch", release: tenSmoked, verb: plan.VerbCancel, req: toBatch(3), sec: 9000, invalid: "toBatch: only `next` moves to a batch, not `cancel`"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.release(t)
			before := r.DeepCopy()
			user, sec := tt.user, tt.sec
			if user == "" {
				user = "alice"
			}
			if sec == 0 {
				sec = 100000
			}
			changed, err := plan.Act(r, tt.verb, tt.req, tt.obs, user, at(sec))
			if tt.invalid != "" {
				var invalid *plan.Invalid
				require.ErrorAs(t, err, &invalid)
				assert.Equal(t, "toBatch", invalid.Field)
				assert.Equal(t, tt.invalid, err.Error())
			} else {
				requireRefusal(t, err, tt.refusal)
			}
			assert.False(t, changed)
			assert.Equal(t, before, r, "a refused call changes nothing, not even the history")
		})
	}
}
