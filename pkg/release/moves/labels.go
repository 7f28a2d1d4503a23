package moves

import (
	"strconv"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	corev1 "k8s.io/api/core/v1"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/release/plan"
)

// LabelChange is a pod whose release labels must change: to Release and Batch, or, both empty, off.
type LabelChange struct {
	Pod            *corev1.Pod
	Release, Batch string
}

// BatchLabelChanges says which pods need their release labels changed:
//   - every pod the release brought (ReleasePods) carries the release's name and its batch (every green
//     pod of a blue/green release: "preview"): the batch the
//     status lists it in, else the current batch (a pod joins the batch that is running when it comes up,
//     as AssignBatchPods has it). A pod labelled for this release keeps its batch, so a pod beyond those the
//     status lists does not move to later batches as the release goes on;
//   - a pod labelled for this release that is no longer one it brought (NewPods: updated back in place
//     after a cancel) loses the labels.
//
// Pods on their way out are left alone. r's status is the one just observed (its batches list its pods).
func BatchLabelChanges(r *releases.Release, cs *kruiseappsv1alpha1.CloneSet, pods []corev1.Pod) []LabelChange {
	cur := plan.Current(&r.Status)
	if cur == nil || cur.Phase == releases.BatchPending || cs == nil {
		return nil
	}
	listed := map[string]int32{}
	for _, b := range r.Status.Batches {
		for _, p := range b.Pods {
			listed[p.Name] = b.Index
		}
	}
	var changes []LabelChange
	ours := map[string]bool{}
	if r.Status.Phase != releases.ReleaseCanceled {
		for _, p := range ReleasePods(r, cs, pods) {
			ours[p.Name] = true
		}
	}
	brought := map[string]bool{}
	for _, p := range NewPods(r, pods) {
		brought[p.Name] = true
	}
	for i := range pods {
		p := &pods[i]
		if p.DeletionTimestamp != nil {
			continue
		}
		labelled := p.Labels[v1alpha1.ReleaseLabel] == r.Name
		switch {
		case ours[p.Name]:
			if labelled && p.Labels[v1alpha1.BatchLabel] != "" {
				continue
			}
			batch, ok := listed[p.Name]
			if !ok {
				batch = cur.Index
			}
			value := strconv.Itoa(int(batch))
			if plan.BlueGreen(r) {
				value = v1alpha1.PreviewBatch
			}
			changes = append(changes, LabelChange{Pod: p, Release: r.Name, Batch: value})
		case labelled && !brought[p.Name]:
			changes = append(changes, LabelChange{Pod: p})
		}
	}
	return changes
}
