// Package cloneset is the only code that writes CloneSets and the readiness gate conditions of their pods.
// It makes a CloneSet what a Release wants (plan.IntentOf) with absolute values, so every write is
// idempotent, and it honours dry-run on every write. Which pods go into traffic or out of it, are held,
// let go or replaced is decided by package moves; this package reads, and makes those writes.
package cloneset
