//go:build e2e

package e2e

// Analysis on the bed's real Prometheus: a batch is Baked only once its Prometheus check has passed, a
// check that turns bad fails the batch and, with onFailure Cancel, every pod goes back to the old version
// and into traffic; `next` while a check waits is 409 naming the check.

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

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

// errorsCheck is a check of the failed requests the test's exporter counts: it passes while there are
// none. The query names no namespace: the server keeps it to the release's.
func errorsCheck() v1alpha1.AnalysisCheck {
	errorLimit := int32(20)
	return v1alpha1.AnalysisCheck{
		Name:             "errors",
		Prometheus:       &v1alpha1.PrometheusCheck{Query: `sum(e2e_requests_total{code="500"})`},
		SuccessCondition: "result < 1",
		ErrorLimit:       &errorLimit,
	}
}

// withAnalysis gives r the checks, measured every second, each to pass for bakeSeconds.
func withAnalysis(r *v1alpha1.Release, bakeSeconds int32, checks ...v1alpha1.AnalysisCheck) *v1alpha1.Release {
	interval := int32(1)
	r.Spec.Strategy.Analysis = &v1alpha1.ReleaseAnalysis{Checks: checks, IntervalSeconds: &interval, BakeSeconds: bakeSeconds}
	return r
}

// waitSeries waits until the bed's Prometheus has the exporter's series of ns, so that the first
// measurement finds data.
func waitSeries(t *testing.T, ctx context.Context, prom *framework.Prometheus, ns, want string) {
	t.Helper()
	query := fmt.Sprintf(`sum(e2e_requests_total{namespace=%q, code="500"})`, ns)
	framework.WaitUntil(t, ctx, "Prometheus to read "+query+" = "+want, func(ctx context.Context) ([]framework.Sample, bool, string) {
		samples, err := prom.Query(ctx, query)
		if err != nil {
			return nil, false, err.Error()
		}
		return samples, len(samples) == 1 && samples[0].Value == want, fmt.Sprintf("%+v", samples)
	}, framework.Every(250*time.Millisecond), framework.Within(30*time.Second))
}

