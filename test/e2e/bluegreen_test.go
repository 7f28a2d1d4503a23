//go:build e2e

package e2e

// Blue/green (issue 15), proven on the EndpointSlices of a Service and of a preview Service: before the
// switch the Service's ready endpoints are all blue and the preview's all green; after it all green; after a
// cancel all blue again, the same blue pods; and the Service never has fewer ready endpoints than the
// CloneSet's replicas.

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/test/e2e/framework"
)

// blueGreenTo is a BlueGreen Update of nginx to image.
func blueGreenTo(image string, preview intstr.IntOrString, delay int32, autoPromote bool) *v1alpha1.Release {
	r := framework.UpdateTo(image, 0, intstr.FromString("100%"), v1alpha1.ModeManual)
	r.Name = "nginx-bluegreen"
	r.Spec.Strategy.BatchSize = nil
	r.Spec.Strategy.Type = v1alpha1.StrategyBlueGreen
	r.Spec.Strategy.BlueGreen = &v1alpha1.BlueGreenStrategy{PreviewReplicas: &preview, ScaleDownDelaySeconds: &delay, AutoPromote: autoPromote}
	return r
}

// readySet is the IPs the Service lists as ready endpoints now, sorted.
func (w *endpointsWatch) readySet() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, versions := range w.slices {
		if n := len(versions); n > 0 {
			for ip := range versions[n-1].ready {
				out = append(out, ip)
			}
		}
	}
	sort.Strings(out)
	return out
}

// ipsAt is the sorted IPs of the live pods at image.
func ipsAt(t *testing.T, ctx context.Context, c *framework.Cluster, ns, image string) []string {
	var out []string
	for _, p := range framework.PodsAt(t, ctx, c, ns, image) {
		out = append(out, p.Status.PodIP)
	}
	sort.Strings(out)
	return out
}

// servesExactly waits until the Service's ready endpoints are exactly the live pods at image (n of them),
// and returns their IPs, sorted.
func servesExactly(t *testing.T, ctx context.Context, c *framework.Cluster, ns string, w *endpointsWatch, image string, n int) []string {
	t.Helper()
	var ips []string
	for _, p := range servesPodsExactly(t, ctx, c, ns, w, "at "+image, n, func(p *corev1.Pod) bool { return p.Spec.Containers[0].Image == image }) {
		ips = append(ips, p.Status.PodIP)
	}
	sort.Strings(ips)
	return ips
}

