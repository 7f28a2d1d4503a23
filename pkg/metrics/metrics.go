package metrics

import (
	"strconv"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"
	// client-go's rest client metrics (rest_client_*: latency, retries and the time waiting on a rate
	// limit, by host and verb) in legacyregistry, for the server's kube-apiserver clients.
	_ "k8s.io/component-base/metrics/prometheus/restclient"
	// client-go's workqueue metrics (workqueue_*{name}) in legacyregistry, for the controller's queue.
	_ "k8s.io/component-base/metrics/prometheus/workqueue"
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
		Help:           "Time a batch took from its startedAt (its start, or its resume after a pause) to its bakedAt, by the release's action and whether it is the canary. It counts the wait for a person's `next` of a canary's pull-in too: see triton_release_batch_machine_seconds and triton_release_batch_wait_seconds.",
		Buckets:        []float64{1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600}, // 1 s .. 1 h
		StabilityLevel: metrics.ALPHA,
	}, []string{"action", "canary"})

	reconcileDuration = metrics.NewHistogramVec(&metrics.HistogramOpts{
		Namespace:      namespace,
		Subsystem:      subsystem,
		Name:           "controller_reconcile_duration_seconds",
		Help:           "Latency of one reconcile of a release by the release controller, by result (success, conflict: the release or its CloneSet changed meanwhile, or error).",
		Buckets:        metrics.ExponentialBuckets(0.001, 2, 15), // 1 ms .. 16 s
		StabilityLevel: metrics.ALPHA,
	}, []string{"result"})

	reaction = metrics.NewHistogram(&metrics.HistogramOpts{
		Namespace:      namespace,
		Subsystem:      subsystem,
		Name:           "controller_reaction_seconds",
		Help:           "Time from the event of a pod or CloneSet that woke the release controller for a release to the first CloneSet write it sent for it: the controller's own share of moving a release on.",
		Buckets:        metrics.ExponentialBuckets(0.0005, 2, 14), // 0.5 ms .. 4 s
		StabilityLevel: metrics.ALPHA,
	})

	cloneSetWriteConflicts = metrics.NewCounterVec(&metrics.CounterOpts{
		Namespace:      namespace,
		Subsystem:      subsystem,
		Name:           "cloneset_write_conflicts_total",
		Help:           "CloneSet writes kube-apiserver refused with 409 Conflict (the CloneSet changed since it was read, and is read again), by the client that sent them: calls (the verbs and admission) or controller.",
		StabilityLevel: metrics.ALPHA,
	}, []string{"client"})

	statusWrites = metrics.NewHistogramVec(&metrics.HistogramOpts{
		Namespace:      namespace,
		Subsystem:      subsystem,
		Name:           "controller_status_write_duration_seconds",
		Help:           "Latency of the release controller's writes of a release's status, by result (success, conflict: the release changed since it was read, or error). They go to the server's storage in-process: they are not among apiserver_request_total.",
		Buckets:        metrics.ExponentialBuckets(0.0005, 2, 14), // 0.5 ms .. 4 s
		StabilityLevel: metrics.ALPHA,
	}, []string{"result"})

	queueDepth = metrics.NewGauge(&metrics.GaugeOpts{
		Namespace:      namespace,
		Subsystem:      subsystem,
		Name:           "controller_queue_depth",
		Help:           "Releases waiting in the release controller's workqueue, as of its last dequeue (0 when not the leader).",
		StabilityLevel: metrics.ALPHA,
	})

	registerOnce sync.Once
)

// Register registers every metric of this package into legacyregistry. It is safe to call more than once.
func Register() {
	registerOnce.Do(func() {
		legacyregistry.MustRegister(buildInfo, actionCalls, actionDuration, batchDuration, batchMachine, batchWait,
			reconcileDuration, reaction, cloneSetWriteConflicts, statusWrites, queueDepth)
		legacyregistry.CustomMustRegister(releaseMetrics)
		setBuildInfo()
		initSeries()
	})
}

// ObserveAction records a call of an action subresource: its verb (pause, resume, next, cancel), the HTTP
// status code it answered, and how long it took.
func ObserveAction(verb string, code int, d time.Duration) {
	actionCalls.WithLabelValues(verb, strconv.Itoa(code)).Inc()
	actionDuration.WithLabelValues(verb).Observe(d.Seconds())
}

// ObserveReconcile records a reconcile that took d and ended with err: result success (nil), conflict (the
// release or its CloneSet changed meanwhile, which is routine: the newer version is reconciled next) or
// error.
func ObserveReconcile(err error, d time.Duration) {
	reconcileDuration.WithLabelValues(result(err)).Observe(d.Seconds())
}

// result is the result label of a write or a reconcile that ended with err.
func result(err error) string {
	switch {
	case apierrors.IsConflict(err):
		return "conflict"
	case err != nil:
		return "error"
	}
	return "success"
}

// ObserveReaction records the time from the event that woke the controller for a release to the first
// CloneSet write it sent for it.
func ObserveReaction(d time.Duration) { reaction.Observe(d.Seconds()) }

// CloneSetWriteConflict counts a CloneSet write refused with 409 Conflict, sent by client (calls or
// controller).
func CloneSetWriteConflict(client string) { cloneSetWriteConflicts.WithLabelValues(client).Inc() }

// ObserveStatusWrite records a write of a release's status by the controller that took d and ended with
// err (results as for ObserveReconcile).
func ObserveStatusWrite(err error, d time.Duration) {
	statusWrites.WithLabelValues(result(err)).Observe(d.Seconds())
}

// SetQueueDepth sets the number of releases waiting in the controller's workqueue.
func SetQueueDepth(n int) { queueDepth.Set(float64(n)) }
