package plan_test

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

// ---- lifecycles ----

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

// ---- next ----

func TestNextRefusals(t *testing.T) {
	tests := []struct {
		name    string
		release func(t *testing.T) *releases.Release
		req     *releases.ReleaseRequest
		obs     plan.Observation
		want    string
	}{
		{
			name: "batch still Smoking: says how many pods are ready",
			release: func(t *testing.T) *releases.Release {
				return driveTo(t, newRelease(tutorial()), 2, releases.BatchSmoking)
			},
			obs:  plan.Observation{Replicas: 3, Updated: 2, ContainersReady: 1, Ready: 1},
			want: "batch 2 is Smoking: 1 of 2 pods ready to take traffic",
		},
		{
			name: "Smoking: counts beyond the batch's target are capped",
			release: func(t *testing.T) *releases.Release {
				return driveTo(t, newRelease(tutorial()), 2, releases.BatchSmoking)
			},
			obs:  plan.Observation{Replicas: 4, Updated: 3, ContainersReady: 3, Ready: 1},
			want: "batch 2 is Smoking: 2 of 2 pods ready to take traffic",
		},
		{
			name: "canary Smoking",
			release: func(t *testing.T) *releases.Release {
				return driveTo(t, newRelease(tutorial()), 1, releases.BatchSmoking)
			},
			obs:  plan.Observation{Replicas: 3, Updated: 1},
			want: "batch 1 is Smoking: 0 of 1 pods ready to take traffic",
		},
		{
			name: "batch still Baking: says how many pods are Ready",
			release: func(t *testing.T) *releases.Release {
				return driveTo(t, newRelease(tutorial()), 1, releases.BatchBaking)
			},
			obs:  plan.Observation{Replicas: 3, Updated: 1, ContainersReady: 1, Ready: 0},
			want: "batch 1 is Baking: 0 of 1 pods Ready",
		},
		{
			name: "Baking batch of a larger release",
			release: func(t *testing.T) *releases.Release {
				return driveTo(t, newRelease(setup{action: releases.ActionUpdate, before: 10, canary: 1, batchSize: pct("50%")}), 2, releases.BatchBaking)
			},
			obs:  plan.Observation{Replicas: 10, Updated: 6, ContainersReady: 6, Ready: 4},
			want: "batch 2 is Baking: 4 of 6 pods Ready",
		},
		{
			name: "Baking: counts beyond the batch's target are capped",
			release: func(t *testing.T) *releases.Release {
				return driveTo(t, newRelease(tutorial()), 2, releases.BatchBaking)
			},
			obs:  plan.Observation{Replicas: 4, Updated: 3, ContainersReady: 3, Ready: 3},
			want: "batch 2 is Baking: 2 of 2 pods Ready",
		},
		{
			name: "paused",
			release: func(t *testing.T) *releases.Release {
				r := driveTo(t, newRelease(tutorial()), 1, releases.BatchSmoked)
				_, err := plan.Act(r, plan.VerbPause, nil, plan.Observation{Updated: 1}, "bob", clock(r))
				require.NoError(t, err)
				return r
			},
			want: "the release is paused; `resume` it first",
		},
		{
			name:    "pending",
			release: func(t *testing.T) *releases.Release { return newRelease(tutorial()) },
			want:    "the release has not started yet",
		},
		{
			name:    "succeeded",
			release: func(t *testing.T) *releases.Release { return finish(t, newRelease(tutorial())) },
			want:    "the release is Succeeded",
		},
		{
			name: "canceled",
			release: func(t *testing.T) *releases.Release {
				r := driveTo(t, newRelease(tutorial()), 2, releases.BatchBaked)
				_, err := plan.Act(r, plan.VerbCancel, nil, plan.Observation{}, "bob", clock(r))
				require.NoError(t, err)
				return r
			},
			want: "the release is Canceled",
		},
		{
			name: "failed",
			release: func(t *testing.T) *releases.Release {
				r := driveTo(t, newRelease(tutorial()), 2, releases.BatchBaking)
				require.True(t, plan.Fail(r, plan.Observation{Updated: 2}, "crash loop", clock(r)))
				return r
			},
			want: "the release failed; `resume` retries batch 2",
		},
		{
			name: "expectedBatch is not the current batch",
			release: func(t *testing.T) *releases.Release {
				return driveTo(t, newRelease(tutorial()), 1, releases.BatchBaked)
			},
			req:  &releases.ReleaseRequest{ExpectedBatch: p32(2)},
			want: "expected batch 2, but the current batch is 1",
		},
		{
			name:    "expectedBatch on a release that has not started",
			release: func(t *testing.T) *releases.Release { return newRelease(tutorial()) },
			req:     &releases.ReleaseRequest{ExpectedBatch: p32(1)},
			want:    "expected batch 1, but the current batch is 0",
		},
		{
			name: "expectedPhase is not the current batch's phase",
			release: func(t *testing.T) *releases.Release {
				return driveTo(t, newRelease(tutorial()), 2, releases.BatchSmoking)
			},
			req:  &releases.ReleaseRequest{ExpectedPhase: releases.BatchBaked},
			want: "expected batch 2 to be Baked, but it is Smoking",
		},
		{
			name: "right batch, wrong phase: a stale pull-in does not start the next batch",
			release: func(t *testing.T) *releases.Release {
				return driveTo(t, newRelease(tutorial()), 1, releases.BatchBaked)
			},
			req:  &releases.ReleaseRequest{ExpectedBatch: p32(1), ExpectedPhase: releases.BatchSmoked, Reason: "pull in the canary"},
			want: "expected batch 1 to be Smoked, but it is Baked",
		},
		{
			name:    "expectedPhase on a release that has not started",
			release: func(t *testing.T) *releases.Release { return newRelease(tutorial()) },
			req:     &releases.ReleaseRequest{ExpectedPhase: releases.BatchSmoked},
			want:    "expected batch phase Smoked, but the release has not started",
		},
		{
			name:    "expectations are checked before the phase",
			release: func(t *testing.T) *releases.Release { return finish(t, newRelease(tutorial())) },
			req:     &releases.ReleaseRequest{ExpectedBatch: p32(2)},
			want:    "expected batch 2, but the current batch is 3",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.release(t)
			before := r.DeepCopy()
			changed, err := plan.Act(r, plan.VerbNext, tt.req, tt.obs, "alice", at(100000))
			requireRefusal(t, err, tt.want)
			assert.False(t, changed)
			assert.Equal(t, before, r, "a refused call changes nothing, not even the history")
		})
	}
}