func TestBlueGreenSwitchesTrafficFromBlueToGreen(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(4*time.Minute), framework.CloneSet("nginx", 4))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	w := service(t, ctx, admin, ns, 4)
	from := w.lastRevision()
	releases := s.Releases

	// Refused: BlueGreen for a Create, and with a canary.
	create := blueGreenTo("nginx:1.28", intstr.FromString("100%"), 3, false)
	create.Spec.Action = v1alpha1.ActionCreate
	_, err := releases.Create(ctx, create, metav1.CreateOptions{})
	require.True(t, apierrors.IsInvalid(err), "BlueGreen Create: %v", err)
	assert.Contains(t, err.Error(), "spec.strategy.type")
	canary := blueGreenTo("nginx:1.28", intstr.FromString("100%"), 3, false)
	canary.Spec.Strategy.Canary = 1
	_, err = releases.Create(ctx, canary, metav1.CreateOptions{})
	require.True(t, apierrors.IsInvalid(err), "BlueGreen with a canary: %v", err)
	assert.Contains(t, err.Error(), "spec.strategy.canary")

	// A server dry run shows the plan, preview and switch, and stores nothing.
	planned, err := releases.Create(ctx, blueGreenTo("nginx:1.28", intstr.FromString("50%"), 3, false), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	require.NoError(t, err)
	require.Len(t, planned.Status.Batches, 2)
	assert.Equal(t, int32(2), planned.Status.Batches[0].Replicas, "a preview of 50% of 4")
	assert.Equal(t, int32(4), planned.Status.Batches[1].Target)
	_, err = releases.Get(ctx, planned.Name, metav1.GetOptions{})
	require.True(t, apierrors.IsNotFound(err), "a dry run stores nothing: %v", err)

	r, err := releases.Create(ctx, blueGreenTo("nginx:1.28", intstr.FromString("50%"), 3, false), metav1.CreateOptions{})
	require.NoError(t, err)
	require.Len(t, r.Status.Batches, 2)
	_, err = admin.Kube.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "nginx-preview"},
		Spec: corev1.ServiceSpec{
			Selector:                 map[string]string{"app": "nginx", v1alpha1.ReleaseLabel: r.Name, v1alpha1.BatchLabel: v1alpha1.PreviewBatch},
			PublishNotReadyAddresses: true,
			Ports:                    []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(80)}},
		},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	preview := watchEndpoints(t, admin, ns, "nginx-preview")

	// Preview: 2 green pods beside the 4 blue, out of the Service, in the preview Service.
	r = framework.WaitRelease(t, ctx, admin, ns, r.Name, "the preview Smoked", framework.BatchIs(1, v1alpha1.BatchSmoked))
	assert.True(t, framework.ConditionIs(r, v1alpha1.ConditionAwaitingNext, metav1.ConditionTrue))
	blue := servesExactly(t, ctx, admin, ns, w, "nginx:1.27", 4)
	framework.WaitFor(t, ctx, "the preview Service lists the 2 green pods", func() bool {
		green := ipsAt(t, ctx, admin, ns, "nginx:1.28")
		return len(green) == 2 && fmt.Sprint(green) == fmt.Sprint(preview.readySet())
	})
	framework.Holds(t, ctx, 2*time.Second, "blue serves, green previews", func(ctx context.Context) (bool, string) {
		main, pv, green := w.readySet(), preview.readySet(), ipsAt(t, ctx, admin, ns, "nginx:1.28")
		return fmt.Sprint(main) == fmt.Sprint(blue) && fmt.Sprint(pv) == fmt.Sprint(green) && len(green) == 2,
			fmt.Sprintf("service %v, preview %v, green %v", main, pv, green)
	})

	// A dry-run switch answers what it would do and changes nothing.
	dry, err := releases.Next(ctx, r.Name, &v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(1)}, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	require.NoError(t, err)
	assert.Equal(t, int32(2), dry.Status.CurrentBatch)
	assert.Equal(t, int32(8), framework.ObservedReplicas(dry), "the answer shows green at full size beside blue")
	framework.Holds(t, ctx, time.Second, "nothing changed", func(ctx context.Context) (bool, string) {
		got, err := releases.Get(ctx, r.Name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		n := len(framework.LivePods(t, ctx, admin, ns))
		return got.Status.CurrentBatch == 1 && n == 6, fmt.Sprintf("batch %d, %d pods", got.Status.CurrentBatch, n)
	})

	// The switch: green comes to 4, then serves alone; blue stays, out of traffic, for 3 s.
	_, err = releases.Next(ctx, r.Name, &v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(1)}, metav1.CreateOptions{})
	require.NoError(t, err)
	r = framework.WaitRelease(t, ctx, admin, ns, r.Name, "the switch Baked", func(r *v1alpha1.Release) bool {
		return framework.BatchIs(2, v1alpha1.BatchBaked)(r) || framework.Succeeded(r)
	})
	green := servesExactly(t, ctx, admin, ns, w, "nginx:1.28", 4)
	t.Logf("green serves: %v (blue was %v)", green, blue)
	r = framework.WaitRelease(t, ctx, admin, ns, r.Name, "Succeeded", framework.Succeeded)
	assert.Equal(t, "blueGreen.scaleDownDelaySeconds passed: blue is removed", framework.LastHistory(r).Reason)
	waitServing(t, ctx, admin, ns, 4, 4, "nginx:1.28")
	cs := framework.WaitReleased(t, ctx, admin, ns)
	assert.Equal(t, int32(4), *cs.Spec.Replicas)
	servesExactly(t, ctx, admin, ns, w, "nginx:1.28", 4)

	fewest, at := w.fewestReady(from)
	t.Logf("fewest ready endpoints through the release: %d (revision %d)", fewest, at)
	assert.GreaterOrEqual(t, fewest, 4, "the Service had fewer ready endpoints than replicas at revision %d", at)
	w.mu.Lock()
	defer w.mu.Unlock()
	assert.Equal(t, 4, w.removed, "kruise removed the 4 blue pods")
	w.report(t)
	assert.Empty(t, w.violations(), "a pod left the endpoints only after kruise deleted it")
}

