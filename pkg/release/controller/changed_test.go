package controller

import (
	"testing"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/triton-io/triton/pkg/release/caches"
)

func cachedPod(t *testing.T, edit func(*corev1.Pod)) interface{} {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "app-1", ResourceVersion: "10",
		Labels: map[string]string{"app": "app"}, Annotations: map[string]string{"note": "a"},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps.kruise.io/v1alpha1", Kind: "CloneSet", Name: "app", UID: "cs-1", Controller: ptr.To(true)}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, HostIP: "10.0.0.1",
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}}}}
	if edit != nil {
		edit(p)
	}
	obj, err := caches.TrimPod(p)
	require.NoError(t, err)
	return obj
}

// A pod update wakes a release only when it changed something the controller reads (what the cache
// keeps); a change of anything else arrives with only a new resourceVersion.
func TestOnlyUpdatesOfWhatTheControllerReadsWakeIt(t *testing.T) {
	old := cachedPod(t, nil)
	for name, c := range map[string]struct {
		edit func(*corev1.Pod)
		want bool
	}{
		"an annotation":      {func(p *corev1.Pod) { p.ResourceVersion = "11"; p.Annotations["note"] = "b" }, false},
		"the host IP":        {func(p *corev1.Pod) { p.ResourceVersion = "11"; p.Status.HostIP = "10.0.0.2" }, false},
		"nothing (a relist)": {nil, false},
		"a label":            {func(p *corev1.Pod) { p.ResourceVersion = "11"; p.Labels["hold"] = "true" }, true},
		"Ready":              {func(p *corev1.Pod) { p.ResourceVersion = "11"; p.Status.Conditions[0].Status = corev1.ConditionTrue }, true},
		"on its way out":     {func(p *corev1.Pod) { p.ResourceVersion = "11"; p.DeletionTimestamp = ptr.To(metav1.Now()) }, true},
		"its IP":             {func(p *corev1.Pod) { p.ResourceVersion = "11"; p.Status.PodIP = "10.1.0.1" }, true},
	} {
		assert.Equal(t, c.want, readChanged(old, cachedPod(t, c.edit)), name)
	}
	assert.Equal(t, "10", old.(*corev1.Pod).ResourceVersion, "the cached pod is left as it was")

	cs := &kruiseappsv1alpha1.CloneSet{ObjectMeta: metav1.ObjectMeta{Name: "app", ResourceVersion: "5"}}
	same := cs.DeepCopy()
	same.ResourceVersion = "6"
	assert.False(t, readChanged(cs, same))
	scaled := same.DeepCopy()
	scaled.Status.ReadyReplicas = 3
	assert.True(t, readChanged(cs, scaled))
	assert.True(t, readChanged(nil, scaled), "an unknown old object counts as changed")
}
