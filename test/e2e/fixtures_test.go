//go:build e2e

package e2e

// What the tests start from: CloneSets, all made by one builder, and a release already under way.

import (
	"context"
	"strings"
	"testing"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

// cloneSetOption changes a CloneSet newCloneSet builds.
type cloneSetOption func(*kruiseappsv1alpha1.CloneSet)

// newCloneSet is CloneSet name of replicas pods of one container, nginx at nginx:1.27, selected and
// labelled app=name, that kruise updates by ReCreate; opts change it.
func newCloneSet(name string, replicas int32, opts ...cloneSetOption) *kruiseappsv1alpha1.CloneSet {
	cs := &kruiseappsv1alpha1.CloneSet{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: kruiseappsv1alpha1.CloneSetSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "nginx", Image: "nginx:1.27"}}},
			},
			UpdateStrategy: kruiseappsv1alpha1.CloneSetUpdateStrategy{Type: kruiseappsv1alpha1.RecreateCloneSetUpdateStrategyType},
		},
	}
	for _, o := range opts {
		o(cs)
	}
	return cs
}

// withContainer gives the pods one container, name at image, instead.
func withContainer(name, image string) cloneSetOption {
	return func(cs *kruiseappsv1alpha1.CloneSet) {
		cs.Spec.Template.Spec.Containers = []corev1.Container{{Name: name, Image: image}}
	}
}

// withReadinessGate gives the pods the readiness gate ct.
func withReadinessGate(ct corev1.PodConditionType) cloneSetOption {
	return func(cs *kruiseappsv1alpha1.CloneSet) {
		cs.Spec.Template.Spec.ReadinessGates = append(cs.Spec.Template.Spec.ReadinessGates, corev1.PodReadinessGate{ConditionType: ct})
	}
}

// updatedBy has kruise update the pods by strategy instead.
func updatedBy(strategy kruiseappsv1alpha1.CloneSetUpdateStrategyType) cloneSetOption {
	return func(cs *kruiseappsv1alpha1.CloneSet) { cs.Spec.UpdateStrategy.Type = strategy }
}

// withLabel labels the CloneSet itself (not its pods) key=value.
func withLabel(key, value string) cloneSetOption {
	return func(cs *kruiseappsv1alpha1.CloneSet) {
		if cs.Labels == nil {
			cs.Labels = map[string]string{}
		}
		cs.Labels[key] = value
	}
}

// makeCloneSet creates newCloneSet(name, replicas, opts...) in ns and waits until its pods are all up,
// Ready, at its first revision.
func makeCloneSet(t *testing.T, ctx context.Context, c *cluster, ns, name string, replicas int32, opts ...cloneSetOption) {
	t.Helper()
	_, err := c.kruise.AppsV1alpha1().CloneSets(ns).Create(ctx, newCloneSet(name, replicas, opts...), metav1.CreateOptions{})
	require.NoError(t, err)
	waitCloneSet(t, ctx, c, ns, name, func(s kruiseappsv1alpha1.CloneSetStatus) bool {
		return s.ReadyReplicas == replicas && s.UpdatedReplicas == replicas && strings.HasPrefix(s.UpdateRevision, name)
	})
}

// nginx creates the tutorial's CloneSet: replicas pods of nginx:1.27, all Ready.
func nginx(t *testing.T, ctx context.Context, c *cluster, ns string, replicas int32) {
	t.Helper()
	makeCloneSet(t, ctx, c, ns, "nginx", replicas)
}

// startedRelease makes the tutorial's CloneSet in ns with replicas pods, creates rel of it, and returns
// the release once its first batch is phase: Smoked (a canary waiting for `next` to pull it in), or
// Baked.
func startedRelease(t *testing.T, ctx context.Context, c *cluster, ns string, replicas int32, rel *v1alpha1.Release, phase v1alpha1.BatchPhase) *v1alpha1.Release {
	t.Helper()
	nginx(t, ctx, c, ns, replicas)
	_, err := c.releases.ReleasesV1alpha1().Releases(ns).Create(ctx, rel, metav1.CreateOptions{})
	require.NoError(t, err)
	return waitRelease(t, ctx, c, ns, rel.Name, "batch 1 "+string(phase), batchIs(1, phase))
}

// canaryAwaitingNext makes the tutorial's CloneSet in ns with 2 pods, and the Manual release
// nginx-update of it (canary 1, then the rest), and returns the release once its canary is Smoked:
// waiting for next.
func canaryAwaitingNext(t *testing.T, ctx context.Context, admin *cluster, ns string) *v1alpha1.Release {
	t.Helper()
	return startedRelease(t, ctx, admin, ns, 2, updateTo("nginx:1.28", 1, intstr.FromString("100%"), v1alpha1.ModeManual), v1alpha1.BatchSmoked)
}
