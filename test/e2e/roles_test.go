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
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/rest"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/test/e2e/framework"
	"github.com/triton-io/triton/test/e2e/roles"
)

// grant binds clusterRoles to user in ns and, with cloneSetUpdate, a Role that may update CloneSets
// there; it returns once kube-apiserver's RBAC answers accordingly, so no test call races the binding.
func grant(t *testing.T, ctx context.Context, admin *framework.Cluster, ns, user string, clusterRoles []string, cloneSetUpdate bool) {
	t.Helper()
	subject := []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}}
	for _, role := range clusterRoles {
		_, err := admin.Kube.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
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

func grantCloneSetUpdate(t *testing.T, ctx context.Context, admin *framework.Cluster, ns string, subjects []rbacv1.Subject) {
	t.Helper()
	_, err := admin.Kube.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "cloneset-updater"},
		Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{"apps.kruise.io"}, Resources: []string{"clonesets"},
			Verbs: []string{"get", "list", "watch", "update", "patch"},
		}},
	}, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		require.NoError(t, err)
	}
	_, err = admin.Kube.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "cloneset-updater-"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "cloneset-updater"},
		Subjects:   subjects,
	}, metav1.CreateOptions{})
	require.NoError(t, err)
}

// grantCloneSetCreate binds a Role that may get and create CloneSets in ns to user, and returns once
// kube-apiserver's RBAC lets user create them: what a Create release needs besides update.
func grantCloneSetCreate(t *testing.T, ctx context.Context, admin *framework.Cluster, ns, user string) {
	t.Helper()
	_, err := admin.Kube.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "cloneset-creator"},
		Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{"apps.kruise.io"}, Resources: []string{"clonesets"},
			Verbs: []string{"get", "create"},
		}},
	}, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		require.NoError(t, err)
	}
	_, err = admin.Kube.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "cloneset-creator-"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "cloneset-creator"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	waitAllowed(t, ctx, admin, user, nil, ns, "create", "apps.kruise.io", "clonesets")
}

// waitAllowed waits until kube-apiserver's RBAC lets user (in groups) do verb on resource (which may
// name a subresource: releases/status) in ns.
func waitAllowed(t *testing.T, ctx context.Context, admin *framework.Cluster, user string, groups []string, ns, verb, group, resource string) {
	t.Helper()
	res, sub, _ := strings.Cut(resource, "/")
	framework.WaitUntil(t, ctx, fmt.Sprintf("RBAC to allow %s to %s %s.%s in %s", user, verb, resource, group, ns), func(ctx context.Context) (struct{}, bool, string) {
		review, err := admin.Kube.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
			Spec: authorizationv1.SubjectAccessReviewSpec{
				User: user, Groups: groups,
				ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: ns, Verb: verb, Group: group, Resource: res, Subresource: sub},
			},
		}, metav1.CreateOptions{})
		if err != nil {
			return struct{}{}, false, err.Error()
		}
		return struct{}{}, review.Status.Allowed, fmt.Sprintf("%+v", review.Status)
	}, framework.Every(100*time.Millisecond), framework.Within(30*time.Second))
}

// The releases of the role matrix besides nginx-update: the create verb's (nginx-update-2, also the one
// `delete running` deletes), the Create release's of CloneSet fresh, and the applied one's of CloneSet web;
// and the ConfigMap `patch owner references` points nginx-update at.
const (
	matrixCreated       = "nginx-update-2"
	matrixCreateAction  = "fresh-create"
	matrixFreshCloneSet = "fresh"
	matrixApplied       = "web-apply"
	matrixWebCloneSet   = "web"
	matrixOwner         = "pipeline-run"
)

// makeMatrixOwner makes, as admin, the ConfigMap `patch owner references` points nginx-update at, and
// returns its UID: the reference is to an owner that exists, so the garbage collector deletes nothing.
func makeMatrixOwner(t *testing.T, ctx context.Context, admin *framework.Cluster, ns string) types.UID {
	t.Helper()
	owner, err := admin.Kube.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: matrixOwner}}, metav1.CreateOptions{})
	require.NoError(t, err)
	return owner.UID
}

// ownerPatch is the merge patch that points a release's owner references at the matrix's ConfigMap.
func ownerPatch(owner types.UID) []byte {
	return []byte(fmt.Sprintf(`{"metadata":{"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":%q,"uid":%q}]}}`, matrixOwner, owner))
}

