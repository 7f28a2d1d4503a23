//go:build e2e

package e2e

// Beyond one batch at a time (issue 15): `next` to a batch and a full promotion, the labels of a release's
// pods (a preview Service of the canary), and a release that cancels itself when a batch fails.

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/release/plan"
	"github.com/triton-io/triton/test/e2e/framework"
)

// `next` with toBatch moves a canary straight to batch 3 of 6: batches 1 and 2 are recorded as skipped,
// the partition lets exactly 3 pods update, and the call is exactly-once. `kubectl release promote --full`
// then takes it to the last batch, and the release finishes with no other call. At no moment are more
// pods at the new image than the current batch allows.
func TestNextToABatchAndPromoteFully(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(4*time.Minute), framework.CloneSet("nginx", 6))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	releases := s.Releases

	guard := framework.WatchUpdated(t, ctx, admin, ns, "nginx:1.28")
	guard.Allowed.Store(1)
	r, err := releases.Create(ctx, framework.UpdateTo("nginx:1.28", 1, intstr.FromInt32(1), v1alpha1.ModeManual), metav1.CreateOptions{})
	require.NoError(t, err)
	require.Len(t, r.Status.Batches, 6)
	framework.WaitRelease(t, ctx, admin, ns, r.Name, "canary Smoked", framework.BatchIs(1, v1alpha1.BatchSmoked))

	// Out of range: 422 on toBatch, nothing changes.
	_, err = releases.Next(ctx, r.Name, &v1alpha1.ReleaseRequest{ToBatch: framework.Int32(7)}, metav1.CreateOptions{})
	require.True(t, apierrors.IsInvalid(err), "toBatch 7 of 6: %v", err)
	assert.Contains(t, err.Error(), "toBatch")
	assert.Contains(t, err.Error(), "the release has 6 batches")

	guard.Allowed.Store(3)
	jump := &v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(1), ToBatch: framework.Int32(3), Reason: "canary is fine"}
	answer, err := releases.Next(ctx, r.Name, jump, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(3), answer.Status.CurrentBatch)
	framework.AssertBatchPhases(t, answer, v1alpha1.BatchSkipped, v1alpha1.BatchSkipped, v1alpha1.BatchSmoking,
		v1alpha1.BatchPending, v1alpha1.BatchPending, v1alpha1.BatchPending)
	assert.Equal(t, int32(3), framework.ObservedPartition(answer), "the answer shows the CloneSet letting 3 pods update")
	_, err = releases.Next(ctx, r.Name, jump, metav1.CreateOptions{})
	require.True(t, apierrors.IsConflict(err), "the same jump again: %v", err)

	r = framework.WaitRelease(t, ctx, admin, ns, r.Name, "batch 3 Baked", framework.BatchIs(3, v1alpha1.BatchBaked))
	waitServing(t, ctx, admin, ns, 6, 3, "nginx:1.28")
	var skips []string
	for _, h := range r.Status.History {
		if h.Action == plan.ActionSkip {
			skips = append(skips, fmt.Sprintf("%d-%d by %s: %s", h.FromBatch, h.ToBatch, h.User, h.Reason))
		}
	}
	assert.Equal(t, []string{"1-2 by admin: canary is fine"}, skips, "one entry for the batches skipped by one call")
	assert.False(t, r.Status.Promoted)

	// The plugin promotes it fully: straight to batch 6, and on to Succeeded without another call.
	guard.Allowed.Store(6)
	res := admin.KubectlRelease(t, ctx, "promote", r.Name, "--full", "-n", ns)
	require.Equal(t, 0, res.Code, res.String())
	assert.Contains(t, res.Stdout, "batch 6 of 6")
	r = framework.WaitRelease(t, ctx, admin, ns, r.Name, "Succeeded", framework.Succeeded)
	assert.True(t, r.Status.Promoted)
	framework.AssertBatchPhases(t, r, v1alpha1.BatchSkipped, v1alpha1.BatchSkipped, v1alpha1.BatchBaked,
		v1alpha1.BatchSkipped, v1alpha1.BatchSkipped, v1alpha1.BatchBaked)
	last := r.Status.History[len(r.Status.History)-1]
	assert.Equal(t, "baked", last.Action, "the controller finished it: %s", framework.HistoryActions(r))
	waitServing(t, ctx, admin, ns, 6, 6, "nginx:1.28")
	framework.WaitReleased(t, ctx, admin, ns)
	guard.Check(t)

	history := admin.KubectlRelease(t, ctx, "history", r.Name, "-n", ns)
	require.Equal(t, 0, history.Code, history.String())
	assert.Contains(t, history.Stdout, "skip")
}