func TestUnknownVerbIsRefused(t *testing.T) {
	r := driveTo(t, newRelease(tutorial()), 1, releases.BatchSmoked)
	before := r.DeepCopy()
	changed, err := plan.Act(r, plan.Verb("promote"), nil, plan.Observation{}, "alice", at(1000))
	requireRefusal(t, err, `unknown action "promote"`)
	assert.False(t, changed)
	assert.Equal(t, before, r)
}

func TestNextWithMatchingExpectations(t *testing.T) {
	r := driveTo(t, newRelease(tutorial()), 1, releases.BatchSmoked)
	changed, err := plan.Act(r, plan.VerbNext, &releases.ReleaseRequest{ExpectedBatch: p32(1), ExpectedPhase: releases.BatchSmoked, Reason: "canary looks good"}, plan.Observation{}, "alice", at(1000))
	require.NoError(t, err)
	assert.True(t, changed)
	assert.Equal(t, releases.BatchBaking, r.Status.Batches[0].Phase)
	last := r.Status.History[len(r.Status.History)-1]
	assert.Equal(t, releases.ReleaseHistoryEntry{
		Action: "next", User: "alice", Time: at(1000), FromBatch: 1, ToBatch: 1,
		FromPhase: "Progressing/Smoked", ToPhase: "Progressing/Baking", Reason: "canary looks good",
	}, last)
}

