//go:build e2e

package framework

// A release already under way.

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

// StartedRelease makes the tutorial's CloneSet in ns with replicas pods, creates rel of it, and returns
// the release once its first batch is phase: Smoked (a canary waiting for `next` to pull it in), or
// Baked.
func StartedRelease(t *testing.T, ctx context.Context, c *Cluster, ns string, replicas int32, rel *v1alpha1.Release, phase v1alpha1.BatchPhase) *v1alpha1.Release {
	t.Helper()
	Nginx(t, ctx, c, ns, replicas)
	return startRelease(t, ctx, c, ns, rel, phase)
}

// CanaryAwaitingNext makes the tutorial's CloneSet in ns with 2 pods, and the Manual release
// nginx-update of it (canary 1, then the rest), and returns the release once its canary is Smoked:
// waiting for next.
func CanaryAwaitingNext(t *testing.T, ctx context.Context, admin *Cluster, ns string) *v1alpha1.Release {
	t.Helper()
	return StartedRelease(t, ctx, admin, ns, 2, canaryRelease(), v1alpha1.BatchSmoked)
}

// canaryRelease is the Manual release nginx-update to nginx:1.28: canary 1, then the rest.
func canaryRelease() *v1alpha1.Release {
	return UpdateTo("nginx:1.28", 1, intstr.FromString("100%"), v1alpha1.ModeManual)
}

// startRelease creates rel in ns and returns it: as created when phase is empty, else once its first
// batch is phase.
func startRelease(t *testing.T, ctx context.Context, c *Cluster, ns string, rel *v1alpha1.Release, phase v1alpha1.BatchPhase) *v1alpha1.Release {
	t.Helper()
	created, err := c.Releases.ReleasesV1alpha1().Releases(ns).Create(ctx, rel, metav1.CreateOptions{})
	require.NoError(t, err)
	if phase == "" {
		return created
	}
	return WaitRelease(t, ctx, c, ns, rel.Name, "batch 1 "+string(phase), BatchIs(1, phase))
}
