package cloneset

import (
	"context"
	"encoding/json"
	"testing"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	kubefake "k8s.io/client-go/kubernetes/fake"
)

// keptRevision is revision name of CloneSet cs keeping template as kruise keeps it: a patch that replaces
// the template whole, owned by cs.
func keptRevision(t *testing.T, cs *kruiseappsv1alpha1.CloneSet, name string, template corev1.PodTemplateSpec) *appsv1.ControllerRevision {
	t.Helper()
	raw, err := json.Marshal(template)
	require.NoError(t, err)
	var patch map[string]interface{}
	require.NoError(t, json.Unmarshal(raw, &patch))
	patch["$patch"] = "replace"
	// As kruise's encoder writes it; the k8s.io/api types of this server leave it out.
	patch["metadata"].(map[string]interface{})["creationTimestamp"] = nil
	data, err := json.Marshal(map[string]interface{}{"spec": map[string]interface{}{"template": patch}})
	require.NoError(t, err)
	yes := true
	return &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: cs.Namespace, OwnerReferences: []metav1.OwnerReference{{
			APIVersion: "apps.kruise.io/v1alpha1", Kind: "CloneSet", Name: cs.Name, UID: cs.UID, Controller: &yes}}},
		Data: runtime.RawExtension{Raw: data}, Revision: 3,
	}
}

// A CloneSet whose latest spec kruise has not observed yet still has a known update revision when that
// spec left the template alone (the end of a release puts back only the update strategy): a release can be
// admitted at once. A template edit kruise has not seen, or a revision that is not the CloneSet's, leaves
// it unknown.
func TestTheUpdateRevisionIsCurrentWhenOnlyTheTemplateIsUnchanged(t *testing.T) {
	ctx := context.Background()
	observed := cloneSetWeb()
	observed.Spec.Lifecycle = nil
	kept := observed.Spec.Template

	unobserved := func(edit func(cs *kruiseappsv1alpha1.CloneSet)) *kruiseappsv1alpha1.CloneSet {
		cs := observed.DeepCopy()
		cs.Generation = observed.Status.ObservedGeneration + 1
		edit(cs)
		return cs
	}
	for _, tc := range []struct {
		name     string
		cs       *kruiseappsv1alpha1.CloneSet
		revision *appsv1.ControllerRevision
		current  bool
	}{
		{"observed", observed, nil, true},
		{"the update strategy put back, not observed", unobserved(func(cs *kruiseappsv1alpha1.CloneSet) {
			twenty := intstr.FromString("20%")
			cs.Spec.UpdateStrategy.MaxUnavailable = &twenty
		}), keptRevision(t, observed, "web-v3", kept), true},
		{"scaled, not observed", unobserved(func(cs *kruiseappsv1alpha1.CloneSet) {
			cs.Spec.Replicas = ptr(int32(9))
		}), keptRevision(t, observed, "web-v3", kept), true},
		{"a new image, not observed", unobserved(func(cs *kruiseappsv1alpha1.CloneSet) {
			cs.Spec.Template.Spec.Containers[0].Image = "web:v4"
		}), keptRevision(t, observed, "web-v3", kept), false},
		{"a new label on the pods, not observed", unobserved(func(cs *kruiseappsv1alpha1.CloneSet) {
			cs.Spec.Template.Labels["tier"] = "front"
		}), keptRevision(t, observed, "web-v3", kept), false},
		{"the revision is another CloneSet's", unobserved(func(*kruiseappsv1alpha1.CloneSet) {}),
			func() *appsv1.ControllerRevision {
				other := observed.DeepCopy()
				other.UID = "uid-of-another"
				return keptRevision(t, other, "web-v3", kept)
			}(), false},
		{"the revision is gone", unobserved(func(*kruiseappsv1alpha1.CloneSet) {}), nil, false},
		{"no update revision yet", unobserved(func(cs *kruiseappsv1alpha1.CloneSet) { cs.Status.UpdateRevision = "" }),
			keptRevision(t, observed, "web-v3", kept), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var objects []runtime.Object
			if tc.revision != nil {
				objects = append(objects, tc.revision)
			}
			got, err := UpdateRevisionCurrent(ctx, Live{Kube: kubefake.NewClientset(objects...)}, tc.cs)
			require.NoError(t, err)
			assert.Equal(t, tc.current, got)
		})
	}
}

// A revision with a field the k8s.io/api types do not know is not taken for the CloneSet's template, whose
// typed copy cannot have it: unknown is not the same.
func TestARevisionWithFieldsTheTypesDoNotKnowIsNotTheTemplate(t *testing.T) {
	rev := futureRevision("web-v3", "web:v3", 3)
	template, err := RevisionTemplate(rev)
	require.NoError(t, err)
	same, err := RevisionHasTemplate(rev, template)
	require.NoError(t, err)
	assert.False(t, same)
}

func ptr[T any](v T) *T { return &v }
