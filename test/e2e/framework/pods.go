//go:build e2e

package framework

// The pods of a test's CloneSets: reads, waits and what they say.

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

// LivePods lists the pods of app=nginx that are not on their way out, sorted by name.
func LivePods(t *testing.T, ctx context.Context, c *Cluster, ns string) []corev1.Pod {
	t.Helper()
	return LivePodsOf(t, ctx, c, ns, "nginx")
}

// LivePodsOf lists the live pods labelled app=app, sorted by name.
func LivePodsOf(t *testing.T, ctx context.Context, c *Cluster, ns, app string) []corev1.Pod {
	t.Helper()
	list, err := c.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + app})
	require.NoError(t, err)
	var out []corev1.Pod
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// WaitPods waits, a minute at the most, until ok holds for the live pods of app=nginx.
func WaitPods(t *testing.T, ctx context.Context, c *Cluster, ns, what string, ok func([]corev1.Pod) bool) []corev1.Pod {
	t.Helper()
	return WaitUntil(t, ctx, "pods: "+what, func(ctx context.Context) ([]corev1.Pod, bool, string) {
		list, err := c.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=nginx"})
		if err != nil {
			return nil, false, err.Error()
		}
		var live []corev1.Pod
		for _, p := range list.Items {
			if p.DeletionTimestamp == nil {
				live = append(live, p)
			}
		}
		sort.Slice(live, func(i, j int) bool { return live[i].Name < live[j].Name })
		return live, ok(live), PodSummary(live)
	}, Within(time.Minute))
}

// PodSummary is the pods, one by one, for a message: image, revision, Ready and the readiness gate.
func PodSummary(pods []corev1.Pod) string {
	var parts []string
	for _, p := range pods {
		parts = append(parts, fmt.Sprintf("%s(image=%s rev=%s ready=%s gate=%s)", p.Name, p.Spec.Containers[0].Image,
			p.Labels[appsv1.ControllerRevisionHashLabelKey], PodCondition(&p, corev1.PodReady), PodCondition(&p, v1alpha1.ReadinessGate)))
	}
	return strings.Join(parts, " ")
}

// PodNames is the pods' names, sorted.
func PodNames(pods []corev1.Pod) []string {
	out := make([]string, 0, len(pods))
	for _, p := range pods {
		out = append(out, p.Name)
	}
	sort.Strings(out)
	return out
}

// CountImage counts the pods whose first container runs image.
func CountImage(pods []corev1.Pod, image string) int {
	n := 0
	for _, p := range pods {
		if p.Spec.Containers[0].Image == image {
			n++
		}
	}
	return n
}

// AllReady reports whether there are n pods and every one is Ready.
func AllReady(pods []corev1.Pod, n int) bool {
	if len(pods) != n {
		return false
	}
	for i := range pods {
		if PodCondition(&pods[i], corev1.PodReady) != corev1.ConditionTrue {
			return false
		}
	}
	return true
}

// HasReadinessGate reports whether spec has the readiness gate ct.
func HasReadinessGate(spec corev1.PodSpec, ct corev1.PodConditionType) bool {
	for _, g := range spec.ReadinessGates {
		if g.ConditionType == ct {
			return true
		}
	}
	return false
}

// SetPodCondition writes a pod condition through pods/status, as whoever owns a readiness gate does.
func SetPodCondition(t *testing.T, ctx context.Context, c *Cluster, ns, pod string, ct corev1.PodConditionType, status corev1.ConditionStatus) {
	t.Helper()
	body := fmt.Sprintf(`{"status":{"conditions":[{"type":%q,"status":%q,"lastTransitionTime":%q}]}}`,
		ct, status, time.Now().UTC().Format(time.RFC3339))
	_, err := c.Kube.CoreV1().Pods(ns).Patch(ctx, pod, types.StrategicMergePatchType, []byte(body), metav1.PatchOptions{}, "status")
	require.NoError(t, err)
}

// PodCondition is the status of the pod's condition t, Unknown when it has none.
func PodCondition(p *corev1.Pod, t corev1.PodConditionType) corev1.ConditionStatus {
	for _, c := range p.Status.Conditions {
		if c.Type == t {
			return c.Status
		}
	}
	return corev1.ConditionUnknown
}

// WaitPodCondition waits, 30 seconds at the most, until the pod's condition ct is want.
func WaitPodCondition(t *testing.T, ctx context.Context, c *Cluster, ns, pod string, ct corev1.PodConditionType, want corev1.ConditionStatus) {
	t.Helper()
	WaitUntil(t, ctx, fmt.Sprintf("pod %s condition %s %s", pod, ct, want), func(ctx context.Context) (struct{}, bool, string) {
		p, err := c.Kube.CoreV1().Pods(ns).Get(ctx, pod, metav1.GetOptions{})
		if err != nil {
			return struct{}{}, false, err.Error()
		}
		return struct{}{}, PodCondition(p, ct) == want, fmt.Sprintf("%v", p)
	}, Every(100*time.Millisecond), Within(30*time.Second))
}

// PodsAt lists the live pods of app=nginx at image.
func PodsAt(t *testing.T, ctx context.Context, c *Cluster, ns, image string) []corev1.Pod {
	t.Helper()
	list, err := c.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=nginx"})
	require.NoError(t, err)
	var out []corev1.Pod
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil && p.Spec.Containers[0].Image == image {
			out = append(out, p)
		}
	}
	return out
}
