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
