package plan

import "github.com/triton-io/triton/pkg/apis/releases"

// phaseMoves is where a release's phase may go in one write of its status, derived from the functions of
// machine.go and from how the controller uses them:
//
//   - Pending: Start (→ Progressing), pause (→ Paused), cancel (→ Canceled). The controller's step also
//     goes on within the same write once a release has started: its only batch may be Smoked, Baked and,
//     in Auto mode, Succeeded at once (a release that changes no pods), or a batch whose pods already fail
//     fails it (→ Succeeded, → Failed).
//   - Progressing: pause (→ Paused), Fail (→ Failed), Baked in Auto mode or next after the last batch
//     (→ Succeeded), cancel (→ Canceled).
//   - Paused: resume (→ Progressing; → Pending when it was paused before it started), cancel (→ Canceled).
//     Nothing fails or finishes a paused release but cancel, and the loss of its CloneSet (MarkLost, →
//     Failed).
//   - Failed: resume retries the batch (→ Progressing), cancel (→ Canceled).
//   - Succeeded and Canceled are final (Finished).
//
// Staying in the same phase is always allowed.
var phaseMoves = map[releases.ReleasePhase][]releases.ReleasePhase{
	releases.ReleasePending:     {releases.ReleaseProgressing, releases.ReleasePaused, releases.ReleaseSucceeded, releases.ReleaseFailed, releases.ReleaseCanceled},
	releases.ReleaseProgressing: {releases.ReleasePaused, releases.ReleaseSucceeded, releases.ReleaseFailed, releases.ReleaseCanceled},
	releases.ReleasePaused:      {releases.ReleasePending, releases.ReleaseProgressing, releases.ReleaseFailed, releases.ReleaseCanceled},
	releases.ReleaseFailed:      {releases.ReleaseProgressing, releases.ReleaseCanceled},
	releases.ReleaseSucceeded:   nil,
	releases.ReleaseCanceled:    nil,
}

// PhaseMayMove reports whether one write of a release's status may move its phase from from to to. An
// empty phase is Pending, as the machine reads it. A phase the API does not know never moves, nor is moved
// to.
func PhaseMayMove(from, to releases.ReleasePhase) bool {
	from, to = orPending(from), orPending(to)
	moves, known := phaseMoves[from]
	if !known {
		return from == to
	}
	if from == to {
		return true
	}
	for _, p := range moves {
		if p == to {
			return true
		}
	}
	return false
}

// PhaseMoves returns the phases a release in phase from may move to (besides staying), in the order of
// the API's phases; nil for a finished release or a phase the API does not know.
func PhaseMoves(from releases.ReleasePhase) []releases.ReleasePhase {
	moves := phaseMoves[orPending(from)]
	if len(moves) == 0 {
		return nil
	}
	return append([]releases.ReleasePhase(nil), moves...)
}
