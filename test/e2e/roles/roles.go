package roles

import (
	"fmt"
	"strings"
)

// Verb is something a person does with releases.
type Verb string

// The verbs of the matrix, in the order the test performs them.
const (
	Get           Verb = "get"
	List          Verb = "list"
	Watch         Verb = "watch"
	PatchMetadata Verb = "patch labels"
	// PatchOwner points the owner references of a release that has not finished at an owner (a
	// ConfigMap that exists): an owner reference can make the garbage collector delete the release, which
	// cancels it, so it needs what DeleteRunning needs.
	PatchOwner Verb = "patch owner references"
	PatchSpec  Verb = "patch spec"
	Next       Verb = "next"
	Pause      Verb = "pause"
	Resume     Verb = "resume"
	Cancel     Verb = "cancel"
	// Create creates an Update release of the CloneSet.
	Create Verb = "create"
	// CreateAction creates a release whose action is Create: it creates a CloneSet, so it needs create
	// on CloneSets besides update.
	CreateAction Verb = "create (Create action)"
	// Apply creates a release with server-side apply; it is admitted exactly like a create.
	Apply Verb = "apply (server-side)"
	// DeleteRunning deletes a release that has not finished: that cancels it, so it needs update on the
	// CloneSet, as cancel does, or delete on it (whoever may delete the CloneSet may do worse than cancel).
	DeleteRunning Verb = "delete running"
	// Delete deletes a finished (canceled) release: RBAC on releases alone decides.
	Delete Verb = "delete"
)

// Verbs are the matrix's columns, in the order the test performs them: each allowed verb leaves the
// namespace where the next allowed one can succeed (owner references while the first release still
// waits for next, so it is running whatever the row may do; next on the waiting canary, then pause,
// resume, cancel; a new release once the old one is canceled; a Create release of a CloneSet that does
// not exist; an applied release of another CloneSet; deleting the new release while it runs; deleting the
// canceled one last). Where a verb would leave the namespace otherwise for the verbs after it, allowed or
// refused, the test puts it right as admin (it takes the owner reference away again, cancels the first
// release, and makes the running one), so every cell depends on the row's rights alone.
var Verbs = []Verb{Get, List, Watch, PatchMetadata, PatchOwner, PatchSpec, Next, Pause, Resume, Cancel, Create, CreateAction, Apply, DeleteRunning, Delete}

// Outcome is what a verb gets.
type Outcome int

const (
	// Allowed: 200, or 201 for create.
	Allowed Outcome = iota
	// Forbidden: 403 from RBAC on the release verb itself.
	Forbidden
	// ForbiddenCloneSet: 403 because the caller may not update the target CloneSet (for DeleteRunning and
	// PatchOwner: may neither update nor delete it).
	ForbiddenCloneSet
	// ForbiddenCloneSetCreate: 403 because the caller may not create the CloneSet a Create release
	// would create.
	ForbiddenCloneSetCreate
)

func (o Outcome) String() string {
	switch o {
	case Allowed:
		return "yes"
	case Forbidden:
		return "403"
	case ForbiddenCloneSet:
		return "403 (CloneSet)"
	default:
		return "403 (CloneSet create)"
	}
}

// Subject is a row: a user with some ClusterRoles bound in the release's namespace, with or without
// update (and create) on CloneSets there; or a built-in controller, impersonated, with its bootstrap
// ClusterRole and nothing bound in the namespace.
type Subject struct {
	// User is a static user of the local control plane: alice, or bob who has no role at all. Unset when
	// the row impersonates.
	User string
	// Impersonate makes the row an identity the admin impersonates instead of a static user: a built-in
	// controller as kube-controller-manager runs it on a real cluster (--use-service-account-credentials).
	// Nothing is bound to it (no ClusterRoles, no CloneSet Roles): its rights are its bootstrap ClusterRole's.
	Impersonate *Identity
	// ClusterRoles are bound to the user with RoleBindings in the namespace.
	ClusterRoles []string
	// CloneSetUpdate binds a Role allowing get and update on clonesets.apps.kruise.io as well.
	CloneSetUpdate bool
	// CloneSetCreate binds a Role allowing get and create on clonesets.apps.kruise.io as well.
	CloneSetCreate bool
	// Allowed are the verbs that succeed; DeniedByCloneSet those refused only for want of CloneSet
	// update, DeniedByCloneSetCreate those refused only for want of CloneSet create. Every other verb is
	// refused by RBAC.
	Allowed, DeniedByCloneSet, DeniedByCloneSetCreate []Verb
}

