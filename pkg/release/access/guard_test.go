package access

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"

	"github.com/triton-io/triton/pkg/release/cloneset"
)

// recorder answers with a fixed decision and keeps what it was asked.
type recorder struct {
	decision authorizer.Decision
	reason   string
	err      error
	asked    []authorizer.Attributes
}

func (r *recorder) Authorize(ctx context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
	r.asked = append(r.asked, a)
	return r.decision, r.reason, r.err
}

func (r *recorder) authorizer() authorizer.Authorizer { return authorizer.AuthorizerFunc(r.Authorize) }

var alice = &user.DefaultInfo{
	Name:   "alice",
	UID:    "uid-alice",
	Groups: []string{"release-approvers", "system:authenticated"},
	Extra:  map[string][]string{"scopes": {"ci"}},
}

func TestGuardAsksForUpdateOnTheCloneSetAsTheCaller(t *testing.T) {
	authz := &recorder{decision: authorizer.DecisionAllow}
	driver := &cloneset.Driver{}
	g, err := NewGuard(authz.authorizer(), driver)
	require.NoError(t, err)

	got, err := g.Driver(genericapirequest.WithUser(context.Background(), alice), "shop", "web")
	require.NoError(t, err)
	assert.Same(t, driver, got)

	require.Len(t, authz.asked, 1)
	a := authz.asked[0]
	assert.Equal(t, "update", a.GetVerb())
	assert.Equal(t, "apps.kruise.io", a.GetAPIGroup())
	assert.Equal(t, "clonesets", a.GetResource())
	assert.Equal(t, "", a.GetSubresource())
	assert.Equal(t, "shop", a.GetNamespace())
	assert.Equal(t, "web", a.GetName())
	assert.True(t, a.IsResourceRequest())
	// Who asks is the caller, all of them: the SubjectAccessReview carries user, uid, groups and extra.
	assert.Equal(t, alice.Name, a.GetUser().GetName())
	assert.Equal(t, alice.UID, a.GetUser().GetUID())
	assert.Equal(t, alice.Groups, a.GetUser().GetGroups())
	assert.Equal(t, alice.Extra, a.GetUser().GetExtra())
}

func TestGuardRefusalNamesTheMissingPermission(t *testing.T) {
	for _, decision := range []authorizer.Decision{authorizer.DecisionDeny, authorizer.DecisionNoOpinion} {
		g, err := NewGuard((&recorder{decision: decision, reason: "no RBAC policy matched"}).authorizer(), &cloneset.Driver{})
		require.NoError(t, err)
		got, err := g.Driver(genericapirequest.WithUser(context.Background(), alice), "shop", "web")
		assert.Nil(t, got, "no driver without permission")
		require.True(t, apierrors.IsForbidden(err), "%v", err)
		assert.Equal(t, int32(http.StatusForbidden), err.(apierrors.APIStatus).Status().Code)
		assert.Contains(t, err.Error(), `User "alice" cannot update resource "clonesets" in API group "apps.kruise.io" in the namespace "shop"`)
		assert.Contains(t, err.Error(), `no RBAC policy matched`)
		details := err.(apierrors.APIStatus).Status().Details
		require.NotNil(t, details)
		assert.Equal(t, "apps.kruise.io", details.Group)
		assert.Equal(t, "clonesets", details.Kind)
		assert.Equal(t, "web", details.Name)
	}
}

func TestGuardUnableToAskIs503(t *testing.T) {
	g, err := NewGuard((&recorder{decision: authorizer.DecisionNoOpinion, err: errors.New("connection refused")}).authorizer(), &cloneset.Driver{})
	require.NoError(t, err)
	got, err := g.Driver(genericapirequest.WithUser(context.Background(), alice), "shop", "web")
	assert.Nil(t, got)
	require.True(t, apierrors.IsServiceUnavailable(err), "%v", err)
	assert.Contains(t, err.Error(), "connection refused")
}

