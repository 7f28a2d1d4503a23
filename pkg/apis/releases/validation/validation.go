package validation

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/triton-io/triton/pkg/apis/releases"
)

const (
	// MaxHistoryEntries is how many history entries a Release keeps; the controller drops the oldest.
	MaxHistoryEntries = 50
	// MaxReasonLength is the longest reason, in characters, a ReleaseRequest may carry into the history.
	MaxReasonLength = 1024
	// MaxTemplateBytes bounds spec.template, as JSON: the Release (spec, status, metadata) must stay under
	// etcd's 1.5 MiB request limit whatever its status grows to (see TestLargestReleaseFitsInEtcd).
	MaxTemplateBytes = 256 << 10
	// MaxPodsToDelete bounds spec.podsToDelete.
	MaxPodsToDelete = 1000
	// MaxMetadataAndSpecBytes bounds a Release's metadata and spec together, as JSON.
	MaxMetadataAndSpecBytes = 512 << 10
	// MaxMetadataBytes bounds a Release's labels and annotations together: the sum of the bytes of every
	// key and value, counted as Kubernetes counts its own (far larger) TotalAnnotationSizeLimitB. Every
	// list and watch of releases carries them, and the server keeps them in its watch cache.
	MaxMetadataBytes = 64 << 10
)

var (
	supportedActions = []releases.ReleaseAction{
		releases.ActionCreate, releases.ActionUpdate, releases.ActionScale, releases.ActionRestart, releases.ActionRollback,
	}
	supportedModes           = []releases.ReleaseMode{releases.ModeManual, releases.ModeAuto}
	supportedReleasePhases   = releases.ReleasePhases
	supportedBatchPhases     = []releases.BatchPhase{releases.BatchPending, releases.BatchSmoking, releases.BatchSmoked, releases.BatchBaking, releases.BatchBaked, releases.BatchFailed, releases.BatchSkipped}
	supportedFailurePolicies = []releases.FailurePolicy{releases.FailurePause, releases.FailureCancel}
	supportedStrategyTypes   = []releases.StrategyType{releases.StrategyBatch, releases.StrategyBlueGreen}
	templateActions          = []releases.ReleaseAction{releases.ActionCreate, releases.ActionUpdate}
	selectorActions          = []releases.ReleaseAction{releases.ActionCreate}
	replicasActions          = []releases.ReleaseAction{releases.ActionCreate, releases.ActionScale}
	podsToDeleteActions      = []releases.ReleaseAction{releases.ActionScale, releases.ActionRestart}
	toRevisionActions        = []releases.ReleaseAction{releases.ActionRollback}
	isSupportedAction        = sets.New(supportedActions...)
	isSupportedMode          = sets.New(supportedModes...)
	isSupportedFailurePolicy = sets.New(supportedFailurePolicies...)
	isSupportedStrategyType  = sets.New(supportedStrategyTypes...)
	isSupportedReleasePhase  = sets.New(supportedReleasePhases...)
	isSupportedBatchPhase    = sets.New(supportedBatchPhases...)
)

