//go:build e2e

package e2e

// More of analysis on the bed's real Prometheus and kwok: an AnalysisTemplate shared by two releases and
// copied into each when it is created; a query that reads only the release's own namespace; a Prometheus
// outage that holds a Baking batch until Prometheus is back; and podHealth, built in, failing a batch whose
// pods restart.

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/test/e2e/framework"
)

// updateOf is the release name: an Update of the CloneSet cloneSet (made by framework.NewCloneSet, its
// container "nginx", its pods app=cloneSet) to image, in batches of batchSize, in mode.
func updateOf(cloneSet, name, image string, batchSize intstr.IntOrString, mode v1alpha1.ReleaseMode) *v1alpha1.Release {
	r := framework.UpdateTo(image, 0, batchSize, mode)
	r.Name = name
	r.Spec.CloneSetName = cloneSet
	r.Spec.Template.Labels = map[string]string{"app": cloneSet}
	return r
}

// withTemplates gives r the checks of the AnalysisTemplates named, measured every second.
func withTemplates(r *v1alpha1.Release, templates ...string) *v1alpha1.Release {
	interval := int32(1)
	r.Spec.Strategy.Analysis = &v1alpha1.ReleaseAnalysis{Templates: templates, IntervalSeconds: &interval}
	return r
}

// finished holds for a release that Succeeded, Failed or was Canceled: a wait for one of them that ends
// at once when the release took the other way.
func finished(r *v1alpha1.Release) bool {
	switch r.Status.Phase {
	case v1alpha1.ReleaseSucceeded, v1alpha1.ReleaseFailed, v1alpha1.ReleaseCanceled:
		return true
	}
	return false
}

// assertEveryBatchPassed checks that each batch of a finished release was measured, its one check named
// check Passed, on the value want.
func assertEveryBatchPassed(t *testing.T, r *v1alpha1.Release, check, want string) {
	t.Helper()
	require.NotEmpty(t, r.Status.Batches, "release %s", r.Name)
	for _, b := range r.Status.Batches {
		require.Len(t, b.Analysis, 1, "release %s batch %d shows its check", r.Name, b.Index)
		a := b.Analysis[0]
		assert.Equal(t, check, a.Name, "release %s batch %d", r.Name, b.Index)
		assert.Equal(t, v1alpha1.AnalysisPassed, a.Phase, "release %s batch %d: %s", r.Name, b.Index, a.Message)
		require.NotEmpty(t, a.Measurements, "release %s batch %d was measured", r.Name, b.Index)
		last := a.Measurements[len(a.Measurements)-1]
		assert.Equal(t, v1alpha1.AnalysisPassed, last.Phase, "release %s batch %d", r.Name, b.Index)
		assert.Equal(t, want, last.Value, "release %s batch %d: what was measured", r.Name, b.Index)
	}
}

