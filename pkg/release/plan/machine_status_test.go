package plan_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/release/plan"
)

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
	// The first two entries (the start, and bob's first pause, his first call), then one entry standing
	// for the 32 dropped, then the newest 47, oldest first.
	assert.Equal(t, all[:2], r.Status.History[:2], "the first entries are kept")
	dropped := r.Status.History[2]
	assert.Equal(t, plan.ActionDropped, dropped.Action)
	assert.Equal(t, plan.ControllerUser, dropped.User)
	assert.True(t, strings.HasPrefix(dropped.Reason, "32 entries dropped"), dropped.Reason)
	assert.Equal(t, all[2].FromPhase, dropped.FromPhase, "from where the first dropped entry was")
	assert.Equal(t, all[33].ToPhase, dropped.ToPhase, "to where the last dropped entry left it")
	assert.Equal(t, all[33].Time, dropped.Time)
	assert.Equal(t, all[len(all)-47:], r.Status.History[3:], "the newest entries are kept, oldest first")
	assert.Equal(t, "pause 1", r.Status.History[1].Reason)
	assert.Equal(t, "resume 40", r.Status.History[plan.HistoryLimit-1].Reason)

	// Still capped as it goes on, the first entries still kept, the dropped ones counted in one entry.
	finish(t, r)
	assert.Len(t, r.Status.History, plan.HistoryLimit)
	assert.Equal(t, all[:2], r.Status.History[:2])
	assert.Equal(t, plan.ActionDropped, r.Status.History[2].Action)
	assert.NotEqual(t, plan.ActionDropped, r.Status.History[3].Action)
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
