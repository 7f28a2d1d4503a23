package cloneset

import (
	"context"
	"encoding/json"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/release/moves"
)

// Relabel makes every change (moves.BatchLabelChanges), its pods' writes in parallel; a pod gone meanwhile is
// skipped.
func (d *Driver) Relabel(ctx context.Context, changes []moves.LabelChange) error {
	pods := make([]*corev1.Pod, len(changes))
	for i, c := range changes {
		pods[i] = c.Pod
	}
	return eachPod(ctx, pods, "labelling", func(ctx context.Context, i int) error {
		return d.SetReleaseLabels(ctx, changes[i])
	})
}

// SetReleaseLabels puts a change's labels on its pod, or takes them off.
func (d *Driver) SetReleaseLabels(ctx context.Context, c moves.LabelChange) error {
	value := func(v string) interface{} {
		if v == "" {
			return nil
		}
		return v
	}
	patch, err := json.Marshal(map[string]interface{}{"metadata": map[string]interface{}{"labels": map[string]interface{}{
		v1alpha1.ReleaseLabel: value(c.Release), v1alpha1.BatchLabel: value(c.Batch),
	}}})
	if err != nil {
		return err
	}
	written, err := d.Kube.CoreV1().Pods(c.Pod.Namespace).Patch(ctx, c.Pod.Name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "triton-apiserver"})
	return d.wrotePod(written, err)
}