func TestABatchIsBakedOnlyWhenItsPrometheusCheckPasses(t *testing.T) {
	t.Parallel()
	prom := framework.LocalPrometheus(t)
	s := framework.Setup(t, framework.Timeout(4*time.Minute), framework.CloneSet("nginx", 4))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	var failed atomic.Int64
	exporter(t, prom, ns, &failed, 100)
	waitSeries(t, ctx, prom, ns, "0")

	// 1. No failed request: each batch is Baked once the check has passed for 2 s, and the release
	// succeeds by itself (Auto).
	good := withAnalysis(framework.UpdateTo("nginx:1.28", 0, intstr.FromString("50%"), v1alpha1.ModeAuto), 2, errorsCheck())
	_, err := s.Releases.Create(ctx, good, metav1.CreateOptions{})
	require.NoError(t, err)
	r := framework.WaitRelease(t, ctx, admin, ns, good.Name, "Succeeded", framework.Succeeded)
	require.Len(t, r.Status.Batches, 2)
	for _, b := range r.Status.Batches {
		require.Len(t, b.Analysis, 1, "batch %d shows its check", b.Index)
		a := b.Analysis[0]
		assert.Equal(t, v1alpha1.AnalysisPassed, a.Phase, "batch %d: %s", b.Index, a.Message)
		require.NotEmpty(t, a.Measurements, "batch %d", b.Index)
		last := a.Measurements[len(a.Measurements)-1]
		assert.Equal(t, "0", last.Value, "batch %d: what Prometheus answered", b.Index)
		require.NotNil(t, a.PassingSince)
		require.NotNil(t, b.BakedAt)
		assert.GreaterOrEqual(t, b.BakedAt.Sub(a.PassingSince.Time), 2*time.Second-time.Second/2,
			"batch %d: Baked only once the check had passed for bakeSeconds", b.Index)
	}
	waitServing(t, ctx, admin, ns, 4, 4, "nginx:1.28")

	// 2. Failed requests during the next release's first batch: the check fails it, and onFailure Cancel
	// puts every pod back at nginx:1.28, in traffic.
	bad := withAnalysis(framework.UpdateTo("nginx:1.29", 0, intstr.FromString("50%"), v1alpha1.ModeAuto), 2, errorsCheck())
	bad.Name = "nginx-update-bad"
	bad.Spec.Strategy.OnFailure = v1alpha1.FailureCancel
	failed.Store(5)
	waitSeries(t, ctx, prom, ns, "5")
	_, err = s.Releases.Create(ctx, bad, metav1.CreateOptions{})
	require.NoError(t, err)
	r = framework.WaitRelease(t, ctx, admin, ns, bad.Name, "Canceled", func(r *v1alpha1.Release) bool {
		return r.Status.Phase == v1alpha1.ReleaseCanceled
	})
	b := r.Status.Batches[0]
	require.Len(t, b.Analysis, 1)
	assert.Equal(t, v1alpha1.AnalysisFailed, b.Analysis[0].Phase)
	assert.Equal(t, "5", b.Analysis[0].Measurements[len(b.Analysis[0].Measurements)-1].Value)
	failedCondition := meta.FindStatusCondition(r.Status.Conditions, v1alpha1.ConditionFailed)
	require.NotNil(t, failedCondition)
	assert.Contains(t, failedCondition.Message, `analysis check "errors" failed`)
	waitServing(t, ctx, admin, ns, 4, 0, "nginx:1.29")
	framework.WaitPods(t, ctx, admin, ns, "every pod at nginx:1.28 and Ready", func(pods []corev1.Pod) bool {
		return framework.AllReady(pods, 4) && framework.CountImage(pods, "nginx:1.28") == 4
	})
}

// In Manual mode, `next` on a batch whose pods are all Ready but whose check has not passed is 409,
// naming the check; once it passes, the batch is Baked and `next` goes through.
func TestNextWhileACheckWaitsIsRefusedNamingTheCheck(t *testing.T) {
	t.Parallel()
	prom := framework.LocalPrometheus(t)
	s := framework.Setup(t, framework.Timeout(4*time.Minute), framework.CloneSet("nginx", 2))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	var failed atomic.Int64
	failed.Store(1)
	exporter(t, prom, ns, &failed, 100)
	waitSeries(t, ctx, prom, ns, "1")

	check := errorsCheck()
	check.FailureLimit = 1000 // failing measurements hold the batch here; they do not fail it
	rel := withAnalysis(framework.UpdateTo("nginx:1.28", 0, intstr.FromInt32(1), v1alpha1.ModeManual), 0, check)
	_, err := s.Releases.Create(ctx, rel, metav1.CreateOptions{})
	require.NoError(t, err)
	r := framework.WaitRelease(t, ctx, admin, ns, rel.Name, "batch 1 Baking, its pods Ready, the check measured", func(r *v1alpha1.Release) bool {
		b := r.Status.Batches[0]
		return b.Phase == v1alpha1.BatchBaking && len(b.Analysis) == 1 && len(b.Analysis[0].Measurements) > 0 &&
			r.Status.CloneSet != nil && r.Status.CloneSet.UpdatedReadyReplicas >= 1
	})
	_, err = s.Releases.Next(ctx, rel.Name, &v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(1)}, metav1.CreateOptions{})
	require.Error(t, err)
	assert.True(t, apierrors.IsConflict(err), "409: %v", err)
	assert.Contains(t, err.Error(), `check "errors"`, "the refusal names the check")
	assert.Equal(t, v1alpha1.BatchBaking, r.Status.Batches[0].Phase)

	failed.Store(0)
	framework.WaitRelease(t, ctx, admin, ns, rel.Name, "batch 1 Baked once the check passes", framework.BatchIs(1, v1alpha1.BatchBaked))
	_, err = s.Releases.Next(ctx, rel.Name, &v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(1)}, metav1.CreateOptions{})
	require.NoError(t, err)
	r = framework.WaitRelease(t, ctx, admin, ns, rel.Name, "batch 2 Baked", framework.BatchIs(2, v1alpha1.BatchBaked))
	require.Len(t, r.Status.Batches[1].Analysis, 1, "batch 2 is measured too")
	assert.Equal(t, v1alpha1.AnalysisPassed, r.Status.Batches[1].Analysis[0].Phase)
	assert.True(t, strings.HasPrefix(r.Status.Batches[0].Analysis[0].Message, "passed"), r.Status.Batches[0].Analysis[0].Message)
}