// One AnalysisTemplate, two releases of two CloneSets in one namespace naming it: each copies its checks
// into status.analysisChecks when it is created, each is measured by them and succeeds. A later edit of
// the template changes neither, nor a release still running, which goes on judging by the checks it was
// created with; a release created after the edit copies the edited checks. A release naming a template
// that does not exist is refused, naming the field.
func TestAnAnalysisTemplateIsSharedByTwoReleases(t *testing.T) {
	t.Parallel()
	prom := framework.LocalPrometheus(t)
	s := framework.Setup(t, framework.Timeout(3*time.Minute), framework.CloneSet("nginx", 2), framework.CloneSet("web", 2))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	templates := admin.Releases.ReleasesV1alpha1().AnalysisTemplates(ns)
	var failed atomic.Int64
	exporter(t, prom, ns, &failed, 100)
	waitSeries(t, ctx, prom, ns, "0")

	// A template that does not exist: 422 on spec.strategy.analysis.templates[0], and nothing created.
	missing := withTemplates(updateOf("nginx", "nginx-missing", "nginx:1.28", intstr.FromInt32(1), v1alpha1.ModeAuto), "no-such-template")
	_, err := s.Releases.Create(ctx, missing, metav1.CreateOptions{})
	require.Error(t, err)
	assert.True(t, apierrors.IsInvalid(err), "422: %v", err)
	assert.Contains(t, err.Error(), "spec.strategy.analysis.templates[0]")
	assert.Contains(t, err.Error(), "no-such-template")
	_, err = s.Releases.Get(ctx, missing.Name, metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "the refused release was not stored: %v", err)

	tmpl, err := templates.Create(ctx, &v1alpha1.AnalysisTemplate{
		ObjectMeta: metav1.ObjectMeta{Name: "errors"},
		Spec:       v1alpha1.AnalysisTemplateSpec{Checks: []v1alpha1.AnalysisCheck{errorsCheck()}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	original := tmpl.Spec.Checks
	require.Len(t, original, 1)

	// Two releases, two CloneSets, one template: both copy it, are measured by it, and succeed.
	a := withTemplates(updateOf("nginx", "nginx-update", "nginx:1.28", intstr.FromInt32(1), v1alpha1.ModeAuto), "errors")
	b := withTemplates(updateOf("web", "web-update", "nginx:1.28", intstr.FromInt32(1), v1alpha1.ModeAuto), "errors")
	for _, rel := range []*v1alpha1.Release{a, b} {
		created, err := s.Releases.Create(ctx, rel, metav1.CreateOptions{})
		require.NoError(t, err, rel.Name)
		assert.Equal(t, original, created.Status.AnalysisChecks, "%s copied the template's checks when it was created", rel.Name)
	}
	for _, rel := range []*v1alpha1.Release{a, b} {
		r := framework.WaitRelease(t, ctx, admin, ns, rel.Name, "finished", finished)
		require.Equal(t, v1alpha1.ReleaseSucceeded, r.Status.Phase, "%s: %+v", rel.Name, r.Status.Conditions)
		assert.Equal(t, original, r.Status.AnalysisChecks, rel.Name)
		require.Len(t, r.Status.Batches, 2, rel.Name)
		assertEveryBatchPassed(t, r, "errors", "0")
	}
	framework.WaitCloneSet(t, ctx, admin, ns, "web", func(st kruiseappsv1alpha1.CloneSetStatus) bool {
		return st.UpdatedReadyReplicas == 2 && st.ReadyReplicas == 2
	})

	// A third release, of web, still running (Manual: batch 1 Baked, waiting for next) when the template
	// is edited.
	running := withTemplates(updateOf("web", "web-update-2", "nginx:1.29", intstr.FromInt32(1), v1alpha1.ModeManual), "errors")
	_, err = s.Releases.Create(ctx, running, metav1.CreateOptions{})
	require.NoError(t, err)
	nextUntilBaked(t, ctx, admin, ns, running.Name, 1)

	// The edit: a condition that 0 failed requests fails.
	tmpl, err = templates.Get(ctx, "errors", metav1.GetOptions{})
	require.NoError(t, err)
	tmpl.Spec.Checks[0].SuccessCondition = "result > 1000"
	edited, err := templates.Update(ctx, tmpl, metav1.UpdateOptions{})
	require.NoError(t, err)
	require.Equal(t, "result > 1000", edited.Spec.Checks[0].SuccessCondition, "the template was edited")

	// The releases that exist keep the checks they were created with, finished or running...
	for _, name := range []string{a.Name, b.Name, running.Name} {
		r, err := s.Releases.Get(ctx, name, metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, original, r.Status.AnalysisChecks, "%s after the template's edit", name)
	}
	// ...and the running one is judged by them: its batch 2 passes on 0 failed requests.
	r := nextUntilSucceeded(t, ctx, admin, ns, running.Name)
	assert.Equal(t, original, r.Status.AnalysisChecks)
	assertEveryBatchPassed(t, r, "errors", "0")

	// A release created after the edit copies the edited check, and fails by it.
	later := withTemplates(updateOf("nginx", "nginx-update-2", "nginx:1.29", intstr.FromInt32(1), v1alpha1.ModeAuto), "errors")
	created, err := s.Releases.Create(ctx, later, metav1.CreateOptions{})
	require.NoError(t, err)
	require.Len(t, created.Status.AnalysisChecks, 1)
	assert.Equal(t, "result > 1000", created.Status.AnalysisChecks[0].SuccessCondition)
	r = framework.WaitRelease(t, ctx, admin, ns, later.Name, "finished", finished)
	require.Equal(t, v1alpha1.ReleaseFailed, r.Status.Phase)
	failedCondition := meta.FindStatusCondition(r.Status.Conditions, v1alpha1.ConditionFailed)
	require.NotNil(t, failedCondition)
	assert.Contains(t, failedCondition.Message, `analysis check "errors" failed`)

	// Seconds after the edit, the first two still show the checks they ran.
	for _, name := range []string{a.Name, b.Name} {
		r, err := s.Releases.Get(ctx, name, metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, original, r.Status.AnalysisChecks, "%s, well after the template's edit", name)
		assert.Equal(t, v1alpha1.ReleaseSucceeded, r.Status.Phase, name)
	}
}

// Two namespaces, each with an exporter scraped with its own namespace label: the other namespace counts 5
// failed requests, the release's own none. The release's query names no namespace and sums every series
// of the metric, yet it reads 0 and the release succeeds: it never saw the other namespace's 5. The same
// check in the other namespace reads its 5 and fails there. A query that names the other namespace is
// refused when the release is created.
func TestAQueryReadsOnlyItsOwnNamespace(t *testing.T) {
	t.Parallel()
	prom := framework.LocalPrometheus(t)
	s := framework.Setup(t, framework.Timeout(3*time.Minute), framework.CloneSet("nginx", 2))
	admin, mine, ctx := s.Admin, s.Namespace, s.Ctx
	other := framework.Namespace(t, admin)
	framework.MakeCloneSet(t, ctx, admin, other, "nginx", 1)
	var mineFailed, otherFailed atomic.Int64
	otherFailed.Store(5)
	exporter(t, prom, mine, &mineFailed, 100)
	exporter(t, prom, other, &otherFailed, 100)
	waitSeries(t, ctx, prom, mine, "0")
	waitSeries(t, ctx, prom, other, "5")

	// Unscoped, the query the check runs reads the other namespace's 5 (and any other test's): a check
	// that was not kept to its namespace would fail.
	unscoped, err := prom.Query(ctx, `sum(e2e_requests_total{code="500"})`)
	require.NoError(t, err)
	require.Len(t, unscoped, 1)
	total, err := strconv.ParseFloat(unscoped[0].Value, 64)
	require.NoError(t, err)
	require.GreaterOrEqual(t, total, 5.0, "Prometheus itself sums every namespace")

	// A query naming the other namespace: 422 on the query, nothing created.
	named := errorsCheck()
	named.Prometheus.Query = fmt.Sprintf(`sum(e2e_requests_total{namespace=%q, code="500"})`, other)
	refused := withAnalysis(framework.UpdateTo("nginx:1.28", 0, intstr.FromString("50%"), v1alpha1.ModeAuto), 0, named)
	_, err = s.Releases.Create(ctx, refused, metav1.CreateOptions{})
	require.Error(t, err)
	assert.True(t, apierrors.IsInvalid(err), "422: %v", err)
	assert.Contains(t, err.Error(), "spec.strategy.analysis.checks[0].prometheus.query")
	_, err = s.Releases.Get(ctx, refused.Name, metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "the refused release was not stored: %v", err)

	// The same check in each namespace: 0 here, it succeeds; 5 there, it fails.
	rel := withAnalysis(framework.UpdateTo("nginx:1.28", 0, intstr.FromString("50%"), v1alpha1.ModeAuto), 0, errorsCheck())
	theirs := withAnalysis(framework.UpdateTo("nginx:1.28", 0, intstr.FromString("100%"), v1alpha1.ModeAuto), 0, errorsCheck())
	_, err = s.Releases.Create(ctx, rel, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = admin.Releases.ReleasesV1alpha1().Releases(other).Create(ctx, theirs, metav1.CreateOptions{})
	require.NoError(t, err)

	r := framework.WaitRelease(t, ctx, admin, mine, rel.Name, "finished", finished)
	require.Equal(t, v1alpha1.ReleaseSucceeded, r.Status.Phase, "%+v", r.Status.Conditions)
	require.Len(t, r.Status.Batches, 2)
	assertEveryBatchPassed(t, r, "errors", "0")
	for _, b := range r.Status.Batches {
		for _, m := range b.Analysis[0].Measurements {
			assert.Equal(t, "0", m.Value, "batch %d: every measurement read this namespace's 0 (%s)", b.Index, m.Message)
		}
	}
	waitServing(t, ctx, admin, mine, 2, 2, "nginx:1.28")

	r = framework.WaitRelease(t, ctx, admin, other, theirs.Name, "finished", finished)
	require.Equal(t, v1alpha1.ReleaseFailed, r.Status.Phase, "the other namespace's release reads its own 5")
	a := r.Status.Batches[0].Analysis
	require.Len(t, a, 1)
	assert.Equal(t, v1alpha1.AnalysisFailed, a[0].Phase)
	require.NotEmpty(t, a[0].Measurements)
	assert.Equal(t, "5", a[0].Measurements[len(a[0].Measurements)-1].Value)
}

// prometheusReady waits until the bed's Prometheus answers /-/ready.
func prometheusReady(t *testing.T, ctx context.Context, prom *framework.Prometheus) {
	t.Helper()
	framework.WaitUntil(t, ctx, "Prometheus to be ready", func(ctx context.Context) (struct{}, bool, string) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, prom.URL+"/-/ready", nil)
		if err != nil {
			return struct{}{}, false, err.Error()
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return struct{}{}, false, err.Error()
		}
		_ = resp.Body.Close()
		return struct{}{}, resp.StatusCode == http.StatusOK, resp.Status
	}, framework.Every(250*time.Millisecond), framework.Within(60*time.Second))
}

// While the bed's Prometheus is down, a Baking batch's check measures Error, each recorded in the status
// with why; errorLimit tolerates them, and the batch stays Baking, never Baked, its pods Ready all along.
// Prometheus back, the check passes, the batch is Baked and the release goes on to succeed. This test
// stops the bed's Prometheus: it must not run in parallel with any other (no t.Parallel).
func TestAPrometheusOutageHoldsTheBatchUntilItComesBack(t *testing.T) {
	prom := framework.LocalPrometheus(t)
	s := framework.Setup(t, framework.Timeout(3*time.Minute), framework.CloneSet("nginx", 2))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	var failed atomic.Int64
	exporter(t, prom, ns, &failed, 100)
	waitSeries(t, ctx, prom, ns, "0")

	require.True(t, localAlive(t, "prometheus"), "the bed's Prometheus runs")
	t.Cleanup(func() {
		// Leave the bed's Prometheus running for the other tests, whatever happened here.
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		if !localAlive(t, "prometheus") {
			startLocal(t, "prometheus")
		}
		prometheusReady(t, ctx, prom)
	})
	stopLocal(t, ctx, "prometheus", syscall.SIGTERM)
	_, err := prom.Query(ctx, "up")
	require.Error(t, err, "Prometheus is down")

	check := errorsCheck()
	errorLimit := int32(1000)
	check.ErrorLimit = &errorLimit
	rel := withAnalysis(framework.UpdateTo("nginx:1.28", 0, intstr.FromInt32(1), v1alpha1.ModeAuto), 0, check)
	_, err = s.Releases.Create(ctx, rel, metav1.CreateOptions{})
	require.NoError(t, err)

	// More Error measurements in a row than the default errorLimit (3), the batch's pods Ready.
	const outage = 5
	r := framework.WaitRelease(t, ctx, admin, ns, rel.Name, fmt.Sprintf("batch 1 Baking, %d Error measurements in a row", outage), func(r *v1alpha1.Release) bool {
		switch {
		case finished(r) || r.Status.CurrentBatch > 1:
			return true // not held at batch 1: fails below
		case r.Status.CurrentBatch < 1:
			return false // not started yet
		}
		b := r.Status.Batches[0]
		return len(b.Analysis) == 1 && b.Analysis[0].ConsecutiveErrors >= outage
	})
	require.Equal(t, v1alpha1.ReleaseProgressing, r.Status.Phase)
	require.Equal(t, int32(1), r.Status.CurrentBatch, "batch 1 holds while Prometheus is down")
	b := r.Status.Batches[0]
	assert.Equal(t, v1alpha1.BatchBaking, b.Phase, "never Baked while Prometheus is down")
	assert.Nil(t, b.BakedAt)
	require.NotNil(t, r.Status.CloneSet)
	assert.GreaterOrEqual(t, r.Status.CloneSet.UpdatedReadyReplicas, int32(1), "the batch's pod is Ready: only the check holds it")
	a := b.Analysis[0]
	assert.Equal(t, v1alpha1.AnalysisError, a.Phase, a.Message)
	assert.Nil(t, a.PassingSince)
	require.GreaterOrEqual(t, len(a.Measurements), outage)
	for _, m := range a.Measurements {
		assert.Equal(t, v1alpha1.AnalysisError, m.Phase, "%+v", m)
		assert.Contains(t, m.Message, "prometheus", "an Error measurement says why: %+v", m)
		assert.Empty(t, m.Value, "nothing was measured: %+v", m)
	}
	t.Logf("an Error measurement while Prometheus is down: %q", a.Measurements[len(a.Measurements)-1].Message)
	condition := meta.FindStatusCondition(r.Status.Conditions, v1alpha1.ConditionAnalysisPassed)
	require.NotNil(t, condition)
	assert.Equal(t, metav1.ConditionFalse, condition.Status)
	assert.Contains(t, condition.Message, `check "errors"`)
	lastError := a.Measurements[len(a.Measurements)-1].Time

	// Prometheus back: batch 1 Baked, and the release goes on to the end.
	startLocal(t, "prometheus")
	prometheusReady(t, ctx, prom)
	r = framework.WaitRelease(t, ctx, admin, ns, rel.Name, "finished", finished)
	require.Equal(t, v1alpha1.ReleaseSucceeded, r.Status.Phase, "%+v", r.Status.Conditions)
	assertEveryBatchPassed(t, r, "errors", "0")
	b = r.Status.Batches[0]
	require.NotNil(t, b.BakedAt)
	assert.True(t, b.BakedAt.After(lastError.Time), "Baked (%s) only after the outage's Error measurements (the last %s)", b.BakedAt, lastError)
	errorCount := 0
	for _, m := range b.Analysis[0].Measurements {
		if m.Phase == v1alpha1.AnalysisError {
			errorCount++
		}
	}
	assert.Positive(t, errorCount, "batch 1 keeps the outage's Error measurements: %+v", b.Analysis[0].Measurements)
	waitServing(t, ctx, admin, ns, 2, 2, "nginx:1.28")
}

// A batch with nothing but the built-in `podHealth: {}` (at most 0 restarts) fails once a pod of it
// restarts while it bakes: the release is Failed, its history and condition naming the check and the pod.
// maxFailedPods tolerates the crash-looping pod, so that what fails the batch is the check, not the
// failing-pods rule.
func TestPodHealthFailsABatchWhosePodsRestart(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(3*time.Minute), framework.CloneSet("nginx", 2))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx

	rel := framework.UpdateTo("nginx:1.28", 0, intstr.FromString("100%"), v1alpha1.ModeAuto)
	tolerated := intstr.FromString("100%")
	rel.Spec.Strategy.MaxFailedPods = &tolerated
	// bakeSeconds keeps the batch Baking, measured every second, long enough for a pod to restart.
	rel = withAnalysis(rel, 45, v1alpha1.AnalysisCheck{Name: "pods", PodHealth: &v1alpha1.PodHealthCheck{}})
	_, err := s.Releases.Create(ctx, rel, metav1.CreateOptions{})
	require.NoError(t, err)
	r := framework.WaitRelease(t, ctx, admin, ns, rel.Name, "batch 1 Baking, its pods Ready, the check passing", func(r *v1alpha1.Release) bool {
		b := r.Status.Batches[0]
		return b.Phase == v1alpha1.BatchBaking && len(b.Analysis) == 1 && b.Analysis[0].PassingSince != nil &&
			r.Status.CloneSet != nil && r.Status.CloneSet.UpdatedReadyReplicas == 2
	})
	a := r.Status.Batches[0].Analysis[0]
	assert.Equal(t, "0", a.Measurements[len(a.Measurements)-1].Value, "no restarts yet")

	// A pod of the batch starts crash-looping (kwok: restartCount + 1 every 3 s).
	pods := framework.PodsAt(t, ctx, admin, ns, "nginx:1.28")
	require.Len(t, pods, 2)
	pod := pods[0].Name
	_, err = admin.Kube.CoreV1().Pods(ns).Patch(ctx, pod, types.MergePatchType,
		[]byte(`{"metadata":{"annotations":{"kwok.triton.io/fail":"crashloop"}}}`), metav1.PatchOptions{})
	require.NoError(t, err)

	r = framework.WaitRelease(t, ctx, admin, ns, rel.Name, "finished", finished)
	require.Equal(t, v1alpha1.ReleaseFailed, r.Status.Phase, "%+v", r.Status.Conditions)
	b := r.Status.Batches[0]
	assert.Equal(t, v1alpha1.BatchFailed, b.Phase)
	assert.Nil(t, b.BakedAt)
	require.Len(t, b.Analysis, 1)
	a = b.Analysis[0]
	assert.Equal(t, v1alpha1.AnalysisFailed, a.Phase)
	last := a.Measurements[len(a.Measurements)-1]
	assert.Equal(t, v1alpha1.AnalysisFailed, last.Phase)
	_, err = strconv.Atoi(last.Value)
	require.NoError(t, err, "the most restarts of a pod of the batch: %s", last.Value)
	assert.Contains(t, last.Message, pod)
	// kwok's crash loop takes the pod's readiness, then counts its restarts: the check fails on whichever
	// it sees first.
	assert.True(t, strings.Contains(last.Message, "restarted") || strings.Contains(last.Message, "lost its readiness"), last.Message)

	reason := framework.LastHistory(r).Reason
	assert.Contains(t, reason, `analysis check "pods" failed`)
	assert.Contains(t, reason, pod)
	assert.NotContains(t, reason, "failing pods", "the check failed the batch, not the failing-pods rule")
	failedCondition := meta.FindStatusCondition(r.Status.Conditions, v1alpha1.ConditionFailed)
	require.NotNil(t, failedCondition)
	assert.Contains(t, failedCondition.Message, `analysis check "pods" failed`)

	// The pod does crash-loop: it restarts.
	framework.WaitPods(t, ctx, admin, ns, pod+" restarted", func(pods []corev1.Pod) bool {
		for _, p := range pods {
			if p.Name == pod && len(p.Status.ContainerStatuses) > 0 && p.Status.ContainerStatuses[0].RestartCount >= 1 {
				return true
			}
		}
		return false
	})
}