// Every pod a release brings carries its name and batch: a preview Service that selects the canary's
// batch (publishing not-ready addresses, since the canary is out of traffic until `next`) reaches the
// canary alone while the main Service reaches only the 3 old pods; a pod kruise makes again mid-release
// gets the labels of the batch then running.
func TestBatchLabelsLetAPreviewServiceReachTheCanary(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(4*time.Minute), framework.CloneSet("nginx", 4))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	main := service(t, ctx, admin, ns, 4)
	releases := s.Releases
	r, err := releases.Create(ctx, framework.UpdateTo("nginx:1.28", 1, intstr.FromInt32(3), v1alpha1.ModeManual), metav1.CreateOptions{})
	require.NoError(t, err)

	_, err = admin.Kube.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "nginx-canary"},
		Spec: corev1.ServiceSpec{
			Selector:                 map[string]string{"app": "nginx", v1alpha1.ReleaseLabel: r.Name, v1alpha1.BatchLabel: "1"},
			PublishNotReadyAddresses: true,
			Ports:                    []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(80)}},
		},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	preview := watchEndpoints(t, admin, ns, "nginx-canary")

	canary := waitCanarySmoked(t, ctx, admin, ns, r.Name)
	reaches := func() bool {
		preview.mu.Lock()
		defer preview.mu.Unlock()
		return preview.readyPod(canary.Name)
	}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		// Say why: the canary's labels and IP as they are, and what the preview Service's slices hold.
		p, err := admin.Kube.CoreV1().Pods(ns).Get(context.Background(), canary.Name, metav1.GetOptions{})
		if err == nil {
			t.Logf("canary %s: ip %s (listed %s), labels %v", p.Name, p.Status.PodIP, canary.IP, p.Labels)
		} else {
			t.Logf("canary %s: %v", canary.Name, err)
		}
		preview.mu.Lock()
		t.Logf("preview slices: %v", preview.slices)
		preview.mu.Unlock()
	})
	framework.WaitFor(t, ctx, "the preview Service reaches the canary", reaches)
	framework.Holds(t, ctx, 2*time.Second, "the preview reaches the canary alone; the main Service the 3 old pods", func(_ context.Context) (bool, string) {
		n, m := preview.readyEndpoints(), main.readyEndpoints()
		main.mu.Lock()
		inMain := main.readyIP(canary.IP) || main.readyPod(canary.Name)
		main.mu.Unlock()
		return n == 1 && m == 3 && !inMain, fmt.Sprintf("preview %d, main %d, canary in main %v", n, m, inMain)
	})

	r = nextUntilBaked(t, ctx, admin, ns, r.Name, 1)
	_, err = releases.Next(ctx, r.Name, &v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(1)}, metav1.CreateOptions{})
	require.NoError(t, err)
	r = framework.WaitRelease(t, ctx, admin, ns, r.Name, "batch 2 Baked", framework.BatchIs(2, v1alpha1.BatchBaked))
	labelsAre := func(pods []corev1.Pod) (bool, string) {
		var got []string
		ok := framework.CountImage(pods, "nginx:1.28") == 4
		for _, p := range pods {
			want := "2"
			if p.Name == canary.Name {
				want = "1"
			}
			got = append(got, p.Name+"="+p.Labels[v1alpha1.ReleaseLabel]+"/"+p.Labels[v1alpha1.BatchLabel])
			if p.Labels[v1alpha1.ReleaseLabel] != r.Name || p.Labels[v1alpha1.BatchLabel] != want {
				ok = false
			}
		}
		return ok, strings.Join(got, " ")
	}
	var last string
	framework.WaitPods(t, ctx, admin, ns, "every pod labelled with the release and its batch", func(pods []corev1.Pod) bool {
		ok, got := labelsAre(pods)
		last = got
		return ok
	})
	t.Logf("labels: %s", last)

	// kruise makes a deleted pod again at the new revision: the new pod gets batch 2's labels.
	var victim string
	for _, p := range framework.LivePods(t, ctx, admin, ns) {
		if p.Name != canary.Name {
			victim = p.Name
			break
		}
	}
	require.NoError(t, admin.Kube.CoreV1().Pods(ns).Delete(ctx, victim, metav1.DeleteOptions{}))
	framework.WaitPods(t, ctx, admin, ns, "the replacement labelled too", func(pods []corev1.Pod) bool {
		if len(pods) != 4 {
			return false
		}
		for _, p := range pods {
			if p.Name == victim {
				return false
			}
		}
		ok, got := labelsAre(pods)
		last = got
		return ok
	})
	t.Logf("labels after the replacement: %s", last)
	_, err = releases.Next(ctx, r.Name, &v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(2)}, metav1.CreateOptions{})
	require.NoError(t, err)
	framework.WaitRelease(t, ctx, admin, ns, r.Name, "Succeeded", framework.Succeeded)
	framework.WaitReleased(t, ctx, admin, ns)
	for _, p := range framework.LivePods(t, ctx, admin, ns) {
		assert.Equal(t, r.Name, p.Labels[v1alpha1.ReleaseLabel], "pod %s keeps the name of the release that brought it", p.Name)
	}
}

