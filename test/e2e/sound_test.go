//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/test/e2e/framework"
)

// unsound lists what of a release that no longer runs is still on CloneSet name and its pods: the owner
// annotation, hold hooks, pause, a pinned partition, hold labels on pods (when pods is true).
func unsound(ctx context.Context, c *framework.Cluster, ns, name string, pods bool) (string, error) {
	cs, err := c.Kruise.AppsV1alpha1().CloneSets(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	var left []string
	if owner, ok := cs.Annotations[v1alpha1.OwnerAnnotation]; ok {
		left = append(left, "owner annotation "+owner)
	}
	if lc := cs.Spec.Lifecycle; lc != nil {
		if lc.PreDelete != nil && lc.PreDelete.LabelsHandler[v1alpha1.HoldLabel] != "" {
			left = append(left, "preDelete hook")
		}
		if lc.InPlaceUpdate != nil && lc.InPlaceUpdate.LabelsHandler[v1alpha1.HoldLabel] != "" {
			left = append(left, "inPlaceUpdate hook")
		}
	}
	if cs.Spec.UpdateStrategy.Paused {
		left = append(left, "paused")
	}
	if p := cs.Spec.UpdateStrategy.Partition; p != nil && p.IntValue() != 0 {
		left = append(left, fmt.Sprintf("partition %s", p.String()))
	}
	if pods {
		list, err := c.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + name})
		if err != nil {
			return "", err
		}
		for _, p := range list.Items {
			if _, held := p.Labels[v1alpha1.HoldLabel]; held && p.DeletionTimestamp == nil {
				left = append(left, "hold label on pod "+p.Name)
			}
		}
	}
	return strings.Join(left, ", "), nil
}

// Invariant 8: whatever happens to a release (it succeeds, is canceled, or is deleted while paused), its
// CloneSet is left without anything of it: no owner annotation, hold hooks, pause or pinned partition,
// and (when the CloneSet is back on its template from before) no hold labels on its pods.
func TestEveryEndLeavesTheCloneSetSound(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(4*time.Minute))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	rels := s.Releases
	release := func(cs string, canary int32, mode v1alpha1.ReleaseMode) string {
		r := framework.UpdateTo("nginx:1.28", canary, intstr.FromString("100%"), mode)
		r.Name = cs + "-update"
		r.Spec.CloneSetName = cs
		r.Spec.Template.Labels = map[string]string{"app": cs}
		_, err := rels.Create(ctx, r, metav1.CreateOptions{})
		require.NoError(t, err)
		return r.Name
	}
	for _, name := range []string{"succeeds", "canceled", "deleted"} {
		framework.MakeCloneSet(t, ctx, admin, ns, name, 2)
	}
	succeeds := release("succeeds", 0, v1alpha1.ModeAuto)
	canceled := release("canceled", 1, v1alpha1.ModeManual)
	deleted := release("deleted", 1, v1alpha1.ModeManual)

	framework.WaitRelease(t, ctx, admin, ns, succeeds, "Succeeded", framework.Succeeded)
	framework.WaitRelease(t, ctx, admin, ns, canceled, "canary Smoked", framework.BatchIs(1, v1alpha1.BatchSmoked))
	framework.WaitRelease(t, ctx, admin, ns, deleted, "canary Smoked", framework.BatchIs(1, v1alpha1.BatchSmoked))
	_, err := rels.Cancel(ctx, canceled, &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{})
	require.NoError(t, err)
	paused, err := rels.Pause(ctx, deleted, &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{})
	require.NoError(t, err)
	require.True(t, paused.Status.CloneSet.Paused, "the paused release holds its CloneSet")
	require.NoError(t, rels.Delete(ctx, deleted, metav1.DeleteOptions{}))

	for _, end := range []struct {
		cloneSet string
		pods     bool // back on the template from before: no pod carries a hold label
	}{{"succeeds", false}, {"canceled", true}, {"deleted", true}} {
		_, sound, left := framework.Poll(ctx, func(ctx context.Context) (struct{}, bool, string) {
			left, err := unsound(ctx, admin, ns, end.cloneSet, end.pods)
			if err != nil {
				return struct{}{}, false, err.Error()
			}
			return struct{}{}, left == "", left
		}, framework.Within(60*time.Second))
		assert.True(t, sound, "CloneSet %s still has: %s", end.cloneSet, left)
	}
	// The finalizer comes off in the same reconcile that made the CloneSet sound, just after it.
	_, gone, _ := framework.Poll(ctx, func(ctx context.Context) (struct{}, bool, string) {
		_, err := rels.Get(ctx, deleted, metav1.GetOptions{})
		return struct{}{}, apierrors.IsNotFound(err), ""
	}, framework.Every(100*time.Millisecond), framework.Within(10*time.Second))
	assert.True(t, gone, "the deleted release is gone once its CloneSet is sound")
	for _, name := range []string{"canceled", "deleted"} {
		framework.WaitCloneSet(t, ctx, admin, ns, name, func(s kruiseappsv1alpha1.CloneSetStatus) bool {
			return s.UpdatedReplicas == 2 && s.ReadyReplicas == 2 && strings.HasPrefix(s.UpdateRevision, name)
		})
		cs, err := admin.Kruise.AppsV1alpha1().CloneSets(ns).Get(ctx, name, metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, "nginx:1.27", cs.Spec.Template.Spec.Containers[0].Image, "%s is back on its template", name)
	}
}
