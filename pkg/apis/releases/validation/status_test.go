package validation

import (
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/release/plan"
)

// storedStatus is the status of a running Update release as the server stores it: batch 2 of 3 Smoking,
// with everything it recorded of its CloneSet before it started.
func storedStatus() releases.ReleaseStatus {
	s := validStatus()
	s.CloneSet = &releases.CloneSetObservation{
		UpdateRevision:                  "web-v2",
		CurrentRevision:                 "web-v1",
		Replicas:                        5,
		UpdatedReplicas:                 3,
		UpdatedReadyReplicas:            1,
		Partition:                       ptr(int32(2)),
		RevisionBeforeRelease:           "web-v1",
		ReplicasBeforeRelease:           ptr(int32(5)),
		MaxUnavailableBeforeRelease:     intOrStr("20%"),
		UpdateStrategyTypeBeforeRelease: "InPlaceIfPossible",
		PodsBeforeRelease:               []string{"web-a", "web-b"},
		UID:                             "6f1c2a9e-0d4b-4c55-9a3e-7b2f8c1d0e11",
	}
	return s
}

func TestValidateReleaseStatusTransition(t *testing.T) {
	tests := []struct {
		name   string
		old    func(s *releases.ReleaseStatus) // from storedStatus
		mutate func(s *releases.ReleaseStatus) // the write, from the old status
		want   []wantErr
	}{
		// What the server does.
		{name: "no change"},
		{name: "batch phases, pods and times", mutate: func(s *releases.ReleaseStatus) {
			now := metav1.Now()
			s.Batches[1].Phase = releases.BatchSmoked
			s.Batches[1].SmokedAt = &now
			s.Batches[1].Pods = []releases.BatchPod{{Name: "web-c", IP: "10.0.0.3", PulledIn: true}}
			s.Batches[0].Pods = nil
		}},
		{name: "the next batch", mutate: func(s *releases.ReleaseStatus) { s.CurrentBatch = 3; s.Batches[2].Phase = releases.BatchSmoking }},
		{name: "the CloneSet as observed", mutate: func(s *releases.ReleaseStatus) {
			s.CloneSet.Replicas, s.CloneSet.UpdatedReplicas, s.CloneSet.Partition = 7, 5, ptr(int32(0))
			s.CloneSet.UpdateRevision, s.CloneSet.Paused, s.CloneSet.HeldAt = "web-v3", true, ptr(int32(2))
		}},
		{name: "pause", mutate: func(s *releases.ReleaseStatus) { s.Phase = releases.ReleasePaused }},
		{name: "fail", mutate: func(s *releases.ReleaseStatus) {
			s.Phase, s.Batches[1].Phase = releases.ReleaseFailed, releases.BatchFailed
		}},
		{name: "succeed", mutate: func(s *releases.ReleaseStatus) { s.Phase = releases.ReleaseSucceeded }},
		{name: "cancel", mutate: func(s *releases.ReleaseStatus) { s.Phase = releases.ReleaseCanceled }},
		{name: "resume a failed release", old: func(s *releases.ReleaseStatus) { s.Phase = releases.ReleaseFailed },
			mutate: func(s *releases.ReleaseStatus) { s.Phase = releases.ReleaseProgressing }},
		{name: "resume a release paused before it started",
			old:    func(s *releases.ReleaseStatus) { s.Phase, s.CurrentBatch = releases.ReleasePaused, 0 },
			mutate: func(s *releases.ReleaseStatus) { s.Phase = releases.ReleasePending }},
		{name: "start from an empty phase", old: func(s *releases.ReleaseStatus) { s.Phase, s.CurrentBatch = "", 0 },
			mutate: func(s *releases.ReleaseStatus) { s.Phase, s.CurrentBatch = releases.ReleaseProgressing, 1 }},
		{name: "conditions and history", mutate: func(s *releases.ReleaseStatus) {
			s.Conditions = nil
			s.History = s.History[:1]
		}},
		{name: "before-values not recorded yet may be recorded",
			old:    func(s *releases.ReleaseStatus) { s.CloneSet = &releases.CloneSetObservation{Replicas: 5} },
			mutate: func(s *releases.ReleaseStatus) { s.CloneSet = storedStatus().CloneSet }},
		{name: "no CloneSet observed yet", old: func(s *releases.ReleaseStatus) { s.CloneSet = nil },
			mutate: func(s *releases.ReleaseStatus) { s.CloneSet = storedStatus().CloneSet }},
		{name: "a release stored without a plan may get one",
			old: func(s *releases.ReleaseStatus) { s.Phase, s.CurrentBatch, s.Batches = releases.ReleasePending, 0, nil },
			mutate: func(s *releases.ReleaseStatus) {
				s.Phase, s.CurrentBatch, s.Batches = releases.ReleaseProgressing, 1, storedStatus().Batches
			}},
		{name: "an unknown phase is left to ValidateReleaseStatus", mutate: func(s *releases.ReleaseStatus) { s.Phase = "Exploded" }},

		// Phases off the graph.
		{name: "back to Pending", mutate: func(s *releases.ReleaseStatus) { s.Phase = releases.ReleasePending },
			want: []wantErr{invalid("status.phase").with("a Progressing release may only move to Paused, Succeeded, Failed, Canceled")}},
		{name: "a Succeeded release moved back", old: func(s *releases.ReleaseStatus) { s.Phase = releases.ReleaseSucceeded },
			mutate: func(s *releases.ReleaseStatus) { s.Phase = releases.ReleaseProgressing },
			want:   []wantErr{invalid("status.phase").with("a Succeeded release never changes phase")}},
		{name: "a Canceled release resumed", old: func(s *releases.ReleaseStatus) { s.Phase = releases.ReleaseCanceled },
			mutate: func(s *releases.ReleaseStatus) { s.Phase = releases.ReleasePaused },
			want:   []wantErr{invalid("status.phase").with("a Canceled release never changes phase")}},
		{name: "a Failed release succeeds", old: func(s *releases.ReleaseStatus) { s.Phase = releases.ReleaseFailed },
			mutate: func(s *releases.ReleaseStatus) { s.Phase = releases.ReleaseSucceeded },
			want:   []wantErr{invalid("status.phase").with("may only move to Progressing, Canceled")}},
		{name: "a Paused release fails: its CloneSet was replaced (plan.MarkLost)", old: func(s *releases.ReleaseStatus) { s.Phase = releases.ReleasePaused },
			mutate: func(s *releases.ReleaseStatus) { s.Phase = releases.ReleaseFailed }},
		{name: "a Paused release succeeds", old: func(s *releases.ReleaseStatus) { s.Phase = releases.ReleasePaused },
			mutate: func(s *releases.ReleaseStatus) { s.Phase = releases.ReleaseSucceeded }, want: []wantErr{invalid("status.phase")}},
		{name: "a Succeeded release emptied", old: func(s *releases.ReleaseStatus) { s.Phase = releases.ReleaseSucceeded },
			mutate: func(s *releases.ReleaseStatus) { s.Phase = "" }, want: []wantErr{invalid("status.phase")}},

		// The current batch.
		{name: "back a batch", mutate: func(s *releases.ReleaseStatus) { s.CurrentBatch = 1 },
			want: []wantErr{invalid("status.currentBatch").with("must not be less than 2")}},
		{name: "back to the start", mutate: func(s *releases.ReleaseStatus) { s.CurrentBatch = 0 },
			want: []wantErr{invalid("status.currentBatch")}},

		// What the CloneSet returns to.
		{name: "another revision before the release", mutate: func(s *releases.ReleaseStatus) { s.CloneSet.RevisionBeforeRelease = "api-v7" },
			want: []wantErr{invalid("status.cloneSet.revisionBeforeRelease").with("may not change once recorded")}},
		{name: "revision before the release dropped", mutate: func(s *releases.ReleaseStatus) { s.CloneSet.RevisionBeforeRelease = "" },
			want: []wantErr{invalid("status.cloneSet.revisionBeforeRelease")}},
		{name: "other replicas before the release", mutate: func(s *releases.ReleaseStatus) { s.CloneSet.ReplicasBeforeRelease = ptr(int32(50)) },
			want: []wantErr{invalid("status.cloneSet.replicasBeforeRelease")}},
		{name: "replicas before the release dropped", mutate: func(s *releases.ReleaseStatus) { s.CloneSet.ReplicasBeforeRelease = nil },
			want: []wantErr{invalid("status.cloneSet.replicasBeforeRelease")}},
		{name: "other maxUnavailable before the release", mutate: func(s *releases.ReleaseStatus) { s.CloneSet.MaxUnavailableBeforeRelease = intOrStr("100%") },
			want: []wantErr{invalid("status.cloneSet.maxUnavailableBeforeRelease")}},
		{name: "other update strategy type before the release", mutate: func(s *releases.ReleaseStatus) { s.CloneSet.UpdateStrategyTypeBeforeRelease = "ReCreate" },
			want: []wantErr{invalid("status.cloneSet.updateStrategyTypeBeforeRelease")}},
		{name: "pods before the release changed", mutate: func(s *releases.ReleaseStatus) { s.CloneSet.PodsBeforeRelease = []string{"web-a"} },
			want: []wantErr{invalid("status.cloneSet.podsBeforeRelease")}},
		{name: "pods before the release dropped", mutate: func(s *releases.ReleaseStatus) { s.CloneSet.PodsBeforeRelease = nil },
			want: []wantErr{invalid("status.cloneSet.podsBeforeRelease")}},
		{name: "another CloneSet's uid", mutate: func(s *releases.ReleaseStatus) { s.CloneSet.UID = "0b9d7e55-1111-4a2b-8c3d-222233334444" },
			want: []wantErr{invalid("status.cloneSet.uid").with("may not change once recorded")}},
		{name: "the uid dropped", mutate: func(s *releases.ReleaseStatus) { s.CloneSet.UID = "" },
			want: []wantErr{invalid("status.cloneSet.uid")}},
		{name: "a uid not recorded yet may be recorded (a Create release, once it made its CloneSet)",
			old:    func(s *releases.ReleaseStatus) { s.CloneSet.UID = "" },
			mutate: func(s *releases.ReleaseStatus) { s.CloneSet.UID = "0b9d7e55-1111-4a2b-8c3d-222233334444" }},
		{name: "the observation dropped", mutate: func(s *releases.ReleaseStatus) { s.CloneSet = nil },
			want: []wantErr{
				invalid("status.cloneSet.revisionBeforeRelease"), invalid("status.cloneSet.replicasBeforeRelease"),
				invalid("status.cloneSet.maxUnavailableBeforeRelease"), invalid("status.cloneSet.updateStrategyTypeBeforeRelease"),
				invalid("status.cloneSet.podsBeforeRelease"), invalid("status.cloneSet.uid"),
			}},

		// The plan.
		{name: "a batch dropped", mutate: func(s *releases.ReleaseStatus) { s.Batches = s.Batches[:2] },
			want: []wantErr{invalid("status.batches").with("must have 3 batches")}},
		{name: "a batch added", mutate: func(s *releases.ReleaseStatus) {
			s.Batches = append(s.Batches, releases.ReleaseBatch{Index: 4, Replicas: 1, Target: 6})
		}, want: []wantErr{invalid("status.batches")}},
		{name: "the plan dropped", mutate: func(s *releases.ReleaseStatus) { s.Batches, s.CurrentBatch = nil, 2 },
			want: []wantErr{invalid("status.batches")}},
		{name: "a batch renumbered", mutate: func(s *releases.ReleaseStatus) { s.Batches[1].Index = 7 },
			want: []wantErr{invalid("status.batches[1].index")}},
		{name: "the canary moved", mutate: func(s *releases.ReleaseStatus) { s.Batches[0].Canary, s.Batches[1].Canary = false, true },
			want: []wantErr{invalid("status.batches[0].canary"), invalid("status.batches[1].canary")}},
		{name: "a batch resized", mutate: func(s *releases.ReleaseStatus) { s.Batches[2].Replicas = 0 },
			want: []wantErr{invalid("status.batches[2].replicas")}},
		{name: "a target raised", mutate: func(s *releases.ReleaseStatus) { s.Batches[1].Target = 5 },
			want: []wantErr{invalid("status.batches[1].target").with("the plan may not change")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := storedStatus()
			if tc.old != nil {
				tc.old(&old)
			}
			s := *old.DeepCopy()
			if tc.mutate != nil {
				tc.mutate(&s)
			}
			assertErrors(t, ValidateReleaseStatusTransition(&s, &old, field.NewPath("status")), tc.want...)
		})
	}
}

