package plan_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/release/plan"
)

// phaseMove is a change of phase in one write of the status.
type phaseMove struct{ from, to releases.ReleasePhase }

// phaseSetup is a release as the API server stores it on create: Pending, with a plan.
type phaseSetup struct {
	name     string
	action   releases.ReleaseAction
	batches  []releases.ReleaseBatch
	mode     releases.ReleaseMode
	noPullIn bool
}

func (s phaseSetup) release() *releases.Release {
	return &releases.Release{
		ObjectMeta: metav1.ObjectMeta{Name: "phases", Namespace: "default", Generation: 1},
		Spec: releases.ReleaseSpec{
			CloneSetName: "demo",
			Action:       s.action,
			Strategy:     releases.ReleaseStrategy{Mode: s.mode, NoPullIn: s.noPullIn},
		},
		Status: releases.ReleaseStatus{
			Phase:   releases.ReleasePending,
			Batches: append([]releases.ReleaseBatch(nil), s.batches...),
			CloneSet: &releases.CloneSetObservation{
				RevisionBeforeRelease: "demo-v1",
				ReplicasBeforeRelease: func() *int32 { v := int32(3); return &v }(),
			},
		},
	}
}

func phaseSetups() []phaseSetup {
	canaryThenTwo := []releases.ReleaseBatch{
		{Index: 1, Canary: true, Replicas: 1, Target: 1, Phase: releases.BatchPending},
		{Index: 2, Replicas: 1, Target: 2, Phase: releases.BatchPending},
		{Index: 3, Replicas: 1, Target: 3, Phase: releases.BatchPending},
	}
	oneBatch := []releases.ReleaseBatch{{Index: 1, Replicas: 3, Target: 3, Phase: releases.BatchPending}}
	// The plan of a release that changes no pods (plan.Batches).
	noPods := []releases.ReleaseBatch{{Index: 1, Replicas: 0, Target: 0, Phase: releases.BatchPending}}
	var out []phaseSetup
	for _, p := range []struct {
		name    string
		batches []releases.ReleaseBatch
	}{{"canary then 2", canaryThenTwo}, {"one batch", oneBatch}, {"no pods", noPods}} {
		for _, mode := range []releases.ReleaseMode{releases.ModeManual, releases.ModeAuto} {
			for _, noPullIn := range []bool{false, true} {
				out = append(out, phaseSetup{
					name:   fmt.Sprintf("%s, %s, noPullIn %v", p.name, mode, noPullIn),
					action: releases.ActionUpdate, batches: p.batches, mode: mode, noPullIn: noPullIn,
				})
			}
		}
	}
	return out
}

// phaseKey tells the states of a release apart as far as its phases go.
func phaseKey(r *releases.Release) string {
	key := fmt.Sprint(r.Status.Phase, r.Status.CurrentBatch)
	for _, b := range r.Status.Batches {
		key += " " + string(b.Phase)
	}
	return key
}

// controllerWrites are the releases one write of the controller may store from r: its step (see
// pkg/release/controller) applies any run of Start, Smoked, Baked, Advance and Fail before it writes; MarkLost
// (its CloneSet replaced) is a write of its own.
func controllerWrites(r *releases.Release, now metav1.Time) []*releases.Release {
	events := []func(*releases.Release) bool{
		func(r *releases.Release) bool { return plan.Start(r, now) },
		func(r *releases.Release) bool { return plan.Smoked(r, now) },
		func(r *releases.Release) bool { return plan.Baked(r, now) },
		func(r *releases.Release) bool { return plan.Advance(r, now) },
		func(r *releases.Release) bool {
			return plan.Fail(r, plan.Observation{Replicas: 3, Updated: 1}, "failing pods", now)
		},
		// In a write of its own, but the walk does not tell them apart.
		func(r *releases.Release) bool {
			return plan.MarkLost(r, releases.ReasonCloneSetReplaced, "CloneSet web was replaced", now)
		},
	}
	var out []*releases.Release
	seen := map[string]bool{}
	var run func(r *releases.Release)
	run = func(r *releases.Release) {
		for _, e := range events {
			c := r.DeepCopy()
			if !e(c) || seen[phaseKey(c)] {
				continue
			}
			seen[phaseKey(c)] = true
			out = append(out, c)
			run(c)
		}
	}
	run(r)
	return out
}

// exploreMoves walks every state a release reaches from r0 through the verbs (one per write, as the action
// subresources write) and the controller's writes, checks each change of phase against the table, and
// returns the changes seen.
func exploreMoves(t *testing.T, name string, r0 *releases.Release) map[phaseMove]bool {
	t.Helper()
	moves := map[phaseMove]bool{}
	seen := map[string]bool{}
	queue := []*releases.Release{r0}
	for len(queue) > 0 {
		r := queue[0]
		queue = queue[1:]
		if seen[phaseKey(r)] {
			continue
		}
		seen[phaseKey(r)] = true
		// Late enough for every Auto interval (0 here) and every deadline.
		now := metav1.NewTime(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(len(r.Status.History)+1) * time.Hour))
		check := func(how string, c *releases.Release) {
			m := phaseMove{r.Status.Phase, c.Status.Phase}
			moves[m] = true
			assert.True(t, releases.PhaseMayMove(m.from, m.to), "%s: %s moved %s -> %s, which the table refuses", name, how, phaseKey(r), phaseKey(c))
			assert.GreaterOrEqual(t, c.Status.CurrentBatch, r.Status.CurrentBatch, "%s: %s went back a batch", name, how)
			queue = append(queue, c)
		}
		for _, verb := range plan.Verbs {
			c := r.DeepCopy()
			if changed, err := plan.Act(c, verb, nil, plan.Observation{Replicas: 3, Updated: 1, ContainersReady: 1, Ready: 1}, "alice", now); err == nil && changed {
				check(string(verb), c)
			}
		}
		for _, c := range controllerWrites(r, now) {
			check("the controller", c)
		}
	}
	return moves
}

// Every change of phase the machine makes, by a verb or by a controller write, is in the table, and every
// change in the table is one the machine makes: the table is the machine's.
func TestPhaseTableIsTheMachines(t *testing.T) {
	all := map[phaseMove]bool{}
	for _, s := range phaseSetups() {
		for m := range exploreMoves(t, s.name, s.release()) {
			all[m] = true
		}
	}
	for _, from := range releases.ReleasePhases {
		for _, to := range releases.ReleasePhases {
			if from == to {
				continue
			}
			assert.Equal(t, releases.PhaseMayMove(from, to), all[phaseMove{from, to}],
				"%s -> %s: allowed by the table, made by the machine", from, to)
		}
	}
}
