// Package roles is the access matrix of releases: who may do what, by role. The e2e test
// TestRoleMatrix runs every cell of it on the local control plane, and hack/role-table prints it into
// the README, so the README's table is exactly what the tests prove.
package roles
