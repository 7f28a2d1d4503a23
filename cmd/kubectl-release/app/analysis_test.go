package app

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

// analysed is a Manual release at batch 2 of 2, Baking, its pods Ready, with four checks measured every
// 10s: error-rate has passed, latency (a dry run) has failed with a value that carries terminal escapes,
// queue-depth cannot be measured, and smoke waits for its first measurement.
func analysed() *v1alpha1.Release {
	r := release("shop", "nginx-update", "nginx", t0)
	r.Spec.Template = &corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "nginx", Image: "nginx:1.28"}}}}
	interval := int32(10)
	r.Spec.Strategy.Analysis = &v1alpha1.ReleaseAnalysis{IntervalSeconds: &interval}
	r.Status.CurrentBatch = 2
	r.Status.Batches = []v1alpha1.ReleaseBatch{
		{Index: 1, Canary: true, Replicas: 1, Target: 1, Phase: v1alpha1.BatchBaked},
		{Index: 2, Replicas: 1, Target: 2, Phase: v1alpha1.BatchBaking,
			Pods: []v1alpha1.BatchPod{{Name: "nginx-4xq2p", Phase: corev1.PodRunning, Ready: true, PulledIn: true}}},
	}
	r.Status.AnalysisChecks = []v1alpha1.AnalysisCheck{
		{Name: "error-rate", Prometheus: &v1alpha1.PrometheusCheck{Query: "sum(errors)"}, SuccessCondition: "result < 1"},
		{Name: "latency", HTTP: &v1alpha1.HTTPCheck{Service: "web", Port: 80, Path: "/stats"}, SuccessCondition: "result < 0.5", DryRun: true},
		{Name: "queue-depth", Prometheus: &v1alpha1.PrometheusCheck{Query: "max(queue)"}, SuccessCondition: "result < 100"},
		{Name: "smoke", PodHealth: &v1alpha1.PodHealthCheck{}, Background: true},
	}
	at := func(d time.Duration) metav1.Time { return metav1.NewTime(t0.Add(d)) }
	passing := at(50 * time.Second)
	r.Status.Batches[1].Analysis = []v1alpha1.AnalysisStatus{
		{Name: "error-rate", Phase: v1alpha1.AnalysisPassed, PassingSince: &passing, Message: "passed for 10s",
			Measurements: []v1alpha1.Measurement{{Time: at(50 * time.Second), Value: "0", Phase: v1alpha1.AnalysisPassed}}},
		{Name: "latency", Phase: v1alpha1.AnalysisFailed, Failures: 1, Message: "1 failed measurements, 0 tolerated; the last: 0.9 Failed",
			Measurements: []v1alpha1.Measurement{{Time: at(55 * time.Second), Value: "0.9" + hostile, Phase: v1alpha1.AnalysisFailed}}},
		{Name: "queue-depth", Phase: v1alpha1.AnalysisError, ConsecutiveErrors: 1, Message: "no data: the query answered an empty vector",
			Measurements: []v1alpha1.Measurement{{Time: at(58 * time.Second), Phase: v1alpha1.AnalysisError, Message: "no data"}}},
		{Name: "smoke", Phase: v1alpha1.AnalysisRunning, Message: "waiting for the first measurement"},
	}
	r.Status.Conditions = []metav1.Condition{{Type: v1alpha1.ConditionAnalysisPassed, Status: metav1.ConditionFalse, Reason: "Waiting",
		Message: `check "queue-depth" has not passed: no data: the query answered an empty vector`}}
	return r
}

