//go:build e2e

package e2e

// Invariant 9 (issue 14): a scale-out during a release, by hand (`kubectl scale`) or by a real
// HorizontalPodAutoscaler (kube-controller-manager's), never puts more pods on the release's revision, or
// into traffic, than the batches approved so far; a scale-in below a batch's target does not stall it.

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/test/e2e/framework"
)

// approvedWatch sees every change of the namespace's pods (an informer: no state is skipped between two
// polls) and records each moment at which more pods run image, or more of them are Ready, than allowed.
type approvedWatch struct {
	image string
	// trafficOnly: only pods Ready beyond the approved are violations.
	trafficOnly bool
	allowed     atomic.Int32
	mu          sync.Mutex
	violations  []string
	maxAt       int
	events      int
	stop        chan struct{}
}

func watchApproved(t *testing.T, c *framework.Cluster, ns, image string, allowed int32) *approvedWatch {
	t.Helper()
	w := &approvedWatch{image: image, stop: make(chan struct{})}
	w.allowed.Store(allowed)
	factory := informers.NewSharedInformerFactoryWithOptions(c.Kube, 0, informers.WithNamespace(ns))
	informer := factory.Core().V1().Pods().Informer()
	store := informer.GetStore()
	look := func(interface{}) {
		at, ready := 0, 0
		for _, obj := range store.List() {
			p := obj.(*corev1.Pod)
			if p.Spec.Containers[0].Image != image {
				continue
			}
			at++
			if framework.PodCondition(p, corev1.PodReady) == corev1.ConditionTrue {
				ready++
			}
		}
		allowed := int(w.allowed.Load())
		w.mu.Lock()
		defer w.mu.Unlock()
		w.events++
		w.maxAt = max(w.maxAt, at)
		if ((at > allowed && !w.trafficOnly) || ready > allowed) && len(w.violations) < 10 {
			w.violations = append(w.violations, fmt.Sprintf("%d pods at %s, %d of them Ready, with %d approved", at, image, ready, allowed))
		}
	}
	_, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    look,
		UpdateFunc: func(_, obj interface{}) { look(obj) },
		DeleteFunc: look,
	})
	require.NoError(t, err)
	factory.Start(w.stop)
	factory.WaitForCacheSync(w.stop)
	t.Cleanup(w.halt)
	return w
}

func (w *approvedWatch) halt() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
}

func (w *approvedWatch) check(t *testing.T) {
	t.Helper()
	w.halt()
	w.mu.Lock()
	defer w.mu.Unlock()
	assert.Greater(t, w.events, 10, "the watch saw the pods change")
	assert.Empty(t, w.violations, "pods at %s beyond the approved (invariant 9)", w.image)
	t.Logf("%s: at most %d pods at the release's image, over %d pod changes", w.image, w.maxAt, w.events)
}

// nextUntilSucceeded takes a Manual release through every batch with `next`, then waits for Succeeded.
func nextUntilSucceeded(t *testing.T, ctx context.Context, c *framework.Cluster, ns, name string) *v1alpha1.Release {
	t.Helper()
	releases := c.Releases.ReleasesV1alpha1().Releases(ns)
	for batch := int32(1); ; batch++ {
		done := nextUntilBaked(t, ctx, c, ns, name, batch)
		_, err := releases.Next(ctx, name, &v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(batch)}, metav1.CreateOptions{})
		require.NoError(t, err)
		if int(batch) == len(done.Status.Batches) {
			break
		}
	}
	return framework.WaitRelease(t, ctx, c, ns, name, "Succeeded", framework.Succeeded)
}

// scaleCloneSet runs `kubectl scale` on the CloneSet, as a person would.
func scaleCloneSet(t *testing.T, ctx context.Context, c *framework.Cluster, ns string, replicas int) {
	t.Helper()
	out, err := c.Kubectl(ctx, "-n", ns, "scale", "clonesets.apps.kruise.io/nginx", "--replicas", strconv.Itoa(replicas))
	require.NoError(t, err, out)
}

// waitServing waits until the CloneSet has n pods, all Ready, exactly at of them at image.
func waitServing(t *testing.T, ctx context.Context, c *framework.Cluster, ns string, n, at int, image string) {
	t.Helper()
	framework.WaitPods(t, ctx, c, ns, fmt.Sprintf("%d pods Ready, %d of them at %s", n, at, image), func(pods []corev1.Pod) bool {
		return framework.AllReady(pods, n) && framework.CountImage(pods, image) == at
	})
}

