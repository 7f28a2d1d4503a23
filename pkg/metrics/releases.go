package metrics

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/component-base/metrics"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

// The per-release series: one set for each release that has not finished (not Succeeded, not Canceled),
// read from the controller's cache at scrape time. A release drops out the moment it finishes, and
// nothing of it is kept: the collector holds no state of its own.
var (
	releaseLabels = []string{"namespace", "release"}

	releaseInfoDesc = metrics.NewDesc(namespace+"_release_info",
		"Always 1, for each release that has not finished: its CloneSet, action, strategy type (Batch or BlueGreen), mode (Manual or Auto) and failure policy (Pause or Cancel).",
		[]string{"namespace", "release", "cloneset", "action", "strategy", "mode", "on_failure"}, nil, metrics.ALPHA, "")
	releasePhaseDesc = metrics.NewDesc(namespace+"_release_phase",
		"1 for the phase a release that has not finished is in (Pending, Progressing, Paused or Failed); the other phases have no series.",
		[]string{"namespace", "release", "phase"}, nil, metrics.ALPHA, "")
	releaseCurrentBatchDesc = metrics.NewDesc(namespace+"_release_current_batch",
		"The batch (from 1) a release that has not finished is at; 0 before its first batch starts.",
		releaseLabels, nil, metrics.ALPHA, "")
	releaseBatchesDesc = metrics.NewDesc(namespace+"_release_batches",
		"How many batches the plan of a release that has not finished has.",
		releaseLabels, nil, metrics.ALPHA, "")
	releaseAwaitingNextDesc = metrics.NewDesc(namespace+"_release_awaiting_next_seconds",
		"Seconds since a release that has not finished began waiting for a `next` call (its AwaitingNext condition became True); 0 while it is not waiting.",
		releaseLabels, nil, metrics.ALPHA, "")
	releasesByPhaseDesc = metrics.NewDesc(namespace+"_releases",
		"Releases by phase, as the release controller's cache holds them at scrape time; reported only by the leader.",
		[]string{"phase"}, nil, metrics.ALPHA, "")

	releaseMetrics = &releaseCollector{now: time.Now}
)

// knownPhases are reported by triton_releases even when no release is in them, so that a phase emptying
// reads 0.
var knownPhases = []v1alpha1.ReleasePhase{v1alpha1.ReleasePending, v1alpha1.ReleaseProgressing, v1alpha1.ReleasePaused,
	v1alpha1.ReleaseSucceeded, v1alpha1.ReleaseFailed, v1alpha1.ReleaseCanceled}

// SetReleaseSource makes the release collector report, at each scrape, the releases that list returns
// (the controller's cache; they are only read): triton_releases counts them by phase ("" counts as
// Pending), and each one that has not finished gets its triton_release_* series. Until it is set, and
// after the returned function clears it, nothing is reported. Clearing is a no-op once another source has
// replaced this one.
func SetReleaseSource(list func() []*v1alpha1.Release) (unset func()) {
	s := &source{list: list}
	releaseMetrics.mu.Lock()
	releaseMetrics.source = s
	releaseMetrics.mu.Unlock()
	return func() {
		releaseMetrics.mu.Lock()
		defer releaseMetrics.mu.Unlock()
		if releaseMetrics.source == s {
			releaseMetrics.source = nil
		}
	}
}

type source struct{ list func() []*v1alpha1.Release }

// releaseCollector reports triton_releases and the per-release series from its source when scraped.
type releaseCollector struct {
	metrics.BaseStableCollector
	now    func() time.Time
	mu     sync.Mutex
	source *source
}

// DescribeWithStability implements metrics.StableCollector.
func (c *releaseCollector) DescribeWithStability(ch chan<- *metrics.Desc) {
	for _, d := range []*metrics.Desc{releasesByPhaseDesc, releaseInfoDesc, releasePhaseDesc, releaseCurrentBatchDesc,
		releaseBatchesDesc, releaseAwaitingNextDesc} {
		ch <- d
	}
}

// CollectWithStability implements metrics.StableCollector.
func (c *releaseCollector) CollectWithStability(ch chan<- metrics.Metric) {
	c.mu.Lock()
	s := c.source
	c.mu.Unlock()
	if s == nil {
		return
	}
	now := c.now()
	counts := map[v1alpha1.ReleasePhase]int{}
	for _, p := range knownPhases {
		counts[p] = 0
	}
	for _, r := range s.list() {
		phase := r.Status.Phase
		if phase == "" {
			phase = v1alpha1.ReleasePending
		}
		counts[phase]++
		if finished(phase) {
			continue
		}
		ns, name := r.Namespace, r.Name
		strategy := r.Spec.Strategy.Type
		if strategy == "" {
			strategy = v1alpha1.StrategyBatch
		}
		mode := r.Spec.Strategy.Mode
		if mode == "" {
			mode = v1alpha1.ModeManual
		}
		onFailure := r.Spec.Strategy.OnFailure
		if onFailure == "" {
			onFailure = v1alpha1.FailurePause
		}
		ch <- metrics.NewLazyConstMetric(releaseInfoDesc, metrics.GaugeValue, 1, ns, name, r.Spec.CloneSetName,
			string(r.Spec.Action), string(strategy), string(mode), string(onFailure))
		ch <- metrics.NewLazyConstMetric(releasePhaseDesc, metrics.GaugeValue, 1, ns, name, string(phase))
		ch <- metrics.NewLazyConstMetric(releaseCurrentBatchDesc, metrics.GaugeValue, float64(r.Status.CurrentBatch), ns, name)
		ch <- metrics.NewLazyConstMetric(releaseBatchesDesc, metrics.GaugeValue, float64(len(r.Status.Batches)), ns, name)
		ch <- metrics.NewLazyConstMetric(releaseAwaitingNextDesc, metrics.GaugeValue, awaitingNextSeconds(r, now), ns, name)
	}
	for p, n := range counts {
		ch <- metrics.NewLazyConstMetric(releasesByPhaseDesc, metrics.GaugeValue, float64(n), string(p))
	}
}

// finished: a Succeeded or Canceled release does nothing more by itself (plan.Finished). A Failed one
// waits for a person (resume or cancel), so it keeps its series.
func finished(p v1alpha1.ReleasePhase) bool {
	return p == v1alpha1.ReleaseSucceeded || p == v1alpha1.ReleaseCanceled
}

// awaitingNextSeconds is how long r has been waiting for `next`, 0 when it is not (or a clock skew puts
// the condition's time in the future).
func awaitingNextSeconds(r *v1alpha1.Release, now time.Time) float64 {
	c := meta.FindStatusCondition(r.Status.Conditions, v1alpha1.ConditionAwaitingNext)
	if c == nil || c.Status != metav1.ConditionTrue || c.LastTransitionTime.IsZero() {
		return 0
	}
	if d := now.Sub(c.LastTransitionTime.Time); d > 0 {
		return d.Seconds()
	}
	return 0
}