// Invariant 1: `next` with expectedBatch is exactly-once, and no batch is skipped.
func TestNextIsExactlyOnce(t *testing.T) {
	tests := []struct {
		name      string
		setup     setup
		batch     int32
		phase     releases.BatchPhase
		req       releases.ReleaseRequest
		wantBatch int32
		wantPhase releases.BatchPhase
		refusal   string
	}{
		{
			name:  "start the next batch",
			setup: tutorial(), batch: 1, phase: releases.BatchBaked,
			req:       releases.ReleaseRequest{ExpectedBatch: p32(1)},
			wantBatch: 2, wantPhase: releases.BatchSmoking,
			refusal: "expected batch 1, but the current batch is 2",
		},
		{
			name:  "start the next batch in Manual mode",
			setup: setup{action: releases.ActionUpdate, before: 6, batchSize: n(2)}, batch: 2, phase: releases.BatchBaked,
			req:       releases.ReleaseRequest{ExpectedBatch: p32(2), ExpectedPhase: releases.BatchBaked},
			wantBatch: 3, wantPhase: releases.BatchSmoking,
			refusal: "expected batch 2, but the current batch is 3",
		},
		{
			name:  "pull in the canary",
			setup: tutorial(), batch: 1, phase: releases.BatchSmoked,
			req:       releases.ReleaseRequest{ExpectedBatch: p32(1), ExpectedPhase: releases.BatchSmoked},
			wantBatch: 1, wantPhase: releases.BatchBaking,
			refusal: "expected batch 1 to be Smoked, but it is Baking",
		},
		{
			name:  "without expectations a repeated next still does not skip a batch",
			setup: tutorial(), batch: 1, phase: releases.BatchBaked,
			wantBatch: 2, wantPhase: releases.BatchSmoking,
			refusal: "batch 2 is Smoking: 0 of 2 pods ready to take traffic",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := driveTo(t, newRelease(tt.setup), tt.batch, tt.phase)
			nexts := func() int {
				c := 0
				for _, h := range r.Status.History {
					if h.Action == "next" {
						c++
					}
				}
				return c
			}
			before := nexts()
			ok := 0
			for i := 0; i < 5; i++ {
				snapshot := r.DeepCopy()
				req := tt.req.DeepCopy()
				changed, err := plan.Act(r, plan.VerbNext, req, plan.Observation{}, fmt.Sprintf("pipeline-%d", i), at(10000+i))
				if i == 0 {
					require.NoError(t, err)
					require.True(t, changed)
					ok++
					continue
				}
				requireRefusal(t, err, tt.refusal, "call %d", i+1)
				assert.False(t, changed)
				assert.Equal(t, snapshot, r, "call %d changed the release", i+1)
			}
			assert.Equal(t, 1, ok)
			assert.Equal(t, before+1, nexts(), "exactly one next recorded")
			assert.Equal(t, tt.wantBatch, r.Status.CurrentBatch)
			assert.Equal(t, tt.wantPhase, plan.Current(&r.Status).Phase)
			for _, b := range r.Status.Batches[tt.wantBatch:] {
				assert.Equal(t, releases.BatchPending, b.Phase, "batch %d must not have started", b.Index)
			}
			for _, b := range r.Status.Batches[:tt.wantBatch-1] {
				assert.Equal(t, releases.BatchBaked, b.Phase, "batch %d before the current one is Baked", b.Index)
			}
		})
	}
}

// ---- pause ----