func TestGuardWithoutUserRefuses(t *testing.T) {
	authz := &recorder{decision: authorizer.DecisionAllow}
	g, err := NewGuard(authz.authorizer(), &cloneset.Driver{})
	require.NoError(t, err)
	got, err := g.Driver(context.Background(), "shop", "web")
	assert.Nil(t, got)
	assert.True(t, apierrors.IsForbidden(err), "%v", err)
	assert.Empty(t, authz.asked)
}

func TestNewGuardNeedsBoth(t *testing.T) {
	_, err := NewGuard(nil, &cloneset.Driver{})
	assert.Error(t, err)
	_, err = NewGuard((&recorder{}).authorizer(), nil)
	assert.Error(t, err)
}

// A Create release creates its CloneSet: the guard asks for create, without a name (as kube-apiserver
// asks for a create, so a rule restricted to resource names does not allow it), and the refusal says so.
func TestGuardAsksForCreateWithoutAName(t *testing.T) {
	authz := &recorder{decision: authorizer.DecisionNoOpinion}
	g, err := NewGuard(authz.authorizer(), &cloneset.Driver{})
	require.NoError(t, err)

	_, err = g.DriverFor(genericapirequest.WithUser(context.Background(), alice), "create", "shop", "web")
	require.True(t, apierrors.IsForbidden(err), "%v", err)
	assert.Contains(t, err.Error(), `User "alice" cannot create resource "clonesets" in API group "apps.kruise.io" in the namespace "shop"`)
	require.Len(t, authz.asked, 1)
	assert.Equal(t, "create", authz.asked[0].GetVerb())
	assert.Equal(t, "", authz.asked[0].GetName())
	assert.Equal(t, "shop", authz.asked[0].GetNamespace())
}

// verbs allows exactly the verbs it holds, on any CloneSet.
type verbs map[string]bool

func (v verbs) authorizer(asked *[]string) authorizer.Authorizer {
	return authorizer.AuthorizerFunc(func(ctx context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
		*asked = append(*asked, a.GetVerb())
		if v[a.GetVerb()] {
			return authorizer.DecisionAllow, "", nil
		}
		return authorizer.DecisionNoOpinion, "", nil
	})
}

// Deleting an unfinished release cancels it: allowed to whoever may update the CloneSet, and to whoever
// may delete it (the namespace controller's bootstrap role has delete and no update).
func TestCheckDeleteAllowsUpdateOrDeleteOfTheCloneSet(t *testing.T) {
	for _, tc := range []struct {
		name    string
		holds   verbs
		allowed bool
	}{
		{"update", verbs{"update": true}, true},
		{"delete only, as the namespace controller", verbs{"delete": true, "deletecollection": true}, true},
		{"patch and get only", verbs{"patch": true, "get": true}, false},
		{"nothing", verbs{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var asked []string
			g, err := NewGuard(tc.holds.authorizer(&asked), &cloneset.Driver{})
			require.NoError(t, err)
			err = g.CheckDelete(genericapirequest.WithUser(context.Background(), alice), "shop", "web")
			if tc.allowed {
				assert.NoError(t, err)
				return
			}
			require.True(t, apierrors.IsForbidden(err), "%v", err)
			assert.Contains(t, err.Error(), `User "alice" cannot update resource "clonesets" in API group "apps.kruise.io" in the namespace "shop", nor delete it`)
			assert.Equal(t, []string{"update", "delete"}, asked)
		})
	}
}

// A permission that cannot be checked is a 503, never an allow.
func TestCheckDeleteFailsClosed(t *testing.T) {
	g, err := NewGuard((&recorder{decision: authorizer.DecisionNoOpinion, err: errors.New("webhook down")}).authorizer(), &cloneset.Driver{})
	require.NoError(t, err)
	err = g.CheckDelete(genericapirequest.WithUser(context.Background(), alice), "shop", "web")
	assert.True(t, apierrors.IsServiceUnavailable(err), "%v", err)
}
