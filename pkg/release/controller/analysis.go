package controller

import (
	"time"

	"github.com/triton-io/triton/pkg/analysis/runner"
	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/release/plan"
)

// WithAnalysis has the controller measure releases' analysis checks through m: on the runner's own
// goroutines (at most runner.DefaultConcurrency at once, each within runner.DefaultTimeout), so that a
// slow Prometheus never holds a reconcile. A finished measurement wakes its release, whose reconcile
// records it (plan.RecordMeasurement) before it decides. Without it, a release with checks holds its
// Baking batches until its progress deadline.
func (c *Controller) WithAnalysis(m runner.Measurer) *Controller {
	// A release's checks are asked for together and finish within moments of each other: the wake waits a
	// little, so that one reconcile (and one status write) records them all.
	c.analysis = &runner.Runner{Measurer: m, Wake: func(key string) { c.queue.AddAfter(key, wakeGather) }}
	return c
}

// wakeGather is how long a finished measurement waits for the others of its release before it wakes it.
const wakeGather = 200 * time.Millisecond

// recordMeasurements records the measurements taken for the release since its last reconcile.
func (c *Controller) recordMeasurements(key string, r *releases.Release) {
	if c.analysis == nil {
		return
	}
	for _, res := range c.analysis.Take(key) {
		plan.RecordMeasurement(r, res.Batch, res.Check, res.Measurement)
	}
}

// measure asks for the measurements due now, and returns when the next falls due (0: none). A release that
// measures nothing now has the measurements still running for it dropped.
func (c *Controller) measure(key string, r *releases.Release, now time.Time) time.Duration {
	if c.analysis == nil || !plan.HasAnalysis(r) {
		return 0 // nothing of a release without checks is ever in the runner
	}
	due, wait := plan.AnalysisDue(r, now)
	if len(due) == 0 && wait == 0 {
		c.analysis.Forget(key)
		return 0
	}
	if len(due) > 0 {
		want := make([]runner.Due, 0, len(due))
		for _, d := range due {
			want = append(want, runner.Due{Batch: d.Batch, Check: d.Check})
		}
		c.analysis.Want(key, r, want)
	}
	return wait
}

// forgetMeasurements drops what runs or waits for a release that is gone or finished.
func (c *Controller) forgetMeasurements(key string) {
	if c.analysis != nil {
		c.analysis.Forget(key)
	}
}
