package cloneset

import (
	"context"
	"strings"
	"testing"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/release/moves"
)

// kruiseDefaults stands in for kruise's mutating webhook: when the template changes, it fills in the pod
// defaults (as SetDefaultPodSpec does); it never changes a value that is set.
func kruiseDefaults(old, cs *kruiseappsv1alpha1.CloneSet) {
	if apiequality.Semantic.DeepEqual(old.Spec.Template, cs.Spec.Template) {
		return
	}
	spec := &cs.Spec.Template.Spec
	if spec.RestartPolicy == "" {
		spec.RestartPolicy = corev1.RestartPolicyAlways
	}
	if spec.DNSPolicy == "" {
		spec.DNSPolicy = corev1.DNSClusterFirst
	}
	if spec.SchedulerName == "" {
		spec.SchedulerName = corev1.DefaultSchedulerName
	}
	if spec.SecurityContext == nil {
		spec.SecurityContext = &corev1.PodSecurityContext{}
	}
	if spec.TerminationGracePeriodSeconds == nil {
		grace := int64(30)
		spec.TerminationGracePeriodSeconds = &grace
	}
	for i := range spec.Containers {
		c := &spec.Containers[i]
		if c.ImagePullPolicy == "" {
			c.ImagePullPolicy = corev1.PullAlways
		}
		if c.TerminationMessagePath == "" {
			c.TerminationMessagePath = corev1.TerminationMessagePathDefault
		}
		if c.TerminationMessagePolicy == "" {
			c.TerminationMessagePolicy = corev1.TerminationMessageReadFile
		}
	}
}

// driven is a server whose CloneSet web release web-update (at resourceVersion 40) drives at batch 1
// Baked: 2 of 6 pods approved, partition 4. admit stands in for the admission webhooks.
func driven(t *testing.T, admit func(old, cs *kruiseappsv1alpha1.CloneSet)) (*apiServer, *releases.Release) {
	t.Helper()
	s := newAPIServer(t, cloneSetWeb())
	s.admit = admit
	r := updateRelease("40", 1, releases.BatchBaked)
	_, err := s.driver().Apply(context.Background(), r, false)
	require.NoError(t, err)
	require.Equal(t, int32(4), partitionOf(s.get()))
	return s, r
}

func partitionOf(cs *kruiseappsv1alpha1.CloneSet) int32 {
	return int32(cs.Spec.UpdateStrategy.Partition.IntValue())
}

// repair applies r once more (as the controller does when the CloneSet changes) and returns the patches it
// sent.
func repair(t *testing.T, s *apiServer, r *releases.Release) []map[string]interface{} {
	t.Helper()
	before := len(s.patches)
	_, err := s.driver().Apply(context.Background(), r, false)
	require.NoError(t, err)
	return s.patches[before:]
}

// Invariant 2: a partition lowered by hand (kubectl patch ... partition 0) would let every pod be updated.
// The partition is absolute, so it is put back, and the release's other fields are not written again.
func TestDriftPartitionLoweredByHandIsPutBack(t *testing.T) {
	s, r := driven(t, nil)
	s.edit(func(cs *kruiseappsv1alpha1.CloneSet) {
		p := intstr.FromInt32(0)
		cs.Spec.UpdateStrategy.Partition = &p
	})
	patches := repair(t, s, r)
	require.Len(t, patches, 1)
	assert.ElementsMatch(t, []string{"metadata.annotations." + v1alpha1.IntentAnnotation, "metadata.resourceVersion", "metadata.uid",
		"spec.updateStrategy.partition"}, paths(patches[0]))
	assert.Equal(t, int32(4), partitionOf(s.get()))
	assert.Equal(t, "web-update", s.get().Annotations[v1alpha1.OwnerAnnotation], "the owner annotation never went")
}

// A partition raised by hand is put back too: the release decides how many pods are updated.
func TestDriftPartitionRaisedByHandIsPutBack(t *testing.T) {
	s, r := driven(t, nil)
	s.edit(func(cs *kruiseappsv1alpha1.CloneSet) {
		p := intstr.FromInt32(6)
		cs.Spec.UpdateStrategy.Partition = &p
	})
	require.Len(t, repair(t, s, r), 1)
	assert.Equal(t, int32(4), partitionOf(s.get()))
}

// paused is absolute: a running release's CloneSet paused by hand is unpaused.
func TestDriftPausedByHandIsPutBack(t *testing.T) {
	s, r := driven(t, nil)
	s.edit(func(cs *kruiseappsv1alpha1.CloneSet) { cs.Spec.UpdateStrategy.Paused = true })
	patches := repair(t, s, r)
	require.Len(t, patches, 1)
	paused, found := at(patches[0], "spec.updateStrategy.paused")
	assert.True(t, found)
	assert.Nil(t, paused, "null: back to false")
	assert.False(t, s.get().Spec.UpdateStrategy.Paused)
}

