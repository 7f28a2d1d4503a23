//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/test/e2e/roles"
)

// grant binds clusterRoles to user in ns and, with cloneSetUpdate, a Role that may update CloneSets
// there; it returns once kube-apiserver's RBAC answers accordingly, so no test call races the binding.
func grant(t *testing.T, ctx context.Context, admin *cluster, ns, user string, clusterRoles []string, cloneSetUpdate bool) {
	t.Helper()
	subject := []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}}
	for _, role := range clusterRoles {
		_, err := admin.kube.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: user + "-" + role},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
			Subjects:   subject,
		}, metav1.CreateOptions{})
		require.NoError(t, err)
		waitAllowed(t, ctx, admin, user, nil, ns, "get", "releases.triton.io", "releases")
	}
	if cloneSetUpdate {
		grantCloneSetUpdate(t, ctx, admin, ns, subject)
		waitAllowed(t, ctx, admin, user, nil, ns, "update", "apps.kruise.io", "clonesets")
	}
}

func grantCloneSetUpdate(t *testing.T, ctx context.Context, admin *cluster, ns string, subjects []rbacv1.Subject) {
	t.Helper()
	_, err := admin.kube.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "cloneset-updater"},
		Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{"apps.kruise.io"}, Resources: []string{"clonesets"},
			Verbs: []string{"get", "list", "watch", "update", "patch"},
		}},
	}, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		require.NoError(t, err)
	}
	_, err = admin.kube.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "cloneset-updater-"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "cloneset-updater"},
		Subjects:   subjects,
	}, metav1.CreateOptions{})
	require.NoError(t, err)
}

// waitAllowed waits until kube-apiserver's RBAC lets user (in groups) do verb on resource (which may
// name a subresource: releases/status) in ns.
func waitAllowed(t *testing.T, ctx context.Context, admin *cluster, user string, groups []string, ns, verb, group, resource string) {
	t.Helper()
	res, sub, _ := strings.Cut(resource, "/")
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		review, err := admin.kube.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
			Spec: authorizationv1.SubjectAccessReviewSpec{
				User: user, Groups: groups,
				ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: ns, Verb: verb, Group: group, Resource: res, Subresource: sub},
			},
		}, metav1.CreateOptions{})
		return err == nil && review.Status.Allowed, nil
	})
	require.NoError(t, err, "RBAC never allowed %s to %s %s.%s in %s", user, verb, resource, group, ns)
}

// canaryAwaitingNext makes the tutorial's CloneSet in ns with 2 pods, and the Manual release
// nginx-update of it (canary 1, then the rest), and returns the release once its canary is Smoked:
// waiting for next.
func canaryAwaitingNext(t *testing.T, ctx context.Context, admin *cluster, ns string) *v1alpha1.Release {
	t.Helper()
	nginx(t, ctx, admin, ns, 2)
	_, err := admin.releases.ReleasesV1alpha1().Releases(ns).Create(ctx,
		updateTo("nginx:1.28", 1, intstr.FromString("100%"), v1alpha1.ModeManual), metav1.CreateOptions{})
	require.NoError(t, err)
	return waitRelease(t, ctx, admin, ns, "nginx-update", "canary Smoked, waiting for next", batchIs(1, v1alpha1.BatchSmoked))
}

// perform does verb on the release nginx-update in ns as c.
func perform(ctx context.Context, c *cluster, ns string, verb roles.Verb) error {
	releases := c.releases.ReleasesV1alpha1().Releases(ns)
	const name = "nginx-update"
	var err error
	switch verb {
	case roles.Get:
		_, err = releases.Get(ctx, name, metav1.GetOptions{})
	case roles.List:
		_, err = releases.List(ctx, metav1.ListOptions{})
	case roles.Watch:
		var w interface{ Stop() }
		w, err = releases.Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name})
		if err == nil {
			w.Stop()
		}
	case roles.PatchMetadata:
		_, err = releases.Patch(ctx, name, types.MergePatchType, []byte(`{"metadata":{"labels":{"team":"shop"}}}`), metav1.PatchOptions{})
	case roles.PatchSpec:
		_, err = releases.Patch(ctx, name, types.MergePatchType, []byte(`{"spec":{"strategy":{"progressDeadlineSeconds":900}}}`), metav1.PatchOptions{})
	case roles.Next:
		_, err = releases.Next(ctx, name, &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{})
	case roles.Pause:
		_, err = releases.Pause(ctx, name, &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{})
	case roles.Resume:
		_, err = releases.Resume(ctx, name, &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{})
	case roles.Cancel:
		_, err = releases.Cancel(ctx, name, &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{})
	case roles.Create:
		r := updateTo("nginx:1.29", 0, intstr.FromString("100%"), v1alpha1.ModeManual)
		r.Name = "nginx-update-2"
		_, err = releases.Create(ctx, r, metav1.CreateOptions{})
	case roles.Delete:
		err = releases.Delete(ctx, name, metav1.DeleteOptions{})
	default:
		err = fmt.Errorf("unknown verb %q", verb)
	}
	return err
}

// TestRoleMatrix runs every cell of the README's role table: each row is a user with roles bound in
// a namespace of its own, holding a CloneSet and a Manual release whose canary waits for `next`.
func TestRoleMatrix(t *testing.T) {
	admin := connect(t, "admin")
	for _, subject := range roles.Matrix {
		t.Run(strings.ReplaceAll(subject.Name(), " ", "_"), func(t *testing.T) {
			t.Parallel()
			ctx := testContext(t, 4*time.Minute)
			ns := namespace(t, admin)
			canaryAwaitingNext(t, ctx, admin, ns)
			grant(t, ctx, admin, ns, subject.User, subject.ClusterRoles, subject.CloneSetUpdate)
			caller := connect(t, subject.User)

			for _, verb := range roles.Verbs {
				err := perform(ctx, caller, ns, verb)
				switch want := subject.Want(verb); want {
				case roles.Allowed:
					assert.NoError(t, err, "%s: %s", subject.Name(), verb)
				case roles.Forbidden:
					if assert.True(t, apierrors.IsForbidden(err), "%s: %s: want 403, got %v", subject.Name(), verb, err) {
						assert.Contains(t, err.Error(), `in API group "releases.triton.io"`, "%s: %s: refused by RBAC on releases", subject.Name(), verb)
					}
				case roles.ForbiddenCloneSet:
					if assert.True(t, apierrors.IsForbidden(err), "%s: %s: want 403, got %v", subject.Name(), verb, err) {
						assert.Contains(t, err.Error(),
							fmt.Sprintf(`User %q cannot update resource "clonesets" in API group "apps.kruise.io" in the namespace %q`, subject.User, ns),
							"%s: %s: the 403 names the missing CloneSet permission", subject.Name(), verb)
					}
				}
			}
		})
	}
}
