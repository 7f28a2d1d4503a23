package cloneset

import (
	"testing"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

func TestControlledByKeepsOnlyTheCloneSetsPods(t *testing.T) {
	cs := &kruiseappsv1alpha1.CloneSet{ObjectMeta: metav1.ObjectMeta{Name: "nginx", UID: types.UID("current")}}
	yes := true
	pod := func(name string, refs ...metav1.OwnerReference) corev1.Pod {
		return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, OwnerReferences: refs}}
	}
	ref := func(uid string, controller bool) metav1.OwnerReference {
		r := metav1.OwnerReference{APIVersion: "apps.kruise.io/v1alpha1", Kind: "CloneSet", Name: "nginx", UID: types.UID(uid)}
		if controller {
			r.Controller = &yes
		}
		return r
	}
	pods := []corev1.Pod{
		pod("ours", ref("current", true)),
		pod("left-by-a-deleted-cloneset-of-the-same-name", ref("deleted", true)),
		pod("bare"),
		pod("owned-but-not-controlled", ref("current", false)),
		pod("ours-too", ref("other", false), ref("current", true)),
	}
	var names []string
	for _, p := range ControlledBy(cs, pods) {
		names = append(names, p.Name)
	}
	assert.Equal(t, []string{"ours", "ours-too"}, names)
	assert.Len(t, pods, 5, "the input is left alone")
}

func TestStraysArePodsReadyForTrafficThatNoOnePulledIn(t *testing.T) {
	cs := &kruiseappsv1alpha1.CloneSet{
		ObjectMeta: metav1.ObjectMeta{Name: "nginx", Generation: 4},
		Status:     kruiseappsv1alpha1.CloneSetStatus{ObservedGeneration: 4, UpdateRevision: "rev-new"},
	}
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

func TestBatchPodsKeepTheirBatchWhileTheCloneSetIsUnobserved(t *testing.T) {
	cs := &kruiseappsv1alpha1.CloneSet{
		ObjectMeta: metav1.ObjectMeta{Name: "nginx", Generation: 4},
		Status:     kruiseappsv1alpha1.CloneSetStatus{ObservedGeneration: 4, UpdateRevision: "rev-new"},
	}
	r := &releases.Release{
		Spec: releases.ReleaseSpec{CloneSetName: "nginx", Action: releases.ActionUpdate},
		Status: releases.ReleaseStatus{
			Phase: releases.ReleaseProgressing, CurrentBatch: 2,
			Batches: []releases.ReleaseBatch{
				{Index: 1, Canary: true, Replicas: 1, Target: 1, Phase: releases.BatchBaked, Pods: []releases.BatchPod{{Name: "canary"}}},
				{Index: 2, Replicas: 2, Target: 3, Phase: releases.BatchSmoking},
			},
			CloneSet: &releases.CloneSetObservation{RevisionBeforeRelease: "rev-old"},
		},
	}
	pod := func(name, rev string) corev1.Pod {
		return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"controller-revision-hash": rev}}}
	}
	listed := func(r *releases.Release) [][]string {
		var out [][]string
		for _, b := range r.Status.Batches {
			var names []string
			for _, p := range b.Pods {
				names = append(names, p.Name)
			}
			out = append(out, names)
		}
		return out
	}
	pods := []corev1.Pod{pod("canary", "rev-new"), pod("second", "rev-new"), pod("old", "rev-old")}

	// The controller has just raised the partition: kruise has not seen it, and the update revision says
	// nothing yet. The canary stays in batch 1, and the second pod waits.
	unobserved := cs.DeepCopy()
	unobserved.Generation++
	got := r.DeepCopy()
	AssignBatchPods(got, unobserved, pods)
	assert.Equal(t, [][]string{{"canary"}, nil}, listed(got))

	// Seen: the second pod joins the current batch; the canary keeps its own.
	AssignBatchPods(got, cs, pods)
	assert.Equal(t, [][]string{{"canary"}, {"second"}}, listed(got))

	// A pod that is gone leaves the list even while the CloneSet is unobserved.
	AssignBatchPods(got, unobserved, pods[1:])
	assert.Equal(t, [][]string{nil, {"second"}}, listed(got))
}