// ValidateRelease validates a Release on create.
func ValidateRelease(r *releases.Release) field.ErrorList {
	allErrs := apimachineryvalidation.ValidateObjectMeta(&r.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	allErrs = append(allErrs, ValidateReleaseSpec(&r.Spec, field.NewPath("spec"))...)
	allErrs = append(allErrs, validateReleaseAnalysis(r.Spec.Strategy.Analysis, r.Namespace, field.NewPath("spec", "strategy", "analysis"))...)
	allErrs = append(allErrs, validateImagesPrintable(r.Spec.Template, field.NewPath("spec", "template", "spec"))...)
	allErrs = append(allErrs, validateMetadataSize(&r.ObjectMeta, nil)...)
	allErrs = append(allErrs, validateSize(r)...)
	return allErrs
}

// metadataBytes is the size of labels and annotations as MaxMetadataBytes counts it, and the part of it
// that is annotations.
func metadataBytes(m *metav1.ObjectMeta) (total, annotations int64) {
	for k, v := range m.Annotations {
		annotations += int64(len(k)) + int64(len(v))
	}
	total = annotations
	for k, v := range m.Labels {
		total += int64(len(k)) + int64(len(v))
	}
	return total, annotations
}

// validateMetadataSize bounds labels and annotations together by MaxMetadataBytes. On an update (old set),
// a Release stored before the bound, or under a larger one, may stay over it: only an update that leaves it
// over the bound and makes it larger than it was is refused, so that shrinking, or changing the spec of,
// such a release still works. The error names metadata.annotations, or metadata.labels when they are
// the larger part.
func validateMetadataSize(m, old *metav1.ObjectMeta) field.ErrorList {
	total, annotations := metadataBytes(m)
	if total <= MaxMetadataBytes {
		return nil
	}
	if old != nil {
		if oldTotal, _ := metadataBytes(old); total <= oldTotal {
			return nil
		}
	}
	fldPath := field.NewPath("metadata", "annotations")
	if annotations*2 < total {
		fldPath = field.NewPath("metadata", "labels")
	}
	return field.ErrorList{field.Invalid(fldPath, fmt.Sprintf("%d bytes", total), fmt.Sprintf(
		"labels and annotations together (the bytes of every key and value) may be at most %d bytes", MaxMetadataBytes))}
}

// validateImagesPrintable refuses a container image that a terminal would act on: `kubectl release status`
// shows the images, and no image reference has a control character. Create only: the template is
// immutable, so an update brings no new image, and a release stored before this check stays updatable.
func validateImagesPrintable(t *corev1.PodTemplateSpec, fldPath *field.Path) field.ErrorList {
	if t == nil {
		return nil
	}
	var allErrs field.ErrorList
	for i, c := range t.Spec.Containers {
		allErrs = append(allErrs, validatePrintable(c.Image, fldPath.Child("containers").Index(i).Child("image"))...)
	}
	for i, c := range t.Spec.InitContainers {
		allErrs = append(allErrs, validatePrintable(c.Image, fldPath.Child("initContainers").Index(i).Child("image"))...)
	}
	return allErrs
}

// validateSize bounds what a caller controls of a Release (metadata and spec, as JSON), so that with its
// status at its largest the Release still fits in etcd.
func validateSize(r *releases.Release) field.ErrorList {
	callers := releases.Release{ObjectMeta: r.ObjectMeta, Spec: r.Spec}
	raw, err := json.Marshal(&callers)
	if err != nil || len(raw) <= MaxMetadataAndSpecBytes {
		return nil
	}
	return field.ErrorList{field.Invalid(field.NewPath("metadata"), fmt.Sprintf("%d bytes with the spec", len(raw)),
		fmt.Sprintf("a Release's metadata and spec together may be at most %d bytes as JSON (its status must fit beside them in etcd)", MaxMetadataAndSpecBytes))}
}

// ValidateReleaseSpec validates a defaulted ReleaseSpec. Which fields are required, allowed or forbidden
// depends on the action; when the action itself is missing or unknown, those per-action rules are
// skipped (they would be guesses) and only the action is reported, besides the checks on values.
func ValidateReleaseSpec(spec *releases.ReleaseSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	allErrs = append(allErrs, validateCloneSetName(spec.CloneSetName, fldPath.Child("cloneSetName"))...)
	allErrs = append(allErrs, validateAction(spec.Action, fldPath.Child("action"))...)
	allErrs = append(allErrs, validateTemplate(spec, fldPath)...)
	allErrs = append(allErrs, validateSelector(spec, fldPath)...)
	allErrs = append(allErrs, validateReplicas(spec, fldPath.Child("replicas"))...)
	allErrs = append(allErrs, validatePodsToDelete(spec, fldPath.Child("podsToDelete"))...)
	allErrs = append(allErrs, validateToRevision(spec, fldPath.Child("toRevision"))...)
	allErrs = append(allErrs, validateStrategy(spec, fldPath.Child("strategy"))...)
	return allErrs
}

// ValidateReleaseUpdate validates an update of a Release's spec or metadata. What a release does
// (target, action, template, sizes, plan) is fixed once it is accepted, because the batches in its
// status were computed from it; only its pace (mode, interval, deadline, failure budget) may change.
//
// The new object's metadata is checked with ValidateObjectMetaUpdate only, not also with the create
// checks of ValidateRelease: those would report every bad label, annotation or owner reference a
// second time, and name and namespace cannot change anyway. Labels and annotations are held to
// MaxMetadataBytes on every update, metadata-only ones included, except that a release already over it
// may stay over it as long as it does not grow.
func ValidateReleaseUpdate(newR, oldR *releases.Release) field.ErrorList {
	allErrs := apimachineryvalidation.ValidateObjectMetaUpdate(&newR.ObjectMeta, &oldR.ObjectMeta, field.NewPath("metadata"))
	specPath := field.NewPath("spec")
	allErrs = append(allErrs, ValidateReleaseSpec(&newR.Spec, specPath)...)
	allErrs = append(allErrs, validateReleaseAnalysis(newR.Spec.Strategy.Analysis, newR.Namespace, specPath.Child("strategy", "analysis"))...)
	allErrs = append(allErrs, validateSpecImmutability(&newR.Spec, &oldR.Spec, specPath)...)
	allErrs = append(allErrs, validateMetadataSize(&newR.ObjectMeta, &oldR.ObjectMeta)...)
	allErrs = append(allErrs, validateSize(newR)...)
	return allErrs
}

// ValidateReleaseStatusUpdate validates a write to the status subresource: the new status must be
// consistent, and a move the server makes (ValidateReleaseStatusTransition).
func ValidateReleaseStatusUpdate(newR, oldR *releases.Release) field.ErrorList {
	allErrs := apimachineryvalidation.ValidateObjectMetaUpdate(&newR.ObjectMeta, &oldR.ObjectMeta, field.NewPath("metadata"))
	allErrs = append(allErrs, ValidateReleaseStatus(&newR.Status, field.NewPath("status"))...)
	allErrs = append(allErrs, ValidateReleaseStatusTransition(&newR.Status, &oldR.Status, field.NewPath("status"))...)
	return allErrs
}

// ValidateReleaseStatus checks that a status is internally consistent: a known phase, a current batch
// inside the plan, and a plan whose batches are numbered from 1 and whose cumulative targets only grow.
func ValidateReleaseStatus(s *releases.ReleaseStatus, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if s.Phase != "" && !isSupportedReleasePhase.Has(s.Phase) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("phase"), s.Phase, supportedReleasePhases))
	}
	if s.ObservedGeneration < 0 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("observedGeneration"), s.ObservedGeneration, "must be greater than or equal to 0"))
	}
	if s.CurrentBatch < 0 || int(s.CurrentBatch) > len(s.Batches) {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("currentBatch"), s.CurrentBatch,
			fmt.Sprintf("must be between 0 and %d (the number of batches)", len(s.Batches))))
	}
	allErrs = append(allErrs, validateBatches(s.Batches, fldPath.Child("batches"))...)
	allErrs = append(allErrs, metav1validation.ValidateConditions(s.Conditions, fldPath.Child("conditions"))...)
	if len(s.History) > MaxHistoryEntries {
		allErrs = append(allErrs, field.TooMany(fldPath.Child("history"), len(s.History), MaxHistoryEntries))
	}
	allErrs = append(allErrs, validateAnalysisStatus(s, fldPath)...)
	return allErrs
}

