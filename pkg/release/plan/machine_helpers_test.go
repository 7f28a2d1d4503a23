package plan_test

// The tests of the release phase machine (machine.go), one file per verb, the controller's events, the
// history and conditions, and every refusal in one table; these are the helpers they share.

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/release/plan"
)

// ---- building releases ----

var t0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// at is t0 plus sec seconds.
func at(sec int) metav1.Time { return metav1.NewTime(t0.Add(time.Duration(sec) * time.Second)) }

func p32(v int32) *int32 { return &v }

func n(v int) *intstr.IntOrString {
	s := intstr.FromInt32(int32(v))
	return &s
}

func pct(s string) *intstr.IntOrString {
	v := intstr.FromString(s)
	return &v
}

// setup describes a release as a user would write it, plus the size of its CloneSet before the release.
type setup struct {
	action       releases.ReleaseAction
	before       int32  // the CloneSet's replicas before the release
	replicas     *int32 // spec.replicas (Create, Scale)
	podsToDelete []string
	canary       int32
	batchSize    *intstr.IntOrString
	mode         releases.ReleaseMode
	interval     int32
	noPullIn     bool
}

// newRelease is a release as the API server stores it on create: Pending, with its plan computed by
// plan.Batches and the CloneSet's size before the release recorded.
func newRelease(s setup) *releases.Release {
	mode := s.mode
	if mode == "" {
		mode = releases.ModeManual
	}
	r := &releases.Release{
		ObjectMeta: metav1.ObjectMeta{Name: "demo-release", Namespace: "default", Generation: 1},
		Spec: releases.ReleaseSpec{
			CloneSetName: "demo",
			Action:       s.action,
			Replicas:     s.replicas,
			PodsToDelete: s.podsToDelete,
			Strategy: releases.ReleaseStrategy{
				Canary:               s.canary,
				BatchSize:            s.batchSize,
				Mode:                 mode,
				BatchIntervalSeconds: s.interval,
				NoPullIn:             s.noPullIn,
			},
		},
	}
	r.Status = releases.ReleaseStatus{
		Phase:   releases.ReleasePending,
		Batches: mustBatches(&r.Spec, s.before),
		CloneSet: &releases.CloneSetObservation{
			RevisionBeforeRelease: "demo-v1",
			Replicas:              s.before,
			ReplicasBeforeRelease: p32(s.before),
		},
	}
	return r
}

// tutorial is the original Triton tutorial: an Update of 3 replicas, canary 1, batchSize 1, Auto.
func tutorial() setup {
	return setup{action: releases.ActionUpdate, before: 3, canary: 1, batchSize: n(1), mode: releases.ModeAuto, interval: 30}
}

// clock is a time after everything the release has recorded so far.
func clock(r *releases.Release) metav1.Time { return at(10 * (len(r.Status.History) + 1)) }

// driveTo walks r forward with the controller events and `next` until its current batch is batch in the
// given phase.
func driveTo(t *testing.T, r *releases.Release, batch int32, phase releases.BatchPhase) *releases.Release {
	t.Helper()
	for i := 0; i < 200; i++ {
		c := plan.Current(&r.Status)
		if r.Status.Phase == releases.ReleaseProgressing && c != nil && r.Status.CurrentBatch == batch && c.Phase == phase {
			return r
		}
		require.True(t, stepForward(t, r, clock(r)), "cannot reach batch %d %s from %s", batch, phase, where(r))
	}
	t.Fatalf("did not reach batch %d %s", batch, phase)
	return nil
}

// finish walks r until it has Succeeded.
func finish(t *testing.T, r *releases.Release) *releases.Release {
	t.Helper()
	for i := 0; i < 200 && r.Status.Phase != releases.ReleaseSucceeded; i++ {
		require.True(t, stepForward(t, r, clock(r)), "stuck at %s", where(r))
	}
	require.Equal(t, releases.ReleaseSucceeded, r.Status.Phase)
	return r
}

func stepForward(t *testing.T, r *releases.Release, now metav1.Time) bool {
	t.Helper()
	if r.Status.Phase == releases.ReleasePending {
		return plan.Start(r, now)
	}
	if r.Status.Phase != releases.ReleaseProgressing {
		return false
	}
	switch plan.Current(&r.Status).Phase {
	case releases.BatchSmoking:
		return plan.Smoked(r, now)
	case releases.BatchBaking:
		return plan.Baked(r, now)
	case releases.BatchSmoked, releases.BatchBaked:
		changed, err := plan.Act(r, plan.VerbNext, nil, plan.Observation{}, "driver", now)
		require.NoError(t, err)
		return changed
	}
	return false
}