func targetOf(r *v1alpha1.Release, batch int32) int32 { return r.Status.Batches[batch-1].Target }

// nextUntilBaked calls `next` whenever the release waits for it short of batch's Baked (a canary waits at
// Smoked, then at Baked), until batch is Baked.
func nextUntilBaked(t *testing.T, ctx context.Context, c *framework.Cluster, ns, name string, batch int32) *v1alpha1.Release {
	t.Helper()
	releases := c.Releases.ReleasesV1alpha1().Releases(ns)
	for i := 0; i < 4; i++ {
		r := framework.WaitRelease(t, ctx, c, ns, name, fmt.Sprintf("batch %d Baked, or awaiting next", batch), func(r *v1alpha1.Release) bool {
			return framework.BatchIs(batch, v1alpha1.BatchBaked)(r) || framework.ConditionIs(r, v1alpha1.ConditionAwaitingNext, metav1.ConditionTrue)
		})
		if framework.BatchIs(batch, v1alpha1.BatchBaked)(r) {
			return r
		}
		_, err := releases.Next(ctx, name, &v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(r.Status.CurrentBatch),
			ExpectedPhase: r.Status.Batches[r.Status.CurrentBatch-1].Phase}, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	t.Fatalf("release %s: batch %d never Baked", name, batch)
	return nil
}

func TestScaleOutDuringAReleaseUpdatesNoMoreThanApproved(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(6*time.Minute), framework.CloneSet("nginx", 6))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	releases := s.Releases

	// 1. `kubectl scale` during the canary: 6 → 12 pods, and the canary is still the only new pod.
	w := watchApproved(t, admin, ns, "nginx:1.28", 1)
	r, err := releases.Create(ctx, framework.UpdateTo("nginx:1.28", 1, intstr.FromString("50%"), v1alpha1.ModeManual), metav1.CreateOptions{})
	require.NoError(t, err)
	r = framework.WaitRelease(t, ctx, admin, ns, r.Name, "canary Smoked", framework.BatchIs(1, v1alpha1.BatchSmoked))
	require.Len(t, r.Status.Batches, 3, "canary 1, then 50%% of 6 at a time")
	scaleCloneSet(t, ctx, admin, ns, 12)
	framework.WaitPods(t, ctx, admin, ns, "12 pods, 1 at nginx:1.28", func(pods []corev1.Pod) bool {
		return len(pods) == 12 && framework.CountImage(pods, "nginx:1.28") == 1
	})
	r = nextUntilBaked(t, ctx, admin, ns, r.Name, 1)
	waitServing(t, ctx, admin, ns, 12, 1, "nginx:1.28")
	cs := framework.WaitCloneSetIs(t, ctx, admin, ns, "partition 11 of 12", func(cs *kruiseappsv1alpha1.CloneSet) bool { return framework.Partition(cs) == 11 })
	assert.Equal(t, int32(12), *cs.Spec.Replicas, "the release leaves the replicas to whoever scaled")

	// 2. The next batch updates its target's count of pods, whatever the CloneSet's size is now.
	w.allowed.Store(targetOf(r, 2))
	nextUntilBaked(t, ctx, admin, ns, r.Name, 2)
	waitServing(t, ctx, admin, ns, 12, int(targetOf(r, 2)), "nginx:1.28")

	// 3. A scale-in below the target of the batch that runs next: the batch needs the pods there are.
	scaleCloneSet(t, ctx, admin, ns, 3)
	waitServing(t, ctx, admin, ns, 3, 3, "nginx:1.28")
	w.allowed.Store(targetOf(r, 3))
	nextUntilBaked(t, ctx, admin, ns, r.Name, 3)
	_, err = releases.Next(ctx, r.Name, &v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(3)}, metav1.CreateOptions{})
	require.NoError(t, err)
	framework.WaitRelease(t, ctx, admin, ns, r.Name, "Succeeded", framework.Succeeded)
	waitServing(t, ctx, admin, ns, 3, 3, "nginx:1.28")
	w.check(t)

	// 4. A HorizontalPodAutoscaler during the canary of the next release: its minReplicas (kube-controller-
	// manager's HPA controller scales a target below minReplicas up without any metrics) adds 5 pods, at
	// the old revision and in traffic; the canary stays the only new pod.
	w = watchApproved(t, admin, ns, "nginx:1.29", 1)
	next := framework.UpdateTo("nginx:1.29", 1, intstr.FromInt32(1), v1alpha1.ModeManual) // targets 1, 2, 3 of 3
	next.Name = "nginx-update-2"
	_, err = releases.Create(ctx, next, metav1.CreateOptions{})
	require.NoError(t, err)
	nextUntilBaked(t, ctx, admin, ns, next.Name, 1)
	minReplicas := int32(8)
	utilization := int32(80)
	_, err = admin.Kube.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "nginx"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps.kruise.io/v1alpha1", Kind: "CloneSet", Name: "nginx"},
			MinReplicas:    &minReplicas,
			MaxReplicas:    10,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &utilization}}}},
		},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	waitServing(t, ctx, admin, ns, 8, 1, "nginx:1.29")
	hpa, err := admin.Kube.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "nginx", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(8), hpa.Status.DesiredReplicas, "the HPA, not the test, scaled the CloneSet")

	// 5. The next batch (2 pods, not the last) under the HPA's size, then cancel: every pod back at the old
	// revision, in traffic.
	w.allowed.Store(targetOf(framework.WaitRelease(t, ctx, admin, ns, next.Name, "planned", framework.BatchIs(1, v1alpha1.BatchBaked)), 2))
	r = nextUntilBaked(t, ctx, admin, ns, next.Name, 2)
	waitServing(t, ctx, admin, ns, 8, int(targetOf(r, 2)), "nginx:1.29")
	_, err = releases.Cancel(ctx, next.Name, &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{})
	require.NoError(t, err)
	waitServing(t, ctx, admin, ns, 8, 0, "nginx:1.29")
	w.check(t)
}

