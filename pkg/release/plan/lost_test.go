package plan_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/release/plan"
)

const replacedMessage = "CloneSet default/demo was replaced: this release was admitted for uid a, and the CloneSet of that name now has uid b"

// manualAtCanary is a Manual release waiting for `next` at its Smoked canary.
func manualAtCanary(t *testing.T) *releases.Release {
	s := tutorial()
	s.mode = releases.ModeManual
	return driveTo(t, newRelease(s), 1, releases.BatchSmoked)
}

// A release whose CloneSet was replaced (or deleted) is ended: Failed, with condition Failed for that reason
// and the message naming both CloneSets, recorded in the history by the controller; its intent touches
// nothing from then on.
func TestMarkLostEndsTheRelease(t *testing.T) {
	paused := func(t *testing.T) *releases.Release {
		r := manualAtCanary(t)
		_, err := plan.Act(r, plan.VerbPause, nil, plan.Observation{Updated: 1}, "bob", clock(r))
		require.NoError(t, err)
		return r
	}
	for _, c := range []struct {
		name    string
		release func(t *testing.T) *releases.Release
		reason  string
	}{
		{"waiting for next", manualAtCanary, releases.ReasonCloneSetReplaced},
		{"paused", paused, releases.ReasonCloneSetReplaced},
		{"failed", failedTutorial, releases.ReasonCloneSetGone},
		{"pending", func(t *testing.T) *releases.Release { return newRelease(tutorial()) }, releases.ReasonCloneSetReplaced},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := c.release(t)
			from := r.Status.Phase
			history := len(r.Status.History)
			now := clock(r)
			require.True(t, plan.MarkLost(r, c.reason, replacedMessage, now))
			assert.Equal(t, releases.ReleaseFailed, r.Status.Phase)
			assert.True(t, releases.PhaseMayMove(from, r.Status.Phase), "%s -> Failed is in the phase table", from)
			failed := condition(t, r, releases.ConditionFailed)
			assert.Equal(t, metav1.ConditionTrue, failed.Status)
			assert.Equal(t, c.reason, failed.Reason)
			assert.Equal(t, replacedMessage, failed.Message)
			assert.Equal(t, metav1.ConditionFalse, condition(t, r, releases.ConditionAwaitingNext).Status)
			require.Len(t, r.Status.History, history+1)
			h := r.Status.History[history]
			assert.Equal(t, plan.ActionLost, h.Action)
			assert.Equal(t, plan.ControllerUser, h.User)
			assert.Equal(t, replacedMessage, h.Reason)
			assert.Equal(t, "Failed", h.ToPhase[:len("Failed")])

			reason, lost := plan.Lost(r)
			assert.True(t, lost)
			assert.Equal(t, c.reason, reason)
			assert.Equal(t, plan.Intent{}, plan.IntentOf(r), "it touches nothing")
			assert.False(t, plan.MarkLost(r, c.reason, replacedMessage, now), "marked once")
		})
	}

	t.Run("finished releases", func(t *testing.T) {
		for _, r := range []*releases.Release{succeededTutorial(t), canceledBeforeStart(t)} {
			assert.False(t, plan.MarkLost(r, releases.ReasonCloneSetReplaced, replacedMessage, clock(r)), r.Status.Phase)
			_, lost := plan.Lost(r)
			assert.False(t, lost)
		}
	})
	t.Run("not a lost reason", func(t *testing.T) {
		r := manualAtCanary(t)
		assert.False(t, plan.MarkLost(r, "CrashLoop", "no", clock(r)))
	})
}

func canceledBeforeStart(t *testing.T) *releases.Release {
	r := newRelease(tutorial())
	_, err := plan.Act(r, plan.VerbCancel, nil, plan.Observation{}, "bob", clock(r))
	require.NoError(t, err)
	return r
}