// A write of the status subresource is checked as a move too, with the paths of the whole object.
func TestValidateReleaseStatusUpdateChecksTheMove(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(r *releases.Release)
		want   []wantErr
	}{
		{name: "a finished release moved back", mutate: func(r *releases.Release) { r.Status.Phase = releases.ReleaseProgressing },
			want: []wantErr{invalid("status.phase")}},
		{name: "its CloneSet pointed at another revision", mutate: func(r *releases.Release) {
			r.Status.CloneSet.RevisionBeforeRelease = "other-5d8f7c9b6"
		}, want: []wantErr{invalid("status.cloneSet.revisionBeforeRelease")}},
		{name: "a target moved, out of order as well", mutate: func(r *releases.Release) { r.Status.Batches[1].Target = 9 },
			want: []wantErr{invalid("status.batches[1].target"), invalid("status.batches[2].target")}},
		{name: "its observation refreshed", mutate: func(r *releases.Release) { r.Status.CloneSet.UpdatedReadyReplicas = 5 }},
		{name: "its CloneSet pointed at another uid", mutate: func(r *releases.Release) { r.Status.CloneSet.UID = "other-uid" },
			want: []wantErr{invalid("status.cloneSet.uid")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			oldR := validRelease(releases.ActionUpdate)
			oldR.Status = storedStatus()
			oldR.Status.Phase, oldR.Status.CurrentBatch = releases.ReleaseSucceeded, 3
			newR := oldR.DeepCopy()
			tc.mutate(newR)
			assertErrors(t, ValidateReleaseStatusUpdate(newR, oldR), tc.want...)
		})
	}
}