// ValidateReleaseRequest validates the body of a pause, resume, next or cancel call. Whether its
// preconditions hold is the subresource's business (409); this only rejects what can never hold.
func ValidateReleaseRequest(req *releases.ReleaseRequest) field.ErrorList {
	var allErrs field.ErrorList
	if req.ExpectedBatch != nil && *req.ExpectedBatch < 1 {
		allErrs = append(allErrs, field.Invalid(field.NewPath("expectedBatch"), *req.ExpectedBatch, "must be greater than or equal to 1 (batches are numbered from 1)"))
	}
	if req.ExpectedPhase != "" && !isSupportedBatchPhase.Has(req.ExpectedPhase) {
		allErrs = append(allErrs, field.NotSupported(field.NewPath("expectedPhase"), req.ExpectedPhase, supportedBatchPhases))
	}
	if utf8.RuneCountInString(req.Reason) > MaxReasonLength {
		allErrs = append(allErrs, field.TooLongCharacters(field.NewPath("reason"), req.Reason, MaxReasonLength))
	}
	allErrs = append(allErrs, validatePrintable(req.Reason, field.NewPath("reason"))...)
	if req.ToBatch != nil && *req.ToBatch < 1 {
		allErrs = append(allErrs, field.Invalid(field.NewPath("toBatch"), *req.ToBatch, "must be greater than or equal to 1 (batches are numbered from 1)"))
	}
	return allErrs
}

// --- spec: target and action ---

func validateCloneSetName(name string, fldPath *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(fldPath, "the name of the target CloneSet")}
	}
	return dns1123Subdomain(name, fldPath)
}