// A cancel after the switch, while blue waits out of traffic, switches back at once: the same blue pods
// serve again (none recreated), then green leaves traffic and is removed.
func TestBlueGreenCancelAfterTheSwitchSwitchesBack(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(4*time.Minute), framework.CloneSet("nginx", 3))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	w := service(t, ctx, admin, ns, 3)
	from := w.lastRevision()
	bluePods := framework.PodNames(framework.LivePods(t, ctx, admin, ns))
	sort.Strings(bluePods)
	releases := s.Releases

	// autoPromote switches by itself once the preview (all 3) is Smoked.
	r, err := releases.Create(ctx, blueGreenTo("nginx:1.28", intstr.FromString("100%"), 300, true), metav1.CreateOptions{})
	require.NoError(t, err)
	framework.WaitRelease(t, ctx, admin, ns, r.Name, "the switch Baked", framework.BatchIs(2, v1alpha1.BatchBaked))
	servesExactly(t, ctx, admin, ns, w, "nginx:1.28", 3)
	require.Len(t, framework.PodsAt(t, ctx, admin, ns, "nginx:1.27"), 3, "blue stays, out of traffic")

	r, err = releases.Cancel(ctx, r.Name, &v1alpha1.ReleaseRequest{Reason: "switch back"}, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.ReleaseCanceled, r.Status.Phase)
	servesExactly(t, ctx, admin, ns, w, "nginx:1.27", 3)
	framework.WaitRelease(t, ctx, admin, ns, r.Name, "Reverted", func(r *v1alpha1.Release) bool {
		return framework.ConditionIs(r, v1alpha1.ConditionReverted, metav1.ConditionTrue)
	})
	framework.WaitReleased(t, ctx, admin, ns)
	waitServing(t, ctx, admin, ns, 3, 0, "nginx:1.28")
	after := framework.PodNames(framework.LivePods(t, ctx, admin, ns))
	sort.Strings(after)
	assert.Equal(t, bluePods, after, "the same blue pods serve again")
	servesExactly(t, ctx, admin, ns, w, "nginx:1.27", 3)

	fewest, at := w.fewestReady(from)
	t.Logf("fewest ready endpoints through the release and the cancel: %d (revision %d)", fewest, at)
	assert.GreaterOrEqual(t, fewest, 3, "the Service had fewer ready endpoints than replicas at revision %d", at)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.report(t)
	assert.Empty(t, w.violations(), "a pod left the endpoints only after kruise deleted it")
}

