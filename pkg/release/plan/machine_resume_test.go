package plan_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/release/plan"
)

func TestResume(t *testing.T) {
	t.Run("on a running release: no change", func(t *testing.T) {
		for _, phase := range []releases.BatchPhase{releases.BatchSmoking, releases.BatchSmoked, releases.BatchBaking, releases.BatchBaked} {
			r := driveTo(t, newRelease(tutorial()), 1, phase)
			before := r.DeepCopy()
			changed, err := plan.Act(r, plan.VerbResume, nil, plan.Observation{}, "bob", at(5000))
			require.NoError(t, err, phase)
			assert.False(t, changed, phase)
			assert.Equal(t, before, r, phase)
		}
	})
	t.Run("on a pending release: no change", func(t *testing.T) {
		r := newRelease(tutorial())
		before := r.DeepCopy()
		changed, err := plan.Act(r, plan.VerbResume, nil, plan.Observation{}, "bob", at(5000))
		require.NoError(t, err)
		assert.False(t, changed)
		assert.Equal(t, before, r)
	})
	for _, tt := range []struct {
		name  string
		batch int32
		phase releases.BatchPhase
	}{
		{"on a failed release: the Smoking batch is retried", 2, releases.BatchSmoking},
		{"on a failed release: the Smoked canary is retried", 1, releases.BatchSmoked},
		{"on a failed release: the Baking batch is retried", 2, releases.BatchBaking},
		{"on a failed release: the Baked batch is retried", 2, releases.BatchBaked},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := driveTo(t, newRelease(tutorial()), tt.batch, tt.phase)
			require.True(t, plan.Fail(r, plan.Observation{Replicas: 3, Updated: 1}, "crash loop", at(4000)))
			require.NotNil(t, r.Status.CloneSet.HeldAt)
			changed, err := plan.Act(r, plan.VerbResume, &releases.ReleaseRequest{Reason: "fixed the config map"}, plan.Observation{}, "bob", at(5000))
			require.NoError(t, err)
			require.True(t, changed)

			assert.Equal(t, releases.ReleaseProgressing, r.Status.Phase)
			assert.Equal(t, tt.batch, r.Status.CurrentBatch, "the same batch is retried")
			b := plan.Current(&r.Status)
			assert.Equal(t, releases.BatchSmoking, b.Phase)
			assert.Equal(t, at(5000), *b.StartedAt, "its deadline restarts")
			assert.Nil(t, b.SmokedAt)
			assert.Nil(t, b.BakedAt)
			assert.Nil(t, r.Status.CloneSet.HeldAt)
			assert.Equal(t, metav1.ConditionFalse, condition(t, r, releases.ConditionFailed).Status)
			checkConditions(t, r)
			in := plan.IntentOf(r)
			assert.False(t, in.Paused)
			assert.Equal(t, 3-b.Target, *in.Partition)
			last := r.Status.History[len(r.Status.History)-1]
			assert.Equal(t, releases.ReleaseHistoryEntry{
				Action: "resume", User: "bob", Time: at(5000), FromBatch: tt.batch, ToBatch: tt.batch,
				FromPhase: "Failed/Failed", ToPhase: "Progressing/Smoking", Reason: "fixed the config map",
			}, last)

			// The retried release runs to the end.
			finish(t, r)
		})
	}
	for _, tt := range []struct {
		name    string
		batch   int32
		phase   releases.BatchPhase
		restart bool // whether the batch's StartedAt restarts at the resume
	}{
		{"on a paused release: a Smoking batch's deadline restarts", 2, releases.BatchSmoking, true},
		{"on a paused release: a Smoked canary is left as it was", 1, releases.BatchSmoked, false},
		{"on a paused release: a Baking batch's deadline restarts", 2, releases.BatchBaking, true},
		{"on a paused release: a Baked batch is left as it was", 2, releases.BatchBaked, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := driveTo(t, newRelease(tutorial()), tt.batch, tt.phase)
			running := r.DeepCopy()
			startedAt := *plan.Current(&r.Status).StartedAt
			changed, err := plan.Act(r, plan.VerbPause, nil, plan.Observation{Replicas: 3, Updated: 1}, "bob", at(4000))
			require.NoError(t, err)
			require.True(t, changed)
			require.Equal(t, startedAt, *plan.Current(&r.Status).StartedAt, "pause leaves StartedAt as it was")
			paused := r.DeepCopy()
			changed, err = plan.Act(r, plan.VerbResume, &releases.ReleaseRequest{Reason: "false alarm"}, plan.Observation{}, "bob", at(5000))
			require.NoError(t, err)
			require.True(t, changed)

			assert.Equal(t, releases.ReleaseProgressing, r.Status.Phase)
			assert.Equal(t, tt.batch, r.Status.CurrentBatch, "the same batch goes on")
			want := paused.Status.Batches
			if tt.restart {
				now := at(5000)
				want[tt.batch-1].StartedAt = &now
				assert.NotEqual(t, now, startedAt)
			}
			assert.Equal(t, want, r.Status.Batches, "only the StartedAt of a Smoking or Baking batch changes")
			b := plan.Current(&r.Status)
			assert.Equal(t, tt.phase, b.Phase, "the batch is not restarted")
			if tt.restart {
				assert.Equal(t, at(5000), *b.StartedAt, "time spent paused does not count against the progress deadline")
			} else {
				assert.Equal(t, startedAt, *b.StartedAt)
			}
			assert.Nil(t, r.Status.CloneSet.HeldAt)
			assert.Equal(t, metav1.ConditionFalse, condition(t, r, releases.ConditionPaused).Status)
			checkConditions(t, r)
			assert.Equal(t, plan.IntentOf(running), plan.IntentOf(r), "the CloneSet goes back to what it was before the pause")
			require.Len(t, r.Status.History, len(paused.Status.History)+1)
			assert.Equal(t, releases.ReleaseHistoryEntry{
				Action: "resume", User: "bob", Time: at(5000), FromBatch: tt.batch, ToBatch: tt.batch,
				FromPhase: "Paused/" + string(tt.phase), ToPhase: "Progressing/" + string(tt.phase), Reason: "false alarm",
			}, r.Status.History[len(r.Status.History)-1])

			// The resumed release runs to the end.
			finish(t, r)
		})
	}
}
