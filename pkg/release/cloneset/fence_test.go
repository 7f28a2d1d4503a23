package cloneset

import (
	"context"
	"testing"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triton-io/triton/pkg/apis/releases"
)

// What happens between a release's read of its CloneSet and its write decides whether the write lands: a
// status write of kruise's (the CloneSet's pods changed) does not make it fail, so it costs no second
// round trip; a change of what the write was derived from (the spec, a label, an annotation) does, and the
// write is made again on what that change left, which is kept.
func TestTheCloneSetWriteIsFencedByWhatItWasDerivedFrom(t *testing.T) {
	for _, c := range []struct {
		name      string
		between   func(cs *kruiseappsv1alpha1.CloneSet)
		conflicts int
		kept      func(t *testing.T, cs *kruiseappsv1alpha1.CloneSet)
	}{
		{"kruise writes the status", func(cs *kruiseappsv1alpha1.CloneSet) { cs.Status.ReadyReplicas = 5; cs.Status.UpdatedReplicas = 1 }, 0,
			func(t *testing.T, cs *kruiseappsv1alpha1.CloneSet) { assert.Equal(t, int32(5), cs.Status.ReadyReplicas) }},
		{"an HPA scales it", func(cs *kruiseappsv1alpha1.CloneSet) { n := int32(8); cs.Spec.Replicas = &n }, 1,
			func(t *testing.T, cs *kruiseappsv1alpha1.CloneSet) { assert.Equal(t, int32(8), *cs.Spec.Replicas) }},
		{"a tenant annotates it", func(cs *kruiseappsv1alpha1.CloneSet) { cs.Annotations["example.com/owner"] = "team-b" }, 1,
			func(t *testing.T, cs *kruiseappsv1alpha1.CloneSet) { assert.Equal(t, "team-b", cs.Annotations["example.com/owner"]) }},
		{"a tenant labels it", func(cs *kruiseappsv1alpha1.CloneSet) { cs.Labels["tier"] = "gold" }, 1,
			func(t *testing.T, cs *kruiseappsv1alpha1.CloneSet) { assert.Equal(t, "gold", cs.Labels["tier"]) }},
		{"another writer stamps it", func(cs *kruiseappsv1alpha1.CloneSet) { cs.Annotations[IntentAnnotation] = "uid-web-update/39" }, 1,
			func(t *testing.T, cs *kruiseappsv1alpha1.CloneSet) {}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newAPIServer(t, cloneSetWeb())
			s.race = func() { s.edit(c.between) }
			_, err := s.driver().Apply(context.Background(), updateRelease("40", 1, releases.BatchSmoking), false)
			require.NoError(t, err)
			assert.Equal(t, c.conflicts, s.conflicts, "writes refused")
			stored := s.get()
			assert.Equal(t, *stored.Spec.Replicas-2, partitionOf(stored), "the release's write landed: batch 1, 2 pods")
			assert.Equal(t, "uid-web-update/40", stored.Annotations[IntentAnnotation])
			c.kept(t, stored)
		})
	}
}
