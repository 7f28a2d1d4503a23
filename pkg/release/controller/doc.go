// Package controller moves releases on from what their pods do: on every event of a release, its CloneSet
// or their pods, it lets plan.Progress decide what the observation means (a batch Smoked, Baked or Failed,
// an Auto release's next batch), stores that first, then has the CloneSet and the pods follow it through
// pkg/release/cloneset. Only the leader (a Lease) reconciles.
package controller