// onFailure: Cancel. A pod of a Baked batch starts crash-looping: the release fails and cancels itself
// with no one calling. The batch's healthy pod leaves the Service's endpoints before kruise removes it, the
// CloneSet goes back to the old image, and the reason is in the Failed condition, the history and an
// Event.
func TestOnFailureCancelRevertsTheReleaseByItselfTrafficFirst(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(4*time.Minute), framework.CloneSet("nginx", 3))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	w := service(t, ctx, admin, ns, 3)
	releases := s.Releases
	rel := framework.UpdateTo("nginx:1.28", 0, intstr.FromInt32(2), v1alpha1.ModeManual)
	rel.Spec.Strategy.OnFailure = v1alpha1.FailureCancel
	rel.Spec.Template.Annotations = map[string]string{readyDelay: "1s"}
	r, err := releases.Create(ctx, rel, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.FailureCancel, r.Spec.Strategy.OnFailure)
	r = framework.WaitRelease(t, ctx, admin, ns, r.Name, "batch 1 Baked", framework.BatchIs(1, v1alpha1.BatchBaked))
	batch := framework.PodsAt(t, ctx, admin, ns, "nginx:1.28")
	require.Len(t, batch, 2)
	framework.WaitFor(t, ctx, "the batch's 2 pods in the endpoints", func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.readyIP(batch[0].Status.PodIP) && w.readyIP(batch[1].Status.PodIP)
	})

	patch := []byte(`{"metadata":{"annotations":{"kwok.triton.io/fail":"crashloop"}}}`)
	_, err = admin.Kube.CoreV1().Pods(ns).Patch(ctx, batch[0].Name, types.MergePatchType, patch, metav1.PatchOptions{})
	require.NoError(t, err)

	r = framework.WaitRelease(t, ctx, admin, ns, r.Name, "Canceled and Reverted", func(r *v1alpha1.Release) bool {
		return r.Status.Phase == v1alpha1.ReleaseCanceled && framework.ConditionIs(r, v1alpha1.ConditionReverted, metav1.ConditionTrue)
	})
	failedCond := findCondition(r, v1alpha1.ConditionFailed)
	require.NotNil(t, failedCond)
	assert.Equal(t, metav1.ConditionTrue, failedCond.Status)
	assert.Equal(t, "CanceledOnFailure", failedCond.Reason)
	assert.Contains(t, failedCond.Message, batch[0].Name)
	n := len(r.Status.History)
	require.GreaterOrEqual(t, n, 2)
	assert.Equal(t, "fail", r.Status.History[n-2].Action, framework.HistoryActions(r))
	assert.Equal(t, "cancel", r.Status.History[n-1].Action, framework.HistoryActions(r))
	assert.Contains(t, r.Status.History[n-1].Reason, "onFailure is Cancel: ")
	assert.Contains(t, r.Status.History[n-1].Reason, batch[0].Name)

	framework.WaitReleased(t, ctx, admin, ns)
	waitServing(t, ctx, admin, ns, 3, 0, "nginx:1.28")
	framework.WaitFor(t, ctx, "3 ready endpoints again", func() bool { return w.readyEndpoints() == 3 })
	events, err := admin.Kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + r.Name})
	require.NoError(t, err)
	var cancelEvent string
	for _, e := range events.Items {
		if e.Reason == "Cancel" {
			cancelEvent = e.Message
		}
	}
	assert.Contains(t, cancelEvent, "onFailure is Cancel", "an Event says why the release canceled itself")
	w.mu.Lock()
	defer w.mu.Unlock()
	assert.True(t, w.deleted[batch[1].Name], "kruise removed the healthy pod of the failed batch")
	w.report(t)
	assert.Empty(t, w.violations(), "a pod left the endpoints only after kruise deleted it")
}

