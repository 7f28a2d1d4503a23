package moves

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

func TestStraysArePodsReadyForTrafficThatNoOnePulledIn(t *testing.T) {
	cs := webCloneSet("rev-new", -1) // kruise has seen its latest spec (generation 3)
	now := metav1.Now()
	pod := func(name, rev string, gate bool, gateStatus, containersReady corev1.ConditionStatus, change func(*corev1.Pod)) corev1.Pod {
		p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"controller-revision-hash": rev}}}
		if gate {
			p.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: v1alpha1.ReadinessGate}}
		}
		if gateStatus != "" {
			p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: v1alpha1.ReadinessGate, Status: gateStatus})
		}
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: corev1.ContainersReady, Status: containersReady})
		if change != nil {
			change(&p)
		}
		return p
	}
	pods := []corev1.Pod{
		pod("stray", "rev-new", true, "", corev1.ConditionTrue, nil),
		pod("stray-gate-false", "rev-new", true, corev1.ConditionFalse, corev1.ConditionTrue, nil),
		pod("in-traffic", "rev-new", true, corev1.ConditionTrue, corev1.ConditionTrue, nil),
		pod("no-gate", "rev-new", false, "", corev1.ConditionTrue, nil),
		pod("not-running-yet", "rev-new", true, "", corev1.ConditionFalse, nil),
		pod("old-revision-a-cancel-takes-away", "rev-old", true, corev1.ConditionFalse, corev1.ConditionTrue, nil),
		pod("going", "rev-new", true, "", corev1.ConditionTrue, func(p *corev1.Pod) { p.DeletionTimestamp = &now }),
		pod("held", "rev-new", true, "", corev1.ConditionTrue, func(p *corev1.Pod) {
			p.Labels["lifecycle.apps.kruise.io/state"] = "PreparingDelete"
		}),
	}
	var names []string
	for _, p := range Strays(cs, pods) {
		names = append(names, p.Name)
	}
	assert.Equal(t, []string{"stray", "stray-gate-false"}, names)

	// A CloneSet that has not seen its latest spec yet: its update revision may be stale.
	cs.Generation = 5
	assert.Empty(t, Strays(cs, pods))
}

func agedPod(name string, created int, pulledIn bool) corev1.Pod {
	p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name,
		CreationTimestamp: metav1.NewTime(time.Unix(1_700_000_000, 0).Add(time.Duration(created) * time.Second))}}
	status := corev1.ConditionFalse
	if pulledIn {
		status = corev1.ConditionTrue
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: v1alpha1.ReadinessGate, Status: status}}
	return p
}

func names(pods []corev1.Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name)
	}
	return out
}

// The pods a batch approved are those in traffic, then the oldest; the newest beyond are the excess.
func TestApprovedKeepsPodsInTrafficThenTheOldest(t *testing.T) {
	pods := []corev1.Pod{agedPod("new-c", 30, false), agedPod("canary", 10, false), agedPod("new-a", 20, false), agedPod("new-b", 20, false)}
	approved, excess := Approved(pods, 1)
	assert.Equal(t, []string{"canary"}, names(approved))
	assert.Equal(t, []string{"new-a", "new-b", "new-c"}, names(excess))

	pods = append(pods, agedPod("in-traffic", 40, true))
	approved, excess = Approved(pods, 2)
	assert.Equal(t, []string{"in-traffic", "canary"}, names(approved), "a pod in traffic is never the excess while there is room")
	assert.Len(t, excess, 3)

	approved, excess = Approved(pods, -1)
	assert.Len(t, approved, 5, "no limit: every pod")
	assert.Empty(t, excess)
	approved, excess = Approved(pods, 5)
	assert.Len(t, approved, 5)
	assert.Empty(t, excess)
	approved, excess = Approved(pods, 0)
	assert.Empty(t, approved)
	assert.Len(t, excess, 5)
}

// Excess pods are replaced only once kruise has seen a partition that brings their replacements back at
// the old revision.
func TestPartitionHolds(t *testing.T) {
	cs := webCloneSet("web-v3", -1) // 6 replicas, generation 3 observed, no partition
	assert.False(t, PartitionHolds(cs, 2), "no partition: every pod is updated")
	p := intstr.FromInt32(4)
	cs.Spec.UpdateStrategy.Partition = &p
	assert.True(t, PartitionHolds(cs, 2))
	assert.False(t, PartitionHolds(cs, 1), "partition 4 of 6 lets 2 be updated, not 1")
	cs.Generation = 4
	assert.False(t, PartitionHolds(cs, 2), "kruise has not seen the partition yet")
	cs.Generation = 3
	percent := intstr.FromString("50%")
	cs.Spec.UpdateStrategy.Partition = &percent
	assert.False(t, PartitionHolds(cs, 3), "a percentage is not the release's partition")
	assert.False(t, PartitionHolds(nil, 3))
}

// Pods at the revision from before the release that come up while it runs (an HPA's) go into traffic;
// pods at the release's revision, and pods on their way out, do not.
func TestStableStraysArePodsOfTheRevisionBeforeTheRelease(t *testing.T) {
	r := webUpdate(1, releases.BatchBaked) // RevisionBeforeRelease web-v3
	gated := func(name, revision string, containersReady bool) corev1.Pod {
		p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"controller-revision-hash": revision}},
			Spec: corev1.PodSpec{ReadinessGates: []corev1.PodReadinessGate{{ConditionType: v1alpha1.ReadinessGate}}}}
		status := corev1.ConditionFalse
		if containersReady {
			status = corev1.ConditionTrue
		}
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.ContainersReady, Status: status}}
		return p
	}
	leaving := gated("old-leaving", "web-v3", true)
	leaving.Labels["lifecycle.apps.kruise.io/state"] = "PreparingDelete"
	inTraffic := gated("old-in", "web-v3", true)
	inTraffic.Status.Conditions = append(inTraffic.Status.Conditions, corev1.PodCondition{Type: v1alpha1.ReadinessGate, Status: corev1.ConditionTrue})
	ungated := gated("old-ungated", "web-v3", true)
	ungated.Spec.ReadinessGates = nil
	pods := []corev1.Pod{gated("old-new", "web-v3", true), gated("old-starting", "web-v3", false),
		gated("canary", "web-v4", true), leaving, inTraffic, ungated}
	assert.Equal(t, []string{"old-new"}, names(StableStrays(r, pods)))

	scale := webUpdate(1, releases.BatchBaked)
	scale.Spec.Action = releases.ActionScale
	assert.Empty(t, StableStrays(scale, pods), "a Scale's pods are all of one revision")
}