// Going past a check that has not passed needs the verb override on releases: an approver, who may call
// `next`, gets 403 for it; an operator goes past it with a reason, and the history says who and why. The
// same holds for `next` with toBatch, which skips the checks of the batches it skips.
func TestGoingPastACheckNeedsAPermissionOfItsOwn(t *testing.T) {
	t.Parallel()
	prom := framework.LocalPrometheus(t)
	s := framework.Setup(t, framework.Timeout(4*time.Minute), framework.CloneSet("nginx", 4))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	var failed atomic.Int64
	failed.Store(1)
	exporter(t, prom, ns, &failed, 100)
	waitSeries(t, ctx, prom, ns, "1")
	grant(t, ctx, admin, ns, "alice", []string{"triton-release-approver"}, true)
	grant(t, ctx, admin, ns, "bob", []string{"triton-release-operator"}, true)
	waitAllowed(t, ctx, admin, "bob", nil, ns, "override", "releases.triton.io", "releases")

	check := errorsCheck()
	check.FailureLimit = 1000
	rel := withAnalysis(framework.UpdateTo("nginx:1.28", 0, intstr.FromInt32(1), v1alpha1.ModeManual), 0, check)
	_, err := s.Releases.Create(ctx, rel, metav1.CreateOptions{})
	require.NoError(t, err)
	framework.WaitRelease(t, ctx, admin, ns, rel.Name, "batch 1 Baking, its pods Ready, the check failing", func(r *v1alpha1.Release) bool {
		b := r.Status.Batches[0]
		return b.Phase == v1alpha1.BatchBaking && len(b.Analysis) == 1 && b.Analysis[0].Failures > 0 &&
			r.Status.CloneSet != nil && r.Status.CloneSet.UpdatedReadyReplicas >= 1
	})

	override := &v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(1), OverrideAnalysis: true, Reason: "the errors come from a test client"}
	alice := framework.Connect(t, "alice").Releases.ReleasesV1alpha1().Releases(ns)
	_, err = alice.Next(ctx, rel.Name, override, metav1.CreateOptions{})
	require.Error(t, err)
	assert.True(t, apierrors.IsForbidden(err), "an approver may not go past a check: %v", err)
	assert.Contains(t, err.Error(), `cannot override resource "releases"`)

	bob := framework.Connect(t, "bob").Releases.ReleasesV1alpha1().Releases(ns)
	_, err = bob.Next(ctx, rel.Name, &v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(1), OverrideAnalysis: true}, metav1.CreateOptions{})
	require.Error(t, err)
	assert.True(t, apierrors.IsInvalid(err), "no reason: 422: %v", err)

	r, err := bob.Next(ctx, rel.Name, override, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(2), r.Status.CurrentBatch, "batch 1 counted as Baked, and next moved on")
	assert.Equal(t, v1alpha1.BatchBaked, r.Status.Batches[0].Phase)
	var entry *v1alpha1.ReleaseHistoryEntry
	for i := range r.Status.History {
		if r.Status.History[i].Action == "override-analysis" {
			entry = &r.Status.History[i]
		}
	}
	require.NotNil(t, entry, "the history records the override")
	assert.Equal(t, "bob", entry.User)
	assert.Equal(t, override.Reason, entry.Reason)

	// Batch 2 waits for its check in turn. Straight to batch 4 would skip the checks of batches 2 and 3:
	// refused without the override, forbidden to the approver with it, done for the operator.
	framework.WaitRelease(t, ctx, admin, ns, rel.Name, "batch 2 Baking, its pods Ready, the check failing", func(r *v1alpha1.Release) bool {
		b := r.Status.Batches[1]
		return r.Status.CurrentBatch == 2 && b.Phase == v1alpha1.BatchBaking && len(b.Analysis) == 1 && b.Analysis[0].Failures > 0 &&
			r.Status.CloneSet != nil && r.Status.CloneSet.UpdatedReadyReplicas >= 2
	})
	_, err = alice.Next(ctx, rel.Name, &v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(2), ToBatch: framework.Int32(4)}, metav1.CreateOptions{})
	require.Error(t, err)
	assert.True(t, apierrors.IsConflict(err), "toBatch past a waiting check: 409: %v", err)
	assert.Contains(t, err.Error(), `check "errors"`)
	jump := &v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(2), ToBatch: framework.Int32(4), OverrideAnalysis: true, Reason: "a hotfix"}
	_, err = alice.Next(ctx, rel.Name, jump, metav1.CreateOptions{})
	require.Error(t, err)
	assert.True(t, apierrors.IsForbidden(err), "an approver may not skip checks with toBatch: %v", err)
	r, err = bob.Next(ctx, rel.Name, jump, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(4), r.Status.CurrentBatch)
	assert.Equal(t, v1alpha1.BatchBaked, r.Status.Batches[1].Phase, "batch 2 gone past")
	assert.Equal(t, v1alpha1.BatchSkipped, r.Status.Batches[2].Phase, "batch 3 skipped")
	overrides := 0
	for _, h := range r.Status.History {
		if h.Action == "override-analysis" {
			overrides++
			assert.Equal(t, "bob", h.User)
		}
	}
	assert.Equal(t, 3, overrides, "batch 1's, batch 2's and batch 3's skipped checks")
}

