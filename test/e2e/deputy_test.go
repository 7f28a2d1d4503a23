//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/test/e2e/framework"
)

// assertCloneSetRefusal checks a 403 that names the CloneSet permission user lacks.
func assertCloneSetRefusal(t *testing.T, err error, user, ns, what string) {
	t.Helper()
	if assert.True(t, apierrors.IsForbidden(err), "%s: want 403, got %v", what, err) {
		assert.Contains(t, err.Error(),
			fmt.Sprintf(`User %q cannot update resource "clonesets" in API group "apps.kruise.io" in the namespace %q`, user, ns), what)
	}
}

// A caller allowed the release verbs but not to update the CloneSet moves nothing: not by an action,
// not by a dry run, not by writing the release's status (the intent the controller follows), which no one
// but the server writes.
func TestConfusedDeputyMovesNothing(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.SmokedCanary())
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	alice := framework.Connect(t, "alice")
	before := s.Release
	csBefore := framework.GetCloneSet(t, ctx, admin, ns)

	// An approver, and a writer of releases/status, without update on the CloneSet.
	grant(t, ctx, admin, ns, "alice", []string{"triton-release-approver"}, false)
	_, err := admin.Kube.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "release-status-writer"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{"releases.triton.io"}, Resources: []string{"releases/status"},
			Verbs: []string{"get", "update", "patch"}}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = admin.Kube.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "alice-status"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "release-status-writer"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "alice"}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	waitAllowed(t, ctx, admin, "alice", nil, ns, "patch", "releases.triton.io", "releases/status")

	releases := alice.Releases.ReleasesV1alpha1().Releases(ns)
	for _, dryRun := range [][]string{nil, {metav1.DryRunAll}} {
		_, err = releases.Next(ctx, "nginx-update", &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{DryRun: dryRun})
		assertCloneSetRefusal(t, err, "alice", ns, fmt.Sprintf("next, dryRun %v", dryRun))
		_, err = releases.Cancel(ctx, "nginx-update", &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{DryRun: dryRun})
		assert.True(t, apierrors.IsForbidden(err), "cancel is not an approver's at all: %v", err)
	}
	// Writing the status: the controller would make the CloneSet follow it. RBAC lets alice patch
	// releases/status, the server does not.
	_, err = releases.Patch(ctx, "nginx-update", types.MergePatchType,
		[]byte(`{"status":{"batches":[{"index":1,"phase":"Baked"},{"index":2,"phase":"Smoking"}],"currentBatch":2}}`),
		metav1.PatchOptions{}, "status")
	assertStatusRefusal(t, err, "alice", "status patch")

	framework.Holds(t, ctx, 2*time.Second, "nothing moved", func(ctx context.Context) (bool, string) {
		r, err := admin.Releases.ReleasesV1alpha1().Releases(ns).Get(ctx, "nginx-update", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		cs := framework.GetCloneSet(t, ctx, admin, ns)
		return framework.BatchIs(1, v1alpha1.BatchSmoked)(r) && len(r.Status.History) == len(before.Status.History) &&
				framework.Partition(cs) == framework.Partition(csBefore) && cs.Generation == csBefore.Generation,
			fmt.Sprintf("batch %d %v, %d history entries (was %d), partition %d (was %d), generation %d (was %d)",
				r.Status.CurrentBatch, r.Status.Phase, len(r.Status.History), len(before.Status.History),
				framework.Partition(cs), framework.Partition(csBefore), cs.Generation, csBefore.Generation)
	})
}

// Without update on CloneSet "ghost", a release for it is 403 whether or not it exists (the server
// tells nothing about CloneSets the caller may not move); with it, a missing CloneSet is 422.
func TestReleaseForMissingCloneSet(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(2*time.Minute))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	alice := framework.Connect(t, "alice")
	grant(t, ctx, admin, ns, "alice", []string{"triton-release-operator"}, false)
	ghost := func() *v1alpha1.Release {
		r := framework.UpdateTo("nginx:1.28", 0, intstr.FromString("100%"), v1alpha1.ModeManual)
		r.Spec.CloneSetName = "ghost"
		return r
	}
	releases := alice.Releases.ReleasesV1alpha1().Releases(ns)
	for _, dryRun := range [][]string{{metav1.DryRunAll}, nil} {
		_, err := releases.Create(ctx, ghost(), metav1.CreateOptions{DryRun: dryRun})
		assertCloneSetRefusal(t, err, "alice", ns, fmt.Sprintf("create for ghost, dryRun %v", dryRun))
	}

	grantCloneSetUpdate(t, ctx, admin, ns, []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "alice"}})
	// The server remembers a refusal for a few seconds (its SubjectAccessReview cache), as
	// kube-apiserver's webhook authorizers do.
	err := framework.WaitUntil(t, ctx, "the create no longer forbidden after the grant", func(ctx context.Context) (error, bool, string) { //nolint:staticcheck // ST1008: the error is the value polled for, not a failure of the poll
		_, err := releases.Create(ctx, ghost(), metav1.CreateOptions{})
		return err, !apierrors.IsForbidden(err), fmt.Sprint(err)
	}, framework.Every(500*time.Millisecond), framework.Within(time.Minute))
	require.True(t, apierrors.IsInvalid(err), "want 422, got %v", err)
	assert.Contains(t, err.Error(), "spec.cloneSetName")
	_, err = releases.Get(ctx, "nginx-update", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "nothing stored: %v", err)
	_, err = admin.Kruise.AppsV1alpha1().CloneSets(ns).Get(ctx, "ghost", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "no CloneSet made: %v", err)
}