// status shows the checks of the current batch, the server's strings escaped; -o prints the release as it
// is.
func TestStatusShowsTheAnalysisChecks(t *testing.T) {
	statusClock = func() time.Time { return t0.Add(time.Minute) }
	t.Cleanup(func() { statusClock = time.Now })
	p := newPlugin(t, analysed())
	require.Equal(t, ExitOK, p.run("status", "nginx-update"), p.errOut.String())
	out := p.out.String()
	assertTerminalSafe(t, "status", out)
	assert.Contains(t, out, `
Analysis of batch 2 (a measurement every 10s):
  CHECK        KIND        PHASE    LAST VALUE            MEASURED  FAILURES  ERRORS  MODE
  error-rate   prometheus  Passed   0                     10s ago   0/0       0/3     -
      passed for 10s
  latency      http        Failed   0.9ok\x1b[2J\x1b]0;…  5s ago    1/0       0/3     dryRun
      1 failed measurements, 0 tolerated; the last: 0.9 Failed
  queue-depth  prometheus  Error    -                     2s ago    0/0       1/3     -
      no data: the query answered an empty vector
  smoke        podHealth   Running  -                     -         0/0       0/3     background
      waiting for the first measurement

Waiting for: batch 2's analysis: check "queue-depth" has not passed: no data: the query answered an empty vector.
`)

	p = newPlugin(t, analysed())
	require.Equal(t, ExitOK, p.run("status", "nginx-update", "-o", "jsonpath={.status.batches[1].analysis[1].measurements[0].value}"), p.errOut.String())
	assert.Equal(t, "0.9"+hostile, p.out.String(), "-o prints the release itself")
}

// nextRequests makes the fake server answer next with r, or with err, and records the requests sent.
func nextRequests(p *plugin, r *v1alpha1.Release, err error) *[]*v1alpha1.ReleaseRequest {
	var sent []*v1alpha1.ReleaseRequest
	p.releases.PrependReactor("create", "releases", func(action k8stesting.Action) (bool, runtime.Object, error) {
		if action.GetSubresource() == "" {
			return false, nil, nil
		}
		sent = append(sent, action.(k8stesting.CreateAction).GetObject().(*v1alpha1.ReleaseRequest))
		if err != nil {
			return true, nil, err
		}
		return true, r.DeepCopy(), nil
	})
	return &sent
}

// next --override-analysis sends overrideAnalysis with the reason (and toBatch, when given); without a
// reason it is refused before anything is sent.
func TestNextOverrideAnalysis(t *testing.T) {
	p := newPlugin(t, analysed())
	sent := nextRequests(p, moved("nginx-update"), nil)
	require.Equal(t, ExitOK, p.run("next", "nginx-update", "--expected-batch", "2", "--override-analysis", "--reason", "a load test"), p.errOut.String())
	require.Len(t, *sent, 1)
	req := (*sent)[0]
	assert.True(t, req.OverrideAnalysis)
	assert.Equal(t, "a load test", req.Reason)
	assert.Equal(t, int32(2), *req.ExpectedBatch)
	assert.Equal(t, "release.releases.triton.io/nginx-update next: Progressing, batch 2 of 3 Smoking\n", p.out.String())

	// Without the flag, nothing of it is sent.
	require.Equal(t, ExitOK, p.run("next", "nginx-update", "--reason", "on"), p.errOut.String())
	require.Len(t, *sent, 2)
	assert.False(t, (*sent)[1].OverrideAnalysis)

	for _, args := range [][]string{
		{"--override-analysis"},
		{"--override-analysis", "--reason", "  "},
	} {
		p := newPlugin(t, analysed())
		sent := nextRequests(p, moved("nginx-update"), nil)
		assert.Equal(t, ExitUsage, p.run(append([]string{"next", "nginx-update"}, args...)...), "%v", args)
		assert.Empty(t, *sent, "%v: nothing sent", args)
		assert.Empty(t, p.out.String())
		assert.Equal(t, 1, strings.Count(p.errOut.String(), "\n"), "%v: one line: %s", args, p.errOut)
		assert.True(t, strings.HasPrefix(p.errOut.String(), "error: --override-analysis "), p.errOut.String())
	}
	p = newPlugin(t, analysed())
	assert.Contains(t, runErr(t, p, ExitUsage, "next", "nginx-update", "--override-analysis"), "--override-analysis needs --reason")

	// With --to-batch: the checks of the batches skipped.
	p = newPlugin(t, analysed())
	sent = nextRequests(p, moved("nginx-update"), nil)
	require.Equal(t, ExitOK, p.run("next", "nginx-update", "--to-batch", "3", "--override-analysis", "--reason", "hotfix"), p.errOut.String())
	require.Len(t, *sent, 1)
	assert.True(t, (*sent)[0].OverrideAnalysis)
	assert.Equal(t, int32(3), *(*sent)[0].ToBatch)

	// promote --full with it: to the last batch, past the checks.
	p = newPlugin(t, analysed())
	sent = nextRequests(p, moved("nginx-update"), nil)
	require.Equal(t, ExitOK, p.run("promote", "nginx-update", "--full", "--override-analysis", "--reason", "hotfix"), p.errOut.String())
	require.Len(t, *sent, 1)
	assert.True(t, (*sent)[0].OverrideAnalysis)
	assert.Equal(t, "hotfix", (*sent)[0].Reason)
	assert.Equal(t, int32(len(analysed().Status.Batches)), *(*sent)[0].ToBatch, "the last batch")
	p = newPlugin(t, analysed())
	assert.Contains(t, runErr(t, p, ExitUsage, "promote", "nginx-update", "--full", "--override-analysis"), "--override-analysis needs --reason")

	// Only next and promote have it.
	for _, verb := range []string{"pause", "resume", "cancel"} {
		p := newPlugin(t, analysed())
		assert.Equal(t, ExitUsage, p.run(verb, "nginx-update", "--override-analysis", "--reason", "x"), verb)
	}
}