func where(r *releases.Release) string {
	if c := plan.Current(&r.Status); c != nil {
		return fmt.Sprintf("%s batch %d/%s", r.Status.Phase, r.Status.CurrentBatch, c.Phase)
	}
	return string(r.Status.Phase)
}

func condition(t *testing.T, r *releases.Release, typ string) metav1.Condition {
	t.Helper()
	c := meta.FindStatusCondition(r.Status.Conditions, typ)
	require.NotNil(t, c, "condition %s is missing", typ)
	return *c
}

// checkConditions asserts the conditions agree with the phases, as `kubectl wait` users rely on.
func checkConditions(t *testing.T, r *releases.Release, msgAndArgs ...interface{}) {
	t.Helper()
	is := func(typ string, want bool) {
		t.Helper()
		status := metav1.ConditionFalse
		if want {
			status = metav1.ConditionTrue
		}
		assert.Equal(t, status, condition(t, r, typ).Status, "condition %s %s", typ, fmt.Sprint(msgAndArgs...))
	}
	is(releases.ConditionPaused, r.Status.Phase == releases.ReleasePaused)
	is(releases.ConditionFailed, r.Status.Phase == releases.ReleaseFailed)
	is(releases.ConditionComplete, r.Status.Phase == releases.ReleaseSucceeded)
	if meta.IsStatusConditionTrue(r.Status.Conditions, releases.ConditionAwaitingNext) {
		c := plan.Current(&r.Status)
		require.NotNil(t, c)
		assert.Equal(t, releases.ReleaseProgressing, r.Status.Phase, msgAndArgs...)
		assert.Contains(t, []releases.BatchPhase{releases.BatchSmoked, releases.BatchBaked}, c.Phase, msgAndArgs...)
	}
}

func requireRefusal(t *testing.T, err error, message string, msgAndArgs ...interface{}) {
	t.Helper()
	var refusal *plan.Refusal
	require.ErrorAs(t, err, &refusal, msgAndArgs...)
	assert.Equal(t, message, refusal.Message, msgAndArgs...)
	assert.Equal(t, message, err.Error(), msgAndArgs...)
}

// ---- events ----

type event func(r *releases.Release) (bool, error)

func start(sec int) event {
	return func(r *releases.Release) (bool, error) { return plan.Start(r, at(sec)), nil }
}

func smoked(sec int) event {
	return func(r *releases.Release) (bool, error) { return plan.Smoked(r, at(sec)), nil }
}

func baked(sec int) event {
	return func(r *releases.Release) (bool, error) { return plan.Baked(r, at(sec)), nil }
}

func advance(sec int) event {
	return func(r *releases.Release) (bool, error) { return plan.Advance(r, at(sec)), nil }
}

func fail(sec int, obs plan.Observation, reason string) event {
	return func(r *releases.Release) (bool, error) { return plan.Fail(r, obs, reason, at(sec)), nil }
}

func act(sec int, verb plan.Verb, req *releases.ReleaseRequest, obs plan.Observation) event {
	return func(r *releases.Release) (bool, error) { return plan.Act(r, verb, req, obs, "alice", at(sec)) }
}

func next(sec int) event { return act(sec, plan.VerbNext, nil, plan.Observation{}) }

type named struct {
	name    string
	release *releases.Release
}

// succeededTutorial is the tutorial's release run to its end.
func succeededTutorial(t *testing.T) *releases.Release {
	t.Helper()
	return finish(t, newRelease(tutorial()))
}

// canceledTutorial is the tutorial's release canceled while batch 2 is Smoking.
func canceledTutorial(t *testing.T) *releases.Release {
	t.Helper()
	r := driveTo(t, newRelease(tutorial()), 2, releases.BatchSmoking)
	_, err := plan.Act(r, plan.VerbCancel, nil, plan.Observation{}, "bob", clock(r))
	require.NoError(t, err)
	return r
}

// failedTutorial is the tutorial's release failed while batch 2 is Smoking.
func failedTutorial(t *testing.T) *releases.Release {
	t.Helper()
	r := driveTo(t, newRelease(tutorial()), 2, releases.BatchSmoking)
	require.True(t, plan.Fail(r, plan.Observation{Updated: 1}, "image pull error", clock(r)))
	return r
}

// finishedOrFailed are the tutorial's release Succeeded, Canceled and Failed.
func finishedOrFailed(t *testing.T) []named {
	return []named{{"succeeded", succeededTutorial(t)}, {"canceled", canceledTutorial(t)}, {"failed", failedTutorial(t)}}
}

// mustBatches is the plan of spec, for setups whose plans are within plan.MaxBatches.
func mustBatches(spec *releases.ReleaseSpec, cloneSetReplicas int32) []releases.ReleaseBatch {
	batches, err := plan.Batches(spec, cloneSetReplicas)
	if err != nil {
		panic(err)
	}
	return batches
}