// readyFor puts the namespace, as admin, where verb's outcome depends on the caller's rights alone,
// whatever the verbs before it got: before create, nginx-update has finished (the caller may not have
// been allowed to cancel it), so that creating another release of nginx is no 409 and delete at the end
// deletes a finished release; before delete running, nginx-update-2 runs (the caller may not have been
// allowed to create it).
func readyFor(t *testing.T, ctx context.Context, admin *framework.Cluster, ns string, verb roles.Verb) {
	t.Helper()
	releases := admin.Releases.ReleasesV1alpha1().Releases(ns)
	switch verb {
	case roles.Create:
		r, err := releases.Get(ctx, "nginx-update", metav1.GetOptions{})
		require.NoError(t, err)
		if !releaseFinished(r) {
			_, err = releases.Cancel(ctx, "nginx-update", &v1alpha1.ReleaseRequest{Reason: "role matrix: the caller could not"}, metav1.CreateOptions{})
			require.NoError(t, err, "admin cancels nginx-update")
		}
		// Finished, and (canceled) its pods out of traffic: the CloneSet is free for another release.
		framework.WaitRelease(t, ctx, admin, ns, "nginx-update", "finished and let go of its CloneSet", func(r *v1alpha1.Release) bool {
			return releaseFinished(r) && (r.Status.Phase != v1alpha1.ReleaseCanceled || framework.ConditionIs(r, v1alpha1.ConditionReverted, metav1.ConditionTrue))
		})
	case roles.DeleteRunning:
		finished := framework.WaitUntil(t, ctx, "admin to make "+matrixCreated+" for delete running", func(ctx context.Context) (string, bool, string) {
			r, err := releases.Get(ctx, matrixCreated, metav1.GetOptions{})
			if err == nil {
				if releaseFinished(r) {
					return string(r.Status.Phase), true, "" // too late to delete it running
				}
				return "", true, ""
			}
			// kruise may not have observed the canceled release's last change to nginx yet: a 409, retried.
			r = framework.UpdateTo("nginx:1.29", 0, intstr.FromString("100%"), v1alpha1.ModeManual)
			r.Name = matrixCreated
			_, err = releases.Create(ctx, r, metav1.CreateOptions{})
			return "", false, fmt.Sprintf("create: %v", err)
		}, framework.Every(500*time.Millisecond), framework.Within(time.Minute))
		require.Empty(t, finished, "%s has finished before delete running", matrixCreated)
	}
}

func releaseFinished(r *v1alpha1.Release) bool {
	return r.Status.Phase == v1alpha1.ReleaseSucceeded || r.Status.Phase == v1alpha1.ReleaseCanceled
}

// putRight puts the namespace back, as admin, after verb, so that the verbs after it find it the same
// whatever verb got: after patch owner references, nginx-update carries the reference if and only if the
// verb was allowed, and the admin takes it away (nginx-update must stay: the verbs after act on it).
func putRight(t *testing.T, ctx context.Context, admin *framework.Cluster, ns string, subject roles.Subject, verb roles.Verb) {
	t.Helper()
	releases := admin.Releases.ReleasesV1alpha1().Releases(ns)
	switch verb {
	case roles.PatchOwner:
		r, err := releases.Get(ctx, "nginx-update", metav1.GetOptions{})
		require.NoError(t, err)
		assert.Nil(t, r.DeletionTimestamp, "%s: %s: nginx-update is not deleted", subject.Name(), verb)
		if subject.Want(verb) == roles.Allowed {
			if assert.Len(t, r.OwnerReferences, 1, "%s: %s: nginx-update carries the reference", subject.Name(), verb) {
				assert.Equal(t, matrixOwner, r.OwnerReferences[0].Name)
			}
		} else {
			assert.Empty(t, r.OwnerReferences, "%s: %s: a refused patch leaves nginx-update's owner references", subject.Name(), verb)
		}
		if len(r.OwnerReferences) > 0 {
			_, err = releases.Patch(ctx, "nginx-update", types.MergePatchType, []byte(`{"metadata":{"ownerReferences":null}}`), metav1.PatchOptions{})
			require.NoError(t, err, "admin takes nginx-update's owner reference away")
		}
	}
}