func runErr(t *testing.T, p *plugin, code int, args ...string) string {
	t.Helper()
	require.Equal(t, code, p.run(args...), p.errOut.String())
	return p.errOut.String()
}

// The server's refusals of an override are one line, with the exit code of their kind: 403 without the
// verb override on releases, 409 when the release is not where the call expects it, 422 for what the
// server finds invalid.
func TestNextOverrideAnalysisRefused(t *testing.T) {
	releases := schema.GroupResource{Group: "releases.triton.io", Resource: "releases"}
	for _, tc := range []struct {
		name string
		err  error
		code int
		want string
	}{
		{"403", apierrors.NewForbidden(releases, "nginx-update", errors.New(`User "alice" cannot override resource "releases" in API group `+
			`"releases.triton.io" in the namespace "shop": going past analysis checks needs this permission of its own, not only the one `+"`next`"+` needs`)),
			ExitNotAllowed, `error: releases.releases.triton.io "nginx-update" is forbidden: User "alice" cannot override resource "releases" in API group ` +
				`"releases.triton.io" in the namespace "shop": going past analysis checks needs this permission of its own, not only the one ` + "`next`" +
				` needs. Ask for the role triton-release-operator, or for the checks to pass` + "\n"},
		{"409", apierrors.NewConflict(releases, "nginx-update", errors.New("expected batch 1, but the current batch is 2\n\x1b[31m")),
			ExitRefused, `error: Operation cannot be fulfilled on releases.releases.triton.io "nginx-update": expected batch 1, but the current batch is 2 \x1b[31m. See where it stands: kubectl release status nginx-update` + "\n"},
		{"422", apierrors.NewInvalid(schema.GroupKind{Group: "releases.triton.io", Kind: "ReleaseRequest"}, "nginx-update", nil),
			ExitInvalid, "error: ReleaseRequest.releases.triton.io \"nginx-update\" is invalid\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPlugin(t, analysed())
			nextRequests(p, nil, tc.err)
			assert.Equal(t, tc.code, p.run("next", "nginx-update", "--expected-batch", "1", "--override-analysis", "--reason", "load test"))
			assert.Equal(t, tc.want, p.errOut.String())
			assert.Empty(t, p.out.String())
		})
	}
}