// withoutResizeWebhook takes the resize webhook's configuration away for the test, as when kube-apiserver
// cannot reach triton-apiserver (failurePolicy Ignore), and puts it back afterwards.
func withoutResizeWebhook(t *testing.T, ctx context.Context, admin *framework.Cluster) {
	t.Helper()
	configs := admin.Kube.AdmissionregistrationV1().MutatingWebhookConfigurations()
	config, err := configs.Get(ctx, "triton-cloneset-resize", metav1.GetOptions{})
	require.NoError(t, err, "make up registers the resize webhook")
	require.NoError(t, configs.Delete(ctx, config.Name, metav1.DeleteOptions{}))
	t.Cleanup(func() {
		restore := &admissionregistrationv1.MutatingWebhookConfiguration{
			ObjectMeta: metav1.ObjectMeta{Name: config.Name, Labels: config.Labels, Annotations: config.Annotations},
			Webhooks:   config.Webhooks,
		}
		_, err := configs.Create(context.Background(), restore, metav1.CreateOptions{})
		require.NoError(t, err, "restoring the resize webhook")
	})
}

// Without the webhook, kruise acts on a scale-out before the release has counted it: it creates the new
// pods at the release's revision. None of them goes into traffic, and the controller has kruise replace
// them at the old revision, so the CloneSet comes back to the approved count by itself.
func TestScaleOutWithoutTheWebhookNeverReachesTrafficAndIsRepaired(t *testing.T) {
	s := framework.Setup(t, framework.Timeout(4*time.Minute), framework.CloneSet("nginx", 4))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	withoutResizeWebhook(t, ctx, admin)

	w := watchApproved(t, admin, ns, "nginx:1.28", 1)
	w.trafficOnly = true
	r, err := admin.Releases.ReleasesV1alpha1().Releases(ns).Create(ctx,
		framework.UpdateTo("nginx:1.28", 1, intstr.FromString("50%"), v1alpha1.ModeManual), metav1.CreateOptions{})
	require.NoError(t, err)
	nextUntilBaked(t, ctx, admin, ns, r.Name, 1)
	scaleCloneSet(t, ctx, admin, ns, 12)
	waitServing(t, ctx, admin, ns, 12, 1, "nginx:1.28")
	framework.WaitCloneSetIs(t, ctx, admin, ns, "partition 11 of 12", func(cs *kruiseappsv1alpha1.CloneSet) bool { return framework.Partition(cs) == 11 })
	w.check(t)
	w.mu.Lock()
	defer w.mu.Unlock()
	t.Logf("without the webhook: at most %d pods at the release's image for 1 approved (none Ready)", w.maxAt)
}
