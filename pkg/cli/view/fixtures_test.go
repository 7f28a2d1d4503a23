package view

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

// t0 is when the releases of these tests start.
var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// at is t0 plus d, as the status stores it.
func at(d time.Duration) *metav1.Time {
	t := metav1.NewTime(t0.Add(d))
	return &t
}

func entry(action, user string, d time.Duration, from int32, fromPhase string, to int32, toPhase string) v1alpha1.ReleaseHistoryEntry {
	return v1alpha1.ReleaseHistoryEntry{Action: action, User: user, Time: *at(d), FromBatch: from, FromPhase: fromPhase, ToBatch: to, ToPhase: toPhase}
}

const ctl = "triton-controller"

func pod(name string, ready, pulledIn bool) v1alpha1.BatchPod {
	return v1alpha1.BatchPod{Name: name, IP: "10.128.0.1", Phase: corev1.PodRunning, Ready: ready, PulledIn: pulledIn}
}

// midwayRelease is the tutorial's canary release (canary 1, then batches of 2, Manual, 5 pods) 11 minutes after
// it started: the canary was Smoked at 20s and waited 3m for its pull-in, was Baked at 3m30s and waited
// 6m30s for the next batch; batch 2 started at 10m and is Baking.
func midwayRelease() *v1alpha1.Release {
	r := tutorial()
	r.Status.CloneSet = &v1alpha1.CloneSetObservation{UpdateRevision: "nginx-5d8f7c9b6d", Replicas: 5, UpdatedReplicas: 3, UpdatedReadyReplicas: 2}
	r.Status.Batches[0] = v1alpha1.ReleaseBatch{Index: 1, Canary: true, Replicas: 1, Target: 1, Phase: v1alpha1.BatchBaked,
		StartedAt: at(0), SmokedAt: at(20 * time.Second), BakedAt: at(3*time.Minute + 30*time.Second),
		Pods: []v1alpha1.BatchPod{pod("nginx-9vgk9", true, true)}}
	r.Status.Batches[1] = v1alpha1.ReleaseBatch{Index: 2, Replicas: 2, Target: 3, Phase: v1alpha1.BatchBaking,
		StartedAt: at(10 * time.Minute), SmokedAt: at(10*time.Minute + 30*time.Second),
		Pods: []v1alpha1.BatchPod{pod("nginx-4xq2p", true, true), pod("nginx-b7r5m", false, true)}}
	r.Status.History = []v1alpha1.ReleaseHistoryEntry{
		entry("start", ctl, 0, 0, "Pending", 1, "Progressing/Smoking"),
		entry("smoked", ctl, 20*time.Second, 1, "Progressing/Smoking", 1, "Progressing/Smoked"),
		entry("next", "alice", 3*time.Minute+20*time.Second, 1, "Progressing/Smoked", 1, "Progressing/Baking"),
		entry("baked", ctl, 3*time.Minute+30*time.Second, 1, "Progressing/Baking", 1, "Progressing/Baked"),
		entry("next", "alice", 10*time.Minute, 1, "Progressing/Baked", 2, "Progressing/Smoking"),
		entry("smoked", ctl, 10*time.Minute+30*time.Second, 2, "Progressing/Smoking", 2, "Progressing/Baking"),
	}
	return r
}

// finishedRelease is midwayRelease carried on to the end: batch 2 Baked at 11m30s and started on by bob a minute
// later; batch 3 Baked at 13m40s and the release finished by bob at 15m.
func finishedRelease() *v1alpha1.Release {
	r := midwayRelease()
	s := &r.Status
	s.Phase, s.CurrentBatch = v1alpha1.ReleaseSucceeded, 3
	s.CloneSet.UpdatedReplicas, s.CloneSet.UpdatedReadyReplicas = 5, 5
	s.Batches[1].Phase, s.Batches[1].BakedAt = v1alpha1.BatchBaked, at(11*time.Minute+30*time.Second)
	s.Batches[1].Pods[1] = pod("nginx-b7r5m", true, true)
	s.Batches[2] = v1alpha1.ReleaseBatch{Index: 3, Replicas: 2, Target: 5, Phase: v1alpha1.BatchBaked,
		StartedAt: at(12*time.Minute + 30*time.Second), SmokedAt: at(13 * time.Minute), BakedAt: at(13*time.Minute + 40*time.Second),
		Pods: []v1alpha1.BatchPod{pod("nginx-kd8wz", true, true), pod("nginx-p2n6h", true, true)}}
	s.History = append(s.History,
		entry("baked", ctl, 11*time.Minute+30*time.Second, 2, "Progressing/Baking", 2, "Progressing/Baked"),
		entry("next", "bob", 12*time.Minute+30*time.Second, 2, "Progressing/Baked", 3, "Progressing/Smoking"),
		entry("smoked", ctl, 13*time.Minute, 3, "Progressing/Smoking", 3, "Progressing/Baking"),
		entry("baked", ctl, 13*time.Minute+40*time.Second, 3, "Progressing/Baking", 3, "Progressing/Baked"),
		entry("next", "bob", 15*time.Minute, 3, "Progressing/Baked", 3, "Succeeded/Baked"),
	)
	s.Conditions = []metav1.Condition{{Type: v1alpha1.ConditionComplete, Status: metav1.ConditionTrue}}
	return r
}

// failedMessage is how the controller words batch 2's failure (see pkg/release/plan.Progress).
const failedMessage = "batch 2: 1 failing pods, 0 tolerated: nginx-b7r5m: container nginx: CrashLoopBackOff"

// failedRelease is midwayRelease whose batch 2 failed at 12m: one of its pods crash-loops.
func failedRelease() *v1alpha1.Release {
	r := midwayRelease()
	s := &r.Status
	s.Phase = v1alpha1.ReleaseFailed
	s.Batches[1].Phase = v1alpha1.BatchFailed
	fail := entry("fail", ctl, 12*time.Minute, 2, "Progressing/Baking", 2, "Failed/Failed")
	fail.Reason = failedMessage
	s.History = append(s.History, fail)
	s.Conditions = []metav1.Condition{{Type: v1alpha1.ConditionFailed, Status: metav1.ConditionTrue, Reason: "Failed", Message: failedMessage}}
	return r
}

// blueGreenWaiting is a blue/green Update of 2 pods, its preview Smoked at 40s and waiting for the switch.
func blueGreenWaiting() *v1alpha1.Release {
	r := blueGreenRelease()
	s := &r.Status
	s.CloneSet.UpdateRevision = "nginx-7f9c6b5d4"
	s.Batches[0].StartedAt, s.Batches[0].SmokedAt = at(0), at(40*time.Second)
	s.Batches[0].Pods = []v1alpha1.BatchPod{pod("nginx-g1", false, false), pod("nginx-g2", false, false)}
	s.History = []v1alpha1.ReleaseHistoryEntry{
		entry("start", ctl, 0, 0, "Pending", 1, "Progressing/Smoking"),
		entry("smoked", ctl, 40*time.Second, 1, "Progressing/Smoking", 1, "Progressing/Smoked"),
	}
	return r
}