// maxSurge: each batch's new pods come up beside the old ones, which leave only once new ones are in
// traffic, so the Service never has fewer ready endpoints than the CloneSet's replicas: not while the
// canary waits out of traffic for `next`, and not while a batch of 3 comes up in waves of 2 (50%). No
// more pods than the batches approved are at the new image, and the CloneSet's maxSurge and
// maxUnavailable are what they were once the release ends.
func TestSurgeKeepsEveryReplicaInTrafficThroughARelease(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(4*time.Minute), framework.CloneSet("nginx", 4))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	w := service(t, ctx, admin, ns, 4)
	before := framework.GetCloneSet(t, ctx, admin, ns).Spec.UpdateStrategy
	from := w.lastRevision()
	releases := s.Releases

	guard := framework.WatchUpdated(t, ctx, admin, ns, "nginx:1.28")
	guard.Allowed.Store(1)
	rel := framework.UpdateTo("nginx:1.28", 1, intstr.FromInt32(3), v1alpha1.ModeManual)
	half := intstr.FromString("50%")
	rel.Spec.Strategy.MaxSurge = &half
	r, err := releases.Create(ctx, rel, metav1.CreateOptions{})
	require.NoError(t, err)

	waitCanarySmoked(t, ctx, admin, ns, r.Name)
	framework.Holds(t, ctx, 2*time.Second, "the canary waits beside the 4 old pods, all 4 in traffic", func(ctx context.Context) (bool, string) {
		pods := framework.LivePods(t, ctx, admin, ns)
		n := w.readyEndpoints()
		return len(pods) == 5 && framework.CountImage(pods, "nginx:1.27") == 4 && n == 4,
			fmt.Sprintf("%d ready endpoints; pods %s", n, framework.PodSummary(pods))
	})
	_, err = releases.Next(ctx, r.Name, &v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(1), ExpectedPhase: v1alpha1.BatchSmoked}, metav1.CreateOptions{})
	require.NoError(t, err)
	framework.WaitRelease(t, ctx, admin, ns, r.Name, "canary Baked", framework.BatchIs(1, v1alpha1.BatchBaked))
	guard.Allowed.Store(4)
	nextUntilSucceeded(t, ctx, admin, ns, r.Name)
	waitServing(t, ctx, admin, ns, 4, 4, "nginx:1.28")
	framework.WaitFor(t, ctx, "the 4 new pods are the Service's ready endpoints", func() bool { return w.readyEndpoints() == 4 })
	guard.Check(t)

	after := framework.WaitReleased(t, ctx, admin, ns).Spec.UpdateStrategy
	assert.Equal(t, intstr.FromInt32(0), ptrOr(after.MaxSurge, intstr.FromInt32(0)), "no surge, as before the release (%v)", before.MaxSurge)
	assert.Equal(t, ptrOr(before.MaxUnavailable, intstr.FromString("20%")), ptrOr(after.MaxUnavailable, intstr.FromString("20%")))

	fewest, at := w.fewestReady(from)
	t.Logf("fewest ready endpoints through the release: %d (revision %d)", fewest, at)
	assert.GreaterOrEqual(t, fewest, 4, "capacity dropped below the CloneSet's 4 replicas at revision %d", at)
	w.mu.Lock()
	defer w.mu.Unlock()
	assert.Equal(t, 4, w.removed, "kruise removed the 4 old pods, each beside a new one")
	w.report(t)
	assert.Empty(t, w.violations(), "a pod left the endpoints only after kruise deleted it")
}

func ptrOr(v *intstr.IntOrString, otherwise intstr.IntOrString) intstr.IntOrString {
	if v == nil {
		return otherwise
	}
	return *v
}

func findCondition(r *v1alpha1.Release, t string) *metav1.Condition {
	for i := range r.Status.Conditions {
		if r.Status.Conditions[i].Type == t {
			return &r.Status.Conditions[i]
		}
	}
	return nil
}
