package cloneset

import (
	"context"
	"encoding/json"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Pods lists the CloneSet's pods: those its selector matches and it controls.
func (d *Driver) Pods(ctx context.Context, cs *kruiseappsv1alpha1.CloneSet) ([]corev1.Pod, error) {
	return d.read().Pods(ctx, cs)
}

// ControlledBy keeps the pods whose controller is cs. Labels alone are not enough: the pods of a
// deleted CloneSet of the same name that were left behind, or of another controller with an
// overlapping selector, would count as this one's and a scale-in would wait for ever for them to go.
func ControlledBy(cs *kruiseappsv1alpha1.CloneSet, pods []corev1.Pod) []corev1.Pod {
	owned := pods[:0:0]
	for i := range pods {
		if metav1.IsControlledBy(&pods[i], cs) {
			owned = append(owned, pods[i])
		}
	}
	return owned
}

// Replace asks kruise to replace the named pods (spec.scaleStrategy.podsToDelete): it deletes each, through
// its lifecycle hooks, so a pod in traffic is pulled out first, and creates one in its place at the
// revision the partition says. The write carries the CloneSet's resourceVersion as a precondition.
func (d *Driver) Replace(ctx context.Context, cs *kruiseappsv1alpha1.CloneSet, pods []corev1.Pod) error {
	names := make([]string, 0, len(pods))
	for _, p := range pods {
		names = append(names, p.Name)
	}
	// Live: only pods that exist now go into podsToDelete (kruise refuses the others).
	all, err := d.Live().Pods(ctx, cs)
	if err != nil {
		return err
	}
	listed := map[string]bool{}
	for _, n := range cs.Spec.ScaleStrategy.PodsToDelete {
		listed[n] = true
	}
	added := false
	for _, n := range existing(names, all) {
		added = added || !listed[n]
	}
	if !added {
		return nil
	}
	want := existing(mergeNames(cs.Spec.ScaleStrategy.PodsToDelete, names), all)
	patch, err := json.Marshal(map[string]interface{}{
		"metadata": map[string]interface{}{"resourceVersion": cs.ResourceVersion},
		"spec":     map[string]interface{}{"scaleStrategy": map[string]interface{}{"podsToDelete": want}},
	})
	if err != nil {
		return err
	}
	_, err = d.patch(ctx, cs, patch, false)
	return err
}