// --- every move the server makes is accepted ---

// machineRelease is a release as the API server stores it on create: Pending, planned, with its CloneSet
// before the release recorded.
func machineRelease(mode releases.ReleaseMode, noPullIn bool, batches ...releases.ReleaseBatch) *releases.Release {
	r := validRelease(releases.ActionUpdate)
	r.Generation = 1
	r.Spec.Strategy.Mode, r.Spec.Strategy.NoPullIn = mode, noPullIn
	r.Status = releases.ReleaseStatus{
		Phase:   releases.ReleasePending,
		Batches: batches,
		CloneSet: &releases.CloneSetObservation{
			Replicas: 3, RevisionBeforeRelease: "web-v1", ReplicasBeforeRelease: ptr(int32(3)),
			MaxUnavailableBeforeRelease: intOrStr("20%"),
		},
	}
	return r
}

func machineKey(r *releases.Release) string {
	key := fmt.Sprint(r.Status.Phase, r.Status.CurrentBatch, r.Status.CloneSet.HeldAt != nil)
	for _, b := range r.Status.Batches {
		key += " " + string(b.Phase)
	}
	return key
}

// machineWrites are the statuses the server may write over r's: one verb (an action subresource), or any
// run of the controller's events (its step, before it writes).
func machineWrites(r *releases.Release, now metav1.Time) map[string]*releases.Release {
	obs := plan.Observation{Replicas: 3, Updated: 1, ContainersReady: 1, Ready: 1}
	out := map[string]*releases.Release{}
	for _, verb := range plan.Verbs {
		c := r.DeepCopy()
		if changed, err := plan.Act(c, verb, nil, obs, "alice", now); err == nil && changed {
			out[string(verb)+" to "+machineKey(c)] = c
		}
	}
	events := map[string]func(*releases.Release) bool{
		"start":   func(r *releases.Release) bool { return plan.Start(r, now) },
		"smoked":  func(r *releases.Release) bool { return plan.Smoked(r, now) },
		"baked":   func(r *releases.Release) bool { return plan.Baked(r, now) },
		"advance": func(r *releases.Release) bool { return plan.Advance(r, now) },
		"fail":    func(r *releases.Release) bool { return plan.Fail(r, obs, "failing pods", now) },
	}
	var run func(r *releases.Release, how string)
	run = func(r *releases.Release, how string) {
		for name, e := range events {
			c := r.DeepCopy()
			if !e(c) {
				continue
			}
			key := "the controller (" + how + name + ") to " + machineKey(c)
			if _, ok := out[key]; ok {
				continue
			}
			out[key] = c
			run(c, how+name+", ")
		}
	}
	run(r, "")
	return out
}

