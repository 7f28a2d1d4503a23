package metrics

import (
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/component-base/metrics"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

// Stages of triton_release_batch_machine_seconds, and what a wait for `next` came after
// (triton_release_batch_wait_seconds).
const (
	StageSmoke = "smoke"
	StageBake  = "bake"

	AfterSmoked = "smoked"
	AfterBaked  = "baked"
)

var (
	batchMachine = metrics.NewHistogramVec(&metrics.HistogramOpts{
		Namespace: namespace,
		Subsystem: subsystem,
		Name:      "batch_machine_seconds",
		Help: "Time a batch's pods took, with no person involved: stage smoke from the batch's start (or its resume after a pause) to Smoked (all its pods up), " +
			"stage bake from its pull-in into traffic (or its resume) to Baked (all its pods Ready); by whether the batch is the canary.",
		Buckets:        []float64{1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600}, // 1 s .. 1 h
		StabilityLevel: metrics.ALPHA,
	}, []string{"stage", "canary"})

	batchWait = metrics.NewHistogramVec(&metrics.HistogramOpts{
		Namespace: namespace,
		Subsystem: subsystem,
		Name:      "batch_wait_seconds",
		Help: "Time a release waited for a person's `next` (its AwaitingNext condition True) before the wait ended (next, pause, cancel or a pace edit), " +
			"by whether it waited after a batch became Smoked (a pull-in, the canary or a blue/green preview) or Baked (the next batch).",
		Buckets:        []float64{10, 30, 60, 300, 600, 1800, 3600, 7200, 14400, 28800, 86400, 259200, 604800}, // 10 s .. 1 week
		StabilityLevel: metrics.ALPHA,
	}, []string{"after"})
)

// Verbs are the action subresources.
var Verbs = []string{"pause", "resume", "next", "cancel"}

// initSeries makes every series of the batch histograms, the reconciles' by result and each action's
// answered 200 exist from the start at 0, so that a rate over them is defined before the first batch, the
// first failed reconcile or the first call (alerts and dashboards do not read "no data").
func initSeries() {
	for _, verb := range Verbs {
		actionCalls.WithLabelValues(verb, "200")
		actionDuration.WithLabelValues(verb)
	}
	reconcileDuration.WithLabelValues("success")
	reconcileDuration.WithLabelValues("conflict")
	reconcileDuration.WithLabelValues("error")
	for _, canary := range []string{"true", "false"} {
		batchMachine.WithLabelValues(StageSmoke, canary)
		batchMachine.WithLabelValues(StageBake, canary)
	}
	batchWait.WithLabelValues(AfterSmoked)
	batchWait.WithLabelValues(AfterBaked)
	cloneSetWriteConflicts.WithLabelValues("calls")
	cloneSetWriteConflicts.WithLabelValues("controller")
}

// ObserveReleaseUpdate records, from two successive states of a release (an update seen by the
// controller's informer), what happened between them: each batch that became Smoked (the smoke stage) or
// Baked (the bake stage, and triton_release_batch_duration_seconds), and the end of a wait for `next`.
// Comparing states rather than watching steps means that an update which folds several steps together
// (after a relist) still records each batch once; only a wait that began and ended between the two
// states is missed.
func ObserveReleaseUpdate(old, cur *v1alpha1.Release) {
	if old == nil || cur == nil || old.UID != cur.UID {
		return
	}
	for i := range cur.Status.Batches {
		b := &cur.Status.Batches[i]
		var prev *v1alpha1.ReleaseBatch
		if i < len(old.Status.Batches) {
			prev = &old.Status.Batches[i]
		}
		canary := strconv.FormatBool(b.Canary)
		if b.StartedAt != nil && b.SmokedAt != nil && (prev == nil || !sameTime(prev.SmokedAt, b.SmokedAt)) {
			batchMachine.WithLabelValues(StageSmoke, canary).Observe(seconds(b.StartedAt.Time, b.SmokedAt.Time))
		}
		if b.Phase == v1alpha1.BatchBaked && b.BakedAt != nil && b.StartedAt != nil &&
			(prev == nil || prev.Phase != v1alpha1.BatchBaked || !sameTime(prev.BakedAt, b.BakedAt)) {
			batchMachine.WithLabelValues(StageBake, canary).Observe(seconds(bakeStart(cur, b), b.BakedAt.Time))
			batchDuration.WithLabelValues(string(cur.Spec.Action), canary).Observe(seconds(b.StartedAt.Time, b.BakedAt.Time))
		}
	}
	was := meta.FindStatusCondition(old.Status.Conditions, v1alpha1.ConditionAwaitingNext)
	is := meta.FindStatusCondition(cur.Status.Conditions, v1alpha1.ConditionAwaitingNext)
	if was != nil && was.Status == metav1.ConditionTrue && (is == nil || is.Status != metav1.ConditionTrue) {
		end := time.Now()
		if is != nil && !is.LastTransitionTime.IsZero() {
			end = is.LastTransitionTime.Time
		}
		after := AfterBaked
		if b := current(old); b != nil && b.Phase != v1alpha1.BatchBaked {
			after = AfterSmoked
		}
		batchWait.WithLabelValues(after).Observe(seconds(was.LastTransitionTime.Time, end))
	}
}

// bakeStart is when the bake stage of batch b began: the latest of its start (or resume), its Smoked, and
// the newest history entry that moved it into Baking (its pull-in by `next`, its automatic pull-in when
// Smoked, or a resume), so that neither a wait for `next` nor a pause counts.
func bakeStart(r *v1alpha1.Release, b *v1alpha1.ReleaseBatch) time.Time {
	start := b.StartedAt.Time
	if b.SmokedAt != nil && b.SmokedAt.After(start) {
		start = b.SmokedAt.Time
	}
	baking := string(v1alpha1.ReleaseProgressing) + "/" + string(v1alpha1.BatchBaking)
	for i := len(r.Status.History) - 1; i >= 0; i-- {
		h := r.Status.History[i]
		if h.ToBatch == b.Index && h.ToPhase == baking && !h.Time.After(b.BakedAt.Time) {
			if h.Time.After(start) {
				start = h.Time.Time
			}
			break
		}
	}
	return start
}

func current(r *v1alpha1.Release) *v1alpha1.ReleaseBatch {
	if n := int(r.Status.CurrentBatch); n >= 1 && n <= len(r.Status.Batches) {
		return &r.Status.Batches[n-1]
	}
	return nil
}

func sameTime(a, b *metav1.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(b)
}

// seconds from a to b, never negative (clock skew between replicas).
func seconds(a, b time.Time) float64 {
	if d := b.Sub(a); d > 0 {
		return d.Seconds()
	}
	return 0
}