func validateAction(action releases.ReleaseAction, fldPath *field.Path) field.ErrorList {
	if action == "" {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	if !isSupportedAction.Has(action) {
		return field.ErrorList{field.NotSupported(fldPath, action, supportedActions)}
	}
	return nil
}

// actionKnown reports whether the action-dependent rules can be applied at all.
func actionKnown(spec *releases.ReleaseSpec) bool {
	return isSupportedAction.Has(spec.Action)
}

func allows(allowed []releases.ReleaseAction, action releases.ReleaseAction) bool {
	for _, a := range allowed {
		if a == action {
			return true
		}
	}
	return false
}

// forbiddenFor is the error for a field set on an action that has no use for it.
func forbiddenFor(fldPath *field.Path, allowed []releases.ReleaseAction) *field.Error {
	names := make([]string, len(allowed))
	for i, a := range allowed {
		names[i] = string(a)
	}
	return field.Forbidden(fldPath, fmt.Sprintf("may only be set when spec.action is %s", strings.Join(names, " or ")))
}

// --- spec: template ---

// validateTemplate checks presence per action and, when present, what a CloneSet needs of a pod
// template. Full pod validation lives in k8s.io/kubernetes, which an aggregated server cannot import;
// the CloneSet's own admission catches the rest when the release applies the template.
func validateTemplate(spec *releases.ReleaseSpec, fldPath *field.Path) field.ErrorList {
	tPath := fldPath.Child("template")
	var allErrs field.ErrorList
	if actionKnown(spec) {
		switch {
		case spec.Template == nil && allows(templateActions, spec.Action):
			allErrs = append(allErrs, field.Required(tPath, fmt.Sprintf("the new pod template is required when spec.action is %s", spec.Action)))
		case spec.Template != nil && !allows(templateActions, spec.Action):
			// A template on Scale/Restart/Rollback would be silently ignored; say so instead.
			return append(allErrs, forbiddenFor(tPath, templateActions))
		}
	}
	if spec.Template == nil {
		return allErrs
	}
	if raw, err := json.Marshal(spec.Template); err == nil && len(raw) > MaxTemplateBytes {
		// Kept in the Release and in the CloneSet; it must leave room for the status under etcd's limit.
		allErrs = append(allErrs, field.TooLong(tPath, "", MaxTemplateBytes))
	}
	allErrs = append(allErrs, metav1validation.ValidateLabels(spec.Template.Labels, tPath.Child("metadata", "labels"))...)
	allErrs = append(allErrs, validatePodSpecContainers(&spec.Template.Spec, tPath.Child("spec"))...)
	return allErrs
}

// validatePodSpecContainers checks the container basics: at least one container, and every container
// (init or not) with a unique DNS-1123 label name and an image.
func validatePodSpecContainers(podSpec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if len(podSpec.Containers) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("containers"), "must have at least one container"))
	}
	names := sets.New[string]()
	// As in Kubernetes, containers first; an init container may not reuse any container's name.
	allErrs = append(allErrs, validateContainers(podSpec.Containers, names, fldPath.Child("containers"))...)
	allErrs = append(allErrs, validateContainers(podSpec.InitContainers, names, fldPath.Child("initContainers"))...)
	return allErrs
}

func validateContainers(containers []corev1.Container, names sets.Set[string], fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for i := range containers {
		c := &containers[i]
		idxPath := fldPath.Index(i)
		namePath := idxPath.Child("name")
		switch {
		case c.Name == "":
			allErrs = append(allErrs, field.Required(namePath, ""))
		case names.Has(c.Name):
			allErrs = append(allErrs, field.Duplicate(namePath, c.Name))
		default:
			for _, msg := range validation.IsDNS1123Label(c.Name) {
				allErrs = append(allErrs, field.Invalid(namePath, c.Name, msg))
			}
		}
		names.Insert(c.Name)
		if strings.TrimSpace(c.Image) == "" {
			allErrs = append(allErrs, field.Required(idxPath.Child("image"), ""))
		}
	}
	return allErrs
}

// --- spec: selector ---

