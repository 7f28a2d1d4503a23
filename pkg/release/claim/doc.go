// Package claim makes "at most one unfinished release per CloneSet" hold across every replica of the
// server: admitting a release (checking that no other release runs on its CloneSet, then storing it) is
// done under a lock per CloneSet, kept in the etcd the releases are stored in. Without it two creates in
// the same moment (two pipelines, or two replicas) could both pass the check.
package claim