// A green pod that starts crash-looping after the switch fails the release (maxFailedPods 0): blue comes
// back into traffic while the failed release waits for a person, and a cancel then leaves blue alone.
func TestBlueGreenFailedSwitchBringsBlueBack(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(4*time.Minute), framework.CloneSet("nginx", 3))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	w := service(t, ctx, admin, ns, 3)
	releases := s.Releases
	r, err := releases.Create(ctx, blueGreenTo("nginx:1.28", intstr.FromString("100%"), 300, true), metav1.CreateOptions{})
	require.NoError(t, err)
	framework.WaitRelease(t, ctx, admin, ns, r.Name, "the switch Baked", framework.BatchIs(2, v1alpha1.BatchBaked))
	servesExactly(t, ctx, admin, ns, w, "nginx:1.28", 3)
	blue := ipsAt(t, ctx, admin, ns, "nginx:1.27")
	require.Len(t, blue, 3)

	green := framework.PodsAt(t, ctx, admin, ns, "nginx:1.28")
	_, err = admin.Kube.CoreV1().Pods(ns).Patch(ctx, green[0].Name, types.MergePatchType,
		[]byte(`{"metadata":{"annotations":{"kwok.triton.io/fail":"crashloop"}}}`), metav1.PatchOptions{})
	require.NoError(t, err)
	r = framework.WaitRelease(t, ctx, admin, ns, r.Name, "Failed", framework.Failed)
	assert.Contains(t, framework.LastHistory(r).Reason, green[0].Name)
	framework.WaitFor(t, ctx, "the 3 blue pods back among the ready endpoints", func() bool {
		ready := map[string]bool{}
		for _, ip := range w.readySet() {
			ready[ip] = true
		}
		for _, ip := range blue {
			if !ready[ip] {
				return false
			}
		}
		return true
	})

	_, err = releases.Cancel(ctx, r.Name, &v1alpha1.ReleaseRequest{Reason: "green crashes"}, metav1.CreateOptions{})
	require.NoError(t, err)
	framework.WaitRelease(t, ctx, admin, ns, r.Name, "Reverted", func(r *v1alpha1.Release) bool {
		return framework.ConditionIs(r, v1alpha1.ConditionReverted, metav1.ConditionTrue)
	})
	waitServing(t, ctx, admin, ns, 3, 0, "nginx:1.28")
	assert.Equal(t, blue, servesExactly(t, ctx, admin, ns, w, "nginx:1.27", 3), "the same blue pods")
	w.mu.Lock()
	defer w.mu.Unlock()
	w.report(t)
	assert.Empty(t, w.violations(), "a pod left the endpoints only after kruise deleted it")
}

// servesPodsExactly waits until the Service's ready endpoints are exactly the IPs of the live pods that
// match, n of them, and returns those pods.
func servesPodsExactly(t *testing.T, ctx context.Context, c *framework.Cluster, ns string, w *endpointsWatch, what string, n int, match func(*corev1.Pod) bool) []corev1.Pod {
	t.Helper()
	var pods []corev1.Pod
	framework.WaitFor(t, ctx, fmt.Sprintf("the Service's ready endpoints are the %d pods %s", n, what), func() bool {
		pods = pods[:0]
		var want []string
		for _, p := range framework.LivePods(t, ctx, c, ns) {
			if match(&p) {
				pods = append(pods, p)
				want = append(want, p.Status.PodIP)
			}
		}
		sort.Strings(want)
		return len(want) == n && fmt.Sprint(want) == fmt.Sprint(w.readySet())
	})
	return pods
}