// validateSelector applies to Create only: the release creates the CloneSet, and a CloneSet's selector
// must pick exactly the pods of its template. Defaulting has copied the template labels into an unset
// selector, so a nil selector here means the template had no labels either.
func validateSelector(spec *releases.ReleaseSpec, fldPath *field.Path) field.ErrorList {
	sPath := fldPath.Child("selector")
	if !actionKnown(spec) {
		return nil
	}
	if !allows(selectorActions, spec.Action) {
		if spec.Selector != nil {
			return field.ErrorList{forbiddenFor(sPath, selectorActions)}
		}
		return nil
	}
	if spec.Selector == nil {
		return field.ErrorList{field.Required(sPath, "defaults to spec.template.metadata.labels; set a selector or give the template labels")}
	}

	allErrs := metav1validation.ValidateLabelSelector(spec.Selector, metav1validation.LabelSelectorValidationOptions{}, sPath)
	if len(spec.Selector.MatchLabels)+len(spec.Selector.MatchExpressions) == 0 {
		allErrs = append(allErrs, field.Invalid(sPath, spec.Selector, "empty selector would select every pod"))
	}
	if len(allErrs) > 0 {
		return allErrs
	}
	selector, err := metav1.LabelSelectorAsSelector(spec.Selector)
	if err != nil {
		return append(allErrs, field.Invalid(sPath, spec.Selector, err.Error()))
	}
	if spec.Template != nil && !selector.Matches(labels.Set(spec.Template.Labels)) {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("template", "metadata", "labels"), spec.Template.Labels, "`selector` does not match template `labels`"))
	}
	return allErrs
}

// --- spec: sizes and targets ---

// validateReplicas: Create needs a final size of at least one pod; Scale needs a target, which may be
// zero (scale the CloneSet to nothing). The other actions keep the CloneSet's size.
func validateReplicas(spec *releases.ReleaseSpec, fldPath *field.Path) field.ErrorList {
	if !actionKnown(spec) {
		return nil
	}
	if !allows(replicasActions, spec.Action) {
		if spec.Replicas != nil {
			return field.ErrorList{forbiddenFor(fldPath, replicasActions)}
		}
		return nil
	}
	if spec.Replicas == nil {
		return field.ErrorList{field.Required(fldPath, fmt.Sprintf("required when spec.action is %s", spec.Action))}
	}
	minReplicas := int32(0)
	if spec.Action == releases.ActionCreate {
		minReplicas = 1
	}
	if *spec.Replicas < minReplicas {
		return field.ErrorList{field.Invalid(fldPath, *spec.Replicas, fmt.Sprintf("must be greater than or equal to %d", minReplicas))}
	}
	return nil
}

func validatePodsToDelete(spec *releases.ReleaseSpec, fldPath *field.Path) field.ErrorList {
	if len(spec.PodsToDelete) == 0 {
		return nil
	}
	if actionKnown(spec) && !allows(podsToDeleteActions, spec.Action) {
		return field.ErrorList{forbiddenFor(fldPath, podsToDeleteActions)}
	}
	if len(spec.PodsToDelete) > MaxPodsToDelete {
		return field.ErrorList{field.TooMany(fldPath, len(spec.PodsToDelete), MaxPodsToDelete)}
	}
	var allErrs field.ErrorList
	if spec.Action == releases.ActionRestart {
		// A Restart of named pods deletes them and lets kruise replace them from the same template.
		if spec.Strategy.Type == releases.StrategyBlueGreen {
			allErrs = append(allErrs, field.Forbidden(fldPath, "a BlueGreen Restart recreates every pod beside the old ones; restart named pods with strategy.type Batch"))
		}
		if s := spec.Strategy.MaxSurge; s != nil && !zeroPods(s) {
			allErrs = append(allErrs, field.Forbidden(fldPath, "a Restart of named pods replaces each after it left traffic; strategy.maxSurge is for a whole-CloneSet Restart"))
		}
	}
	seen := sets.New[string]()
	for i, name := range spec.PodsToDelete {
		idxPath := fldPath.Index(i)
		if seen.Has(name) {
			allErrs = append(allErrs, field.Duplicate(idxPath, name))
			continue
		}
		seen.Insert(name)
		allErrs = append(allErrs, dns1123Subdomain(name, idxPath)...)
	}
	return allErrs
}

func validateToRevision(spec *releases.ReleaseSpec, fldPath *field.Path) field.ErrorList {
	if spec.ToRevision == "" {
		return nil // Rollback defaults to the revision before the current one, at run time.
	}
	if actionKnown(spec) && !allows(toRevisionActions, spec.Action) {
		return field.ErrorList{forbiddenFor(fldPath, toRevisionActions)}
	}
	return dns1123Subdomain(spec.ToRevision, fldPath)
}

// --- spec: strategy ---

