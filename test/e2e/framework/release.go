//go:build e2e

package framework

// Releases of the tutorial's CloneSet, and waits for them.

import (
	"context"
	"fmt"
	"testing"
	"time"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

// UpdateTo is the release nginx-update: an Update of the CloneSet "nginx" to its container nginx at image,
// with canary pods first, then batches of batchSize, in mode.
func UpdateTo(image string, canary int32, batchSize intstr.IntOrString, mode v1alpha1.ReleaseMode) *v1alpha1.Release {
	return &v1alpha1.Release{
		ObjectMeta: metav1.ObjectMeta{Name: "nginx-update"},
		Spec: v1alpha1.ReleaseSpec{
			CloneSetName: "nginx",
			Action:       v1alpha1.ActionUpdate,
			Template: &corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "nginx"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "nginx", Image: image}}},
			},
			Strategy: v1alpha1.ReleaseStrategy{Canary: canary, BatchSize: &batchSize, Mode: mode},
		},
	}
}

// ScaleTo is the Manual release nginx-scale: a Scale of the CloneSet "nginx" to replicas, in batches of
// batchSize, deleting podsToDelete first when it scales in.
func ScaleTo(replicas int32, batchSize intstr.IntOrString, podsToDelete ...string) *v1alpha1.Release {
	return &v1alpha1.Release{
		ObjectMeta: metav1.ObjectMeta{Name: "nginx-scale"},
		Spec: v1alpha1.ReleaseSpec{
			CloneSetName: "nginx",
			Action:       v1alpha1.ActionScale,
			Replicas:     &replicas,
			PodsToDelete: podsToDelete,
			Strategy:     v1alpha1.ReleaseStrategy{BatchSize: &batchSize, Mode: v1alpha1.ModeManual},
		},
	}
}

// Int32 is a pointer to n: an expectedBatch, a number of replicas.
func Int32(n int32) *int32 { return &n }

// WaitRelease waits, a minute at the most, until ok holds for the release name and returns it.
func WaitRelease(t *testing.T, ctx context.Context, c *Cluster, ns, name string, what string, ok func(*v1alpha1.Release) bool) *v1alpha1.Release {
	t.Helper()
	return WaitUntil(t, ctx, "release "+name+": "+what, func(ctx context.Context) (*v1alpha1.Release, bool, string) {
		r, err := c.Releases.ReleasesV1alpha1().Releases(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, false, err.Error()
		}
		return r, ok(r), fmt.Sprintf("status %+v", r.Status)
	}, Every(100*time.Millisecond), Within(time.Minute))
}

// BatchIs holds for a Progressing release whose current batch is index, in phase.
func BatchIs(index int32, phase v1alpha1.BatchPhase) func(*v1alpha1.Release) bool {
	return func(r *v1alpha1.Release) bool {
		return r.Status.Phase == v1alpha1.ReleaseProgressing && r.Status.CurrentBatch == index &&
			r.Status.Batches[index-1].Phase == phase
	}
}

// Succeeded holds for a release that has Succeeded.
func Succeeded(r *v1alpha1.Release) bool { return r.Status.Phase == v1alpha1.ReleaseSucceeded }

// Failed holds for a release that has Failed.
func Failed(r *v1alpha1.Release) bool { return r.Status.Phase == v1alpha1.ReleaseFailed }

// WaitReleased waits until the CloneSet "nginx" no longer carries the owner annotation: no release owns it.
func WaitReleased(t *testing.T, ctx context.Context, c *Cluster, ns string) *kruiseappsv1alpha1.CloneSet {
	t.Helper()
	return WaitCloneSetIs(t, ctx, c, ns, "the owner annotation removed", func(cs *kruiseappsv1alpha1.CloneSet) bool {
		_, owned := cs.Annotations[v1alpha1.OwnerAnnotation]
		return !owned
	})
}
