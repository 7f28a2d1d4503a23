package metrics

import (
	"strconv"
	"sync"
	"time"

	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"
	// client-go's workqueue metrics (workqueue_*{name}) in legacyregistry, for the controller's queue.
	_ "k8s.io/component-base/metrics/prometheus/workqueue"

	"github.com/triton-io/triton/pkg/apis/releases"
)

const (
	namespace = "triton"
	subsystem = "release"
)

var (
	actionCalls = metrics.NewCounterVec(&metrics.CounterOpts{
		Namespace:      namespace,
		Subsystem:      subsystem,
		Name:           "action_calls_total",
		Help:           "Calls of the release action subresources (pause, resume, next, cancel), by verb and the HTTP status code answered.",
		StabilityLevel: metrics.ALPHA,
	}, []string{"verb", "code"})

	actionDuration = metrics.NewHistogramVec(&metrics.HistogramOpts{
		Namespace:      namespace,
		Subsystem:      subsystem,
		Name:           "action_duration_seconds",
		Help:           "Latency of the release action subresources (pause, resume, next, cancel), by verb.",
		Buckets:        metrics.DefBuckets, // 5 ms .. 10 s
		StabilityLevel: metrics.ALPHA,
	}, []string{"verb"})

	batchDuration = metrics.NewHistogramVec(&metrics.HistogramOpts{
		Namespace:      namespace,
		Subsystem:      subsystem,
		Name:           "batch_duration_seconds",
		Help:           "Time a batch took from its startedAt (its start, or its resume after a pause) to its bakedAt, by the release's action and whether it is the canary.",
		Buckets:        []float64{1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600}, // 1 s .. 1 h
		StabilityLevel: metrics.ALPHA,
	}, []string{"action", "canary"})

	reconcileDuration = metrics.NewHistogramVec(&metrics.HistogramOpts{
		Namespace:      namespace,
		Subsystem:      subsystem,
		Name:           "controller_reconcile_duration_seconds",
		Help:           "Latency of one reconcile of a release by the release controller, by result (success or error).",
		Buckets:        metrics.ExponentialBuckets(0.001, 2, 15), // 1 ms .. 16 s
		StabilityLevel: metrics.ALPHA,
	}, []string{"result"})

	queueDepth = metrics.NewGauge(&metrics.GaugeOpts{
		Namespace:      namespace,
		Subsystem:      subsystem,
		Name:           "controller_queue_depth",
		Help:           "Releases waiting in the release controller's workqueue, as of its last dequeue (0 when not the leader).",
		StabilityLevel: metrics.ALPHA,
	})

	releasesByPhase = &phaseCollector{desc: metrics.NewDesc(namespace+"_releases",
		"Releases by phase, as the release controller's cache holds them at scrape time; reported only by the leader.",
		[]string{"phase"}, nil, metrics.ALPHA, "")}

	registerOnce sync.Once
)

// Register registers every metric of this package into legacyregistry. It is safe to call more than once.
func Register() {
	registerOnce.Do(func() {
		legacyregistry.MustRegister(actionCalls, actionDuration, batchDuration, reconcileDuration, queueDepth)
		legacyregistry.CustomMustRegister(releasesByPhase)
	})
}

// ObserveAction records a call of an action subresource: its verb (pause, resume, next, cancel), the HTTP
// status code it answered, and how long it took.
func ObserveAction(verb string, code int, d time.Duration) {
	actionCalls.WithLabelValues(verb, strconv.Itoa(code)).Inc()
	actionDuration.WithLabelValues(verb).Observe(d.Seconds())
}

// ObserveBatch records that a batch of a release with the given action (Update, Scale, ...) became Baked
// d after it started.
func ObserveBatch(action string, canary bool, d time.Duration) {
	batchDuration.WithLabelValues(action, strconv.FormatBool(canary)).Observe(d.Seconds())
}

// ObserveReconcile records a reconcile that took d and ended with err (nil: success).
func ObserveReconcile(err error, d time.Duration) {
	result := "success"
	if err != nil {
		result = "error"
	}
	reconcileDuration.WithLabelValues(result).Observe(d.Seconds())
}

// SetQueueDepth sets the number of releases waiting in the controller's workqueue.
func SetQueueDepth(n int) { queueDepth.Set(float64(n)) }

// SetReleaseSource makes triton_releases count, at each scrape, the phases that phases returns (one per
// release; "" counts as Pending). Until it is set, and after the returned function clears it, nothing is
// reported. Clearing is a no-op once another source has replaced this one.
func SetReleaseSource(phases func() []string) (unset func()) {
	s := &source{phases: phases}
	releasesByPhase.mu.Lock()
	releasesByPhase.source = s
	releasesByPhase.mu.Unlock()
	return func() {
		releasesByPhase.mu.Lock()
		defer releasesByPhase.mu.Unlock()
		if releasesByPhase.source == s {
			releasesByPhase.source = nil
		}
	}
}

type source struct{ phases func() []string }

// knownPhases are reported even when no release is in them, so that a phase emptying reads 0.
var knownPhases = []releases.ReleasePhase{releases.ReleasePending, releases.ReleaseProgressing, releases.ReleasePaused,
	releases.ReleaseSucceeded, releases.ReleaseFailed, releases.ReleaseCanceled}

// phaseCollector is triton_releases: it counts releases by phase from its source when scraped.
type phaseCollector struct {
	metrics.BaseStableCollector
	desc   *metrics.Desc
	mu     sync.Mutex
	source *source
}

// DescribeWithStability implements metrics.StableCollector.
func (c *phaseCollector) DescribeWithStability(ch chan<- *metrics.Desc) { ch <- c.desc }

// CollectWithStability implements metrics.StableCollector.
func (c *phaseCollector) CollectWithStability(ch chan<- metrics.Metric) {
	c.mu.Lock()
	s := c.source
	c.mu.Unlock()
	if s == nil {
		return
	}
	counts := map[string]int{}
	for _, p := range knownPhases {
		counts[string(p)] = 0
	}
	for _, p := range s.phases() {
		if p == "" {
			p = string(releases.ReleasePending)
		}
		counts[p]++
	}
	for p, n := range counts {
		ch <- metrics.NewLazyConstMetric(c.desc, metrics.GaugeValue, float64(n), p)
	}
}
