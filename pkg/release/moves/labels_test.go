package moves

import (
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

func TestBatchLabelChanges(t *testing.T) {
	cs := webCloneSet("rev-new", -1) // kruise has seen its latest spec (generation 3)
	release := func(phase releases.ReleasePhase) *releases.Release {
		return &releases.Release{
			ObjectMeta: metav1.ObjectMeta{Name: "nginx-update"},
			Spec:       releases.ReleaseSpec{CloneSetName: "nginx", Action: releases.ActionUpdate},
			Status: releases.ReleaseStatus{
				Phase: phase, CurrentBatch: 2,
				Batches: []releases.ReleaseBatch{
					{Index: 1, Canary: true, Replicas: 1, Target: 1, Phase: releases.BatchBaked, Pods: []releases.BatchPod{{Name: "canary"}}},
					{Index: 2, Replicas: 2, Target: 3, Phase: releases.BatchSmoking, Pods: []releases.BatchPod{{Name: "listed"}}},
					{Index: 3, Replicas: 2, Target: 5, Phase: releases.BatchPending},
				},
				CloneSet: &releases.CloneSetObservation{RevisionBeforeRelease: "rev-old"},
			},
		}
	}
	now := metav1.Now()
	pod := func(name, rev string, labels ...string) corev1.Pod {
		p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"controller-revision-hash": rev}}}
		for i := 0; i+1 < len(labels); i += 2 {
			p.Labels[labels[i]] = labels[i+1]
		}
		return p
	}
	pods := []corev1.Pod{
		pod("canary", "rev-new"),
		pod("listed", "rev-new"),
		pod("new-since", "rev-new"),
		pod("labelled", "rev-new", v1alpha1.ReleaseLabel, "nginx-update", v1alpha1.BatchLabel, "1"),
		pod("labelled-by-an-older-release", "rev-new", v1alpha1.ReleaseLabel, "nginx-restart", v1alpha1.BatchLabel, "4"),
		pod("stable", "rev-old", v1alpha1.ReleaseLabel, "nginx-restart", v1alpha1.BatchLabel, "2"),
		pod("reverted-in-place", "rev-old", v1alpha1.ReleaseLabel, "nginx-update", v1alpha1.BatchLabel, "2"),
		func() corev1.Pod {
			p := pod("going", "rev-new")
			p.DeletionTimestamp = &now
			return p
		}(),
	}
	got := func(changes []LabelChange) map[string]string {
		out := map[string]string{}
		for _, c := range changes {
			out[c.Pod.Name] = c.Release + "/" + c.Batch
		}
		return out
	}

	t.Run("running", func(t *testing.T) {
		assert.Equal(t, map[string]string{
			"canary":                       "nginx-update/1", // the batch the status lists it in
			"listed":                       "nginx-update/2",
			"new-since":                    "nginx-update/2", // the current batch
			"labelled-by-an-older-release": "nginx-update/2",
			"reverted-in-place":            "/", // not at the release's revision: not its pod any more
		}, got(BatchLabelChanges(release(releases.ReleaseProgressing), cs, pods)))
	})
	t.Run("canceled: labels come off only pods back at the revision from before", func(t *testing.T) {
		assert.Equal(t, map[string]string{"reverted-in-place": "/"},
			got(BatchLabelChanges(release(releases.ReleaseCanceled), cs, pods)))
	})
	t.Run("a CloneSet that has not taken the release's template yet: nothing is labelled", func(t *testing.T) {
		behind := cs.DeepCopy()
		behind.Generation = 4
		changes := got(BatchLabelChanges(release(releases.ReleaseProgressing), behind, pods))
		assert.Equal(t, map[string]string{"reverted-in-place": "/"}, changes,
			"pods at the release's revision keep their labels while kruise catches up")
	})
	t.Run("not started", func(t *testing.T) {
		r := release(releases.ReleasePending)
		r.Status.CurrentBatch = 0
		assert.Empty(t, BatchLabelChanges(r, cs, pods))
	})
	t.Run("labelled pods are stable", func(t *testing.T) {
		r := release(releases.ReleaseProgressing)
		labelled := append([]corev1.Pod(nil), pods...)
		for _, c := range BatchLabelChanges(r, cs, pods) {
			for i := range labelled {
				if labelled[i].Name != c.Pod.Name {
					continue
				}
				labelled[i].Labels = map[string]string{"controller-revision-hash": labelled[i].Labels["controller-revision-hash"]}
				if c.Release != "" {
					labelled[i].Labels[v1alpha1.ReleaseLabel], labelled[i].Labels[v1alpha1.BatchLabel] = c.Release, c.Batch
				}
			}
		}
		// The release moves on to batch 3: no pod moves with it.
		r.Status.CurrentBatch = 3
		r.Status.Batches[2].Phase = releases.BatchSmoking
		var names []string
		for _, c := range BatchLabelChanges(r, cs, labelled) {
			names = append(names, c.Pod.Name)
		}
		sort.Strings(names)
		assert.Empty(t, names)
	})
}