// perform does verb as c in ns: on the release nginx-update, or for create, apply and create (Create
// action) on a new release, and for delete running on nginx-update-2. owner is the UID of the ConfigMap
// patch owner references points at.
func perform(ctx context.Context, c *framework.Cluster, ns string, verb roles.Verb, owner types.UID) error {
	releases := c.Releases.ReleasesV1alpha1().Releases(ns)
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
	case roles.PatchOwner:
		_, err = releases.Patch(ctx, name, types.MergePatchType, ownerPatch(owner), metav1.PatchOptions{})
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
		r := framework.UpdateTo("nginx:1.29", 0, intstr.FromString("100%"), v1alpha1.ModeManual)
		r.Name = matrixCreated
		_, err = releases.Create(ctx, r, metav1.CreateOptions{})
	case roles.CreateAction:
		replicas := int32(1)
		_, err = releases.Create(ctx, &v1alpha1.Release{
			ObjectMeta: metav1.ObjectMeta{Name: matrixCreateAction},
			Spec: v1alpha1.ReleaseSpec{
				CloneSetName: matrixFreshCloneSet,
				Action:       v1alpha1.ActionCreate,
				Replicas:     &replicas,
				Template: &corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": matrixFreshCloneSet}},
					Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "nginx", Image: "nginx:1.27"}}},
				},
				Strategy: v1alpha1.ReleaseStrategy{Mode: v1alpha1.ModeManual},
			},
		}, metav1.CreateOptions{})
	case roles.Apply:
		// What `kubectl apply --server-side` sends for a release that does not exist yet.
		force := true
		body := fmt.Sprintf(`{"apiVersion":"releases.triton.io/v1alpha1","kind":"Release","metadata":{"name":%q},`+
			`"spec":{"cloneSetName":%q,"action":"Restart","strategy":{"mode":"Manual"}}}`, matrixApplied, matrixWebCloneSet)
		_, err = releases.Patch(ctx, matrixApplied, types.ApplyPatchType, []byte(body),
			metav1.PatchOptions{FieldManager: "e2e-role-matrix", Force: &force})
	case roles.DeleteRunning:
		err = releases.Delete(ctx, matrixCreated, metav1.DeleteOptions{})
	case roles.Delete:
		err = releases.Delete(ctx, name, metav1.DeleteOptions{})
	default:
		err = fmt.Errorf("unknown verb %q", verb)
	}
	return err
}

// TestRoleMatrix runs every cell of the README's role table: each row is a user with roles bound in
// a namespace of its own (or a built-in controller, impersonated, with nothing bound), holding a CloneSet
// and a Manual release whose canary waits for `next`, a CloneSet web of no release for server-side apply,
// and a ConfigMap for an owner reference.
func TestRoleMatrix(t *testing.T) {
	t.Parallel()
	admin := framework.Connect(t, "admin")
	for _, subject := range roles.Matrix {
		t.Run(strings.ReplaceAll(subject.Name(), " ", "_"), func(t *testing.T) {
			t.Parallel()
			s := framework.Setup(t, framework.Timeout(4*time.Minute), framework.SmokedCanary())
			ns, ctx := s.Namespace, s.Ctx
			framework.MakeCloneSet(t, ctx, admin, ns, matrixWebCloneSet, 1)
			owner := makeMatrixOwner(t, ctx, admin, ns)
			var caller *framework.Cluster
			if who := subject.Impersonate; who != nil {
				require.True(t, subject.User == "" && len(subject.ClusterRoles) == 0 && !subject.CloneSetUpdate && !subject.CloneSetCreate,
					"%s: an impersonated row has its bootstrap role only: nothing is bound to it", subject.Name())
				// Its bootstrap ClusterRole is bound from the start; this only checks the row is who it says.
				waitAllowed(t, ctx, admin, who.User, who.Groups, ns, "get", "releases.triton.io", "releases")
				caller = as(t, admin, rest.ImpersonationConfig{UserName: who.User, Groups: who.Groups})
			} else {
				grant(t, ctx, admin, ns, subject.User, subject.ClusterRoles, subject.CloneSetUpdate)
				if subject.CloneSetCreate {
					grantCloneSetCreate(t, ctx, admin, ns, subject.User)
				}
				caller = framework.Connect(t, subject.User)
			}

			for _, verb := range roles.Verbs {
				readyFor(t, ctx, admin, ns, verb)
				err := perform(ctx, caller, ns, verb, owner)
				switch want := subject.Want(verb); want {
				case roles.Allowed:
					assert.NoError(t, err, "%s: %s", subject.Name(), verb)
				case roles.Forbidden:
					if assert.True(t, apierrors.IsForbidden(err), "%s: %s: want 403, got %v", subject.Name(), verb, err) {
						assert.Contains(t, err.Error(), `in API group "releases.triton.io"`, "%s: %s: refused by RBAC on releases", subject.Name(), verb)
					}
				case roles.ForbiddenCloneSet, roles.ForbiddenCloneSetCreate:
					missing := "update"
					if want == roles.ForbiddenCloneSetCreate {
						missing = "create"
					}
					refusal := fmt.Sprintf(`User %q cannot %s resource "clonesets" in API group "apps.kruise.io" in the namespace %q`, subject.UserName(), missing, ns)
					if verb == roles.DeleteRunning || verb == roles.PatchOwner {
						refusal += ", nor delete it" // update or delete on the CloneSet would do
					}
					if assert.True(t, apierrors.IsForbidden(err), "%s: %s: want 403, got %v", subject.Name(), verb, err) {
						assert.Contains(t, err.Error(), refusal, "%s: %s: the 403 names the missing CloneSet permission", subject.Name(), verb)
					}
				}
				putRight(t, ctx, admin, ns, subject, verb)
			}
			checkMatrixLeftovers(t, ctx, admin, ns, subject)
		})
	}
}