// An image changed by hand (kubectl set image) leaves the template-hash annotation as it was: the template
// is put back all the same. Defaults the server filled in are not drift, nor is a field added by hand.
func TestDriftTemplateChangedByHandIsPutBack(t *testing.T) {
	s, r := driven(t, kruiseDefaults)
	hash := s.get().Annotations[v1alpha1.TemplateHashAnnotation]
	require.NotEmpty(t, hash)
	require.Equal(t, corev1.PullAlways, s.get().Spec.Template.Spec.Containers[0].ImagePullPolicy, "the server defaulted the template")

	assert.Empty(t, repair(t, s, r), "the defaults the server filled in are not drift")

	s.edit(func(cs *kruiseappsv1alpha1.CloneSet) {
		cs.Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "DEBUG", Value: "1"}}
	})
	assert.Empty(t, repair(t, s, r), "a field added by hand is not the release's")

	s.edit(func(cs *kruiseappsv1alpha1.CloneSet) { cs.Spec.Template.Spec.Containers[0].Image = "web:hotfix" })
	require.Equal(t, hash, s.get().Annotations[v1alpha1.TemplateHashAnnotation])
	patches := repair(t, s, r)
	require.Len(t, patches, 1, "one write: the template the server stores is the release's")
	_, found := at(patches[0], "spec.template")
	assert.True(t, found)
	stored := s.get()
	assert.Equal(t, "web:v4", stored.Spec.Template.Spec.Containers[0].Image)
	assert.False(t, moves.HasGate(&stored.Spec.Template))
	assert.Equal(t, hash, stored.Annotations[v1alpha1.TemplateHashAnnotation])
	_, recorded := stored.Annotations[v1alpha1.StoredTemplateAnnotation]
	assert.False(t, recorded, "nothing to record: the server kept the template")

	assert.Empty(t, repair(t, s, r), "and once repaired, nothing more is written")
}

// A webhook that changes a value the release sets (here: it rewrites images to a mirror) would change the
// template back after every write. The release records the template as stored after one write and leaves
// it alone from then on, but still repairs a hand edit.
func TestDriftRepairDoesNotFightAWebhook(t *testing.T) {
	mirror := func(old, cs *kruiseappsv1alpha1.CloneSet) {
		kruiseDefaults(old, cs)
		for i := range cs.Spec.Template.Spec.Containers {
			c := &cs.Spec.Template.Spec.Containers[i]
			if !strings.HasPrefix(c.Image, "mirror.example.com/") {
				c.Image = "mirror.example.com/" + c.Image
			}
		}
	}
	s, r := driven(t, mirror)
	require.Len(t, s.patches, 2, "the template, then the record of it as stored")
	stored := s.get()
	assert.Equal(t, "mirror.example.com/web:v4", stored.Spec.Template.Spec.Containers[0].Image)
	assert.Equal(t, templateHash(&stored.Spec.Template), stored.Annotations[v1alpha1.StoredTemplateAnnotation])
	assertOnlyOwned(t, s.patches[1])

	for i := 0; i < 3; i++ {
		assert.Empty(t, repair(t, s, r), "the stored template is not drift: no write loop")
	}

	s.edit(func(cs *kruiseappsv1alpha1.CloneSet) { cs.Spec.Template.Spec.Containers[0].Image = "web:hotfix" })
	assert.Len(t, repair(t, s, r), 2, "a hand edit is repaired (and the stored template recorded again)")
	stored = s.get()
	assert.Equal(t, "mirror.example.com/web:v4", stored.Spec.Template.Spec.Containers[0].Image)
	assert.Empty(t, repair(t, s, r))

	// The record goes with the release.
	done := updateRelease("50", 3, releases.BatchBaked)
	done.Status.Phase = releases.ReleaseSucceeded
	repair(t, s, done)
	_, recorded := s.get().Annotations[v1alpha1.StoredTemplateAnnotation]
	assert.False(t, recorded)
}

// A stale state of the release (a cache behind: an older resourceVersion than the stamp on the CloneSet)
// writes nothing, even to a CloneSet that drifted; the current state repairs it.
func TestDriftStaleReleaseWritesNothing(t *testing.T) {
	s, r := driven(t, nil)
	s.edit(func(cs *kruiseappsv1alpha1.CloneSet) {
		p := intstr.FromInt32(0)
		cs.Spec.UpdateStrategy.Partition = &p
		cs.Spec.UpdateStrategy.Paused = true
	})
	stale := updateRelease("39", 1, releases.BatchBaked)
	assert.Empty(t, repair(t, s, stale))
	assert.Equal(t, int32(0), partitionOf(s.get()))
	assert.True(t, s.get().Spec.UpdateStrategy.Paused)

	require.Len(t, repair(t, s, r), 1)
	assert.Equal(t, int32(4), partitionOf(s.get()))
	assert.False(t, s.get().Spec.UpdateStrategy.Paused)
}

// The fence of an absolute partition: a stale state that read the CloneSet before a newer state was
// applied cannot put its older partition over the newer one. Its patch carries the resourceVersion it read,
// so it fails with a conflict; read again, the stamp says a newer state is there, and it writes nothing.
func TestDriftStaleWriteRacingANewerOneLosesTheRace(t *testing.T) {
	s, _ := driven(t, nil)
	s.edit(func(cs *kruiseappsv1alpha1.CloneSet) {
		p := intstr.FromInt32(0) // drift, which the stale state would repair to its partition 4
		cs.Spec.UpdateStrategy.Partition = &p
	})
	// `next` (release at resourceVersion 42, batch 2: partition 2) is applied between the stale state's
	// read and its patch.
	s.race = func() {
		s.edit(func(cs *kruiseappsv1alpha1.CloneSet) {
			p := intstr.FromInt32(2)
			cs.Spec.UpdateStrategy.Partition = &p
			cs.Annotations[v1alpha1.IntentAnnotation] = "uid-web-update/42"
		})
	}
	stale := updateRelease("41", 1, releases.BatchBaked)
	got, err := s.driver().Apply(context.Background(), stale, false)
	require.NoError(t, err)
	assert.Equal(t, 1, s.conflicts, "the stale patch was refused")
	assert.Equal(t, 1, s.writes(), "and not sent again: only the first apply wrote")
	assert.Equal(t, int32(2), partitionOf(s.get()), "batch 2 is not undone")
	assert.Equal(t, int32(2), partitionOf(got))
}
