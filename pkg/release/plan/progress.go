package plan

import (
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases"
)

// Resync bounds how long a release waits for a deadline or an interval when no event comes.
const Resync = 5 * time.Second

// Progress moves a release on as far as what is observed of its CloneSet allows; it is the controller's
// part of the phase machine (callers move it with Act). In order, for the current batch:
//   - a Pending release starts (batch 1 Smoking);
//   - more failing pods than the batch tolerates (strategy.maxFailedPods) fail the release, whether the
//     batch is Smoking, Smoked, Baking or Baked: a pod of a Baked batch that starts crashing must not be
//     taken into the next one;
//   - Smoking becomes Smoked once the batch's pods are updated and their containers ready (and its smoke
//     time passed), Baking becomes Baked once they are Ready (blue/green: and no blue pod is Ready or
//     listed by an EndpointSlice as a ready endpoint; surge: and the old pods it replaces are gone);
//   - a Smoked or Baked batch of an Auto release (blue/green: autoPromote, the scale-down delay) advances
//     once its interval has passed;
//   - a Smoking or Baking batch past strategy.progressDeadlineSeconds fails the release.
//
// failing names the release's failing pods, each with why. Progress returns when to look again if no
// event comes: at the latest the deadline or the interval's end (at most Resync while a deadline runs), 0
// for "on the next event".
func Progress(r *releases.Release, obs Observation, failing []string, now metav1.Time) time.Duration {
	if r.Status.Phase == releases.ReleasePending {
		Start(r, now)
	}
	// A spec edit (the pace: mode, interval, deadline) is observed: conditions are derived again and carry
	// its generation.
	if r.Status.ObservedGeneration != r.Generation {
		SetConditions(r, now)
	}
	for {
		b := Current(&r.Status)
		if r.Status.Phase != releases.ReleaseProgressing || b == nil {
			return 0
		}
		if b.Phase == releases.BatchSmoking || b.Phase == releases.BatchSmoked || b.Phase == releases.BatchBaking ||
			b.Phase == releases.BatchBaked {
			if tolerated := MaxFailedPods(r.Spec.Strategy.MaxFailedPods, b.Replicas); int32(len(failing)) > tolerated {
				Fail(r, obs, fmt.Sprintf("batch %d: %d failing pods, %d tolerated: %s",
					b.Index, len(failing), tolerated, FailingSummary(failing)), now)
				return 0
			}
		}
		// The checks of the batch: a failed one fails it (a background check in any phase); a Baking batch is
		// Baked only once they have passed.
		analysisPassed, bake, failed := judgeAnalysis(r, obs, now)
		if failed {
			return 0
		}
		moved := false
		needed := Needed(r, b.Target, obs)
		switch b.Phase {
		case releases.BatchSmoking:
			moved = obs.Updated >= needed && obs.ContainersReady >= needed && Smoked(r, now)
		case releases.BatchBaking:
			// Blue/green: the switch is Baked once green serves and no blue pod does.
			// A surging batch: once the old pods it replaces have left too.
			moved = obs.Ready >= needed && (!BlueOut(r) || !blueServes(obs)) && OldPodsLeaving(r, obs) == 0 && analysisPassed && Baked(r, now)
		case releases.BatchSmoked, releases.BatchBaked:
			if at, ok := AutoAdvanceAt(r); ok {
				if now.Before(&at) {
					return at.Sub(now.Time) + 10*time.Millisecond
				}
				if b.Phase == releases.BatchBaked && BlueOut(r) && blueServes(obs) {
					// The end lets kruise remove blue at once: not while a blue pod serves again (it came
					// back into the endpoints during the scale-down delay). Follow takes it out again.
					return time.Second
				}
				moved = Advance(r, now)
			}
		}
		if moved {
			// The pods of a new batch are not up yet; look again when they are.
			if nb := Current(&r.Status); nb != nil && nb.Phase == releases.BatchSmoking && nb != b {
				return Resync
			}
			continue
		}
		if deadline := r.Spec.Strategy.ProgressDeadlineSeconds; deadline != nil && b.StartedAt != nil &&
			(b.Phase == releases.BatchSmoking || b.Phase == releases.BatchBaking) {
			due := b.StartedAt.Add(time.Duration(*deadline) * time.Second)
			if !now.Time.Before(due) {
				why := fmt.Sprintf("batch %d was not Baked within %ds: %d of %d pods Ready", b.Index, *deadline, min(obs.Ready, b.Target), b.Target)
				if leaving := OldPodsLeaving(r, obs); leaving > 0 {
					why += fmt.Sprintf(", %d old pods still leaving traffic", leaving)
				}
				Fail(r, obs, why, now)
				return 0
			}
			wait := min(Resync, due.Sub(now.Time))
			if bake > 0 {
				wait = min(wait, bake+10*time.Millisecond)
			}
			return wait
		}
		if bake > 0 {
			// Only the bake's time is missing: no event marks its end.
			return bake + 10*time.Millisecond
		}
		return 0
	}
}

// blueServes reports whether a blue pod may still get traffic: Ready, or still a ready endpoint of a
// Service.
func blueServes(obs Observation) bool { return obs.BlueReady > 0 || obs.BlueServing > 0 }

// FailingSummary names at most three failing pods, and how many more there are.
func FailingSummary(failing []string) string {
	if len(failing) <= 3 {
		return strings.Join(failing, "; ")
	}
	return strings.Join(failing[:3], "; ") + fmt.Sprintf("; and %d more", len(failing)-3)
}
