//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/test/e2e/framework"
)

// releaseYAML is a Manual Update release of CloneSet nginx to image, as a GitOps tool would apply it.
func releaseYAML(name, image string) string {
	return fmt.Sprintf(`apiVersion: releases.triton.io/v1alpha1
kind: Release
metadata:
  name: %s
spec:
  cloneSetName: nginx
  action: Update
  template:
    metadata:
      labels: {app: nginx}
    spec:
      containers: [{name: nginx, image: "%s"}]
  strategy:
    canary: 1
    batchSize: "100%%"
    mode: Manual
`, name, image)
}

// applyServerSide runs `kubectl apply --server-side` of manifest in ns as c.
func applyServerSide(t *testing.T, ctx context.Context, c *framework.Cluster, ns, manifest string) (string, error) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "release.yaml")
	require.NoError(t, os.WriteFile(file, []byte(manifest), 0o600))
	return c.Kubectl(ctx, "apply", "--server-side", "--field-manager", "gitops", "-n", ns, "-f", file)
}

// Invariant 6: a Release created by server-side apply (what GitOps tools do) is admitted like a POST:
// the CloneSet permission is asked, the plan is made, the release starts, and a second one for the same
// CloneSet is 409.
func TestServerSideApplyCreatesAreAdmitted(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.CloneSet("nginx", 2))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	alice := framework.Connect(t, "alice")
	before := s.CloneSet
	grant(t, ctx, admin, ns, "alice", []string{"triton-release-operator"}, false)

	// Without update on the CloneSet: refused, nothing stored, the CloneSet untouched.
	out, err := applyServerSide(t, ctx, alice, ns, releaseYAML("by-alice", "nginx:1.28"))
	require.Error(t, err, out)
	assert.Contains(t, out, `cannot update resource "clonesets" in API group "apps.kruise.io"`)
	_, err = admin.Releases.ReleasesV1alpha1().Releases(ns).Get(ctx, "by-alice", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "nothing stored: %v", err)

	// With it: admitted and planned, started, holding the CloneSet, with the cleanup finalizer.
	grantCloneSetUpdate(t, ctx, admin, ns, []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "alice"}})
	waitAllowed(t, ctx, admin, "alice", nil, ns, "update", "apps.kruise.io", "clonesets")
	// The server caches the refusal above for a few seconds (delegated authorization), so the apply is retried.
	framework.WaitUntil(t, ctx, "alice's apply admitted", func(ctx context.Context) (struct{}, bool, string) {
		out, err := applyServerSide(t, ctx, alice, ns, releaseYAML("by-alice", "nginx:1.28"))
		return struct{}{}, err == nil, out
	}, framework.Every(500*time.Millisecond), framework.Within(30*time.Second))
	r := framework.WaitRelease(t, ctx, admin, ns, "by-alice", "the canary Smoked", framework.BatchIs(1, v1alpha1.BatchSmoked))
	require.Len(t, r.Status.Batches, 2, "planned: canary and the rest")
	assert.Equal(t, before.Status.UpdateRevision, r.Status.CloneSet.RevisionBeforeRelease)
	assert.Contains(t, r.Finalizers, releases.CleanupFinalizer)
	assert.Equal(t, "by-alice", framework.GetCloneSet(t, ctx, admin, ns).Annotations[v1alpha1.OwnerAnnotation])

	// Applying it again is an update (no change), not a second release.
	out, err = applyServerSide(t, ctx, alice, ns, releaseYAML("by-alice", "nginx:1.28"))
	require.NoError(t, err, out)

	// Another release of the same CloneSet, by apply: 409, nothing stored.
	out, err = applyServerSide(t, ctx, admin, ns, releaseYAML("second", "nginx:1.29"))
	require.Error(t, err, out)
	assert.Contains(t, out, "release by-alice is still running on CloneSet nginx")
	_, err = admin.Releases.ReleasesV1alpha1().Releases(ns).Get(ctx, "second", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "nothing stored: %v", err)
}