func TestPause(t *testing.T) {
	update5 := setup{action: releases.ActionUpdate, before: 5, batchSize: n(2)} // targets 2, 4, 5
	create4 := setup{action: releases.ActionCreate, replicas: p32(4), canary: 1, batchSize: pct("50%")}
	scaleOut := setup{action: releases.ActionScale, before: 3, replicas: p32(7), batchSize: n(2)} // targets 2, 4
	scaleIn := setup{action: releases.ActionScale, before: 7, replicas: p32(3), batchSize: n(2), podsToDelete: []string{"demo-a"}}
	tests := []struct {
		name   string
		setup  setup
		batch  int32 // 0: pause before the release starts
		phase  releases.BatchPhase
		obs    plan.Observation
		heldAt int32
		// after resume
		resumed releases.ReleasePhase
	}{
		{name: "update: partition pinned at the pods updated so far", setup: update5, batch: 2, phase: releases.BatchSmoking,
			obs: plan.Observation{Replicas: 5, Updated: 3}, heldAt: 2},
		{name: "update: never more updated pods than the batch's target", setup: update5, batch: 2, phase: releases.BatchSmoking,
			obs: plan.Observation{Replicas: 6, Updated: 5}, heldAt: 1},
		{name: "update: nothing updated yet in batch 1", setup: update5, batch: 1, phase: releases.BatchSmoking,
			obs: plan.Observation{Replicas: 5}, heldAt: 5},
		{name: "update: a Baked batch", setup: update5, batch: 1, phase: releases.BatchBaked,
			obs: plan.Observation{Replicas: 5, Updated: 2, ContainersReady: 2, Ready: 2}, heldAt: 3},
		{name: "update: the canary Smoked", setup: tutorial(), batch: 1, phase: releases.BatchSmoked,
			obs: plan.Observation{Replicas: 3, Updated: 1, ContainersReady: 1}, heldAt: 2},
		{name: "rollback: like update", setup: setup{action: releases.ActionRollback, before: 4, batchSize: n(1)}, batch: 3, phase: releases.BatchBaking,
			obs: plan.Observation{Replicas: 4, Updated: 3}, heldAt: 1},
		{name: "create: held at the pods there are", setup: create4, batch: 2, phase: releases.BatchSmoking,
			obs: plan.Observation{Replicas: 2}, heldAt: 2},
		{name: "create: never beyond the batch's target", setup: create4, batch: 2, phase: releases.BatchSmoking,
			obs: plan.Observation{Replicas: 5}, heldAt: 3},
		{name: "scale out: held at the pods there are", setup: scaleOut, batch: 1, phase: releases.BatchSmoking,
			obs: plan.Observation{Replicas: 4}, heldAt: 4},
		{name: "scale out: not below the size before", setup: scaleOut, batch: 1, phase: releases.BatchSmoking,
			obs: plan.Observation{Replicas: 2}, heldAt: 3},
		{name: "scale out: not beyond the batch's target", setup: scaleOut, batch: 2, phase: releases.BatchSmoking,
			obs: plan.Observation{Replicas: 9}, heldAt: 7},
		{name: "scale in: held at the pods there are", setup: scaleIn, batch: 1, phase: releases.BatchSmoking,
			obs: plan.Observation{Replicas: 6}, heldAt: 6},
		{name: "scale in: not below the batch's target", setup: scaleIn, batch: 1, phase: releases.BatchSmoking,
			obs: plan.Observation{Replicas: 4}, heldAt: 5},
		{name: "scale in: not above the size before", setup: scaleIn, batch: 2, phase: releases.BatchBaking,
			obs: plan.Observation{Replicas: 8}, heldAt: 7},
		{name: "update before start", setup: update5, obs: plan.Observation{Replicas: 5}, heldAt: 5, resumed: releases.ReleasePending},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRelease(tt.setup)
			if tt.batch > 0 {
				driveTo(t, r, tt.batch, tt.phase)
			}
			wantHeld := plan.HeldValue(r, tt.obs)
			assert.Equal(t, tt.heldAt, wantHeld, "HeldValue")
			before := r.DeepCopy()
			req := &releases.ReleaseRequest{Reason: "error rate up"}
			if tt.batch > 0 {
				req.ExpectedBatch = p32(tt.batch)
			}
			changed, err := plan.Act(r, plan.VerbPause, req, tt.obs, "bob", at(5000))
			require.NoError(t, err)
			require.True(t, changed)

			assert.Equal(t, releases.ReleasePaused, r.Status.Phase)
			require.NotNil(t, r.Status.CloneSet.HeldAt)
			assert.Equal(t, tt.heldAt, *r.Status.CloneSet.HeldAt)
			assert.Equal(t, before.Status.CurrentBatch, r.Status.CurrentBatch)
			assert.Equal(t, before.Status.Batches, r.Status.Batches, "pause leaves the batches as they are")
			assert.Equal(t, metav1.ConditionTrue, condition(t, r, releases.ConditionPaused).Status)
			assert.Equal(t, metav1.ConditionFalse, condition(t, r, releases.ConditionAwaitingNext).Status)
			checkConditions(t, r)

			in := plan.IntentOf(r)
			if tt.batch == 0 {
				assert.Equal(t, plan.Intent{}, in, "a release paused before it started leaves the CloneSet alone")
			} else {
				assert.True(t, in.Touch)
				assert.True(t, in.Paused, "the CloneSet is paused")
				held := in.Replicas
				if tt.setup.action == releases.ActionUpdate || tt.setup.action == releases.ActionRollback {
					held = in.Partition
				}
				require.NotNil(t, held)
				assert.Equal(t, tt.heldAt, *held, "the CloneSet is held where the pause found it")
			}

			require.Len(t, r.Status.History, len(before.Status.History)+1)
			last := r.Status.History[len(r.Status.History)-1]
			fromPhase := string(before.Status.Phase)
			toPhase := "Paused"
			if tt.batch > 0 {
				fromPhase += "/" + string(tt.phase)
				toPhase += "/" + string(tt.phase)
			}
			assert.Equal(t, releases.ReleaseHistoryEntry{
				Action: "pause", User: "bob", Time: at(5000), FromBatch: tt.batch, ToBatch: tt.batch,
				FromPhase: fromPhase, ToPhase: toPhase, Reason: "error rate up",
			}, last)

			// The controller does not move a paused release on.
			for name, e := range map[string]event{"smoked": smoked(6000), "baked": baked(6000), "advance": advance(100000), "start": start(6000),
				"fail": fail(6000, tt.obs, "deadline")} {
				snapshot := r.DeepCopy()
				changed, _ := e(r)
				assert.False(t, changed, name)
				assert.Equal(t, snapshot, r, name)
			}

			// pause again: 200, no change, no history.
			snapshot := r.DeepCopy()
			changed, err = plan.Act(r, plan.VerbPause, nil, plan.Observation{Replicas: 1, Updated: 1}, "carol", at(5500))
			require.NoError(t, err)
			assert.False(t, changed)
			assert.Equal(t, snapshot, r)

			// resume undoes it.
			changed, err = plan.Act(r, plan.VerbResume, nil, tt.obs, "bob", at(7000))
			require.NoError(t, err)
			require.True(t, changed)
			want := tt.resumed
			if want == "" {
				want = releases.ReleaseProgressing
			}
			assert.Equal(t, want, r.Status.Phase)
			assert.Nil(t, r.Status.CloneSet.HeldAt, "resume releases the hold")
			wantBatches := before.DeepCopy().Status.Batches
			if tt.phase == releases.BatchSmoking || tt.phase == releases.BatchBaking {
				// Time spent paused does not count against the progress deadline.
				now := at(7000)
				wantBatches[tt.batch-1].StartedAt = &now
			}
			assert.Equal(t, wantBatches, r.Status.Batches, "resume of a paused release does not restart its batch")
			assert.Equal(t, metav1.ConditionFalse, condition(t, r, releases.ConditionPaused).Status)
			checkConditions(t, r)
			assert.Equal(t, plan.IntentOf(before), plan.IntentOf(r), "the CloneSet goes back to what it was before the pause")
			last = r.Status.History[len(r.Status.History)-1]
			assert.Equal(t, "resume", last.Action)
			assert.Equal(t, toPhase, last.FromPhase)
			assert.Equal(t, fromPhase, last.ToPhase)
		})
	}
}

