// Package roles is the access matrix of releases: who may do what, by role. The e2e test
// TestRoleMatrix runs every cell of it on the local control plane, and hack/role-table prints it into
// the README, so the README's table is exactly what the tests prove.
package roles

import (
	"fmt"
	"strings"
)

// Verb is something a person does with releases.
type Verb string

// The verbs of the matrix, in the order the test performs them on one release.
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
	Create        Verb = "create"
	Delete        Verb = "delete"
)

// Verbs are the matrix's columns, in the order the test performs them: each allowed verb leaves the
// release where the next allowed one can succeed (next on the waiting canary, then pause, resume,
// cancel; a new release once the old one is canceled; delete last).
var Verbs = []Verb{Get, List, Watch, PatchMetadata, PatchSpec, Next, Pause, Resume, Cancel, Create, Delete}

// Outcome is what a verb gets.
type Outcome int

const (
	// Allowed: 200, or 201 for create.
	Allowed Outcome = iota
	// Forbidden: 403 from RBAC on the release verb itself.
	Forbidden
	// ForbiddenCloneSet: 403 because the caller may not update the target CloneSet.
	ForbiddenCloneSet
)

func (o Outcome) String() string {
	switch o {
	case Allowed:
		return "yes"
	case Forbidden:
		return "403"
	default:
		return "403 (CloneSet)"
	}
}

// Subject is a row: a user with some ClusterRoles bound in the release's namespace, with or without
// update on CloneSets there.
type Subject struct {
	// User is a static user of the local control plane: alice, or bob who has no role at all.
	User string
	// ClusterRoles are bound to the user with RoleBindings in the namespace.
	ClusterRoles []string
	// CloneSetUpdate binds a Role allowing get and update on clonesets.apps.kruise.io as well.
	CloneSetUpdate bool
	// Allowed are the verbs that succeed; DeniedByCloneSet those refused only for want of CloneSet
	// update. Every other verb is refused by RBAC.
	Allowed, DeniedByCloneSet []Verb
}

// Name is the row's label.
func (s Subject) Name() string {
	roles := "no role"
	if len(s.ClusterRoles) > 0 {
		roles = strings.Join(s.ClusterRoles, ", ")
	}
	if s.CloneSetUpdate {
		return s.User + ": " + roles + " + CloneSet update"
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
	return Forbidden
}

var (
	read     = []Verb{Get, List, Watch}
	approve  = []Verb{Next, Pause, Resume}
	moving   = []Verb{PatchSpec, Next, Pause, Resume, Cancel, Create}
	operate  = append(append(append([]Verb{}, read...), PatchMetadata, PatchSpec), append(approve, Cancel, Create, Delete)...)
	approver = append(append([]Verb{}, read...), approve...)
)

// Matrix is every row the tests run and the README shows.
var Matrix = []Subject{
	{User: "bob"},
	{User: "bob", CloneSetUpdate: true},
	{User: "alice", ClusterRoles: []string{"triton-release-viewer"}, CloneSetUpdate: true, Allowed: read},
	{User: "alice", ClusterRoles: []string{"triton-release-approver"}, Allowed: read, DeniedByCloneSet: approve},
	{User: "alice", ClusterRoles: []string{"triton-release-approver"}, CloneSetUpdate: true, Allowed: approver},
	{User: "alice", ClusterRoles: []string{"triton-release-operator"},
		Allowed: []Verb{Get, List, Watch, PatchMetadata, Delete}, DeniedByCloneSet: moving},
	{User: "alice", ClusterRoles: []string{"triton-release-operator"}, CloneSetUpdate: true, Allowed: operate},
	{User: "alice", ClusterRoles: []string{"view"}, CloneSetUpdate: true, Allowed: read},
	{User: "alice", ClusterRoles: []string{"edit"}, CloneSetUpdate: true, Allowed: approver},
	{User: "alice", ClusterRoles: []string{"admin"}, CloneSetUpdate: true, Allowed: operate},
}

// Markdown is the matrix as a README table.
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
	return b.String()
}