// A Create release creates a CloneSet: it needs create on CloneSets, not update alone.
func TestCreateReleaseNeedsCloneSetCreate(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(2*time.Minute))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	alice := framework.Connect(t, "alice")
	grant(t, ctx, admin, ns, "alice", []string{"triton-release-operator"}, true)
	create := func(dryRun []string) error {
		replicas := int32(2)
		size := intstr.FromString("100%")
		_, err := alice.Releases.ReleasesV1alpha1().Releases(ns).Create(ctx, &v1alpha1.Release{
			ObjectMeta: metav1.ObjectMeta{Name: "web-create"},
			Spec: v1alpha1.ReleaseSpec{
				CloneSetName: "web", Action: v1alpha1.ActionCreate, Replicas: &replicas,
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
				Template: webTemplate(),
				Strategy: v1alpha1.ReleaseStrategy{BatchSize: &size, Mode: v1alpha1.ModeAuto},
			},
		}, metav1.CreateOptions{DryRun: dryRun})
		return err
	}
	for _, dryRun := range [][]string{{metav1.DryRunAll}, nil} {
		err := create(dryRun)
		require.True(t, apierrors.IsForbidden(err), "want 403, got %v", err)
		assert.Contains(t, err.Error(), fmt.Sprintf(`User "alice" cannot create resource "clonesets" in API group "apps.kruise.io" in the namespace %q`, ns))
	}
	_, err := admin.Kruise.AppsV1alpha1().CloneSets(ns).Get(ctx, "web", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "no CloneSet was made: %v", err)
	_, err = admin.Releases.ReleasesV1alpha1().Releases(ns).Get(ctx, "web-create", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "no release was stored: %v", err)

	// Allowed to create CloneSets as well: the release makes one.
	grantCloneSetCreate(t, ctx, admin, ns, "alice")
	// The server caches the refusals above for a few seconds (delegated authorization).
	framework.WaitUntil(t, ctx, "alice's Create release admitted", func(context.Context) (struct{}, bool, string) {
		err := create(nil)
		return struct{}{}, err == nil, fmt.Sprint(err)
	}, framework.Every(500*time.Millisecond), framework.Within(30*time.Second))
	framework.WaitRelease(t, ctx, admin, ns, "web-create", "Succeeded", framework.Succeeded)
}

func webTemplate() *corev1.PodTemplateSpec {
	t := framework.UpdateTo("nginx:1.28", 0, intstr.FromInt32(1), v1alpha1.ModeAuto).Spec.Template
	t.Labels = map[string]string{"app": "web"}
	return t
}