func TestPauseRefusedOnceFinishedOrFailed(t *testing.T) {
	for _, tt := range finishedOrFailed(t) {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.release
			before := r.DeepCopy()
			changed, err := plan.Act(r, plan.VerbPause, nil, plan.Observation{Updated: 1}, "bob", at(100000))
			requireRefusal(t, err, "the release is "+string(before.Status.Phase))
			assert.False(t, changed)
			assert.Equal(t, before, r)
		})
	}
}

type named struct {
	name    string
	release *releases.Release
}

func finishedOrFailed(t *testing.T) []named {
	succeeded := finish(t, newRelease(tutorial()))
	canceled := driveTo(t, newRelease(tutorial()), 2, releases.BatchSmoking)
	_, err := plan.Act(canceled, plan.VerbCancel, nil, plan.Observation{}, "bob", clock(canceled))
	require.NoError(t, err)
	failed := driveTo(t, newRelease(tutorial()), 2, releases.BatchSmoking)
	require.True(t, plan.Fail(failed, plan.Observation{Updated: 1}, "image pull error", clock(failed)))
	return []named{{"succeeded", succeeded}, {"canceled", canceled}, {"failed", failed}}
}

// ---- resume ----

func TestResume(t *testing.T) {
	t.Run("on a running release: no change", func(t *testing.T) {
		for _, phase := range []releases.BatchPhase{releases.BatchSmoking, releases.BatchSmoked, releases.BatchBaking, releases.BatchBaked} {
			r := driveTo(t, newRelease(tutorial()), 1, phase)
			before := r.DeepCopy()
			changed, err := plan.Act(r, plan.VerbResume, nil, plan.Observation{}, "bob", at(5000))
			require.NoError(t, err, phase)
			assert.False(t, changed, phase)
			assert.Equal(t, before, r, phase)
		}
	})
	t.Run("on a pending release: no change", func(t *testing.T) {
		r := newRelease(tutorial())
		before := r.DeepCopy()
		changed, err := plan.Act(r, plan.VerbResume, nil, plan.Observation{}, "bob", at(5000))
		require.NoError(t, err)
		assert.False(t, changed)
		assert.Equal(t, before, r)
	})
	for _, tt := range []struct {
		name  string
		batch int32
		phase releases.BatchPhase
	}{
		{"on a failed release: the Smoking batch is retried", 2, releases.BatchSmoking},
		{"on a failed release: the Smoked canary is retried", 1, releases.BatchSmoked},
		{"on a failed release: the Baking batch is retried", 2, releases.BatchBaking},
		{"on a failed release: the Baked batch is retried", 2, releases.BatchBaked},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := driveTo(t, newRelease(tutorial()), tt.batch, tt.phase)
			require.True(t, plan.Fail(r, plan.Observation{Replicas: 3, Updated: 1}, "crash loop", at(4000)))
			require.NotNil(t, r.Status.CloneSet.HeldAt)
			changed, err := plan.Act(r, plan.VerbResume, &releases.ReleaseRequest{Reason: "fixed the config map"}, plan.Observation{}, "bob", at(5000))
			require.NoError(t, err)
			require.True(t, changed)

			assert.Equal(t, releases.ReleaseProgressing, r.Status.Phase)
			assert.Equal(t, tt.batch, r.Status.CurrentBatch, "the same batch is retried")
			b := plan.Current(&r.Status)
			assert.Equal(t, releases.BatchSmoking, b.Phase)
			assert.Equal(t, at(5000), *b.StartedAt, "its deadline restarts")
			assert.Nil(t, b.SmokedAt)
			assert.Nil(t, b.BakedAt)
			assert.Nil(t, r.Status.CloneSet.HeldAt)
			assert.Equal(t, metav1.ConditionFalse, condition(t, r, releases.ConditionFailed).Status)
			checkConditions(t, r)
			in := plan.IntentOf(r)
			assert.False(t, in.Paused)
			assert.Equal(t, 3-b.Target, *in.Partition)
			last := r.Status.History[len(r.Status.History)-1]
			assert.Equal(t, releases.ReleaseHistoryEntry{
				Action: "resume", User: "bob", Time: at(5000), FromBatch: tt.batch, ToBatch: tt.batch,
				FromPhase: "Failed/Failed", ToPhase: "Progressing/Smoking", Reason: "fixed the config map",
			}, last)

			// The retried release runs to the end.
			finish(t, r)
		})
	}
	for _, tt := range []struct {
		name    string
		batch   int32
		phase   releases.BatchPhase
		restart bool // whether the batch's StartedAt restarts at the resume
	}{
		{"on a paused release: a Smoking batch's deadline restarts", 2, releases.BatchSmoking, true},
		{"on a paused release: a Smoked canary is left as it was", 1, releases.BatchSmoked, false},
		{"on a paused release: a Baking batch's deadline restarts", 2, releases.BatchBaking, true},
		{"on a paused release: a Baked batch is left as it was", 2, releases.BatchBaked, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := driveTo(t, newRelease(tutorial()), tt.batch, tt.phase)
			running := r.DeepCopy()
			startedAt := *plan.Current(&r.Status).StartedAt
			changed, err := plan.Act(r, plan.VerbPause, nil, plan.Observation{Replicas: 3, Updated: 1}, "bob", at(4000))
			require.NoError(t, err)
			require.True(t, changed)
			require.Equal(t, startedAt, *plan.Current(&r.Status).StartedAt, "pause leaves StartedAt as it was")
			paused := r.DeepCopy()
			changed, err = plan.Act(r, plan.VerbResume, &releases.ReleaseRequest{Reason: "false alarm"}, plan.Observation{}, "bob", at(5000))
			require.NoError(t, err)
			require.True(t, changed)

			assert.Equal(t, releases.ReleaseProgressing, r.Status.Phase)
			assert.Equal(t, tt.batch, r.Status.CurrentBatch, "the same batch goes on")
			want := paused.Status.Batches
			if tt.restart {
				now := at(5000)
				want[tt.batch-1].StartedAt = &now
				assert.NotEqual(t, now, startedAt)
			}
			assert.Equal(t, want, r.Status.Batches, "only the StartedAt of a Smoking or Baking batch changes")
			b := plan.Current(&r.Status)
			assert.Equal(t, tt.phase, b.Phase, "the batch is not restarted")
			if tt.restart {
				assert.Equal(t, at(5000), *b.StartedAt, "time spent paused does not count against the progress deadline")
			} else {
				assert.Equal(t, startedAt, *b.StartedAt)
			}
			assert.Nil(t, r.Status.CloneSet.HeldAt)
			assert.Equal(t, metav1.ConditionFalse, condition(t, r, releases.ConditionPaused).Status)
			checkConditions(t, r)
			assert.Equal(t, plan.IntentOf(running), plan.IntentOf(r), "the CloneSet goes back to what it was before the pause")
			require.Len(t, r.Status.History, len(paused.Status.History)+1)
			assert.Equal(t, releases.ReleaseHistoryEntry{
				Action: "resume", User: "bob", Time: at(5000), FromBatch: tt.batch, ToBatch: tt.batch,
				FromPhase: "Paused/" + string(tt.phase), ToPhase: "Progressing/" + string(tt.phase), Reason: "false alarm",
			}, r.Status.History[len(r.Status.History)-1])

			// The resumed release runs to the end.
			finish(t, r)
		})
	}
	t.Run("refused on a finished release", func(t *testing.T) {
		for _, tt := range finishedOrFailed(t)[:2] {
			r := tt.release
			before := r.DeepCopy()
			changed, err := plan.Act(r, plan.VerbResume, nil, plan.Observation{}, "bob", at(100000))
			requireRefusal(t, err, "the release is "+string(before.Status.Phase), tt.name)
			assert.False(t, changed, tt.name)
			assert.Equal(t, before, r, tt.name)
		}
	})
}

