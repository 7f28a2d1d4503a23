package plan_test

// Progress: when a batch counts as Smoked, Baked or Failed, and when an Auto release moves on, for what
// the controller observes of the CloneSet.

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/release/plan"
)

// startedAt is when the current batch started, plus d.
func startedAt(r *releases.Release, d time.Duration) metav1.Time {
	return metav1.NewTime(plan.Current(&r.Status).StartedAt.Add(d))
}

// bakedAt is when the current batch was Baked, plus d.
func bakedAt(r *releases.Release, d time.Duration) metav1.Time {
	return metav1.NewTime(plan.Current(&r.Status).BakedAt.Add(d))
}

func TestProgress(t *testing.T) {
	tutorialAt := func(batch int32, phase releases.BatchPhase) func(t *testing.T) *releases.Release {
		return func(t *testing.T) *releases.Release { return driveTo(t, newRelease(tutorial()), batch, phase) }
	}
	withDeadline := func(t *testing.T) *releases.Release {
		r := newRelease(tutorial())
		r.Spec.Strategy.ProgressDeadlineSeconds = p32(60)
		return driveTo(t, r, 1, releases.BatchSmoking)
	}
	blueGreenSwitch := func(t *testing.T) *releases.Release {
		return driveTo(t, blueGreen(false), 2, releases.BatchBaking)
	}
	up := func(n int32) plan.Observation {
		return plan.Observation{Replicas: 3, Desired: 3, Updated: n, ContainersReady: n, Ready: n}
	}
	failing := []string{"a: container web: CrashLoopBackOff", "b: container web: ErrImagePull",
		"c: container web: CrashLoopBackOff", "d: container web: ImagePullBackOff"}

	for _, c := range []struct {
		name    string
		release func(t *testing.T) *releases.Release
		obs     plan.Observation
		failing []string
		now     func(r *releases.Release) metav1.Time // default: clock(r)

		phase      releases.ReleasePhase
		batch      int32
		batchPhase releases.BatchPhase
		requeue    time.Duration
		reason     string // the last history entry's reason begins with it
	}{
		{name: "a Pending release starts", release: func(*testing.T) *releases.Release { return newRelease(tutorial()) },
			phase: releases.ReleaseProgressing, batch: 1, batchPhase: releases.BatchSmoking},
		{name: "a Smoking batch waits for its pods", release: tutorialAt(1, releases.BatchSmoking), obs: up(0),
			phase: releases.ReleaseProgressing, batch: 1, batchPhase: releases.BatchSmoking},
		{name: "updated pods whose containers are not ready keep it Smoking", release: tutorialAt(1, releases.BatchSmoking),
			obs:   plan.Observation{Replicas: 3, Desired: 3, Updated: 1},
			phase: releases.ReleaseProgressing, batch: 1, batchPhase: releases.BatchSmoking},
		{name: "the canary is Smoked once up, and waits for next", release: tutorialAt(1, releases.BatchSmoking), obs: up(1),
			phase: releases.ReleaseProgressing, batch: 1, batchPhase: releases.BatchSmoked},
		{name: "a batch is pulled in at Smoked and Baked once Ready; Auto looks again at the interval's end",
			release: tutorialAt(2, releases.BatchSmoking), obs: up(2),
			phase: releases.ReleaseProgressing, batch: 2, batchPhase: releases.BatchBaked, requeue: 30*time.Second + 10*time.Millisecond},
		{name: "a Baking batch waits for its pods to be Ready", release: tutorialAt(2, releases.BatchBaking),
			obs:   plan.Observation{Replicas: 3, Desired: 3, Updated: 2, ContainersReady: 2, Ready: 1},
			phase: releases.ReleaseProgressing, batch: 2, batchPhase: releases.BatchBaking},
		{name: "Auto waits for the interval", release: tutorialAt(2, releases.BatchBaked), obs: up(2),
			now:   func(r *releases.Release) metav1.Time { return bakedAt(r, 20*time.Second) },
			phase: releases.ReleaseProgressing, batch: 2, batchPhase: releases.BatchBaked, requeue: 10*time.Second + 10*time.Millisecond},
		{name: "Auto starts the next batch once the interval passed, and looks again within Resync",
			release: tutorialAt(2, releases.BatchBaked), obs: up(2),
			now:   func(r *releases.Release) metav1.Time { return bakedAt(r, 30*time.Second) },
			phase: releases.ReleaseProgressing, batch: 3, batchPhase: releases.BatchSmoking, requeue: plan.Resync},
		{name: "the last batch of an Auto release Baked succeeds", release: tutorialAt(3, releases.BatchSmoking), obs: up(3),
			phase: releases.ReleaseSucceeded, batch: 3, batchPhase: releases.BatchBaked},
		{name: "after a scale-in below the target, the pods the CloneSet is to have are enough",
			release: tutorialAt(2, releases.BatchSmoking),
			obs:     plan.Observation{Replicas: 1, Desired: 1, Updated: 1, ContainersReady: 1, Ready: 1},
			phase:   releases.ReleaseProgressing, batch: 2, batchPhase: releases.BatchBaked, requeue: 30*time.Second + 10*time.Millisecond},
		{name: "more failing pods than tolerated fail a Smoking batch", release: tutorialAt(1, releases.BatchSmoking),
			failing: failing,
			phase:   releases.ReleaseFailed, batch: 1, batchPhase: releases.BatchFailed,
			reason: "batch 1: 4 failing pods, 0 tolerated: a: container web: CrashLoopBackOff; b: container web: ErrImagePull; " +
				"c: container web: CrashLoopBackOff; and 1 more"},
		{name: "failing pods within maxFailedPods do not", release: func(t *testing.T) *releases.Release {
			r := newRelease(tutorial())
			r.Spec.Strategy.MaxFailedPods = n(1)
			return driveTo(t, r, 1, releases.BatchSmoking)
		}, failing: failing[:1],
			phase: releases.ReleaseProgressing, batch: 1, batchPhase: releases.BatchSmoking},
		{name: "a Baked batch whose pod starts failing fails", release: tutorialAt(2, releases.BatchBaked), obs: up(2),
			failing: failing[:1], now: func(r *releases.Release) metav1.Time { return bakedAt(r, 30*time.Second) },
			phase: releases.ReleaseFailed, batch: 2, batchPhase: releases.BatchFailed, reason: "batch 2: 1 failing pods, 0 tolerated"},
		{name: "onFailure Cancel cancels the failed release by itself", release: func(t *testing.T) *releases.Release {
			r := newRelease(tutorial())
			r.Spec.Strategy.OnFailure = releases.FailureCancel
			return driveTo(t, r, 1, releases.BatchSmoking)
		}, failing: failing[:1],
			phase: releases.ReleaseCanceled, batch: 1, batchPhase: releases.BatchFailed, reason: plan.CanceledOnFailure + ": batch 1"},
		{name: "before the progress deadline it looks again by then", release: withDeadline,
			now:   func(r *releases.Release) metav1.Time { return startedAt(r, 57*time.Second) },
			phase: releases.ReleaseProgressing, batch: 1, batchPhase: releases.BatchSmoking, requeue: 3 * time.Second},
		{name: "far from the progress deadline it looks again within Resync", release: withDeadline,
			now:   func(r *releases.Release) metav1.Time { return startedAt(r, 10*time.Second) },
			phase: releases.ReleaseProgressing, batch: 1, batchPhase: releases.BatchSmoking, requeue: plan.Resync},
		{name: "at the progress deadline the release fails", release: withDeadline,
			now:   func(r *releases.Release) metav1.Time { return startedAt(r, 60*time.Second) },
			phase: releases.ReleaseFailed, batch: 1, batchPhase: releases.BatchFailed,
			reason: "batch 1 was not Baked within 60s: 0 of 1 pods Ready"},
		{name: "blue/green: the switch is not Baked while a blue pod is Ready", release: blueGreenSwitch,
			obs:   plan.Observation{Replicas: 8, Desired: 8, Updated: 4, ContainersReady: 4, Ready: 4, Blue: 4, BlueReady: 1},
			phase: releases.ReleaseProgressing, batch: 2, batchPhase: releases.BatchBaking},
		{name: "blue/green: the switch is Baked once no blue pod is Ready; blue goes after its delay", release: blueGreenSwitch,
			obs:   plan.Observation{Replicas: 8, Desired: 8, Updated: 4, ContainersReady: 4, Ready: 4, Blue: 4},
			phase: releases.ReleaseProgressing, batch: 2, batchPhase: releases.BatchBaked, requeue: 30*time.Second + 10*time.Millisecond},
		{name: "blue/green: the switch is not Baked while an EndpointSlice still lists a blue pod as ready",
			release: blueGreenSwitch,
			obs:     plan.Observation{Replicas: 8, Desired: 8, Updated: 4, ContainersReady: 4, Ready: 4, Blue: 4, BlueServing: 1},
			phase:   releases.ReleaseProgressing, batch: 2, batchPhase: releases.BatchBaking},
		{name: "blue/green: blue is not removed after its delay while a blue pod serves again",
			release: func(t *testing.T) *releases.Release { return driveTo(t, blueGreen(false), 2, releases.BatchBaked) },
			obs:     plan.Observation{Replicas: 8, Desired: 8, Updated: 4, ContainersReady: 4, Ready: 4, Blue: 4, BlueServing: 1},
			now:     func(r *releases.Release) metav1.Time { return bakedAt(r, time.Hour) },
			phase:   releases.ReleaseProgressing, batch: 2, batchPhase: releases.BatchBaked, requeue: time.Second},
		{name: "blue/green: blue is removed after its delay once no blue pod serves",
			release: func(t *testing.T) *releases.Release { return driveTo(t, blueGreen(false), 2, releases.BatchBaked) },
			obs:     plan.Observation{Replicas: 8, Desired: 8, Updated: 4, ContainersReady: 4, Ready: 4, Blue: 4},
			now:     func(r *releases.Release) metav1.Time { return bakedAt(r, time.Hour) },
			phase:   releases.ReleaseSucceeded, batch: 2, batchPhase: releases.BatchBaked},
		{name: "a paused release does not move", release: func(t *testing.T) *releases.Release {
			r := driveTo(t, newRelease(tutorial()), 1, releases.BatchSmoking)
			_, err := plan.Act(r, plan.VerbPause, nil, up(0), "alice", clock(r))
			require.NoError(t, err)
			return r
		}, obs: up(1), failing: failing,
			phase: releases.ReleasePaused, batch: 1, batchPhase: releases.BatchSmoking},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := c.release(t)
			now := clock(r)
			if c.now != nil {
				now = c.now(r)
			}
			requeue := plan.Progress(r, c.obs, c.failing, now)
			assert.Equal(t, c.phase, r.Status.Phase, where(r))
			require.Equal(t, c.batch, r.Status.CurrentBatch, where(r))
			assert.Equal(t, c.batchPhase, plan.Current(&r.Status).Phase, where(r))
			assert.Equal(t, c.requeue, requeue)
			if c.reason != "" {
				require.NotEmpty(t, r.Status.History)
				got := r.Status.History[len(r.Status.History)-1].Reason
				assert.True(t, strings.HasPrefix(got, c.reason), "reason %q, want it to begin with %q", got, c.reason)
			}
			if r.Status.Phase != releases.ReleaseCanceled { // canceled on failure: Failed stays True, with why
				checkConditions(t, r, c.name)
			}
		})
	}
}

func TestProgressObservesASpecEdit(t *testing.T) {
	r := driveTo(t, newRelease(tutorial()), 1, releases.BatchSmoking)
	r.Generation = 2
	plan.Progress(r, plan.Observation{}, nil, clock(r))
	assert.Equal(t, int64(2), r.Status.ObservedGeneration)
	for _, c := range r.Status.Conditions {
		assert.Equal(t, int64(2), c.ObservedGeneration, c.Type)
	}
}

func TestFailingSummary(t *testing.T) {
	assert.Equal(t, "a; b; c; and 2 more", plan.FailingSummary([]string{"a", "b", "c", "d", "e"}))
	assert.Equal(t, "a; b; c", plan.FailingSummary([]string{"a", "b", "c"}))
	assert.Equal(t, "", plan.FailingSummary(nil))
}