// Invariant 8 for a delete: deleting a running release needs what cancel needs, cancels it, and leaves the
// CloneSet sound (its template and pods from before, no owner annotation, no hooks, not paused, no pinned
// partition), so that a later scale-in finishes and a new release is accepted.
func TestDeletingARunningReleaseCancelsItAndLeavesTheCloneSetSound(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(4*time.Minute), framework.CloneSet("nginx", 4),
		framework.Release(framework.UpdateTo("nginx:1.28", 0, intstr.FromInt32(2), v1alpha1.ModeManual)), framework.Phase(v1alpha1.BatchBaked))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	alice := framework.Connect(t, "alice")
	before := s.CloneSet
	rels := s.Releases
	held := framework.GetCloneSet(t, ctx, admin, ns)
	require.Equal(t, int32(2), framework.Partition(held), "2 of 4 pods approved")
	require.NotNil(t, held.Spec.Lifecycle, "the release holds pods with lifecycle hooks")

	// An operator without update on the CloneSet may not delete it: that would move the CloneSet.
	grant(t, ctx, admin, ns, "alice", []string{"triton-release-operator"}, false)
	err := alice.Releases.ReleasesV1alpha1().Releases(ns).Delete(ctx, "nginx-update", metav1.DeleteOptions{})
	assertCloneSetRefusal(t, err, "alice", ns, "delete of a running release")
	r, err := rels.Get(ctx, "nginx-update", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Nil(t, r.DeletionTimestamp, "not being deleted")

	// kubectl delete, as a person would.
	out, err := admin.Kubectl(ctx, "delete", "release", "nginx-update", "-n", ns, "--wait=true", "--timeout=90s")
	require.NoError(t, err, out)
	_, err = rels.Get(ctx, "nginx-update", metav1.GetOptions{})
	require.True(t, apierrors.IsNotFound(err), "the release is gone: %v", err)

	cs := framework.GetCloneSet(t, ctx, admin, ns)
	assert.NotContains(t, cs.Annotations, v1alpha1.OwnerAnnotation)
	assert.False(t, cs.Spec.UpdateStrategy.Paused)
	assert.Equal(t, int32(0), framework.Partition(cs), "no pinned partition")
	assert.Equal(t, "nginx:1.27", cs.Spec.Template.Spec.Containers[0].Image, "the template from before the release")
	if lc := cs.Spec.Lifecycle; lc != nil {
		if lc.PreDelete != nil {
			assert.NotContains(t, lc.PreDelete.LabelsHandler, v1alpha1.HoldLabel, "no preDelete hold hook")
		}
		if lc.InPlaceUpdate != nil {
			assert.NotContains(t, lc.InPlaceUpdate.LabelsHandler, v1alpha1.HoldLabel, "no inPlaceUpdate hold hook")
		}
	}
	framework.WaitCloneSet(t, ctx, admin, ns, "nginx", func(s kruiseappsv1alpha1.CloneSetStatus) bool {
		return s.UpdateRevision == before.Status.UpdateRevision && s.UpdatedReplicas == 4 && s.ReadyReplicas == 4
	})

	// A scale-in finishes: no pod is held in PreparingDelete.
	_, err = admin.Kruise.AppsV1alpha1().CloneSets(ns).Patch(ctx, "nginx", types.MergePatchType, []byte(`{"spec":{"replicas":2}}`), metav1.PatchOptions{})
	require.NoError(t, err)
	framework.WaitUntil(t, ctx, "the scale-in from 4 to 2 pods to finish", func(ctx context.Context) (struct{}, bool, string) {
		pods, err := admin.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=nginx"})
		if err != nil {
			return struct{}{}, false, err.Error()
		}
		return struct{}{}, len(pods.Items) == 2, fmt.Sprintf("%d pods", len(pods.Items))
	}, framework.Within(60*time.Second))

	// And a new release is accepted.
	next := framework.UpdateTo("nginx:1.29", 0, intstr.FromString("100%"), v1alpha1.ModeAuto)
	next.Name = "nginx-next"
	_, err = rels.Create(ctx, next, metav1.CreateOptions{})
	require.NoError(t, err)
	framework.WaitRelease(t, ctx, admin, ns, "nginx-next", "Succeeded", framework.Succeeded)
}