// Identity is who an impersonated row acts as.
type Identity struct {
	// Label names the row in the table: "namespace controller".
	Label string
	// User and Groups are the user name and groups requests carry.
	User   string
	Groups []string
}

// controller is kube-controller-manager's controller of service account sa in kube-system, as every server
// sees it when it runs with --use-service-account-credentials.
func controller(label, sa string) *Identity {
	return &Identity{
		Label:  label,
		User:   "system:serviceaccount:kube-system:" + sa,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"},
	}
}

// UserName is the user name the row's requests carry, as refusals name it.
func (s Subject) UserName() string {
	if s.Impersonate != nil {
		return s.Impersonate.User
	}
	return s.User
}

// Name is the row's label.
func (s Subject) Name() string {
	if s.Impersonate != nil {
		return s.Impersonate.Label + " (" + s.Impersonate.User + ")"
	}
	roles := "no role"
	if len(s.ClusterRoles) > 0 {
		roles = strings.Join(s.ClusterRoles, ", ")
	}
	var cloneSet []string
	if s.CloneSetUpdate {
		cloneSet = append(cloneSet, "update")
	}
	if s.CloneSetCreate {
		cloneSet = append(cloneSet, "create")
	}
	if len(cloneSet) > 0 {
		return s.User + ": " + roles + " + CloneSet " + strings.Join(cloneSet, ", ")
	}
	return s.User + ": " + roles
}

// Want is the outcome of verb for the subject.
func (s Subject) Want(v Verb) Outcome {
	for _, a := range s.Allowed {
		if a == v {
			return Allowed
		}
	}
	for _, d := range s.DeniedByCloneSet {
		if d == v {
			return ForbiddenCloneSet
		}
	}
	for _, d := range s.DeniedByCloneSetCreate {
		if d == v {
			return ForbiddenCloneSetCreate
		}
	}
	return Forbidden
}