func validateStrategy(spec *releases.ReleaseSpec, fldPath *field.Path) field.ErrorList {
	s := &spec.Strategy
	var allErrs field.ErrorList

	canaryPath := fldPath.Child("canary")
	if s.Canary < 0 {
		allErrs = append(allErrs, field.Invalid(canaryPath, s.Canary, "must be greater than or equal to 0"))
	} else if spec.Action == releases.ActionCreate && spec.Replicas != nil && *spec.Replicas >= 0 && s.Canary > *spec.Replicas {
		// Create knows how many pods the release makes; the other actions only know at run time.
		allErrs = append(allErrs, field.Invalid(canaryPath, s.Canary, fmt.Sprintf("must not be greater than spec.replicas (%d)", *spec.Replicas)))
	}

	batchSizePath := fldPath.Child("batchSize")
	switch {
	case s.Type == releases.StrategyBlueGreen:
		allErrs = append(allErrs, validateBlueGreen(spec, fldPath)...)
	case s.BatchSize == nil:
		allErrs = append(allErrs, field.Required(batchSizePath, "defaults to 100%"))
	default:
		// A batch of zero pods would never finish the release.
		allErrs = append(allErrs, validatePodCount(s.BatchSize, 1, batchSizePath)...)
	}
	if s.Type != "" && !isSupportedStrategyType.Has(s.Type) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("type"), s.Type, supportedStrategyTypes))
	}
	if s.Type != releases.StrategyBlueGreen && s.BlueGreen != nil {
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("blueGreen"), "only for strategy.type BlueGreen"))
	}

	modePath := fldPath.Child("mode")
	if s.Mode == "" {
		allErrs = append(allErrs, field.Required(modePath, "defaults to Manual"))
	} else if !isSupportedMode.Has(s.Mode) {
		allErrs = append(allErrs, field.NotSupported(modePath, s.Mode, supportedModes))
	}

	if s.BatchIntervalSeconds < 0 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("batchIntervalSeconds"), s.BatchIntervalSeconds, "must be greater than or equal to 0"))
	}

	deadlinePath := fldPath.Child("progressDeadlineSeconds")
	if s.ProgressDeadlineSeconds == nil {
		allErrs = append(allErrs, field.Required(deadlinePath, "defaults to 600"))
	} else if *s.ProgressDeadlineSeconds <= 0 {
		allErrs = append(allErrs, field.Invalid(deadlinePath, *s.ProgressDeadlineSeconds, "must be greater than 0"))
	}

	if s.MaxFailedPods != nil {
		allErrs = append(allErrs, validatePodCount(s.MaxFailedPods, 0, fldPath.Child("maxFailedPods"))...)
	}

	if s.MaxSurge != nil {
		surgePath := fldPath.Child("maxSurge")
		allErrs = append(allErrs, validatePodCount(s.MaxSurge, 0, surgePath)...)
		if spec.Action == releases.ActionCreate || spec.Action == releases.ActionScale {
			if !zeroPods(s.MaxSurge) {
				allErrs = append(allErrs, field.Forbidden(surgePath, fmt.Sprintf(
					"a %s adds or removes pods rather than replacing them: there are no old pods to keep beside new ones", spec.Action)))
			}
		}
	}

	// Empty is Pause: a release stored before the field existed has none.
	if s.OnFailure != "" && !isSupportedFailurePolicy.Has(s.OnFailure) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("onFailure"), s.OnFailure, supportedFailurePolicies))
	}
	return allErrs
}

// validateBlueGreen checks a BlueGreen strategy: only for actions that replace pods, with neither canary
// nor batchSize nor maxSurge (its plan is preview and switch, and green always comes up beside blue).
func validateBlueGreen(spec *releases.ReleaseSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	s := &spec.Strategy
	switch spec.Action {
	case releases.ActionUpdate, releases.ActionRestart, releases.ActionRollback:
	default:
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("type"), fmt.Sprintf(
			"BlueGreen replaces the pods of a CloneSet; a %s has no old pods to switch from (use Batch)", spec.Action)))
	}
	if s.Canary != 0 {
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("canary"), "BlueGreen has no canary: its preview comes up beside every old pod and waits for `next`"))
	}
	if s.BatchSize != nil {
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("batchSize"), "BlueGreen has two batches, preview and switch; size the preview with blueGreen.previewReplicas"))
	}
	if s.MaxSurge != nil && !zeroPods(s.MaxSurge) {
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("maxSurge"), "BlueGreen always brings the new pods up beside the old ones"))
	}
	if s.NoPullIn {
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("noPullIn"), "BlueGreen keeps the new pods out of traffic until the switch, which needs the readiness gate"))
	}
	bgPath := fldPath.Child("blueGreen")
	if s.BlueGreen == nil {
		return append(allErrs, field.Required(bgPath, "defaults to previewReplicas 100% and scaleDownDelaySeconds 30"))
	}
	if s.BlueGreen.PreviewReplicas == nil {
		allErrs = append(allErrs, field.Required(bgPath.Child("previewReplicas"), "defaults to 100%"))
	} else {
		allErrs = append(allErrs, validatePodCount(s.BlueGreen.PreviewReplicas, 1, bgPath.Child("previewReplicas"))...)
	}
	if d := s.BlueGreen.ScaleDownDelaySeconds; d == nil {
		allErrs = append(allErrs, field.Required(bgPath.Child("scaleDownDelaySeconds"), "defaults to 30"))
	} else if *d < 0 {
		allErrs = append(allErrs, field.Invalid(bgPath.Child("scaleDownDelaySeconds"), *d, "must be greater than or equal to 0"))
	}
	return allErrs
}

