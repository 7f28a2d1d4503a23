package plan

import (
	"github.com/triton-io/triton/pkg/apis/releases"
)

// RestartsPods reports whether r is a Restart of named pods (spec.podsToDelete): only those pods are
// restarted, batch by batch in the order named. Each is deleted through the CloneSet's
// scaleStrategy.podsToDelete (held by the release's lifecycle hook until it has left traffic) and kruise
// replaces it from the same template; the template, partition and replicas are left as they are, and the
// other pods are untouched.
func RestartsPods(r *releases.Release) bool {
	return r.Spec.Action == releases.ActionRestart && len(r.Spec.PodsToDelete) > 0
}

// restartPodsIntent is the CloneSet a Restart of named pods wants: the pods of the batches started so far
// named in podsToDelete, and kruise allowed to have all of the current batch's replacements unavailable at
// once (they are out of traffic until pulled in). A cancel withdraws the names kruise has not acted on yet:
// the pods restarted so far stay (they are the same as before), the others are no longer restarted.
func restartPodsIntent(r *releases.Release) Intent {
	s := &r.Status
	in := Intent{Touch: true, Owned: true, Template: TemplateKeep}
	switch s.Phase {
	case releases.ReleaseCanceled:
		in.Owned = Reverting(r)
		in.WithdrawPods = r.Spec.PodsToDelete
		in.MaxUnavailable = maxUnavailableBefore(s)
		return in
	case releases.ReleaseSucceeded:
		in.Owned = false
		in.MaxUnavailable = maxUnavailableBefore(s)
		return in
	case releases.ReleasePaused, releases.ReleaseFailed:
		in.Paused = true
	}
	if n := min(int(EffectiveTarget(s)), len(r.Spec.PodsToDelete)); n > 0 {
		in.PodsToDelete = r.Spec.PodsToDelete[:n:n]
	}
	in.MaxUnavailable = batchUnavailable(s)
	return in
}