// verbs joins lists of verbs into a new one.
func verbs(lists ...[]Verb) []Verb {
	var out []Verb
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

var (
	read    = []Verb{Get, List, Watch}
	approve = []Verb{Next, Pause, Resume}
	// moving are the verbs that move a CloneSet, or would: they need update on it (or, for
	// DeleteRunning and PatchOwner, delete).
	moving   = []Verb{PatchOwner, PatchSpec, Next, Pause, Resume, Cancel, Create, Apply, DeleteRunning}
	operate  = verbs(read, []Verb{PatchMetadata, PatchOwner, PatchSpec}, approve, []Verb{Cancel, Create, Apply, DeleteRunning, Delete})
	approver = verbs(read, approve)
	// createAction is a Create release: create on the CloneSet is asked first, then update.
	createAction = []Verb{CreateAction}
)

// Matrix is every row the tests run and the README shows.
var Matrix = []Subject{
	{User: "bob"},
	{User: "bob", CloneSetUpdate: true},
	{User: "alice", ClusterRoles: []string{"triton-release-viewer"}, CloneSetUpdate: true, Allowed: read},
	{User: "alice", ClusterRoles: []string{"triton-release-approver"}, Allowed: read, DeniedByCloneSet: approve},
	{User: "alice", ClusterRoles: []string{"triton-release-approver"}, CloneSetUpdate: true, Allowed: approver},
	{User: "alice", ClusterRoles: []string{"triton-release-operator"},
		Allowed: []Verb{Get, List, Watch, PatchMetadata, Delete}, DeniedByCloneSet: moving, DeniedByCloneSetCreate: createAction},
	{User: "alice", ClusterRoles: []string{"triton-release-operator"}, CloneSetUpdate: true,
		Allowed: operate, DeniedByCloneSetCreate: createAction},
	// Create on CloneSets without update: a Create release still needs update.
	{User: "alice", ClusterRoles: []string{"triton-release-operator"}, CloneSetCreate: true,
		Allowed: []Verb{Get, List, Watch, PatchMetadata, Delete}, DeniedByCloneSet: verbs(moving, createAction)},
	{User: "alice", ClusterRoles: []string{"triton-release-operator"}, CloneSetUpdate: true, CloneSetCreate: true,
		Allowed: verbs(operate, createAction)},
	{User: "alice", ClusterRoles: []string{"view"}, CloneSetUpdate: true, Allowed: read},
	// A tenant who may create pods, and approve releases, but not update the CloneSet.
	{User: "alice", ClusterRoles: []string{"edit"}, Allowed: read, DeniedByCloneSet: approve},
	{User: "alice", ClusterRoles: []string{"edit"}, CloneSetUpdate: true, Allowed: approver},
	{User: "alice", ClusterRoles: []string{"admin"}, CloneSetUpdate: true, Allowed: operate, DeniedByCloneSetCreate: createAction},
	// system:controller:namespace-controller: get, list, watch, delete, deletecollection on everything.
	// It deletes a running release because it may delete the CloneSet.
	{Impersonate: controller("namespace controller", "namespace-controller"),
		Allowed: verbs(read, []Verb{DeleteRunning, Delete})},
	// system:controller:generic-garbage-collector: get, list, watch, patch, update, delete on everything,
	// the CloneSet included, but no create: not on releases, not on their subresources (next, pause,
	// resume, cancel), and server-side apply of a new release is a create.
	{Impersonate: controller("garbage collector", "generic-garbage-collector"),
		Allowed: verbs(read, []Verb{PatchMetadata, PatchOwner, PatchSpec, DeleteRunning, Delete})},
}

// legend explains the columns, rows and outcome the README's prose above the table does not.
const legend = "`create (Create action)` creates a release whose action is `Create`: it creates the CloneSet, so it " +
	"needs `create` on CloneSets besides `update`, and \"403 (CloneSet create)\" is the refusal for want of it " +
	"(\"CloneSet create\" is a Role granting `get`, `create` on `clonesets.apps.kruise.io`). `apply (server-side)` " +
	"creates a release with server-side apply, which is admitted exactly like `create`. `delete running` deletes a " +
	"release that has not finished, which cancels it, so it needs `update` on the CloneSet, as `cancel` does, or " +
	"`delete` on it (its \"403 (CloneSet)\" is for want of both); `delete` deletes a finished one. " +
	"`patch owner references` sets `metadata.ownerReferences` of a release that has not finished (to a ConfigMap " +
	"that exists): an owner reference can make the garbage collector delete the release, so changing owner " +
	"references or finalizers needs what `delete running` needs, while other metadata (`patch labels`) needs only " +
	"`patch` on releases.\n\n" +
	"The namespace controller and the garbage collector are kube-controller-manager's, as a real cluster runs them " +
	"(`--use-service-account-credentials`): each acts under its service account with its bootstrap ClusterRole and " +
	"nothing bound in the namespace, and the test impersonates it. The namespace controller (`get`, `list`, " +
	"`watch`, `delete`, `deletecollection` on everything) may delete a running release because it may delete the CloneSet; the garbage " +
	"collector (`patch`, `update` and `delete` on everything as well, but no `create`) may change a release's " +
	"metadata and spec and delete it, but not run `next`, `pause`, `resume` or `cancel` (a `create` on the " +
	"subresource) nor create a release.\n"

// Markdown is the matrix as a README table, with a legend of its newer columns.
func Markdown() string {
	var b strings.Builder
	b.WriteString("| who: roles bound in the namespace |")
	for _, v := range Verbs {
		fmt.Fprintf(&b, " %s |", v)
	}
	b.WriteString("\n| --- |")
	for range Verbs {
		b.WriteString(" --- |")
	}
	b.WriteString("\n")
	for _, s := range Matrix {
		fmt.Fprintf(&b, "| %s |", s.Name())
		for _, v := range Verbs {
			fmt.Fprintf(&b, " %s |", s.Want(v))
		}
		b.WriteString("\n")
	}
	b.WriteString("\n" + legend)
	return b.String()
}