// A release's starting point is the CloneSet's latest spec: a release created the moment after an edit
// of the CloneSet records the revision of that edit (kruise is waited for, or the create is a 409 that
// says to retry), never the one before it, so a cancel goes back to the edited template.
func TestReleaseStartsFromTheLatestCloneSetSpec(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(4*time.Minute), framework.CloneSet("nginx", 2))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	rels := s.Releases
	for i, image := range []string{"nginx:1.27.1", "nginx:1.27.2", "nginx:1.27.3"} {
		name := fmt.Sprintf("restart-%d", i)
		err := editThenRestart(t, ctx, admin, ns, image, name)
		if apierrors.IsConflict(err) {
			assert.Contains(t, err.Error(), "retry", "a 409 says to retry")
			continue
		}
		require.NoError(t, err)
		cs := framework.WaitCloneSetIs(t, ctx, admin, ns, "kruise observed the edit", func(cs *kruiseappsv1alpha1.CloneSet) bool {
			return cs.Status.ObservedGeneration >= cs.Generation
		})
		r, err := rels.Get(ctx, name, metav1.GetOptions{})
		require.NoError(t, err)
		t.Logf("%s: recorded revision %s; the CloneSet now at generation %d, observed %d, update revision %s",
			name, r.Status.CloneSet.RevisionBeforeRelease, cs.Generation, cs.Status.ObservedGeneration, cs.Status.UpdateRevision)
		rev, err := admin.Kube.AppsV1().ControllerRevisions(ns).Get(ctx, r.Status.CloneSet.RevisionBeforeRelease, metav1.GetOptions{})
		require.NoError(t, err)
		assert.Contains(t, string(rev.Data.Raw), image, "release %s starts from the edited template (%s)", name, image)
		// Cancel: the CloneSet goes back to the edited template, not an older one.
		_, err = rels.Cancel(ctx, name, &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{})
		require.NoError(t, err)
		released := framework.WaitReleased(t, ctx, admin, ns)
		assert.Equal(t, image, released.Spec.Template.Spec.Containers[0].Image, "cancel restores the template of the edit")
		assert.NotContains(t, released.Spec.Template.Annotations, v1alpha1.RestartedAtAnnotation)
		// Settled on the edit before the next one: kruise has seen the cancel and every pod is back.
		framework.WaitCloneSetIs(t, ctx, admin, ns, "settled after the cancel", func(cs *kruiseappsv1alpha1.CloneSet) bool {
			return cs.Status.ObservedGeneration == cs.Generation && cs.Status.UpdatedReadyReplicas == 2 &&
				cs.Status.UpdateRevision == rev.Name && cs.Status.CurrentRevision == rev.Name
		})
	}
}

// Invariant 6 under load: many creates of releases for the same CloneSets at the same moment, spread over
// two replicas that share an etcd, store exactly one release per CloneSet; the others are 409.
func TestConcurrentCreatesOnTwoReplicasClaimOnce(t *testing.T) {
	s := framework.Setup(t, framework.Timeout(4*time.Minute))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	allowLeaderElection(t, ctx, admin, ns)
	store := startEtcd(t, "claims")
	a := startReplica(t, "claims-a", ns, "--etcd-servers", store.url)
	b := startReplica(t, "claims-b", ns, "--etcd-servers", store.url)
	replicas := []*replica{a, b}

	const cloneSets, creates = 4, 12
	for i := 0; i < cloneSets; i++ {
		framework.MakeCloneSet(t, ctx, admin, ns, fmt.Sprintf("web-%d", i), 1)
	}
	var mu sync.Mutex
	stored := map[string][]string{}
	var others []string
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < cloneSets; i++ {
		for j := 0; j < creates; j++ {
			wg.Add(1)
			go func(cs string, j int) {
				defer wg.Done()
				r := framework.UpdateTo("nginx:1.28", 0, intstr.FromString("100%"), v1alpha1.ModeManual)
				r.Name = fmt.Sprintf("%s-r%d", cs, j)
				r.Spec.CloneSetName = cs
				r.Spec.Template.Labels = map[string]string{"app": cs}
				<-start
				_, err := replicas[j%2].client().ReleasesV1alpha1().Releases(ns).Create(ctx, r, metav1.CreateOptions{})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					stored[cs] = append(stored[cs], r.Name)
				case apierrors.IsConflict(err):
				default:
					others = append(others, fmt.Sprintf("%s: %v", r.Name, err))
				}
			}(fmt.Sprintf("web-%d", i), j)
		}
	}
	close(start)
	wg.Wait()
	assert.Empty(t, others, "every create is 201 or 409")
	for i := 0; i < cloneSets; i++ {
		cs := fmt.Sprintf("web-%d", i)
		assert.Len(t, stored[cs], 1, "CloneSet %s: exactly one create succeeded: %v", cs, stored[cs])
		list, err := a.client().ReleasesV1alpha1().Releases(ns).List(ctx, metav1.ListOptions{FieldSelector: "spec.cloneSetName=" + cs})
		require.NoError(t, err)
		assert.Len(t, list.Items, 1, "CloneSet %s: one release stored", cs)
	}
}