// An in-place update restarts the containers it changes, and kubelet (kwok here) counts that restart: it
// is not the new version failing, and podHealth with nothing configured lets the batch through.
func TestPodHealthLetsAnInPlaceUpdateThrough(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(3*time.Minute), framework.CloneSet("nginx", 2))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	_, err := admin.Kruise.AppsV1alpha1().CloneSets(ns).Patch(ctx, "nginx", types.MergePatchType,
		[]byte(`{"spec":{"updateStrategy":{"type":"InPlaceIfPossible"}}}`), metav1.PatchOptions{})
	require.NoError(t, err)
	rel := withAnalysis(framework.UpdateTo("nginx:1.28", 0, intstr.FromString("100%"), v1alpha1.ModeAuto), 3,
		v1alpha1.AnalysisCheck{Name: "pods", PodHealth: &v1alpha1.PodHealthCheck{}})
	_, err = s.Releases.Create(ctx, rel, metav1.CreateOptions{})
	require.NoError(t, err)
	r := framework.WaitRelease(t, ctx, admin, ns, rel.Name, "finished", func(r *v1alpha1.Release) bool {
		return r.Status.Phase == v1alpha1.ReleaseSucceeded || r.Status.Phase == v1alpha1.ReleaseFailed
	})
	require.Equal(t, v1alpha1.ReleaseSucceeded, r.Status.Phase, "%+v", r.Status.Conditions)
	a := r.Status.Batches[0].Analysis[0]
	assert.Equal(t, v1alpha1.AnalysisPassed, a.Phase)
	restarted := 0
	for _, p := range framework.PodsAt(t, ctx, admin, ns, "nginx:1.28") {
		for _, c := range p.Status.ContainerStatuses {
			if c.RestartCount > 0 {
				restarted++
			}
		}
	}
	assert.Positive(t, restarted, "the pods were updated in place, and their restart counted by the kubelet")
}