// ---- cancel ----

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
	t.Run("refused on a finished release", func(t *testing.T) {
		for _, tt := range finishedOrFailed(t)[:2] {
			r := tt.release
			before := r.DeepCopy()
			changed, err := plan.Act(r, plan.VerbCancel, nil, plan.Observation{}, "bob", at(100000))
			requireRefusal(t, err, "the release is "+string(before.Status.Phase), tt.name)
			assert.False(t, changed, tt.name)
			assert.Equal(t, before, r, tt.name)
		}
	})
}

// ---- the controller's failure ----

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

// ---- history ----

func TestHistoryIsCapped(t *testing.T) {
	r := newRelease(tutorial())
	require.True(t, plan.Start(r, at(0)))
	all := append([]releases.ReleaseHistoryEntry(nil), r.Status.History...)
	for i := 1; i <= 40; i++ {
		for _, verb := range []plan.Verb{plan.VerbPause, plan.VerbResume} {
			changed, err := plan.Act(r, verb, &releases.ReleaseRequest{Reason: fmt.Sprintf("%s %d", verb, i)}, plan.Observation{}, "bob", at(i*10+len(verb)))
			require.NoError(t, err)
			require.True(t, changed)
			all = append(all, r.Status.History[len(r.Status.History)-1])
			require.LessOrEqual(t, len(r.Status.History), plan.HistoryLimit)
		}
	}
	require.Len(t, all, 81)
	require.Len(t, r.Status.History, plan.HistoryLimit)
	assert.Equal(t, all[len(all)-plan.HistoryLimit:], r.Status.History, "the newest entries are kept, oldest first")
	assert.Equal(t, "resume 40", r.Status.History[plan.HistoryLimit-1].Reason)
	assert.Equal(t, "pause 16", r.Status.History[0].Reason)

	// Still capped as it goes on.
	finish(t, r)
	assert.Len(t, r.Status.History, plan.HistoryLimit)
	assert.Equal(t, "baked", r.Status.History[plan.HistoryLimit-1].Action)
}

