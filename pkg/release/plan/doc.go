// Package plan is a release's logic without I/O: the batch plan from its spec and the size of its
// CloneSet, the phase machine the verbs (Act) and the controller (Progress: when a batch is Smoked, Baked
// or Failed, and when an Auto release moves on) move it through, and what it wants of its CloneSet
// (IntentOf).
package plan
