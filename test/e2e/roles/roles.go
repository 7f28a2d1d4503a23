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
	PatchSpec     Verb = "patch spec"
	Next          Verb = "next"
	Pause         Verb = "pause"
	Resume        Verb = "resume"
	Cancel        Verb = "cancel"
	// Create creates an Update release of the CloneSet.
	Create Verb = "create"
	// CreateAction creates a release whose action is Create: it creates a CloneSet, so it needs create
	// on CloneSets besides update.
	CreateAction Verb = "create (Create action)"
	// Apply creates a release with server-side apply; it is admitted exactly like a create.
	Apply Verb = "apply (server-side)"
	// DeleteRunning deletes a release that has not finished: that cancels it, so it needs what cancel
	// needs.
	DeleteRunning Verb = "delete running"
	// Delete deletes a finished (canceled) release: RBAC on releases alone decides.
	Delete Verb = "delete"
)

// Verbs are the matrix's columns, in the order the test performs them: each allowed verb leaves the
// namespace where the next allowed one can succeed (next on the waiting canary, then pause, resume,
// cancel; a new release once the old one is canceled; a Create release of a CloneSet that does not
// exist; an applied release of another CloneSet; deleting the new release while it runs; deleting the
// canceled one last). Where a refused verb would leave the namespace otherwise than an allowed one, the
// test puts it right as admin first (it cancels the first release, and makes the running one), so every
// cell depends on the row's rights alone.
var Verbs = []Verb{Get, List, Watch, PatchMetadata, PatchSpec, Next, Pause, Resume, Cancel, Create, CreateAction, Apply, DeleteRunning, Delete}

// Outcome is what a verb gets.
type Outcome int

const (
	// Allowed: 200, or 201 for create.
	Allowed Outcome = iota
	// Forbidden: 403 from RBAC on the release verb itself.
	Forbidden
	// ForbiddenCloneSet: 403 because the caller may not update the target CloneSet.
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
// update (and create) on CloneSets there.
type Subject struct {
	// User is a static user of the local control plane: alice, or bob who has no role at all.
	User string
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

// Name is the row's label.
func (s Subject) Name() string {
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
	// moving are the verbs that move a CloneSet, or would: they need update on it.
	moving   = []Verb{PatchSpec, Next, Pause, Resume, Cancel, Create, Apply, DeleteRunning}
	operate  = verbs(read, []Verb{PatchMetadata, PatchSpec}, approve, []Verb{Cancel, Create, Apply, DeleteRunning, Delete})
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
	{User: "alice", ClusterRoles: []string{"edit"}, CloneSetUpdate: true, Allowed: approver},
	{User: "alice", ClusterRoles: []string{"admin"}, CloneSetUpdate: true, Allowed: operate, DeniedByCloneSetCreate: createAction},
}

// legend explains the columns and the outcome the README's prose above the table does not.
const legend = "`create (Create action)` creates a release whose action is `Create`: it creates the CloneSet, so it " +
	"needs `create` on CloneSets besides `update`, and \"403 (CloneSet create)\" is the refusal for want of it " +
	"(\"CloneSet create\" is a Role granting `get`, `create` on `clonesets.apps.kruise.io`). `apply (server-side)` " +
	"creates a release with server-side apply, which is admitted exactly like `create`. `delete running` deletes a " +
	"release that has not finished, which cancels it, so it needs what `cancel` needs; `delete` deletes a finished one.\n"

// Markdown is the matrix as a README table, with a legend of its newer columns.
func Markdown() string {
	var b strings.Builder
	b.WriteString("| roles bound in the namespace |")
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
