package plan

import (
	"fmt"
	"math"

	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/triton-io/triton/pkg/apis/releases"
)

// ChangedPods is how many pods the release changes: Create: *spec.Replicas; Update, Restart, Rollback:
// cloneSetReplicas (every pod of the CloneSet); a Restart of named pods: those pods; Scale:
// |*spec.Replicas - cloneSetReplicas|.
//
// A nil Replicas (Create, Scale) and negative sizes count as 0; an unknown action (or a nil spec) changes
// no pods. Validation rejects all of these before a plan is made.
func ChangedPods(spec *releases.ReleaseSpec, cloneSetReplicas int32) int32 {
	if spec == nil {
		return 0
	}
	current := nonNegative(cloneSetReplicas)
	var wanted int32
	if spec.Replicas != nil {
		wanted = nonNegative(*spec.Replicas)
	}
	switch spec.Action {
	case releases.ActionCreate:
		return wanted
	case releases.ActionRestart:
		if n := len(spec.PodsToDelete); n > 0 {
			return int32(min(n, math.MaxInt32))
		}
		return current
	case releases.ActionUpdate, releases.ActionRollback:
		return current
	case releases.ActionScale:
		if wanted > current {
			return wanted - current
		}
		return current - wanted
	default:
		return 0
	}
}

// MaxBatches is the most batches a plan may have. A plan is stored in the Release and every batch is a step
// someone approves, so a plan of more batches is refused when the release is admitted (a Create of
// 2147483647 replicas in batches of 1 would otherwise size the server's memory by the caller's number).
const MaxBatches = 200

// TooManyBatches is the error of a plan that would have more than MaxBatches batches.
type TooManyBatches struct {
	// Batches is how many batches the spec asks for; Changed is how many pods the release changes.
	Batches int64
	Changed int32
}

func (e *TooManyBatches) Error() string {
	return fmt.Sprintf("makes %d batches of the %d pods this release changes; a release has at most %d batches: use a larger batchSize",
		e.Batches, e.Changed, MaxBatches)
}

// BatchCount is how many batches the plan of spec has, computed without building it.
func BatchCount(spec *releases.ReleaseSpec, cloneSetReplicas int32) int64 {
	if spec != nil && spec.Strategy.Type == releases.StrategyBlueGreen {
		return 2
	}
	total := ChangedPods(spec, cloneSetReplicas)
	if total == 0 {
		return 1
	}
	var strategy releases.ReleaseStrategy
	if spec != nil {
		strategy = spec.Strategy
	}
	canary := min(nonNegative(strategy.Canary), total)
	size := int64(BatchSize(strategy.BatchSize, total))
	n := (int64(total-canary) + size - 1) / size
	if canary > 0 {
		n++
	}
	return n
}

// Batches is the plan of a release: the canary first (if strategy.canary > 0), then batches of
// strategy.batchSize, the last taking what is left. Index is 1-based, Replicas is the batch's size, Target is
// the cumulative number of pods changed once the batch is done, Canary marks the canary batch, and Phase is
// releases.BatchPending for every batch. A plan of more than MaxBatches batches is a *TooManyBatches error,
// found before anything is allocated.
//
// When the release changes no pods, the plan is a single batch of 0 replicas (not a canary), so the
// release still applies its change and finishes through the normal phases.
func Batches(spec *releases.ReleaseSpec, cloneSetReplicas int32) ([]releases.ReleaseBatch, error) {
	total := ChangedPods(spec, cloneSetReplicas)
	if spec != nil && spec.Strategy.Type == releases.StrategyBlueGreen {
		// Preview: green pods beside blue, out of traffic. Switch: green at full size takes the traffic.
		// Both even with no pods, so that the switch is always batch 2.
		preview := PreviewPods(spec.Strategy.BlueGreen, total)
		return []releases.ReleaseBatch{
			{Index: 1, Replicas: preview, Target: preview, Phase: releases.BatchPending},
			{Index: 2, Replicas: total - preview, Target: total, Phase: releases.BatchPending},
		}, nil
	}
	if total == 0 {
		return []releases.ReleaseBatch{{Index: 1, Replicas: 0, Target: 0, Phase: releases.BatchPending}}, nil
	}
	n := BatchCount(spec, cloneSetReplicas)
	if n > MaxBatches {
		return nil, &TooManyBatches{Batches: n, Changed: total}
	}

	var strategy releases.ReleaseStrategy
	if spec != nil {
		strategy = spec.Strategy
	}
	canary := min(nonNegative(strategy.Canary), total)
	size := BatchSize(strategy.BatchSize, total)

	batches := make([]releases.ReleaseBatch, 0, n)
	var target int32
	add := func(replicas int32, isCanary bool) {
		target += replicas
		batches = append(batches, releases.ReleaseBatch{
			Index:    int32(len(batches) + 1),
			Canary:   isCanary,
			Replicas: replicas,
			Target:   target,
			Phase:    releases.BatchPending,
		})
	}
	if canary > 0 {
		add(canary, true)
	}
	for left := total - canary; left > 0; {
		replicas := min(size, left)
		add(replicas, false)
		left -= replicas
	}
	return batches, nil
}

// BatchSize resolves strategy.batchSize against the number of pods the release changes: an int as is, a
// percentage of changed pods rounded up; never less than 1.
//
// A nil size means 100%; a malformed one (which validation rejects) is treated as 100% as well.
func BatchSize(size *intstr.IntOrString, changed int32) int32 {
	all := intstr.FromString("100%")
	if size == nil {
		size = &all
	}
	v, err := intstr.GetScaledValueFromIntOrPercent(size, int(changed), true)
	if err != nil {
		v, _ = intstr.GetScaledValueFromIntOrPercent(&all, int(changed), true)
	}
	return max(clampInt32(v), 1)
}

// PreviewPods resolves blueGreen.previewReplicas against the CloneSet's pods: an int as is, a percentage
// rounded up; at least 1 and at most all of them (none of none). Nil (or malformed, which validation
// rejects) is 100%.
func PreviewPods(bg *releases.BlueGreenStrategy, total int32) int32 {
	var size *intstr.IntOrString
	if bg != nil {
		size = bg.PreviewReplicas
	}
	return min(BatchSize(size, total), max(total, 0))
}

// MaxFailedPods resolves strategy.maxFailedPods against a batch's size: an int as is, a percentage rounded
// down; nil means 0.
//
// A malformed value (which validation rejects) is treated as 0, and the result is never negative.
func MaxFailedPods(v *intstr.IntOrString, batchReplicas int32) int32 {
	if v == nil {
		return 0
	}
	n, err := intstr.GetScaledValueFromIntOrPercent(v, int(batchReplicas), false)
	if err != nil {
		return 0
	}
	return max(clampInt32(n), 0)
}

func nonNegative(v int32) int32 {
	return max(v, 0)
}

func clampInt32(v int) int32 {
	switch {
	case v > math.MaxInt32:
		return math.MaxInt32
	case v < math.MinInt32:
		return math.MinInt32
	default:
		return int32(v)
	}
}
