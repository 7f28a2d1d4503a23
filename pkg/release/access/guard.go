package access

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"

	"github.com/triton-io/triton/pkg/release/cloneset"
)

// CloneSets is the resource a release moves.
var CloneSets = schema.GroupResource{Group: "apps.kruise.io", Resource: "clonesets"}

// Guard holds the CloneSet driver for requests. The only way a request gets at the driver is Driver,
// which asks the authorizer (a SubjectAccessReview to kube-apiserver, with the caller's user, uid,
// groups and extra) whether the caller may update the CloneSet.
type Guard struct {
	authorizer authorizer.Authorizer
	driver     *cloneset.Driver
}

// NewGuard returns a guard over driver. Both are required: a server that may move CloneSets must be
// able to ask who may.
func NewGuard(a authorizer.Authorizer, driver *cloneset.Driver) (*Guard, error) {
	if a == nil || driver == nil {
		return nil, errors.New("the CloneSet guard needs an authorizer and a driver")
	}
	return &Guard{authorizer: a, driver: driver}, nil
}

// Driver returns the CloneSet driver when the request's caller may update CloneSet name in namespace;
// otherwise a 403 that names the missing permission, or a 503 when the permission could not be checked.
func (g *Guard) Driver(ctx context.Context, namespace, name string) (*cloneset.Driver, error) {
	return g.DriverFor(ctx, "update", namespace, name)
}

// DriverFor is Driver for a release that does verb to the CloneSet: "create" for a Create release (it
// creates the CloneSet), "update" for everything else.
func (g *Guard) DriverFor(ctx context.Context, verb, namespace, name string) (*cloneset.Driver, error) {
	if err := g.CheckVerb(ctx, verb, namespace, name); err != nil {
		return nil, err
	}
	return g.driver, nil
}

// Check answers whether the request's caller may update CloneSet name in namespace: nil, a 403 that
// names the missing permission, or a 503 when the permission could not be checked.
func (g *Guard) Check(ctx context.Context, namespace, name string) error {
	return g.CheckVerb(ctx, "update", namespace, name)
}

// CheckVerb answers whether the request's caller may do verb to CloneSet name in namespace.
func (g *Guard) CheckVerb(ctx context.Context, verb, namespace, name string) error {
	u, ok := genericapirequest.UserFrom(ctx)
	if !ok || u == nil {
		return apierrors.NewForbidden(CloneSets, name, errors.New("the request carries no user, so no permission on the CloneSet can be checked"))
	}
	attrs := Attributes(u, namespace, name)
	attrs.Verb = verb
	if verb == "create" {
		attrs.Name = "" // as kube-apiserver asks for a create: a name-restricted rule does not allow one
	}
	return g.authorize(ctx, attrs, "CloneSet "+namespace+"/"+name, func(reason string) error { return ForbiddenVerb(u, verb, namespace, name, reason) })
}

// authorize asks the authorizer for attrs: nil when allowed, a 503 when it could not answer (what names
// the object asked about, as "CloneSet ns/name"), else forbidden's 403 with the authorizer's reason.
func (g *Guard) authorize(ctx context.Context, attrs authorizer.AttributesRecord, what string, forbidden func(reason string) error) error {
	decision, reason, err := g.authorizer.Authorize(ctx, attrs)
	if decision == authorizer.DecisionAllow {
		return nil
	}
	if err != nil {
		return apierrors.NewServiceUnavailable(fmt.Sprintf(
			"cannot check whether user %q may %s %s (nothing was changed; retry): %v", attrs.User.GetName(), attrs.Verb, what, err))
	}
	return forbidden(reason)
}