func TestHistoryUsers(t *testing.T) {
	assert.Equal(t, "triton-controller", plan.ControllerUser)
	r := newRelease(tutorial())
	require.True(t, plan.Start(r, at(0)))
	require.True(t, plan.Smoked(r, at(10)))
	changed, err := plan.Act(r, plan.VerbNext, nil, plan.Observation{}, "alice", at(20))
	require.NoError(t, err)
	require.True(t, changed)
	changed, err = plan.Act(r, plan.VerbPause, nil, plan.Observation{Replicas: 3, Updated: 1}, "", at(30))
	require.NoError(t, err)
	require.True(t, changed)
	var got []string
	for _, h := range r.Status.History {
		got = append(got, h.Action+" "+h.User)
	}
	assert.Equal(t, []string{
		"start " + plan.ControllerUser,
		"smoked " + plan.ControllerUser,
		"next alice",
		"pause " + plan.ControllerUser, // a verb with no user is recorded as the controller's
	}, got)
}

func TestConditionsCarryTheGeneration(t *testing.T) {
	r := newRelease(tutorial())
	r.Generation = 7
	require.True(t, plan.Start(r, at(0)))
	for _, typ := range []string{releases.ConditionAwaitingNext, releases.ConditionPaused, releases.ConditionFailed, releases.ConditionComplete} {
		c := condition(t, r, typ)
		assert.Equal(t, int64(7), c.ObservedGeneration, typ)
		assert.NotEmpty(t, c.Reason, typ)
	}
	require.True(t, plan.Smoked(r, at(10)))
	aw := condition(t, r, releases.ConditionAwaitingNext)
	assert.Equal(t, at(10), aw.LastTransitionTime, "AwaitingNext turned True at Smoked")
	require.False(t, plan.Smoked(r, at(15)), "already Smoked")
	_, err := plan.Act(r, plan.VerbNext, nil, plan.Observation{}, "alice", at(20))
	require.NoError(t, err)
	assert.Equal(t, at(20), condition(t, r, releases.ConditionAwaitingNext).LastTransitionTime)
	assert.Equal(t, at(0), condition(t, r, releases.ConditionPaused).LastTransitionTime, "Paused has been False since the start")
}

