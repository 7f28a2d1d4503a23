package releases_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/triton-io/triton/pkg/apis/releases"
)

// phaseMove is a change of phase in one write of the status.
type phaseMove struct{ from, to releases.ReleasePhase }

func TestPhaseMayMove(t *testing.T) {
	const (
		pending     = releases.ReleasePending
		progressing = releases.ReleaseProgressing
		paused      = releases.ReleasePaused
		succeeded   = releases.ReleaseSucceeded
		failed      = releases.ReleaseFailed
		canceled    = releases.ReleaseCanceled
	)
	allowed := map[phaseMove]bool{
		{pending, progressing}: true, // Start
		{pending, paused}:      true, // pause before the start
		{pending, succeeded}:   true, // Start, Smoked, Baked of a plan of no pods, Auto, in one controller write
		{pending, failed}:      true, // Start, then Fail on pods already failing, in one controller write
		{pending, canceled}:    true, // cancel

		{progressing, paused}:    true, // pause
		{progressing, succeeded}: true, // Baked (Auto, last batch) or next on the last Baked batch
		{progressing, failed}:    true, // Fail
		{progressing, canceled}:  true, // cancel

		{paused, pending}:     true, // resume of a release paused before it started
		{paused, progressing}: true, // resume
		{paused, failed}:      true, // MarkLost: its CloneSet was replaced or deleted
		{paused, canceled}:    true, // cancel

		{failed, progressing}: true, // resume retries the batch
		{failed, canceled}:    true, // cancel
	}
	for _, from := range releases.ReleasePhases {
		for _, to := range releases.ReleasePhases {
			want := from == to || allowed[phaseMove{from, to}]
			assert.Equal(t, want, releases.PhaseMayMove(from, to), "%s -> %s", from, to)
		}
	}

	t.Run("finished releases never move", func(t *testing.T) {
		for _, from := range []releases.ReleasePhase{succeeded, canceled} {
			assert.Empty(t, releases.PhaseMoves(from), from)
			for _, to := range releases.ReleasePhases {
				assert.Equal(t, from == to, releases.PhaseMayMove(from, to), "%s -> %s", from, to)
			}
		}
	})
	t.Run("an empty phase is Pending", func(t *testing.T) {
		assert.True(t, releases.PhaseMayMove("", pending))
		assert.True(t, releases.PhaseMayMove(pending, ""))
		assert.True(t, releases.PhaseMayMove("", ""))
		assert.True(t, releases.PhaseMayMove("", progressing))
		assert.False(t, releases.PhaseMayMove(progressing, ""))
		assert.False(t, releases.PhaseMayMove(succeeded, ""))
		assert.Equal(t, releases.PhaseMoves(pending), releases.PhaseMoves(""))
	})
	t.Run("an unknown phase never moves and is never moved to", func(t *testing.T) {
		assert.True(t, releases.PhaseMayMove("Exploded", "Exploded"))
		assert.False(t, releases.PhaseMayMove("Exploded", progressing))
		assert.False(t, releases.PhaseMayMove(progressing, "Exploded"))
		assert.Nil(t, releases.PhaseMoves("Exploded"))
	})
	t.Run("PhaseMoves lists the table", func(t *testing.T) {
		for _, from := range releases.ReleasePhases {
			var want []releases.ReleasePhase
			for _, to := range releases.ReleasePhases {
				if allowed[phaseMove{from, to}] {
					want = append(want, to)
				}
			}
			assert.Equal(t, want, releases.PhaseMoves(from), from)
		}
		moves := releases.PhaseMoves(pending)
		moves[0] = canceled
		assert.Equal(t, progressing, releases.PhaseMoves(pending)[0], "PhaseMoves returns a copy")
	})
}