// zeroPods reports whether a number of pods is 0 or 0%: a maxSurge that surges nothing.
func zeroPods(v *intstr.IntOrString) bool {
	return (v.Type == intstr.Int && v.IntVal == 0) || (v.Type == intstr.String && v.StrVal == "0%")
}

// validatePodCount checks a number of pods given as an integer (at least minimum) or as a percentage
// "N%" with minimum <= N <= 100. A bare number in a string ("50") is rejected: it is ambiguous, and
// the CloneSet would read it differently than a caller might mean.
func validatePodCount(v *intstr.IntOrString, minimum int, fldPath *field.Path) field.ErrorList {
	switch v.Type {
	case intstr.Int:
		if int(v.IntVal) < minimum {
			return field.ErrorList{field.Invalid(fldPath, v.IntVal, fmt.Sprintf("must be greater than or equal to %d", minimum))}
		}
		return nil
	case intstr.String:
		pct, ok := parsePercent(v.StrVal)
		if !ok {
			return field.ErrorList{field.Invalid(fldPath, v.StrVal, `must be an integer or a percentage such as "25%"`)}
		}
		if pct < minimum || pct > 100 {
			return field.ErrorList{field.Invalid(fldPath, v.StrVal, fmt.Sprintf("must be a percentage between %d%% and 100%%", minimum))}
		}
		return nil
	default:
		return field.ErrorList{field.Invalid(fldPath, v, "must be an integer or a string")}
	}
}

// parsePercent parses "N%" with N a non-negative decimal integer.
func parsePercent(s string) (int, bool) {
	if len(validation.IsValidPercent(s)) != 0 {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSuffix(s, "%"))
	if err != nil { // out of range
		return 0, false
	}
	return n, true
}

// --- update ---

// validateSpecImmutability rejects changes to everything that decides what the release does. Mode,
// batchIntervalSeconds, progressDeadlineSeconds, maxFailedPods and onFailure stay mutable: the owner of a running
// release may change its pace. ValidateImmutableField compares with apiequality.Semantic.DeepEqual, so
// pointers compare by value, nil and empty lists are equal, and quantities compare by amount.
func validateSpecImmutability(newSpec, oldSpec *releases.ReleaseSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	immutable := func(newVal, oldVal interface{}, p *field.Path) {
		allErrs = append(allErrs, apimachineryvalidation.ValidateImmutableField(newVal, oldVal, p)...)
	}
	strategyPath := fldPath.Child("strategy")
	immutable(newSpec.CloneSetName, oldSpec.CloneSetName, fldPath.Child("cloneSetName"))
	immutable(newSpec.Action, oldSpec.Action, fldPath.Child("action"))
	immutable(newSpec.Template, oldSpec.Template, fldPath.Child("template"))
	immutable(newSpec.Selector, oldSpec.Selector, fldPath.Child("selector"))
	immutable(newSpec.Replicas, oldSpec.Replicas, fldPath.Child("replicas"))
	immutable(newSpec.PodsToDelete, oldSpec.PodsToDelete, fldPath.Child("podsToDelete"))
	immutable(newSpec.ToRevision, oldSpec.ToRevision, fldPath.Child("toRevision"))
	immutable(newSpec.Strategy.Canary, oldSpec.Strategy.Canary, strategyPath.Child("canary"))
	immutable(newSpec.Strategy.BatchSize, oldSpec.Strategy.BatchSize, strategyPath.Child("batchSize"))
	immutable(newSpec.Strategy.NoPullIn, oldSpec.Strategy.NoPullIn, strategyPath.Child("noPullIn"))
	immutable(newSpec.Strategy.MaxSurge, oldSpec.Strategy.MaxSurge, strategyPath.Child("maxSurge"))
	immutable(newSpec.Strategy.Type, oldSpec.Strategy.Type, strategyPath.Child("type"))
	// The checks and templates were resolved into the status when the release was created.
	immutable(newSpec.Strategy.Analysis, oldSpec.Strategy.Analysis, strategyPath.Child("analysis"))
	if newSpec.Strategy.BlueGreen != nil && oldSpec.Strategy.BlueGreen != nil {
		immutable(newSpec.Strategy.BlueGreen.PreviewReplicas, oldSpec.Strategy.BlueGreen.PreviewReplicas, strategyPath.Child("blueGreen", "previewReplicas"))
	} else if (newSpec.Strategy.BlueGreen == nil) != (oldSpec.Strategy.BlueGreen == nil) {
		immutable(newSpec.Strategy.BlueGreen, oldSpec.Strategy.BlueGreen, strategyPath.Child("blueGreen"))
	}
	return allErrs
}

