//go:build e2e

package framework

// The CloneSets the tests start from, all made by one builder, and reads and waits of them.

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CloneSetOption changes a CloneSet NewCloneSet builds.
type CloneSetOption func(*kruiseappsv1alpha1.CloneSet)

// NewCloneSet is CloneSet name of replicas pods of one container, nginx at nginx:1.27, selected and
// labelled app=name, that kruise updates by ReCreate; opts change it.
func NewCloneSet(name string, replicas int32, opts ...CloneSetOption) *kruiseappsv1alpha1.CloneSet {
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

// WithContainer gives the pods one container, name at image, instead.
func WithContainer(name, image string) CloneSetOption {
	return func(cs *kruiseappsv1alpha1.CloneSet) {
		cs.Spec.Template.Spec.Containers = []corev1.Container{{Name: name, Image: image}}
	}
}

// WithReadinessGate gives the pods the readiness gate ct.
func WithReadinessGate(ct corev1.PodConditionType) CloneSetOption {
	return func(cs *kruiseappsv1alpha1.CloneSet) {
		cs.Spec.Template.Spec.ReadinessGates = append(cs.Spec.Template.Spec.ReadinessGates, corev1.PodReadinessGate{ConditionType: ct})
	}
}

// UpdatedBy has kruise update the pods by strategy instead.
func UpdatedBy(strategy kruiseappsv1alpha1.CloneSetUpdateStrategyType) CloneSetOption {
	return func(cs *kruiseappsv1alpha1.CloneSet) { cs.Spec.UpdateStrategy.Type = strategy }
}

// WithLabel labels the CloneSet itself (not its pods) key=value.
func WithLabel(key, value string) CloneSetOption {
	return func(cs *kruiseappsv1alpha1.CloneSet) {
		if cs.Labels == nil {
			cs.Labels = map[string]string{}
		}
		cs.Labels[key] = value
	}
}

// MakeCloneSet creates NewCloneSet(name, replicas, opts...) in ns and waits until its pods are all up,
// Ready, at its first revision.
func MakeCloneSet(t *testing.T, ctx context.Context, c *Cluster, ns, name string, replicas int32, opts ...CloneSetOption) {
	t.Helper()
	_, err := c.Kruise.AppsV1alpha1().CloneSets(ns).Create(ctx, NewCloneSet(name, replicas, opts...), metav1.CreateOptions{})
	require.NoError(t, err)
	WaitCloneSet(t, ctx, c, ns, name, func(s kruiseappsv1alpha1.CloneSetStatus) bool {
		return s.ReadyReplicas == replicas && s.UpdatedReplicas == replicas && strings.HasPrefix(s.UpdateRevision, name)
	})
}

// Nginx creates the tutorial's CloneSet: replicas pods of nginx:1.27, all Ready.
func Nginx(t *testing.T, ctx context.Context, c *Cluster, ns string, replicas int32) {
	t.Helper()
	MakeCloneSet(t, ctx, c, ns, "nginx", replicas)
}

// GetCloneSet reads the CloneSet "nginx".
func GetCloneSet(t *testing.T, ctx context.Context, c *Cluster, ns string) *kruiseappsv1alpha1.CloneSet {
	t.Helper()
	cs, err := c.Kruise.AppsV1alpha1().CloneSets(ns).Get(ctx, "nginx", metav1.GetOptions{})
	require.NoError(t, err)
	return cs
}

// Partition is the CloneSet's partition, 0 when it has none.
func Partition(cs *kruiseappsv1alpha1.CloneSet) int32 {
	if cs.Spec.UpdateStrategy.Partition == nil {
		return 0
	}
	return int32(cs.Spec.UpdateStrategy.Partition.IntValue())
}

// WaitCloneSet waits, a minute at the most, until ok holds for the status of the CloneSet name.
func WaitCloneSet(t *testing.T, ctx context.Context, c *Cluster, ns, name string, ok func(kruiseappsv1alpha1.CloneSetStatus) bool) kruiseappsv1alpha1.CloneSetStatus {
	t.Helper()
	return WaitUntil(t, ctx, "the status of CloneSet "+ns+"/"+name, func(ctx context.Context) (kruiseappsv1alpha1.CloneSetStatus, bool, string) {
		cs, err := c.Kruise.AppsV1alpha1().CloneSets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return kruiseappsv1alpha1.CloneSetStatus{}, false, err.Error()
		}
		return cs.Status, ok(cs.Status), fmt.Sprintf("%+v", cs.Status)
	}, Within(time.Minute))
}

// WaitCloneSetIs waits until ok holds for the whole CloneSet "nginx" (spec and status).
func WaitCloneSetIs(t *testing.T, ctx context.Context, c *Cluster, ns, what string, ok func(*kruiseappsv1alpha1.CloneSet) bool) *kruiseappsv1alpha1.CloneSet {
	t.Helper()
	return WaitCloneSetNamed(t, ctx, c, ns, "nginx", what, ok)
}

// WaitCloneSetNamed waits, a minute at the most, until ok holds for the whole CloneSet name (spec and
// status).
func WaitCloneSetNamed(t *testing.T, ctx context.Context, c *Cluster, ns, name, what string, ok func(*kruiseappsv1alpha1.CloneSet) bool) *kruiseappsv1alpha1.CloneSet {
	t.Helper()
	return WaitUntil(t, ctx, "CloneSet "+name+": "+what, func(ctx context.Context) (*kruiseappsv1alpha1.CloneSet, bool, string) {
		cs, err := c.Kruise.AppsV1alpha1().CloneSets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, false, err.Error()
		}
		return cs, ok(cs), fmt.Sprintf("spec.replicas=%v partition=%d paused=%v status=%+v",
			ptrValue(cs.Spec.Replicas), Partition(cs), cs.Spec.UpdateStrategy.Paused, cs.Status)
	}, Within(time.Minute))
}

// ptrValue is *p, or nil, for a message.
func ptrValue(p *int32) interface{} {
	if p == nil {
		return nil
	}
	return *p
}