// A pace edit bumps the generation; deriving the conditions again records it in status and in every
// condition (kubectl wait treats a condition of an older generation as not met), and a change of mode
// changes whether the release waits for next.
func TestAnEditIsObservedByTheConditions(t *testing.T) {
	r := newRelease(tutorial())
	r.Generation = 1
	require.True(t, plan.Start(r, at(0)))
	require.True(t, plan.Smoked(r, at(10)))
	assert.Equal(t, int64(1), r.Status.ObservedGeneration)
	assert.Equal(t, metav1.ConditionTrue, condition(t, r, releases.ConditionAwaitingNext).Status)

	r.Generation = 2
	plan.SetConditions(r, at(20))
	assert.Equal(t, int64(2), r.Status.ObservedGeneration)
	for _, typ := range []string{releases.ConditionAwaitingNext, releases.ConditionPaused, releases.ConditionFailed, releases.ConditionComplete} {
		assert.Equal(t, int64(2), condition(t, r, typ).ObservedGeneration, typ)
	}
	assert.Equal(t, at(10), condition(t, r, releases.ConditionAwaitingNext).LastTransitionTime, "no transition: the time stays")
}

// mustBatches is the plan of spec, for setups whose plans are within plan.MaxBatches.
func mustBatches(spec *releases.ReleaseSpec, cloneSetReplicas int32) []releases.ReleaseBatch {
	batches, err := plan.Batches(spec, cloneSetReplicas)
	if err != nil {
		panic(err)
	}
	return batches
}
