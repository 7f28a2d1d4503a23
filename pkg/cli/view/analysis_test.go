package view

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

func int32p(n int32) *int32 { return &n }

func measurement(d time.Duration, value string, phase v1alpha1.AnalysisPhase) v1alpha1.Measurement {
	return v1alpha1.Measurement{Time: *at(d), Value: value, Phase: phase}
}

// analysedRelease is midwayRelease with checks, measured every 10s, each to pass for 60s: at 11m batch 2's
// pods are all Ready, error-rate has passed, latency (a dry run) has failed, queue-depth cannot be
// measured (Prometheus answers 503), smoke waits for its first measurement and restarts (background) has
// passed for 30s of its 60s. The failed check's last value carries terminal escapes.
func analysedRelease() *v1alpha1.Release {
	r := midwayRelease()
	r.Spec.Strategy.Analysis = &v1alpha1.ReleaseAnalysis{IntervalSeconds: int32p(10), BakeSeconds: 60}
	r.Status.AnalysisChecks = []v1alpha1.AnalysisCheck{
		{Name: "error-rate", Prometheus: &v1alpha1.PrometheusCheck{Query: `sum(rate(errors[1m]))`}, SuccessCondition: "result < 0.01", FailureLimit: 2},
		{Name: "latency", HTTP: &v1alpha1.HTTPCheck{Service: "web", Port: 8080, Path: "/stats"}, SuccessCondition: "result < 0.5", FailureLimit: 1, DryRun: true},
		{Name: "queue-depth", Prometheus: &v1alpha1.PrometheusCheck{Query: `max(queue_depth)`}, SuccessCondition: "result < 100", ErrorLimit: int32p(5)},
		{Name: "smoke", HTTP: &v1alpha1.HTTPCheck{Service: "web", Port: 8080, Path: "/smoke"}, SuccessCondition: "result == 1"},
		{Name: "restarts", PodHealth: &v1alpha1.PodHealthCheck{}, Background: true},
	}
	b := &r.Status.Batches[1]
	b.Pods[1] = pod("nginx-b7r5m", true, true)
	b.Analysis = []v1alpha1.AnalysisStatus{
		{Name: "error-rate", Phase: v1alpha1.AnalysisPassed, PassingSince: at(10*time.Minute + 40*time.Second), Message: "passed for 1m0s",
			Measurements: []v1alpha1.Measurement{measurement(10*time.Minute+40*time.Second, "0.002", v1alpha1.AnalysisPassed),
				measurement(10*time.Minute+50*time.Second, "0.004", v1alpha1.AnalysisPassed)}},
		{Name: "latency", Phase: v1alpha1.AnalysisFailed, Failures: 2,
			Message:      "2 failed measurements, 1 tolerated; the last: 0.93\x1b[31m Failed",
			Measurements: []v1alpha1.Measurement{measurement(10*time.Minute+55*time.Second, "0.93\x1b[31m\x1b]0;pwned\x07", v1alpha1.AnalysisFailed)}},
		{Name: "queue-depth", Phase: v1alpha1.AnalysisError, ConsecutiveErrors: 2,
			Message: "querying Prometheus: server returned 503 Service Unavailable; the check is measured again in 10s, and after 5 " +
				"errors in a row it fails the batch, as a failed measurement would, so look at the Prometheus of the cluster now",
			Measurements: []v1alpha1.Measurement{{Time: *at(10*time.Minute + 58*time.Second), Phase: v1alpha1.AnalysisError,
				Message: "querying Prometheus: server returned 503 Service Unavailable"}}},
		{Name: "smoke", Phase: v1alpha1.AnalysisRunning, Message: "waiting for the first measurement"},
		{Name: "restarts", Phase: v1alpha1.AnalysisRunning, PassingSince: at(10*time.Minute + 30*time.Second), Message: "0 Passed",
			Measurements: []v1alpha1.Measurement{measurement(10*time.Minute+59*time.Second, "0", v1alpha1.AnalysisPassed)}},
	}
	r.Status.Conditions = []metav1.Condition{{Type: v1alpha1.ConditionAnalysisPassed, Status: metav1.ConditionFalse, Reason: "Waiting",
		Message: `check "queue-depth" has not passed: querying Prometheus: server returned 503 Service Unavailable`}}
	return r
}