// BlueGreen is for every action that replaces pods (Update above, Restart and Rollback here): a Restart
// switches traffic from the pods from before to new pods of the same image, and a Rollback then switches it
// to pods of the revision from before the restart; the Service never has fewer ready endpoints than
// replicas, and no pod leaves it after kruise deleted it.
func TestBlueGreenRestartAndRollbackSwitchTraffic(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(5*time.Minute), framework.CloneSet("nginx", 3))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	w := service(t, ctx, admin, ns, 3)
	from := w.lastRevision()
	first := framework.GetCloneSet(t, ctx, admin, ns).Status.UpdateRevision
	before := map[string]bool{}
	for _, name := range framework.PodNames(framework.LivePods(t, ctx, admin, ns)) {
		before[name] = true
	}
	releases := s.Releases
	blueGreen := func(name string, action v1alpha1.ReleaseAction) *v1alpha1.Release {
		preview, delay := intstr.FromString("100%"), int32(1)
		return &v1alpha1.Release{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: v1alpha1.ReleaseSpec{CloneSetName: "nginx", Action: action, Strategy: v1alpha1.ReleaseStrategy{
				Type:      v1alpha1.StrategyBlueGreen,
				BlueGreen: &v1alpha1.BlueGreenStrategy{PreviewReplicas: &preview, ScaleDownDelaySeconds: &delay, AutoPromote: true},
			}},
		}
	}

	// Restart: green is 3 new pods of the same image; after the switch only they serve.
	r, err := releases.Create(ctx, blueGreen("nginx-restart", v1alpha1.ActionRestart), metav1.CreateOptions{})
	require.NoError(t, err)
	require.Len(t, r.Status.Batches, 2, "preview and switch")
	r = framework.WaitRelease(t, ctx, admin, ns, r.Name, "the restart Succeeded", framework.Succeeded)
	assert.Equal(t, "blueGreen.scaleDownDelaySeconds passed: blue is removed", framework.LastHistory(r).Reason)
	cs := framework.WaitReleased(t, ctx, admin, ns)
	restarted := cs.Status.UpdateRevision
	require.NotEqual(t, first, restarted)
	green := servesPodsExactly(t, ctx, admin, ns, w, "made by the restart", 3, func(p *corev1.Pod) bool {
		return !before[p.Name] && p.Labels[appsv1.ControllerRevisionHashLabelKey] == restarted
	})
	for _, p := range green {
		assert.NotEmpty(t, p.Annotations[v1alpha1.RestartedAtAnnotation], p.Name)
		assert.Equal(t, "nginx:1.27", p.Spec.Containers[0].Image, p.Name)
	}
	framework.WaitPods(t, ctx, admin, ns, "only the 3 restarted pods", func(pods []corev1.Pod) bool {
		return len(pods) == 3 && framework.AllReady(pods, 3) && !before[pods[0].Name] && !before[pods[1].Name] && !before[pods[2].Name]
	})

	// Rollback (toRevision defaults to the revision before): green is 3 pods of the first revision.
	restartedPods := map[string]bool{}
	for _, p := range green {
		restartedPods[p.Name] = true
	}
	r, err = releases.Create(ctx, blueGreen("nginx-rollback", v1alpha1.ActionRollback), metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, first, r.Spec.ToRevision)
	r = framework.WaitRelease(t, ctx, admin, ns, r.Name, "the rollback Succeeded", framework.Succeeded)
	assert.Equal(t, "blueGreen.scaleDownDelaySeconds passed: blue is removed", framework.LastHistory(r).Reason)
	cs = framework.WaitReleased(t, ctx, admin, ns)
	assert.Equal(t, first, cs.Status.UpdateRevision, "the CloneSet is back at its first revision")
	assert.Empty(t, cs.Spec.Template.Annotations[v1alpha1.RestartedAtAnnotation], "the template of the first revision")
	servesPodsExactly(t, ctx, admin, ns, w, "of the first revision, made by the rollback", 3, func(p *corev1.Pod) bool {
		return !before[p.Name] && !restartedPods[p.Name] && p.Labels[appsv1.ControllerRevisionHashLabelKey] == first
	})
	// Blue left traffic before the release ended; kruise removes it a moment after.
	framework.WaitFor(t, ctx, "kruise to remove the restarted pods (blue of the rollback)", func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.removed >= 6
	})

	fewest, at := w.fewestReady(from)
	t.Logf("fewest ready endpoints through the restart and the rollback: %d (revision %d)", fewest, at)
	assert.GreaterOrEqual(t, fewest, 3, "the Service had fewer ready endpoints than replicas at revision %d", at)
	w.mu.Lock()
	defer w.mu.Unlock()
	assert.Equal(t, 6, w.removed, "kruise removed blue twice: the 3 pods from before, then the 3 restarted ones")
	w.report(t)
	assert.Empty(t, w.violations(), "a pod left the endpoints only after kruise deleted it")
}