// A canceled release that still held its CloneSet (its pods leaving traffic) lets go of it when the
// CloneSet is lost: Reverted True for that reason, nothing to drain, nothing touched.
func TestMarkLostLetsACanceledReleaseGo(t *testing.T) {
	r := canceledTutorial(t)
	require.True(t, plan.Reverting(r))
	require.True(t, plan.MarkLost(r, releases.ReasonCloneSetGone, "CloneSet default/demo (uid a) was deleted", clock(r)))
	assert.Equal(t, releases.ReleaseCanceled, r.Status.Phase)
	reverted := condition(t, r, releases.ConditionReverted)
	assert.Equal(t, metav1.ConditionTrue, reverted.Status)
	assert.Equal(t, releases.ReasonCloneSetGone, reverted.Reason)
	assert.Contains(t, reverted.Message, "nothing was put back")
	assert.False(t, plan.Reverting(r))
	_, lost := plan.Lost(r)
	assert.True(t, lost)
	assert.Equal(t, plan.Intent{}, plan.IntentOf(r))
	assert.Equal(t, plan.ActionLost, r.Status.History[len(r.Status.History)-1].Action)
}

// resume, next and pause of a release that lost its CloneSet are refused (409), saying so; cancel ends it,
// touching nothing, and the Failed condition stays.
func TestALostReleaseRefusesEveryVerbButCancel(t *testing.T) {
	for _, c := range []struct {
		reason, says string
	}{
		{releases.ReasonCloneSetReplaced, "was replaced by another CloneSet of the same name"},
		{releases.ReasonCloneSetGone, "was deleted"},
	} {
		r := manualAtCanary(t)
		require.True(t, plan.MarkLost(r, c.reason, replacedMessage, clock(r)))
		for _, verb := range []plan.Verb{plan.VerbResume, plan.VerbNext, plan.VerbPause} {
			before := r.DeepCopy()
			changed, err := plan.Act(r, verb, nil, plan.Observation{Updated: 1, ContainersReady: 1, Ready: 1}, "alice", clock(r))
			assert.False(t, changed)
			requireRefusal(t, err, "the CloneSet demo this release was admitted for "+c.says+
				": the release no longer acts on it, and cannot "+string(verb)+"; cancel or delete it, and create a new release", verb)
			assert.Equal(t, before, r, "%s changed nothing", verb)
		}
		changed, err := plan.Act(r, plan.VerbCancel, &releases.ReleaseRequest{Reason: "gone"}, plan.Observation{}, "alice", clock(r))
		require.NoError(t, err)
		assert.True(t, changed)
		assert.Equal(t, releases.ReleaseCanceled, r.Status.Phase)
		failed := condition(t, r, releases.ConditionFailed)
		assert.Equal(t, metav1.ConditionTrue, failed.Status, "it failed all the same")
		assert.Equal(t, c.reason, failed.Reason)
		reverted := condition(t, r, releases.ConditionReverted)
		assert.Equal(t, metav1.ConditionTrue, reverted.Status, "nothing to wait for")
		assert.Equal(t, c.reason, reverted.Reason)
		assert.False(t, plan.Reverting(r), "it holds nothing: a new release need not wait")
		assert.Equal(t, plan.Intent{}, plan.IntentOf(r))
	}
}

// A canceled release that cannot put its template back lets go of the CloneSet as it is: its template,
// partition and replicas stay; its name, hooks, pause and the strategy it changed go back.
func TestMarkRevisionGoneLetsGoAsItIs(t *testing.T) {
	r := canceledTutorial(t)
	require.True(t, plan.Reverting(r))
	require.True(t, plan.MarkRevisionGone(r, "revision demo-v1 is gone", clock(r)))
	assert.True(t, plan.RevisionGone(r))
	assert.False(t, plan.Reverting(r))
	reverted := condition(t, r, releases.ConditionReverted)
	assert.Equal(t, metav1.ConditionTrue, reverted.Status)
	assert.Equal(t, releases.ReasonRevisionGone, reverted.Reason)
	assert.Equal(t, "revision demo-v1 is gone", reverted.Message)
	assert.Equal(t, plan.ActionRevisionGone, r.Status.History[len(r.Status.History)-1].Action)
	in := plan.IntentOf(r)
	assert.True(t, in.Touch)
	assert.False(t, in.Owned)
	assert.Equal(t, plan.TemplateKeep, in.Template)
	assert.Nil(t, in.Partition)
	assert.Nil(t, in.Replicas)
	assert.False(t, in.Paused)
	assert.False(t, plan.MarkRevisionGone(r, "again", clock(r)), "marked once")

	// Only a canceled release.
	running := manualAtCanary(t)
	assert.False(t, plan.MarkRevisionGone(running, "no", clock(running)))
	assert.False(t, plan.RevisionGone(running))
}