// The status of a release with checks shows each check of the current batch: its kind, phase, last value
// and when it was measured, its failures and errors in a row against what it tolerates, whether it is a dry
// run or measured in the background, and under it what it waits for or why it failed. The server's
// strings are escaped, and the section reads in 100 columns.
func TestStatusShowsTheChecksOfTheCurrentBatch(t *testing.T) {
	var out strings.Builder
	require.NoError(t, StatusWith(&out, analysedRelease(), Options{Now: t0.Add(11 * time.Minute)}))
	assert.Equal(t, `Release shop/nginx-update: Update to nginx=nginx:1.28 of CloneSet nginx, Manual
Phase: Progressing, batch 2 of 3 (Baking)

BATCH         PODS  TARGET  PHASE    AGE  DURATION  WAITED  UPDATED           READY             PULLED IN
  1 (canary)  1     1       Baked    11m  3m30s     9m30s   [##########] 1/1  [##########] 1/1  [##########] 1/1
> 2           2     3       Baking   60s  60s       0s      [##########] 2/2  [##########] 2/2  [##########] 2/2
  3           2     5       Pending  -    -         -       [..........] 0/2  [..........] 0/2  [..........] 0/2

Analysis of batch 2 (a measurement every 10s, each to pass for 60s):
  CHECK        KIND        PHASE    LAST VALUE            MEASURED  FAILURES  ERRORS  MODE
  error-rate   prometheus  Passed   0.004                 10s ago   0/2       0/3     -
      passed for 1m0s
  latency      http        Failed   0.93\x1b[31m\x1b]0;…  5s ago    2/1       0/3     dryRun
      2 failed measurements, 1 tolerated; the last: 0.93\x1b[31m Failed
  queue-depth  prometheus  Error    -                     2s ago    0/0       2/5     -
      querying Prometheus: server returned 503 Service Unavailable; the check is measured again in
      10s, and after 5 errors in a row it fails the batch, as a failed measurement would, so look at
      the Prometheus of the cluster now
  smoke        http        Running  -                     -         0/0       0/3     -
      waiting for the first measurement
  restarts     podHealth   Running  0                     1s ago    0/0       0/3     background
      passing for 30s of the 60s it must pass for (last: 0 Passed)

Waiting for: batch 2's analysis: check "queue-depth" has not passed: querying Prometheus: server returned 503 Service Unavailable.
`, out.String())
	for i, l := range strings.Split(out.String(), "\n") {
		if i > 8 && !strings.HasPrefix(l, "Waiting for:") {
			assert.LessOrEqual(t, utf8.RuneCountInString(l), 100, "the section reads in 100 columns: %q", l)
		}
	}
}

// A release without checks has no analysis section; one whose batch has not reached its checks yet lists
// them, not measured, and says when they will be.
func TestStatusListsChecksNotMeasuredYet(t *testing.T) {
	var out strings.Builder
	require.NoError(t, StatusWith(&out, midwayRelease(), Options{Now: t0.Add(11 * time.Minute)}))
	assert.NotContains(t, out.String(), "Analysis")

	r := analysedRelease()
	r.Status.Batches[1].Phase = v1alpha1.BatchSmoking
	r.Status.Batches[1].Analysis = r.Status.Batches[1].Analysis[4:] // the background check only
	r.Status.Conditions = nil
	out.Reset()
	require.NoError(t, StatusWith(&out, r, Options{Now: t0.Add(11 * time.Minute)}))
	assert.Contains(t, out.String(), `
  CHECK        KIND        PHASE    LAST VALUE  MEASURED  FAILURES  ERRORS  MODE
  error-rate   prometheus  -        -           -         0/2       0/3     -
      not measured yet: measured once batch 2 is in traffic (Baking)
  latency      http        -        -           -         0/1       0/3     dryRun
      not measured yet: measured once batch 2 is in traffic (Baking)
`)
	assert.Contains(t, out.String(), `
  restarts     podHealth   Running  0           1s ago    0/0       0/3     background
      passing for 30s of the 60s it must pass for (last: 0 Passed)

Waiting for: batch 2's pods to run (2/2 updated).
`)

	// Before the first batch: the checks, and no batch.
	r = analysedRelease()
	r.Spec.Strategy.Analysis = nil
	r.Status.Phase, r.Status.CurrentBatch = v1alpha1.ReleasePending, 0
	for i := range r.Status.AnalysisChecks {
		r.Status.AnalysisChecks[i].DryRun, r.Status.AnalysisChecks[i].Background = false, false
	}
	out.Reset()
	require.NoError(t, StatusWith(&out, r, Options{Now: t0}))
	assert.Contains(t, out.String(), `
Analysis, before the first batch (a measurement every 10s):
  CHECK        KIND        PHASE  LAST VALUE  MEASURED  FAILURES  ERRORS
  error-rate   prometheus  -      -           -         0/2       0/3
      not measured yet
`)
}

// In colour, a check's phase is coloured as a batch's is (an Error, which holds the batch, in yellow), and
// nothing else changes.
func TestStatusChecksInColour(t *testing.T) {
	var colour, plain strings.Builder
	require.NoError(t, StatusWith(&colour, analysedRelease(), Options{Now: t0.Add(11 * time.Minute), Color: true}))
	require.NoError(t, StatusWith(&plain, analysedRelease(), Options{Now: t0.Add(11 * time.Minute)}))
	assert.Equal(t, plain.String(), sgr.ReplaceAllString(colour.String(), ""))
	for _, want := range []string{
		"  error-rate   prometheus  \x1b[32mPassed\x1b[0m   0.004",
		"  latency      http        \x1b[31mFailed\x1b[0m   0.93",
		"  queue-depth  prometheus  \x1b[33mError\x1b[0m    -",
		"  smoke        http        \x1b[36mRunning\x1b[0m  -",
	} {
		assert.Contains(t, colour.String(), want)
	}
}

