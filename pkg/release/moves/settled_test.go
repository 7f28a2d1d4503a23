package moves

import (
	"testing"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CloneSet web after a cancel put back web-v3 (6 pods).
func TestSettledWaitsForKruiseAndForEveryPodOfTheRelease(t *testing.T) {
	back := func(edit func(cs *kruiseappsv1alpha1.CloneSet)) *kruiseappsv1alpha1.CloneSet {
		cs := webCloneSet("web-v3", -1)
		if edit != nil {
			edit(cs)
		}
		return cs
	}
	pod := func(name, revision, state string, deleting bool) corev1.Pod {
		p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"controller-revision-hash": revision}}}
		if state != "" {
			p.Labels["lifecycle.apps.kruise.io/state"] = state
		}
		if deleting {
			now := metav1.Now()
			p.DeletionTimestamp = &now
		}
		return p
	}
	settled := []corev1.Pod{pod("a", "web-v3", "Normal", false), pod("b", "web-v3", "", false)}

	assert.True(t, Settled(back(nil), settled))
	assert.True(t, Settled(nil, nil), "no CloneSet: nothing to hold")
	assert.True(t, Settled(back(nil), append(settled, pod("c", "web-v4", "PreparingDelete", true))),
		"a pod of the release on its way out was let go once out of the endpoints")

	assert.False(t, Settled(back(func(cs *kruiseappsv1alpha1.CloneSet) { cs.Generation = 4 }), settled),
		"kruise has not seen the revert")
	assert.False(t, Settled(back(func(cs *kruiseappsv1alpha1.CloneSet) { cs.Status.UpdatedReplicas = 5 }), settled),
		"kruise still has a pod to update")
	assert.False(t, Settled(back(func(cs *kruiseappsv1alpha1.CloneSet) { cs.Status.Replicas = 7 }), settled),
		"kruise still has a pod to delete")
	assert.False(t, Settled(back(nil), append(settled, pod("c", "web-v4", "Normal", false))), "a pod of the release is left")
	assert.False(t, Settled(back(nil), append(settled, pod("c", "web-v3", "Updating", false))), "a pod being updated back")
	assert.False(t, Settled(back(nil), append(settled, pod("c", "web-v3", "PreparingDelete", false))),
		"a pod kruise is about to delete is still held")
	assert.False(t, Settled(back(nil), append(settled, pod("c", "web-v3", "PreparingUpdate", false))),
		"a pod kruise is about to update in place is still held")

	assert.True(t, Settled(back(func(cs *kruiseappsv1alpha1.CloneSet) { cs.Status.UpdateRevision = "web-v5" }),
		[]corev1.Pod{pod("a", "web-v5", "Normal", false)}),
		"someone wrote a template of their own since the cancel: theirs, rolled out under the same hooks")
}
