package cloneset

import (
	"testing"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
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