// Cut to a terminal, the checks' messages are wrapped to its width; on one too short for them, they are
// left out before the batches are.
func TestStatusChecksFitTheTerminal(t *testing.T) {
	var out strings.Builder
	require.NoError(t, StatusWith(&out, analysedRelease(), Options{Now: t0.Add(11 * time.Minute), Width: 80, Height: 40}))
	for _, l := range strings.Split(out.String(), "\n") {
		assert.LessOrEqual(t, utf8.RuneCountInString(l), 80, l)
	}
	assert.Contains(t, out.String(), "\n      querying Prometheus: server returned 503 Service Unavailable; the check is\n"+
		"      measured again in 10s, and after 5 errors in a row it fails the batch, as\n"+
		"      a failed measurement would, so look at the Prometheus of the cluster now\n")

	out.Reset()
	require.NoError(t, StatusWith(&out, analysedRelease(), Options{Now: t0.Add(11 * time.Minute), Height: 20}))
	assert.LessOrEqual(t, strings.Count(out.String(), "\n"), 19, out.String())
	assert.Contains(t, out.String(), "  1 (canary)  ", "every batch shown")
	assert.Contains(t, out.String(), "  3           2     5 ", "every batch shown")
	assert.Contains(t, out.String(), "  smoke        http        Running  -                     -         0/0       0/3     -\n  restarts")
	assert.NotContains(t, out.String(), "waiting for the first measurement")
	assert.Contains(t, out.String(), "\nWaiting for: batch 2's analysis")
}

// A message longer than three lines is cut, its last line ending in "…"; a word longer than a line is
// broken.
func TestWrap(t *testing.T) {
	assert.Equal(t, []string{"one two three"}, wrap("one  two\tthree", 20, 3))
	assert.Equal(t, []string{"aaaaaaaaaa bbbbbbbbbb", "cccccccccc"}, wrap("aaaaaaaaaa bbbbbbbbbb cccccccccc", 21, 3))
	assert.Equal(t, []string{strings.Repeat("x", 20), strings.Repeat("x", 5) + " y"}, wrap(strings.Repeat("x", 25)+" y", 20, 3))
	long := wrap(strings.Repeat("word ", 40), 20, 3)
	require.Len(t, long, 3)
	assert.Equal(t, "word word word word…", long[2])
	assert.Nil(t, wrap("", 20, 3))
}

// The checks' names, values and messages from the server are escaped; the colours are the view's own.
func TestStatusChecksEscapeTheServersStrings(t *testing.T) {
	r := analysedRelease()
	r.Status.AnalysisChecks[0].Name += hostile
	b := &r.Status.Batches[1]
	b.Analysis[0].Name += hostile
	b.Analysis[0].Message = "passed\u202e" + hostile
	b.Analysis[0].Measurements[1].Value = "1" + hostile
	b.Analysis[2].Phase += "\x1b[32m"
	b.Analysis = append(b.Analysis, v1alpha1.AnalysisStatus{Name: "gone" + hostile, Phase: v1alpha1.AnalysisRunning, Message: hostile})
	r.Status.Conditions[0].Message = `check "x` + hostile + `" has not passed`
	for _, o := range []Options{{}, {Color: true}, {Width: 60, Height: 30, Color: true}} {
		o.Now = t0.Add(11 * time.Minute)
		var out strings.Builder
		require.NoError(t, StatusWith(&out, r, o))
		shown := sgr.ReplaceAllString(out.String(), "")
		assertTerminalSafe(t, "status with checks", shown)
		assert.NotContains(t, out.String(), "Error\x1b[32m", "no colour from the server")
		if o.Width == 0 {
			assert.Contains(t, shown, "  error-rate"+escapedHostile+"  prometheus  Passed         1ok\\x1b[2J\\x1b]0;pw…  10s ago")
			assert.Contains(t, shown, `      passed\u202e`+escapedHostile+"\n")
			assert.Contains(t, shown, `Error\x1b[32m`)
			assert.Contains(t, shown, "  gone"+escapedHostile+"        -           Running")
			assert.Contains(t, shown, `Waiting for: batch 2's analysis: check "x`+escapedHostile+`" has not passed.`)
		}
	}
}

// A Baking batch whose pods are all Ready waits for its checks, as the condition AnalysisPassed says;
// while its pods are not all Ready, for them.
func TestWaitingForTheChecks(t *testing.T) {
	r := analysedRelease()
	wait, next := Waiting(r)
	assert.Equal(t, `batch 2's analysis: check "queue-depth" has not passed: querying Prometheus: server returned 503 Service Unavailable.`, wait)
	assert.Empty(t, next)

	r.Status.Batches[1].Pods[1].Ready = false
	wait, _ = Waiting(r)
	assert.Equal(t, "batch 2's pods to become Ready (1/2).", wait)

	r = analysedRelease()
	r.Status.Conditions[0].Status, r.Status.Conditions[0].Message = metav1.ConditionTrue, ""
	wait, _ = Waiting(r)
	assert.Equal(t, "batch 2's pods to become Ready (2/2).", wait, "the checks passed: the controller has yet to see it Baked")
}
