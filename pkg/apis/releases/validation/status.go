package validation

import (
	"fmt"
	"strings"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/triton-io/triton/pkg/apis/releases"
)

// ValidateReleaseStatusTransition checks that a write of the status moves the release only the way the
// server moves it (pkg/release/plan): the phase along the allowed graph (releases.PhaseMayMove), the current
// batch never back, the plan (its batches' number, index, canary, replicas and target) never reshaped
// once made, and what the release recorded of its CloneSet before it started (what `cancel` returns the
// CloneSet to), and which CloneSet it is (its UID), never changed once recorded. It runs on every write of the status, the server's own
// included, so it accepts every move the server makes.
//
// A release stored without a plan (by a server without a cluster, which plans nothing) may get one.
func ValidateReleaseStatusTransition(newS, oldS *releases.ReleaseStatus, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	allErrs = append(allErrs, validatePhaseMove(newS.Phase, oldS.Phase, fldPath.Child("phase"))...)
	if newS.CurrentBatch < oldS.CurrentBatch {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("currentBatch"), newS.CurrentBatch,
			fmt.Sprintf("must not be less than %d: a release never goes back to an earlier batch", oldS.CurrentBatch)))
	}
	allErrs = append(allErrs, validatePlanUnchanged(newS.Batches, oldS.Batches, fldPath.Child("batches"))...)
	allErrs = append(allErrs, validateBeforeReleaseUnchanged(newS.CloneSet, oldS.CloneSet, fldPath.Child("cloneSet"))...)
	allErrs = append(allErrs, validateAnalysisChecksUnchanged(newS.AnalysisChecks, oldS.AnalysisChecks, fldPath.Child("analysisChecks"))...)
	return allErrs
}

func validatePhaseMove(to, from releases.ReleasePhase, fldPath *field.Path) field.ErrorList {
	if to != "" && !isSupportedReleasePhase.Has(to) {
		return nil // ValidateReleaseStatus reports the unknown phase
	}
	if releases.PhaseMayMove(from, to) {
		return nil
	}
	shown := from
	if shown == "" {
		shown = releases.ReleasePending
	}
	moves := releases.PhaseMoves(from)
	if len(moves) == 0 {
		return field.ErrorList{field.Invalid(fldPath, to, fmt.Sprintf("a %s release never changes phase", shown))}
	}
	names := make([]string, len(moves))
	for i, p := range moves {
		names[i] = string(p)
	}
	return field.ErrorList{field.Invalid(fldPath, to,
		fmt.Sprintf("a %s release may only move to %s", shown, strings.Join(names, ", ")))}
}

// validatePlanUnchanged: the batches' phases, pods and times change as the release runs; their number
// and what each one is do not.
func validatePlanUnchanged(newB, oldB []releases.ReleaseBatch, fldPath *field.Path) field.ErrorList {
	if len(oldB) == 0 {
		return nil
	}
	if len(newB) != len(oldB) {
		return field.ErrorList{field.Invalid(fldPath, fmt.Sprintf("%d batches", len(newB)),
			fmt.Sprintf("must have %d batches: the plan may not change once made", len(oldB)))}
	}
	var allErrs field.ErrorList
	for i := range oldB {
		n, o, idxPath := &newB[i], &oldB[i], fldPath.Index(i)
		allErrs = append(allErrs, unchanged(n.Index, o.Index, idxPath.Child("index"), "the plan may not change once made")...)
		allErrs = append(allErrs, unchanged(n.Canary, o.Canary, idxPath.Child("canary"), "the plan may not change once made")...)
		allErrs = append(allErrs, unchanged(n.Replicas, o.Replicas, idxPath.Child("replicas"), "the plan may not change once made")...)
		allErrs = append(allErrs, unchanged(n.Target, o.Target, idxPath.Child("target"), "the plan may not change once made")...)
	}
	return allErrs
}

// validateBeforeReleaseUnchanged: what the release recorded of its CloneSet when it was admitted is what
// `cancel` and the end of the release return the CloneSet to; once recorded, it stays.
func validateBeforeReleaseUnchanged(newO, oldO *releases.CloneSetObservation, fldPath *field.Path) field.ErrorList {
	if oldO == nil {
		return nil
	}
	if newO == nil {
		newO = &releases.CloneSetObservation{}
	}
	const why = "may not change once recorded: it is what the CloneSet returns to"
	var allErrs field.ErrorList
	if oldO.RevisionBeforeRelease != "" {
		allErrs = append(allErrs, unchanged(newO.RevisionBeforeRelease, oldO.RevisionBeforeRelease, fldPath.Child("revisionBeforeRelease"), why)...)
	}
	if oldO.ReplicasBeforeRelease != nil {
		allErrs = append(allErrs, unchanged(newO.ReplicasBeforeRelease, oldO.ReplicasBeforeRelease, fldPath.Child("replicasBeforeRelease"), why)...)
	}
	if oldO.MaxUnavailableBeforeRelease != nil {
		allErrs = append(allErrs, unchanged(newO.MaxUnavailableBeforeRelease, oldO.MaxUnavailableBeforeRelease, fldPath.Child("maxUnavailableBeforeRelease"), why)...)
	}
	if oldO.MaxSurgeBeforeRelease != nil {
		allErrs = append(allErrs, unchanged(newO.MaxSurgeBeforeRelease, oldO.MaxSurgeBeforeRelease, fldPath.Child("maxSurgeBeforeRelease"), why)...)
	}
	if oldO.UpdateStrategyTypeBeforeRelease != "" {
		allErrs = append(allErrs, unchanged(newO.UpdateStrategyTypeBeforeRelease, oldO.UpdateStrategyTypeBeforeRelease, fldPath.Child("updateStrategyTypeBeforeRelease"), why)...)
	}
	if len(oldO.PodsBeforeRelease) > 0 {
		allErrs = append(allErrs, unchanged(newO.PodsBeforeRelease, oldO.PodsBeforeRelease, fldPath.Child("podsBeforeRelease"), why)...)
	}
	if oldO.UID != "" {
		allErrs = append(allErrs, unchanged(newO.UID, oldO.UID, fldPath.Child("uid"),
			"may not change once recorded: it is the CloneSet the release drives, and no other of its name")...)
	}
	return allErrs
}

// unchanged is an Invalid error on fldPath when newVal differs from oldVal (compared as the API compares:
// pointers by value).
func unchanged(newVal, oldVal interface{}, fldPath *field.Path, why string) field.ErrorList {
	if apiequality.Semantic.DeepEqual(newVal, oldVal) {
		return nil
	}
	return field.ErrorList{field.Invalid(fldPath, newVal, why)}
}
