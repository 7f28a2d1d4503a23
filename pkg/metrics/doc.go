// Package metrics defines triton-apiserver's Prometheus metrics. They are registered into
// k8s.io/component-base/metrics/legacyregistry, which the generic API server serves on /metrics:
//
//	triton_release_action_calls_total{verb,code}                  calls of pause/resume/next/cancel, by answered HTTP code
//	triton_release_action_duration_seconds{verb}                  latency of those calls
//	triton_release_batch_duration_seconds{action,canary}          a batch's time from startedAt to bakedAt
//	triton_release_controller_reconcile_duration_seconds{result}  latency of a reconcile, result success|error
//	triton_release_controller_queue_depth                         length of the controller's workqueue
//	triton_releases{phase}                                        releases by phase, read from the store at scrape time
//
// Importing it also installs client-go's workqueue metrics (k8s.io/component-base's provider): the
// controller's queue is workqueue_*{name="release_controller"} (adds, depth, the time a release waits in
// the queue, the time its reconcile takes, retries).
//
// The Observe and Set functions may be called before Register; what they record before it is dropped.
package metrics
