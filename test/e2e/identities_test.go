//go:build e2e

package e2e

// The built-in controllers of a real cluster act under their own service accounts and bootstrap roles
// (kube-controller-manager --use-service-account-credentials, as the test bed runs it), and a tenant may
// hold the release verbs without any right on the CloneSet. These tests act as those identities.

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	kruiseclient "github.com/openkruise/kruise-api/client/clientset/versioned"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/generated/clientset/versioned"
	"github.com/triton-io/triton/test/e2e/framework"
)

// controllerIdentity is how kube-controller-manager's controller named sa is seen by every server when it
// runs with --use-service-account-credentials.
func controllerIdentity(sa string) rest.ImpersonationConfig {
	return rest.ImpersonationConfig{
		UserName: "system:serviceaccount:kube-system:" + sa,
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"},
	}
}

// as is the admin's view of the control plane impersonating who.
func as(t *testing.T, admin *framework.Cluster, who rest.ImpersonationConfig) *framework.Cluster {
	t.Helper()
	config := rest.CopyConfig(admin.Config)
	config.Impersonate = who
	return &framework.Cluster{
		Kubeconfig: admin.Kubeconfig,
		Config:     config,
		Kube:       kubernetes.NewForConfigOrDie(config),
		Releases:   versioned.NewForConfigOrDie(config),
		Kruise:     kruiseclient.NewForConfigOrDie(config),
	}
}

// The namespace controller may delete anything and update nothing. Its delete of every release in a
// namespace (a deletecollection, as it sends) goes through, cancels the unfinished ones and lets the
// CloneSet go.
func TestTheNamespaceControllerDeletesUnfinishedReleases(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.CloneSet("nginx", 2),
		framework.Release(framework.UpdateTo("nginx:1.28", 1, intstr.FromInt32(1), v1alpha1.ModeManual)), framework.Phase(v1alpha1.BatchSmoked))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx

	deleter := as(t, admin, controllerIdentity("namespace-controller"))
	// The identity really is this narrow: it may not update the CloneSet.
	_, err := deleter.Kruise.AppsV1alpha1().CloneSets(ns).Update(ctx, framework.GetCloneSet(t, ctx, admin, ns), metav1.UpdateOptions{})
	require.True(t, apierrors.IsForbidden(err), "the namespace controller updated a CloneSet: %v", err)

	require.NoError(t, deleter.Releases.ReleasesV1alpha1().Releases(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}))
	framework.WaitUntil(t, ctx, "the release to be gone", func(ctx context.Context) (struct{}, bool, string) {
		list, err := admin.Releases.ReleasesV1alpha1().Releases(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return struct{}{}, false, err.Error()
		}
		return struct{}{}, len(list.Items) == 0, fmt.Sprintf("%d releases", len(list.Items))
	}, framework.Every(250*time.Millisecond), framework.Within(60*time.Second))
	cs := framework.WaitReleased(t, ctx, admin, ns)
	assert.Equal(t, "nginx:1.27", cs.Spec.Template.Spec.Containers[0].Image, "a deleted release is canceled: the CloneSet's template is back")
}