// CheckDelete answers whether the request's caller may delete a release of CloneSet name in namespace
// that has not finished: a delete cancels it, which moves the CloneSet. Whoever may update the CloneSet
// may cancel; whoever may delete the CloneSet may do worse than cancel, so both may. That covers the
// built-in controllers that delete on a real cluster, each under its own bootstrap role: the namespace
// controller (delete on everything, update on nothing) and the garbage collector. The refusal names
// both permissions.
func (g *Guard) CheckDelete(ctx context.Context, namespace, name string) error {
	err := g.CheckVerb(ctx, "update", namespace, name)
	if err == nil || !apierrors.IsForbidden(err) {
		return err
	}
	if g.CheckVerb(ctx, "delete", namespace, name) == nil {
		return nil
	}
	u, _ := genericapirequest.UserFrom(ctx)
	return apierrors.NewForbidden(CloneSets, name, fmt.Errorf( //nolint:staticcheck // ST1005: worded as kube-apiserver words its own refusals ("User %q cannot ...")
		"User %q cannot update resource %q in API group %q in the namespace %q, nor delete it: deleting a release that has not finished cancels it (and so does an owner reference or finalizer that leads to its deletion), so its caller must be allowed to update or delete the CloneSet itself",
		u.GetName(), CloneSets.Resource, CloneSets.Group, namespace))
}

// Attributes is the permission a caller needs to move a CloneSet: update on it.
func Attributes(u user.Info, namespace, name string) authorizer.AttributesRecord {
	return authorizer.AttributesRecord{
		User:            u,
		Verb:            "update",
		Namespace:       namespace,
		APIGroup:        CloneSets.Group,
		APIVersion:      "*",
		Resource:        CloneSets.Resource,
		Name:            name,
		ResourceRequest: true,
	}
}

// Forbidden is the 403 for a caller who may not update the CloneSet, worded as kube-apiserver words
// its own refusals, plus why a release needs it.
func Forbidden(u user.Info, namespace, name, reason string) error {
	return ForbiddenVerb(u, "update", namespace, name, reason)
}

// ForbiddenVerb is Forbidden for a caller who may not do verb to the CloneSet.
func ForbiddenVerb(u user.Info, verb, namespace, name, reason string) error {
	why := "a release moves the CloneSet, so its caller must be allowed to update the CloneSet itself"
	if verb == "create" {
		why = "a Create release creates the CloneSet, so its caller must be allowed to create CloneSets"
	}
	msg := fmt.Sprintf("User %q cannot %s resource %q in API group %q in the namespace %q: %s",
		u.GetName(), verb, CloneSets.Resource, CloneSets.Group, namespace, why)
	if reason != "" {
		msg += " (" + reason + ")"
	}
	return apierrors.NewForbidden(CloneSets, name, errors.New(msg))
}

// OverrideVerb is the verb on releases that going past a batch's analysis checks needs
// (ReleaseRequest.overrideAnalysis): a permission of its own, which the roles grant to operators only, not
// to whoever may call `next`.
const OverrideVerb = "override"

// CheckOverride answers whether the request's caller may go past the analysis checks of release name in
// namespace: nil, a 403 that names the missing permission, or a 503 when it could not be checked.
func (g *Guard) CheckOverride(ctx context.Context, namespace, name string) error {
	u, ok := genericapirequest.UserFrom(ctx)
	releasesResource := schema.GroupResource{Group: "releases.triton.io", Resource: "releases"}
	if !ok || u == nil {
		return apierrors.NewForbidden(releasesResource, name, errors.New("the request carries no user, so no permission can be checked"))
	}
	attrs := authorizer.AttributesRecord{User: u, Verb: OverrideVerb, Namespace: namespace, APIGroup: releasesResource.Group,
		APIVersion: "*", Resource: releasesResource.Resource, Name: name, ResourceRequest: true}
	return g.authorize(ctx, attrs, "release "+namespace+"/"+name, func(reason string) error {
		msg := fmt.Sprintf("User %q cannot %s resource %q in API group %q in the namespace %q: going past analysis checks needs this permission of its own, not only the one `next` needs",
			u.GetName(), OverrideVerb, releasesResource.Resource, releasesResource.Group, namespace)
		if reason != "" {
			msg += " (" + reason + ")"
		}
		return apierrors.NewForbidden(releasesResource, name, errors.New(msg))
	})
}
