//go:build e2e

package framework

// What a release's status says: its conditions, batches, history and what it observed of its CloneSet.

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

// ConditionIs holds when the release's condition ct has status want.
func ConditionIs(r *v1alpha1.Release, ct string, want metav1.ConditionStatus) bool {
	c := meta.FindStatusCondition(r.Status.Conditions, ct)
	return c != nil && c.Status == want
}

// AssertConditions checks the four conditions of a release at once.
func AssertConditions(t *testing.T, r *v1alpha1.Release, awaitingNext, paused, failed, complete bool) {
	t.Helper()
	for ct, want := range map[string]bool{
		v1alpha1.ConditionAwaitingNext: awaitingNext,
		v1alpha1.ConditionPaused:       paused,
		v1alpha1.ConditionFailed:       failed,
		v1alpha1.ConditionComplete:     complete,
	} {
		status := metav1.ConditionFalse
		if want {
			status = metav1.ConditionTrue
		}
		assert.True(t, ConditionIs(r, ct, status), "condition %s: want %s; conditions %+v", ct, status, r.Status.Conditions)
	}
}

// AssertBatchPhases checks every batch's phase, in order.
func AssertBatchPhases(t *testing.T, r *v1alpha1.Release, phases ...v1alpha1.BatchPhase) {
	t.Helper()
	var got []v1alpha1.BatchPhase
	for _, b := range r.Status.Batches {
		got = append(got, b.Phase)
	}
	assert.Equal(t, phases, got, "batch phases")
}

// LastHistory is the release's last history entry, empty when it has none.
func LastHistory(r *v1alpha1.Release) v1alpha1.ReleaseHistoryEntry {
	if len(r.Status.History) == 0 {
		return v1alpha1.ReleaseHistoryEntry{}
	}
	return r.Status.History[len(r.Status.History)-1]
}

// HistoryActions is the actions of the release's history, in order, comma-separated.
func HistoryActions(r *v1alpha1.Release) string {
	var actions []string
	for _, h := range r.Status.History {
		actions = append(actions, h.Action)
	}
	return strings.Join(actions, ",")
}

// ObservedPartition is the CloneSet's partition as the release last observed it; -1 when it observed none.
func ObservedPartition(r *v1alpha1.Release) int32 {
	if r.Status.CloneSet == nil || r.Status.CloneSet.Partition == nil {
		return -1
	}
	return *r.Status.CloneSet.Partition
}

// ObservedReplicas is the CloneSet's replicas as the release last observed them; -1 when it observed none.
func ObservedReplicas(r *v1alpha1.Release) int32 {
	if r.Status.CloneSet == nil {
		return -1
	}
	return r.Status.CloneSet.Replicas
}
