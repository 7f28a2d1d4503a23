package moves

import (
	"testing"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases"
)

func TestBatchPodsKeepTheirBatchWhileTheCloneSetIsUnobserved(t *testing.T) {
	cs := webCloneSet("rev-new", -1) // kruise has seen its latest spec (generation 3)
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

// RefreshBatchPods says what the pods listed are now, and changes no batch's list: a pod not listed does not
// join, and a listed pod not among those read stays as it was.
func TestRefreshBatchPodsChangesNoList(t *testing.T) {
	r := &releases.Release{Status: releases.ReleaseStatus{
		Phase: releases.ReleaseProgressing, CurrentBatch: 2,
		Batches: []releases.ReleaseBatch{
			{Index: 1, Canary: true, Phase: releases.BatchBaked, Pods: []releases.BatchPod{{Name: "canary", PulledIn: true}}},
			{Index: 2, Phase: releases.BatchBaking, Pods: []releases.BatchPod{{Name: "second", IP: "10.0.0.9"}}},
		},
	}}
	ready := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "canary"}, Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.1",
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}}
	RefreshBatchPods(r, []corev1.Pod{ready, {ObjectMeta: metav1.ObjectMeta{Name: "new"}}})
	assert.Equal(t, []releases.BatchPod{{Name: "canary", IP: "10.0.0.1", Phase: corev1.PodRunning, Ready: true}}, r.Status.Batches[0].Pods,
		"as it is now: Ready, and not pulled in (no gate condition)")
	assert.Equal(t, []releases.BatchPod{{Name: "second", IP: "10.0.0.9"}}, r.Status.Batches[1].Pods, "not read: as it was")
}
