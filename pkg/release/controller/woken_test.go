package controller

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

func rel(name string, age time.Duration, phase v1alpha1.ReleasePhase, edit ...func(*v1alpha1.Release)) *v1alpha1.Release {
	r := &v1alpha1.Release{ObjectMeta: metav1.ObjectMeta{Name: name,
		CreationTimestamp: metav1.NewTime(time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC).Add(-age))}}
	r.Status.Phase = phase
	for _, e := range edit {
		e(r)
	}
	return r
}

func reverted(status metav1.ConditionStatus) func(*v1alpha1.Release) {
	return func(r *v1alpha1.Release) {
		r.Status.Conditions = append(r.Status.Conditions, metav1.Condition{Type: v1alpha1.ConditionReverted, Status: status})
	}
}

func started(r *v1alpha1.Release) { r.Status.CurrentBatch = 1 }

func names(rels []*v1alpha1.Release) []string {
	var out []string
	for _, r := range rels {
		out = append(out, r.Name)
	}
	return out
}

// A pod event wakes the releases that have work to do, not every release its CloneSet ever had.
func TestWokenAreTheReleasesWithWorkLeft(t *testing.T) {
	old1 := rel("v1", 5*time.Hour, v1alpha1.ReleaseSucceeded)
	old2 := rel("v2", 4*time.Hour, v1alpha1.ReleaseCanceled, reverted(metav1.ConditionTrue))
	old3 := rel("v3", 3*time.Hour, v1alpha1.ReleaseSucceeded)
	deleting := rel("v0", 9*time.Hour, v1alpha1.ReleaseSucceeded, func(r *v1alpha1.Release) {
		now := metav1.Now()
		r.DeletionTimestamp = &now
	})
	draining := rel("v4", 2*time.Hour, v1alpha1.ReleaseCanceled, reverted(metav1.ConditionFalse), started)
	canceledBeforeItStarted := rel("v6", 6*time.Hour, v1alpha1.ReleaseCanceled)
	for name, c := range map[string]struct {
		rels  []*v1alpha1.Release
		owner string
		want  []string
	}{
		"one running among finished ones":       {[]*v1alpha1.Release{old1, old2, old3, rel("v5", time.Hour, v1alpha1.ReleaseProgressing)}, "v5", []string{"v5"}},
		"a new release, no phase yet":           {[]*v1alpha1.Release{old1, rel("v5", time.Hour, "")}, "", []string{"v5"}},
		"paused and failed ones are not ended":  {[]*v1alpha1.Release{old1, rel("p", time.Hour, v1alpha1.ReleasePaused), rel("f", time.Hour, v1alpha1.ReleaseFailed)}, "", []string{"p", "f"}},
		"all finished: the newest looks after":  {[]*v1alpha1.Release{old1, old3, old2}, "", []string{"v3"}},
		"a canceled one still draining":         {[]*v1alpha1.Release{old1, draining, old3}, "", []string{"v4"}},
		"canceled before it started: no drain":  {[]*v1alpha1.Release{canceledBeforeItStarted, old3}, "", []string{"v3"}},
		"one being deleted":                     {[]*v1alpha1.Release{deleting, old1}, "", []string{"v0", "v1"}},
		"the owner annotation names a finished": {[]*v1alpha1.Release{old1, old3}, "v1", []string{"v1", "v3"}},
		"none":                                  {nil, "", nil},
	} {
		assert.Equal(t, c.want, names(Woken(c.rels, c.owner)), name)
	}
}
