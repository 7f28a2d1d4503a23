// Package plan computes the batch plan of a Release: pure functions of its spec and the size of its
// CloneSet, with no I/O.
package plan