// checkMatrixLeftovers checks what the row's verbs left: a refused create, apply or delete stored or
// removed nothing, and an allowed one did what it says.
func checkMatrixLeftovers(t *testing.T, ctx context.Context, admin *framework.Cluster, ns string, subject roles.Subject) {
	t.Helper()
	releases := admin.Releases.ReleasesV1alpha1().Releases(ns)
	_, err := releases.Get(ctx, matrixApplied, metav1.GetOptions{})
	if subject.Want(roles.Apply) == roles.Allowed {
		assert.NoError(t, err, "%s: the applied release is stored", subject.Name())
	} else {
		assert.True(t, apierrors.IsNotFound(err), "%s: a refused apply stores nothing: %v", subject.Name(), err)
	}
	_, err = releases.Get(ctx, matrixCreateAction, metav1.GetOptions{})
	_, csErr := admin.Kruise.AppsV1alpha1().CloneSets(ns).Get(ctx, matrixFreshCloneSet, metav1.GetOptions{})
	if subject.Want(roles.CreateAction) == roles.Allowed {
		assert.NoError(t, err, "%s: the Create release is stored", subject.Name())
	} else {
		assert.True(t, apierrors.IsNotFound(err), "%s: a refused Create release stores nothing: %v", subject.Name(), err)
		assert.True(t, apierrors.IsNotFound(csErr), "%s: a refused Create release makes no CloneSet: %v", subject.Name(), csErr)
	}
	r, err := releases.Get(ctx, matrixCreated, metav1.GetOptions{})
	if subject.Want(roles.DeleteRunning) == roles.Allowed {
		// Deleting it canceled it: it is gone, or going once the controller has cleaned up nginx.
		if err == nil {
			assert.NotNil(t, r.DeletionTimestamp, "%s: %s is being deleted", subject.Name(), matrixCreated)
		} else {
			assert.True(t, apierrors.IsNotFound(err), "%s: %s: %v", subject.Name(), matrixCreated, err)
		}
	} else if assert.NoError(t, err, "%s: a refused delete running leaves %s", subject.Name(), matrixCreated) {
		assert.Nil(t, r.DeletionTimestamp, "%s: a refused delete running does not delete %s", subject.Name(), matrixCreated)
		assert.False(t, releaseFinished(r), "%s: a refused delete running does not cancel %s: %s", subject.Name(), matrixCreated, r.Status.Phase)
	}
	r, err = releases.Get(ctx, "nginx-update", metav1.GetOptions{})
	if subject.Want(roles.Delete) == roles.Allowed {
		if err == nil {
			assert.NotNil(t, r.DeletionTimestamp, "%s: nginx-update is being deleted", subject.Name())
		} else {
			assert.True(t, apierrors.IsNotFound(err), "%s: nginx-update: %v", subject.Name(), err)
		}
	} else if assert.NoError(t, err, "%s: a refused delete leaves nginx-update", subject.Name()) {
		assert.Nil(t, r.DeletionTimestamp, "%s: a refused delete does not delete nginx-update", subject.Name())
	}
}