// --- status ---

func validateBatches(batches []releases.ReleaseBatch, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for i := range batches {
		b := &batches[i]
		idxPath := fldPath.Index(i)
		if int(b.Index) != i+1 {
			allErrs = append(allErrs, field.Invalid(idxPath.Child("index"), b.Index, fmt.Sprintf("must be %d (batches are numbered from 1, in order)", i+1)))
		}
		if b.Replicas < 0 {
			allErrs = append(allErrs, field.Invalid(idxPath.Child("replicas"), b.Replicas, "must be greater than or equal to 0"))
		}
		targetPath := idxPath.Child("target")
		switch {
		case b.Target < 0:
			allErrs = append(allErrs, field.Invalid(targetPath, b.Target, "must be greater than or equal to 0"))
		case i > 0 && b.Target < batches[i-1].Target:
			// Targets are cumulative: partition only ever goes down while a release progresses.
			allErrs = append(allErrs, field.Invalid(targetPath, b.Target, fmt.Sprintf("must not be less than the target of the batch before (%d)", batches[i-1].Target)))
		}
		if b.Phase != "" && !isSupportedBatchPhase.Has(b.Phase) {
			allErrs = append(allErrs, field.NotSupported(idxPath.Child("phase"), b.Phase, supportedBatchPhases))
		}
	}
	return allErrs
}

// --- helpers ---

// validatePrintable refuses text that a terminal could act on when a client prints it: invalid UTF-8
// (a lone byte such as 0x9b is CSI to an 8-bit terminal), C0 and C1 control characters and DEL (ESC starts
// the escape sequences that clear a screen, set a window title or rewrite what was printed before; CR and
// BS overwrite a line), and the Unicode bidi overrides and isolates, which reorder how the text around them
// is shown. A tab is allowed. The value is reported quoted (field.Error quotes strings), so the error
// itself is safe to print.
func validatePrintable(s string, fldPath *field.Path) field.ErrorList {
	return printable(s, false, fldPath)
}

// printable is validatePrintable, with line feeds allowed when newlines is true.
func printable(s string, newlines bool, fldPath *field.Path) field.ErrorList {
	if !utf8.ValidString(s) {
		return field.ErrorList{field.Invalid(fldPath, s, "must be valid UTF-8")}
	}
	for _, r := range s {
		switch {
		case r == '\t', newlines && r == '\n':
		case unicode.IsControl(r):
			return field.ErrorList{field.Invalid(fldPath, s, fmt.Sprintf(
				"must not contain control characters (found %U): a terminal that prints it would run it as an escape sequence", r))}
		case isBidiControl(r):
			return field.ErrorList{field.Invalid(fldPath, s, fmt.Sprintf(
				"must not contain bidirectional override or isolate characters (found %U): they reorder what a terminal shows", r))}
		}
	}
	return nil
}

// isBidiControl reports the Unicode bidi embeddings, overrides (U+202A..U+202E) and isolates
// (U+2066..U+2069).
func isBidiControl(r rune) bool {
	return (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069)
}

func dns1123Subdomain(value string, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for _, msg := range validation.IsDNS1123Subdomain(value) {
		allErrs = append(allErrs, field.Invalid(fldPath, value, msg))
	}
	return allErrs
}