// An operator without CloneSet rights may not cancel or delete a running release, so may not do it
// through the garbage collector either: changing the release's owner references or finalizers needs what
// a delete needs. An owner reference set by someone who may (here the admin) works as Kubernetes users
// expect: the garbage collector, under its own role, deletes the release with its owner, which cancels it.
func TestOwnerReferencesAndFinalizersNeedWhatADeleteNeeds(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.CloneSet("nginx", 2),
		framework.Release(framework.UpdateTo("nginx:1.28", 1, intstr.FromInt32(1), v1alpha1.ModeManual)), framework.Phase(v1alpha1.BatchSmoked))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	alice := framework.Connect(t, "alice")
	rel := s.Release
	grant(t, ctx, admin, ns, "alice", []string{"triton-release-operator"}, false)

	releases := alice.Releases.ReleasesV1alpha1().Releases(ns)
	dangling := fmt.Sprintf(`{"metadata":{"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"gone","uid":"%s"}]}}`,
		"00000000-0000-0000-0000-000000000001")
	for what, patch := range map[string]string{
		"a dangling owner reference": dangling,
		"a finalizer":                `{"metadata":{"finalizers":["releases.triton.io/cloneset-cleanup","example.com/hold"]}}`,
	} {
		_, err := releases.Patch(ctx, rel.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
		if assert.True(t, apierrors.IsForbidden(err), "%s: want 403, got %v", what, err) {
			assert.Contains(t, err.Error(), `User "alice" cannot update resource "clonesets" in API group "apps.kruise.io" in the namespace "`+ns+`", nor delete it`, what)
		}
	}
	// Metadata the garbage collector does not act on stays hers to change.
	_, err := releases.Patch(ctx, rel.Name, types.MergePatchType, []byte(`{"metadata":{"labels":{"team":"shop"}}}`), metav1.PatchOptions{})
	require.NoError(t, err)

	got, err := admin.Releases.ReleasesV1alpha1().Releases(ns).Get(ctx, rel.Name, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Empty(t, got.OwnerReferences)
	assert.Equal(t, []string{"releases.triton.io/cloneset-cleanup"}, got.Finalizers)
	assert.Equal(t, v1alpha1.ReleaseProgressing, got.Status.Phase)

	// The admin ties the release to a ConfigMap and deletes it: the garbage collector deletes the release.
	owner, err := admin.Kube.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "pipeline-run"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = admin.Releases.ReleasesV1alpha1().Releases(ns).Patch(ctx, rel.Name, types.MergePatchType, []byte(fmt.Sprintf(
		`{"metadata":{"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"pipeline-run","uid":"%s"}]}}`, owner.UID)), metav1.PatchOptions{})
	require.NoError(t, err)
	require.NoError(t, admin.Kube.CoreV1().ConfigMaps(ns).Delete(ctx, owner.Name, metav1.DeleteOptions{}))
	framework.WaitUntil(t, ctx, "the garbage collector to delete the release", func(ctx context.Context) (struct{}, bool, string) {
		_, err := admin.Releases.ReleasesV1alpha1().Releases(ns).Get(ctx, rel.Name, metav1.GetOptions{})
		return struct{}{}, apierrors.IsNotFound(err), fmt.Sprint(err)
	}, framework.Every(250*time.Millisecond), framework.Within(90*time.Second))
	cs := framework.WaitReleased(t, ctx, admin, ns)
	assert.Equal(t, "nginx:1.27", cs.Spec.Template.Spec.Containers[0].Image)
}

// A user who may only create pods (the built-in edit role: no right on the CloneSet, none to cancel) cannot
// make a pod that claims the CloneSet as its controller, by a create or by an update, so cannot fail a
// release (or fake a batch's health) with a pod the CloneSet never made: the policy
// artifacts/deploy/cloneset-pods.yaml leaves that to OpenKruise.
func TestAPodThatMerelyClaimsTheCloneSetIsRefused(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.CloneSet("nginx", 2),
		framework.Release(framework.UpdateTo("nginx:1.28", 1, intstr.FromInt32(1), v1alpha1.ModeManual)), framework.Phase(v1alpha1.BatchSmoked))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	alice := framework.Connect(t, "alice")
	rel := s.Release
	grant(t, ctx, admin, ns, "alice", []string{"edit"}, false)
	waitAllowed(t, ctx, admin, "alice", nil, ns, "create", "", "pods")

	// She may not read the CloneSet, but its UID is in every pod's owner references.
	pods, err := alice.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=nginx"})
	require.NoError(t, err)
	require.NotEmpty(t, pods.Items)
	owner := metav1.GetControllerOf(&pods.Items[0])
	require.NotNil(t, owner)
	yes := true
	claim := []metav1.OwnerReference{{APIVersion: owner.APIVersion, Kind: owner.Kind, Name: owner.Name, UID: owner.UID, Controller: &yes}}
	forged := func(name string) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
				"app": "nginx", "controller-revision-hash": rel.Status.CloneSet.UpdateRevision}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "nginx", Image: "nginx:crashloop"}}},
		}
	}
	pod := forged("forged")
	pod.OwnerReferences = claim
	_, err = alice.Kube.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	if assert.True(t, apierrors.IsForbidden(err), "a forged controller reference: want 403, got %v", err) {
		assert.Contains(t, err.Error(), "only OpenKruise (kruise-manager) may create a pod controlled by a CloneSet")
	}
	// A pod with no controller that the CloneSet's selector matches: kruise would adopt it.
	_, err = alice.Kube.CoreV1().Pods(ns).Create(ctx, forged("orphan"), metav1.CreateOptions{})
	if assert.True(t, apierrors.IsForbidden(err), "an orphan the CloneSet would adopt: want 403, got %v", err) {
		assert.Contains(t, err.Error(), "would be adopted by it")
	}
	// Made as a pod of another app, then claimed.
	other := forged("adopted")
	other.Labels["app"] = "other"
	plain, err := alice.Kube.CoreV1().Pods(ns).Create(ctx, other, metav1.CreateOptions{})
	require.NoError(t, err)
	patch := fmt.Sprintf(`{"metadata":{"ownerReferences":[{"apiVersion":"apps.kruise.io/v1alpha1","kind":"CloneSet","name":%q,"uid":%q,"controller":true}]}}`,
		owner.Name, owner.UID)
	_, err = alice.Kube.CoreV1().Pods(ns).Patch(ctx, plain.Name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
	assert.True(t, apierrors.IsForbidden(err), "a controller reference added later: want 403, got %v", err)

	got, err := admin.Releases.ReleasesV1alpha1().Releases(ns).Get(ctx, rel.Name, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.ReleaseProgressing, got.Status.Phase)
	for _, b := range got.Status.Batches {
		for _, p := range b.Pods {
			assert.NotContains(t, []string{"forged", "orphan", "adopted"}, p.Name)
		}
	}
	// kruise itself still makes and replaces the CloneSet's pods: the release moves on.
	_, err = admin.Releases.ReleasesV1alpha1().Releases(ns).Next(ctx, rel.Name, &v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(1)}, metav1.CreateOptions{})
	require.NoError(t, err)
	framework.WaitRelease(t, ctx, admin, ns, rel.Name, "batch 1 Baked", framework.BatchIs(1, v1alpha1.BatchBaked))
}
