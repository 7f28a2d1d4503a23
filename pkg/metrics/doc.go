// Package metrics defines triton-apiserver's Prometheus metrics. They are registered into
// k8s.io/component-base/metrics/legacyregistry, which the generic API server serves on /metrics:
//
//	triton_build_info{version,git_commit,go_version}              1: which build this is
//	triton_release_action_calls_total{verb,code}                  calls of pause/resume/next/cancel, by answered HTTP code
//	triton_release_action_duration_seconds{verb}                  latency of those calls
//	triton_release_batch_machine_seconds{stage,canary}            a batch's time with no person involved: smoke (start to
//	                                                              Smoked), bake (pull-in to Baked)
//	triton_release_batch_wait_seconds{after}                      a wait for `next`, after a batch became smoked or baked
//	triton_release_batch_duration_seconds{action,canary}          a batch's time from startedAt to bakedAt (waits included)
//	triton_release_controller_reconcile_duration_seconds{result}  latency of a reconcile, result success|conflict|error
//	triton_release_controller_queue_depth                         length of the controller's workqueue
//	triton_releases{phase}                                        releases by phase, from the controller's cache at scrape time
//
// and, for each release that has not finished (read from the controller's cache at scrape time, so a
// release's series go when it finishes), triton_release_info{namespace,release,cloneset,action,strategy,
// mode,on_failure}, triton_release_phase{namespace,release,phase}, triton_release_current_batch,
// triton_release_batches and triton_release_awaiting_next_seconds{namespace,release}. These and
// triton_releases are reported by the leader only (the replica that runs the controller); the batch
// histograms are observed there too, from the updates its informer sees (ObserveReleaseUpdate).
//
// Importing it also installs client-go's workqueue metrics (k8s.io/component-base's provider): the
// controller's queue is workqueue_*{name="release_controller"} (adds, depth, the time a release waits in
// the queue, the time its reconcile takes, retries).
//
// The Observe and Set functions may be called before Register; what they record before it is dropped.
package metrics
