package cloneset

import (
	"context"
	"testing"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	kruisefake "github.com/openkruise/kruise-api/client/clientset/versioned/fake"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	kubefake "k8s.io/client-go/kubernetes/fake"

	"github.com/triton-io/triton/pkg/apis/releases"
)

// cloneSetOwnedBy is CloneSet web in the middle of release owner: image v3, partition 2 of 4.
func cloneSetOwnedBy(owner string) *kruiseappsv1alpha1.CloneSet {
	replicas := int32(4)
	partition := intstr.FromInt32(2)
	return &kruiseappsv1alpha1.CloneSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", ResourceVersion: "7",
			Annotations: map[string]string{OwnerAnnotation: owner}},
		Spec: kruiseappsv1alpha1.CloneSetSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "web:v3"}}},
			},
			UpdateStrategy: kruiseappsv1alpha1.CloneSetUpdateStrategy{Partition: &partition},
		},
	}
}

// succeeded is release name of CloneSet web to image, finished.
func succeeded(name, image string) *releases.Release {
	return &releases.Release{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name), ResourceVersion: "40"},
		Spec: releases.ReleaseSpec{
			CloneSetName: "web",
			Action:       releases.ActionUpdate,
			Template: &corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: image}}},
			},
		},
		Status: releases.ReleaseStatus{Phase: releases.ReleaseSucceeded, CurrentBatch: 2,
			Batches: []releases.ReleaseBatch{{Index: 1, Replicas: 2, Target: 2, Phase: releases.BatchBaked},
				{Index: 2, Replicas: 2, Target: 4, Phase: releases.BatchBaked}}},
	}
}

func updates(kruise *kruisefake.Clientset) int {
	n := 0
	for _, a := range kruise.Actions() {
		if a.GetVerb() == "update" {
			n++
		}
	}
	return n
}

// A finished release lets go of the CloneSet it still owns; one a newer release has taken over in the
// meantime (the newer one was created the moment the older Succeeded) is not its to write.
func TestAFinishedReleaseNeverWritesACloneSetAnotherReleaseOwns(t *testing.T) {
	ctx := context.Background()

	kruise := kruisefake.NewSimpleClientset(cloneSetOwnedBy("web-2"))
	d := &Driver{Kruise: kruise, Kube: kubefake.NewSimpleClientset()}
	got, err := d.Apply(ctx, succeeded("web-1", "web:v2"), false)
	require.NoError(t, err)
	assert.Equal(t, 0, updates(kruise), "the CloneSet of release web-2 was written by the finished web-1")
	stored, err := kruise.AppsV1alpha1().CloneSets("default").Get(ctx, "web", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "web:v3", stored.Spec.Template.Spec.Containers[0].Image)
	assert.Equal(t, "web-2", stored.Annotations[OwnerAnnotation])
	assert.Equal(t, int32(2), int32(stored.Spec.UpdateStrategy.Partition.IntValue()))
	assert.Equal(t, stored.ResourceVersion, got.ResourceVersion)

	// The same release, still the owner, does let go of it.
	kruise = kruisefake.NewSimpleClientset(cloneSetOwnedBy("web-1"))
	d = &Driver{Kruise: kruise, Kube: kubefake.NewSimpleClientset()}
	_, err = d.Apply(ctx, succeeded("web-1", "web:v3"), false)
	require.NoError(t, err)
	assert.Equal(t, 1, updates(kruise))
	stored, err = kruise.AppsV1alpha1().CloneSets("default").Get(ctx, "web", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Empty(t, stored.Annotations[OwnerAnnotation], "released at the end")
}
