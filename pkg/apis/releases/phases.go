package releases

// ReleasePhases are the phases of a release the API knows, in order.
var ReleasePhases = []ReleasePhase{ReleasePending, ReleaseProgressing, ReleasePaused, ReleaseSucceeded, ReleaseFailed, ReleaseCanceled}

// phaseMoves is where a release's phase may go in one write of its status, as the server moves it: the
// functions of pkg/release/plan (machine.go) and how the controller uses them. Validation refuses any other
// move of a stored status, and plan's tests check that the table is the machine's:
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
var phaseMoves = map[ReleasePhase][]ReleasePhase{
	ReleasePending:     {ReleaseProgressing, ReleasePaused, ReleaseSucceeded, ReleaseFailed, ReleaseCanceled},
	ReleaseProgressing: {ReleasePaused, ReleaseSucceeded, ReleaseFailed, ReleaseCanceled},
	ReleasePaused:      {ReleasePending, ReleaseProgressing, ReleaseFailed, ReleaseCanceled},
	ReleaseFailed:      {ReleaseProgressing, ReleaseCanceled},
	ReleaseSucceeded:   nil,
	ReleaseCanceled:    nil,
}

// PhaseMayMove reports whether one write of a release's status may move its phase from from to to. An
// empty phase is Pending, as the machine reads it. A phase the API does not know never moves, nor is moved
// to.
func PhaseMayMove(from, to ReleasePhase) bool {
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
// ReleasePhases; nil for a finished release or a phase the API does not know.
func PhaseMoves(from ReleasePhase) []ReleasePhase {
	moves := phaseMoves[orPending(from)]
	if len(moves) == 0 {
		return nil
	}
	return append([]ReleasePhase(nil), moves...)
}

// orPending reads an empty phase as Pending.
func orPending(p ReleasePhase) ReleasePhase {
	if p == "" {
		return ReleasePending
	}
	return p
}
