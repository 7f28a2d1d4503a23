package cloneset

import (
	"context"
	"testing"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

// behind is a cache that still holds an older CloneSet; every other read goes to s.
type behind struct {
	Reader
	cs *kruiseappsv1alpha1.CloneSet
}

func (b behind) CloneSet(context.Context, string, string) (*kruiseappsv1alpha1.CloneSet, error) {
	return b.cs.DeepCopy(), nil
}

// A write derived from a cache that is behind is refused (the resourceVersion it read), and the retry reads
// live: the CloneSet ends as the release wants, with the write in between kept.
func TestApplyFromACacheBehindRetriesOnALiveRead(t *testing.T) {
	s, _ := driven(t, nil)
	cached := s.get()
	s.edit(func(cs *kruiseappsv1alpha1.CloneSet) { cs.Spec.MinReadySeconds = 9 })
	d := s.driver()
	d.Cache = behind{Reader: d.Live(), cs: cached}

	before := len(s.patches)
	_, err := d.Apply(context.Background(), updateRelease("41", 2, releases.BatchSmoking), false)
	require.NoError(t, err)
	sent := s.patches[before:]
	require.Len(t, sent, 2, "refused once, then patched again from a live read")
	first, _ := at(sent[0], "metadata.resourceVersion")
	assert.Equal(t, cached.ResourceVersion, first, "the first try was the cache's")
	assert.Equal(t, int32(2), partitionOf(s.get()), "batch 2: 4 of 6 pods approved")
	assert.Equal(t, int32(9), s.get().Spec.MinReadySeconds, "the write in between is kept")
}

// pause, then resume at once: the cache may still show the CloneSet from before the pause, which is what
// resume wants. A verb does not take the cache's word that there is nothing to write (the CloneSet would
// stay paused); the controller does, since the CloneSet's next event brings it back.
func TestAVerbConfirmsACachedNoOpLive(t *testing.T) {
	for _, levelTriggered := range []bool{false, true} {
		s, _ := driven(t, nil)
		beforePause := s.get()
		paused := updateRelease("41", 1, releases.BatchBaked)
		paused.Status.Phase = releases.ReleasePaused
		_, err := s.driver().Apply(context.Background(), paused, false)
		require.NoError(t, err)
		require.True(t, s.get().Spec.UpdateStrategy.Paused)

		d := s.driver()
		d.Cache = behind{Reader: d.Live(), cs: beforePause}
		d.LevelTriggered = levelTriggered
		got, err := d.Apply(context.Background(), updateRelease("42", 1, releases.BatchBaked), false)
		require.NoError(t, err)
		if levelTriggered {
			assert.True(t, s.get().Spec.UpdateStrategy.Paused, "the controller waits for the next event")
			continue
		}
		assert.False(t, s.get().Spec.UpdateStrategy.Paused, "resume reached the CloneSet")
		assert.False(t, got.Spec.UpdateStrategy.Paused, "and the answer shows it")
		assert.Equal(t, "uid-web-update/42", s.get().Annotations[v1alpha1.IntentAnnotation])
	}
}

// A CloneSet the cache does not hold may have been created a moment ago: only kube-apiserver can say it is
// not there (a Create release must not try to create it again).
func TestApplyReadsLiveWhatTheCacheDoesNotHold(t *testing.T) {
	s, r := driven(t, nil)
	d := s.driver()
	d.Cache = behind{Reader: d.Live(), cs: nil}
	got, err := d.Apply(context.Background(), r, false)
	require.NoError(t, err)
	require.NotNil(t, got)
	assert.Equal(t, s.get().ResourceVersion, got.ResourceVersion)
}