// Every status the server writes, by a verb or by its controller, from every state its releases reach,
// passes the validation of a status write.
func TestStatusUpdateAcceptsEveryMoveOfTheServer(t *testing.T) {
	plans := map[string][]releases.ReleaseBatch{
		"canary then 2": {
			{Index: 1, Canary: true, Replicas: 1, Target: 1, Phase: releases.BatchPending},
			{Index: 2, Replicas: 1, Target: 2, Phase: releases.BatchPending},
			{Index: 3, Replicas: 1, Target: 3, Phase: releases.BatchPending},
		},
		"no pods": {{Index: 1, Replicas: 0, Target: 0, Phase: releases.BatchPending}},
	}
	writes := 0
	for planName, batches := range plans {
		for _, mode := range []releases.ReleaseMode{releases.ModeManual, releases.ModeAuto} {
			for _, noPullIn := range []bool{false, true} {
				name := fmt.Sprintf("%s, %s, noPullIn %v", planName, mode, noPullIn)
				seen := map[string]bool{}
				queue := []*releases.Release{machineRelease(mode, noPullIn, append([]releases.ReleaseBatch(nil), batches...)...)}
				for len(queue) > 0 {
					r := queue[0]
					queue = queue[1:]
					if seen[machineKey(r)] {
						continue
					}
					seen[machineKey(r)] = true
					now := metav1.NewTime(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(len(r.Status.History)+1) * time.Hour))
					for how, c := range machineWrites(r, now) {
						writes++
						if errs := ValidateReleaseStatusUpdate(c, r); len(errs) > 0 {
							t.Fatalf("%s: %s from %s is refused: %v", name, how, machineKey(r), errs)
						}
						queue = append(queue, c)
					}
				}
			}
		}
	}
	t.Logf("%d writes of the server checked", writes)
}
