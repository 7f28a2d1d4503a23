// Package moves decides which pods of a release go into traffic or out of it, which are held and let go,
// and which are replaced: from a release, its CloneSet and its pods, with no client, no context and no I/O.
// It tells a release's pods apart (ReleasePods, NewPods, BluePods, Strays, ...), counts them
// (ObservationOf), and says every pod write that makes them follow the release (OutFirst before the
// CloneSet write, Decide after it: Moves). pkg/release/cloneset reads, then carries the Moves out; it
// imports this package, which imports pkg/release/plan, never the reverse.
package moves
