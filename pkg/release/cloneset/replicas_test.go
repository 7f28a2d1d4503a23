package cloneset

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/release/plan"
)

// Invariant 9: the partition counts the replicas the CloneSet has now. A release of 6 pods at batch 1
// (2 approved) on a CloneSet scaled out to 20 keeps 18 at the old revision; scaled in to 1, the one pod may
// be updated (fewer than approved).
func TestThePartitionCountsTheReplicasTheCloneSetHasNow(t *testing.T) {
	for _, tt := range []struct {
		name      string
		replicas  int32
		current   int32
		phase     releases.BatchPhase
		partition int32
	}{
		{"as planned", 6, 1, releases.BatchSmoking, 4},
		{"scaled out by an HPA", 20, 1, releases.BatchSmoking, 18},
		{"scaled out, batch 2", 20, 2, releases.BatchBaking, 16},
		{"scaled in below the approved", 1, 2, releases.BatchBaking, 0},
		{"scaled in", 5, 2, releases.BatchBaked, 1},
		{"the last batch takes every pod there is", 20, 3, releases.BatchSmoking, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cs := cloneSetWeb()
			cs.Spec.Replicas = &tt.replicas
			s := newAPIServer(t, cs)
			_, err := s.driver().Apply(context.Background(), updateRelease("40", tt.current, tt.phase), false)
			require.NoError(t, err)
			stored := s.get()
			require.NotNil(t, stored.Spec.UpdateStrategy.Partition)
			assert.Equal(t, intstr.FromInt32(tt.partition), *stored.Spec.UpdateStrategy.Partition)
			assert.Equal(t, tt.replicas, *stored.Spec.Replicas, "the release never changes the replicas of an Update")
		})
	}
}

// A paused release holds its CloneSet at the pods updated when it paused, counted against the replicas
// it has now.
func TestAHoldCountsTheReplicasTheCloneSetHasNow(t *testing.T) {
	cs := cloneSetWeb()
	replicas := int32(12)
	cs.Spec.Replicas = &replicas
	s := newAPIServer(t, cs)
	r := updateRelease("40", 2, releases.BatchSmoking)
	r.Status.Phase = releases.ReleasePaused
	held := int32(3) // 6 before the release, 3 updated when it paused
	r.Status.CloneSet.HeldAt = &held
	_, err := s.driver().Apply(context.Background(), r, false)
	require.NoError(t, err)
	stored := s.get()
	assert.Equal(t, intstr.FromInt32(9), *stored.Spec.UpdateStrategy.Partition, "12 pods, 3 updated: partition 9")
	assert.True(t, stored.Spec.UpdateStrategy.Paused)
}

// Invariant 9 against the resize webhook's order of writes: the partition is raised first (with
// v1alpha1.ScaleOutAnnotation), and the scale lands a moment later. A write of the release in between keeps
// the raised partition, counted at the replicas asked for; once the scale has landed, or the grace is over,
// the annotation goes and the partition counts the replicas there are.
func TestAPartitionRaisedAheadOfAScaleOutIsKeptUntilTheScaleLands(t *testing.T) {
	for _, tt := range []struct {
		name      string
		replicas  int32
		at        time.Time
		partition int32
		kept      bool
	}{
		{"the scale has not landed", 6, time.Now(), 10, true},
		{"the scale landed", 12, time.Now(), 10, false},
		{"the scale never landed: the grace is over", 6, time.Now().Add(-plan.ScaleOutGrace - time.Second), 4, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cs := cloneSetWeb()
			cs.Spec.Replicas = &tt.replicas
			raised := intstr.FromInt32(10) // 12 pods, 2 approved
			cs.Spec.UpdateStrategy.Partition = &raised
			cs.Annotations = map[string]string{v1alpha1.ScaleOutAnnotation: plan.ScaleOutValue(6, 12, tt.at)}
			s := newAPIServer(t, cs)
			_, err := s.driver().Apply(context.Background(), updateRelease("40", 1, releases.BatchSmoking), false)
			require.NoError(t, err)
			stored := s.get()
			require.NotNil(t, stored.Spec.UpdateStrategy.Partition)
			assert.Equal(t, intstr.FromInt32(tt.partition), *stored.Spec.UpdateStrategy.Partition)
			_, has := stored.Annotations[v1alpha1.ScaleOutAnnotation]
			assert.Equal(t, tt.kept, has, "the webhook's annotation is kept only while the scale is on its way")
		})
	}
}
