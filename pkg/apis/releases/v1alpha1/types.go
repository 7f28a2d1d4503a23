package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// ReleaseAction is what a Release does to its CloneSet.
// +enum
type ReleaseAction string

const (
	// ActionCreate creates the CloneSet and grows it batch by batch.
	ActionCreate ReleaseAction = "Create"
	// ActionUpdate rolls a new pod template out batch by batch.
	ActionUpdate ReleaseAction = "Update"
	// ActionScale moves the CloneSet's replicas to a target batch by batch.
	ActionScale ReleaseAction = "Scale"
	// ActionRestart recreates every pod batch by batch without changing the template otherwise.
	ActionRestart ReleaseAction = "Restart"
	// ActionRollback rolls the template of an earlier ControllerRevision out batch by batch.
	ActionRollback ReleaseAction = "Rollback"
)

// ReleaseMode says who moves a release on after a batch is Baked.
// +enum
type ReleaseMode string

const (
	// ModeManual waits for a `next` call after every Baked batch.
	ModeManual ReleaseMode = "Manual"
	// ModeAuto goes on by itself batchIntervalSeconds after a batch is Baked (the canary still waits).
	ModeAuto ReleaseMode = "Auto"
)

// StrategyType says how a release replaces old pods with new ones.
// +enum
type StrategyType string

const (
	// StrategyBatch replaces old pods batch by batch: a canary, then batches of batchSize.
	StrategyBatch StrategyType = "Batch"
	// StrategyBlueGreen brings the new ("green") pods up beside the old ("blue") ones, out of traffic, and
	// switches traffic from all blue to all green at once; blue stays, out of traffic, for
	// scaleDownDelaySeconds, so that a cancel switches back at once.
	StrategyBlueGreen StrategyType = "BlueGreen"
)

// FailurePolicy says what a release does when a batch fails.
// +enum
type FailurePolicy string

const (
	// FailurePause holds the release and its CloneSet where they are and waits for a person: `resume`
	// retries the batch, `cancel` reverts.
	FailurePause FailurePolicy = "Pause"
	// FailureCancel cancels the release by itself, as `cancel` does: its pods leave traffic first, then the
	// CloneSet goes back to where it was before the release.
	FailureCancel FailurePolicy = "Cancel"
)

// ReleasePhase is where a release is in its life.
// +enum
type ReleasePhase string

const (
	ReleasePending     ReleasePhase = "Pending"
	ReleaseProgressing ReleasePhase = "Progressing"
	ReleasePaused      ReleasePhase = "Paused"
	ReleaseSucceeded   ReleasePhase = "Succeeded"
	ReleaseFailed      ReleasePhase = "Failed"
	ReleaseCanceled    ReleasePhase = "Canceled"
)

// BatchPhase is where one batch of a release is.
// +enum
type BatchPhase string

const (
	// BatchPending: the batch has not started.
	BatchPending BatchPhase = "Pending"
	// BatchSmoking: the batch's pods are being created or updated.
	BatchSmoking BatchPhase = "Smoking"
	// BatchSmoked: all its pods are ContainersReady, but not yet in traffic.
	BatchSmoked BatchPhase = "Smoked"
	// BatchBaking: pulled in (readiness gate True on its pods), waiting for Ready.
	BatchBaking BatchPhase = "Baking"
	// BatchBaked: all its pods are Ready. The batch is done.
	BatchBaked BatchPhase = "Baked"
	// BatchFailed: the batch failed (crashing pods, progress deadline).
	BatchFailed BatchPhase = "Failed"
	// BatchSkipped: a caller moved the release past the batch with `next` and toBatch before it was Baked;
	// its pods are part of the batch the caller moved to.
	BatchSkipped BatchPhase = "Skipped"
)

// Condition types of a Release.
const (
	// ConditionAwaitingNext is True while only a `next` call moves the release on.
	ConditionAwaitingNext = "AwaitingNext"
	// ConditionPaused is True while the release and its CloneSet are paused.
	ConditionPaused = "Paused"
	// ConditionFailed is True once the release has failed.
	ConditionFailed = "Failed"
	// ConditionComplete is True once every batch is Baked and the release Succeeded.
	ConditionComplete = "Complete"
	// ConditionReverted is set on a canceled release only. False while the pods the release brought leave
	// traffic (the release still holds the CloneSet, with its lifecycle hooks, so that kruise removes or
	// updates none of them while a Service still sends it traffic); True once the CloneSet is back at the
	// revision and replicas from before the release and the release has let go of it. A new release of
	// the CloneSet is refused (409) until then. A release that could not put its CloneSet back lets go of
	// it all the same (True), with the reason why: ReasonRevisionGone, ReasonCloneSetReplaced or
	// ReasonCloneSetGone.
	ConditionReverted = "Reverted"
	// ConditionAnalysisPassed follows the analysis of the current batch: True once every check of the
	// batch has passed (for bakeSeconds), False while one has not yet or has failed, with the check's name
	// and what it measured in the message. Only a release with strategy.analysis has it.
	ConditionAnalysisPassed = "AnalysisPassed"
)

// Condition reasons of a release that lost its CloneSet, or could not put it back.
const (
	// ReasonCloneSetReplaced (condition Failed, or Reverted on a canceled release): the CloneSet of the
	// release's name has another UID than the one the release was admitted for (deleted and made again).
	// The release writes nothing to it: resume and next are refused; cancel and delete end it.
	ReasonCloneSetReplaced = "CloneSetReplaced"
	// ReasonCloneSetGone (condition Failed, or Reverted on a canceled release): the CloneSet the release
	// was admitted for no longer exists.
	ReasonCloneSetGone = "CloneSetGone"
	// ReasonRevisionGone (condition Reverted): the ControllerRevision from before the release is gone (or
	// belongs to another CloneSet), so a canceled release cannot put the CloneSet's template back; it lets
	// go of the CloneSet as it is.
	ReasonRevisionGone = "RevisionGone"
)

// +genclient
// +genclient:method=Pause,verb=create,subresource=pause,input=ReleaseRequest,result=Release
// +genclient:method=Resume,verb=create,subresource=resume,input=ReleaseRequest,result=Release
// +genclient:method=Next,verb=create,subresource=next,input=ReleaseRequest,result=Release
// +genclient:method=Cancel,verb=create,subresource=cancel,input=ReleaseRequest,result=Release
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// Release moves one OpenKruise CloneSet to a new state (a new template, a new size, a restart or a
// rollback) batch by batch: a canary first, then batches that reach production only as fast as their
// owner allows, with traffic pulled in through the readiness gate `apps.triton.io/ready`.
type Release struct {
	metav1.TypeMeta `json:",inline"`
	// Standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty" protobuf:"bytes,1,opt,name=metadata"`

	// What the release does and how fast.
	// +optional
	Spec ReleaseSpec `json:"spec,omitempty" protobuf:"bytes,2,opt,name=spec"`

	// Where the release is: its plan of batches, the CloneSet as last observed, conditions and history.
	// +optional
	Status ReleaseStatus `json:"status,omitempty" protobuf:"bytes,3,opt,name=status"`
}

// ReleaseSpec says which CloneSet a release changes, how, and at what pace.
type ReleaseSpec struct {
	// Name of the target CloneSet in the Release's namespace. Required; cannot be changed.
	CloneSetName string `json:"cloneSetName" protobuf:"bytes,1,opt,name=cloneSetName"`

	// What the release does: Create, Update, Scale, Restart or Rollback. Required; cannot be changed.
	Action ReleaseAction `json:"action" protobuf:"bytes,2,opt,name=action,casttype=ReleaseAction"`

	// The new pod template. Required for Create and Update; forbidden for the other actions.
	// +optional
	Template *corev1.PodTemplateSpec `json:"template,omitempty" protobuf:"bytes,3,opt,name=template"`

	// Label selector of the CloneSet to create. Create only; defaults to the template's labels.
	// +optional
	Selector *metav1.LabelSelector `json:"selector,omitempty" protobuf:"bytes,4,opt,name=selector"`

	// Create: the final size of the new CloneSet. Scale: the target size. Required for both; forbidden
	// for the other actions.
	// +optional
	Replicas *int32 `json:"replicas,omitempty" protobuf:"varint,5,opt,name=replicas"`

	// Scale in: the pods that are deleted first. Restart: the only pods restarted (each deleted, out of
	// traffic first, and replaced from the same template), batch by batch in this order; the others are
	// untouched. Through CloneSet scaleStrategy.podsToDelete; every name must be a pod of the CloneSet.
	// +optional
	// +listType=set
	PodsToDelete []string `json:"podsToDelete,omitempty" protobuf:"bytes,6,rep,name=podsToDelete"`

	// Rollback only: the name of a ControllerRevision of the CloneSet to roll back to. Defaults to the
	// revision before the current one.
	// +optional
	ToRevision string `json:"toRevision,omitempty" protobuf:"bytes,7,opt,name=toRevision"`

	// How the release is split into batches and how it moves from one to the next.
	// +optional
	Strategy ReleaseStrategy `json:"strategy,omitempty" protobuf:"bytes,8,opt,name=strategy"`
}

// ReleaseStrategy is the pace of a release.
type ReleaseStrategy struct {
	// Batch (the default) or BlueGreen. BlueGreen is for Update, Restart and Rollback, and takes neither
	// canary nor batchSize: its plan is two batches, preview and switch.
	// +optional
	Type StrategyType `json:"type,omitempty" protobuf:"bytes,1,opt,name=type,casttype=StrategyType"`

	// BlueGreen only: the preview, the switch and the way back.
	// +optional
	BlueGreen *BlueGreenStrategy `json:"blueGreen,omitempty" protobuf:"bytes,2,opt,name=blueGreen"`

	// Size of the first batch, the canary; 0 means no canary batch. The canary stops when its pods are
	// up (Smoked) and again when they are in traffic (Baked), and waits for `next` each time.
	// +optional
	Canary int32 `json:"canary,omitempty" protobuf:"varint,3,opt,name=canary"`

	// Size of each later batch: a number of pods, or a percentage of the pods this release changes,
	// rounded up. Defaults to 100%. The last batch takes what is left.
	// +optional
	BatchSize *intstr.IntOrString `json:"batchSize,omitempty" protobuf:"bytes,4,opt,name=batchSize"`

	// Manual: each Baked batch waits for `next`. Auto: the release goes on batchIntervalSeconds after a
	// batch is Baked. Defaults to Manual.
	// +optional
	Mode ReleaseMode `json:"mode,omitempty" protobuf:"bytes,5,opt,name=mode,casttype=ReleaseMode"`

	// Auto mode: seconds to wait after a batch is Baked before the next batch starts. Defaults to 0.
	// +optional
	BatchIntervalSeconds int32 `json:"batchIntervalSeconds,omitempty" protobuf:"varint,6,opt,name=batchIntervalSeconds"`

	// When false (the default), the release's pods carry the readiness gate `apps.triton.io/ready` and
	// get traffic only once pulled in. When true, a batch goes into traffic as soon as its pods are up.
	// +optional
	NoPullIn bool `json:"noPullIn,omitempty" protobuf:"varint,7,opt,name=noPullIn"`

	// Seconds a batch may take to become Baked before the release fails. Defaults to 600.
	// +optional
	ProgressDeadlineSeconds *int32 `json:"progressDeadlineSeconds,omitempty" protobuf:"varint,8,opt,name=progressDeadlineSeconds"`

	// Failing pods tolerated per batch: a number, or a percentage of the batch. Defaults to 0.
	// +optional
	MaxFailedPods *intstr.IntOrString `json:"maxFailedPods,omitempty" protobuf:"bytes,9,opt,name=maxFailedPods"`

	// Update, Restart and Rollback: how many new pods each batch brings up beside the old ones, which leave
	// only once the new ones are pulled in and Ready, so that the pods in traffic never drop below the
	// CloneSet's replicas. A number, or a percentage of the batch, rounded up; 100% brings the whole batch up
	// at once beside the old pods. A smaller surge brings a batch up in waves, each wave pulled into traffic
	// as it comes up (the canary always comes up whole: it waits out of traffic for `next`). Defaults to 0:
	// each batch's pods are updated or replaced in place of old ones.
	// +optional
	MaxSurge *intstr.IntOrString `json:"maxSurge,omitempty" protobuf:"bytes,10,opt,name=maxSurge"`

	// What a failed batch does: Pause (the default) holds the release and its CloneSet and waits for a
	// person; Cancel cancels the release by itself, traffic first, as `cancel` does.
	// +optional
	OnFailure FailurePolicy `json:"onFailure,omitempty" protobuf:"bytes,11,opt,name=onFailure,casttype=FailurePolicy"`

	// Checks of the world (Prometheus queries, HTTP endpoints, the batch's pods) that hold a batch until
	// they pass and fail it when they fail. Without it, a batch is Baked once its pods are Ready, as
	// before. With strategy.type BlueGreen the checks run on the switch batch, once green is in traffic.
	// Cannot be changed.
	// +optional
	Analysis *ReleaseAnalysis `json:"analysis,omitempty" protobuf:"bytes,12,opt,name=analysis"`
}

// ReleaseAnalysis is what a release checks before a batch counts as Baked.
type ReleaseAnalysis struct {
	// The checks, each with a name unique in the release. They run for every batch once its pods are in
	// traffic (Baking); a batch is Baked only once every check has passed. At most 10, templates'
	// checks included, and at most 24 KiB as JSON together.
	// +optional
	// +listType=map
	// +listMapKey=name
	Checks []AnalysisCheck `json:"checks,omitempty" protobuf:"bytes,1,rep,name=checks"`

	// Names of AnalysisTemplates in the release's namespace whose checks are added after checks, in
	// order. They are read once, when the release is created: a later change to a template, or its
	// deletion, does not change a release that exists (status.analysisChecks has what it runs). At most 5.
	// +optional
	// +listType=set
	Templates []string `json:"templates,omitempty" protobuf:"bytes,2,rep,name=templates"`

	// Seconds between two measurements of a check, 1 to 3600. Defaults to 10.
	// +optional
	IntervalSeconds *int32 `json:"intervalSeconds,omitempty" protobuf:"varint,3,opt,name=intervalSeconds"`

	// A batch is Baked only once every check has passed for this many seconds (with at least one
	// measurement), 0 to 86400. Defaults to 0: the first passing measurement of each check is enough.
	// +optional
	BakeSeconds int32 `json:"bakeSeconds,omitempty" protobuf:"varint,4,opt,name=bakeSeconds"`
}

// AnalysisCheck is one check of a release's analysis: exactly one of prometheus, http and podHealth says
// what is measured, and successCondition says when a measurement passes.
type AnalysisCheck struct {
	// Name of the check, a DNS label (lower case letters, digits and '-'), unique in the release.
	Name string `json:"name" protobuf:"bytes,1,opt,name=name"`

	// A PromQL query on the cluster's Prometheus (the server's, set by its administrator; never one a
	// release names).
	// +optional
	Prometheus *PrometheusCheck `json:"prometheus,omitempty" protobuf:"bytes,2,opt,name=prometheus"`

	// A GET to a Service of the release's namespace.
	// +optional
	HTTP *HTTPCheck `json:"http,omitempty" protobuf:"bytes,3,opt,name=http"`

	// The health of the batch's pods, built in: nothing to set up.
	// +optional
	PodHealth *PodHealthCheck `json:"podHealth,omitempty" protobuf:"bytes,4,opt,name=podHealth"`

	// A CEL expression over result, the measurement (a number, or a list of numbers for a Prometheus
	// vector of several samples), that is true when the measurement passes: for example `result < 0.01`
	// or `result.all(r, r < 0.01)`. At most 1024 bytes. Required for prometheus and http. For podHealth
	// it is optional: the check passes while no pod of the batch restarted more than maxRestarts times
	// and, when set, while it holds for result, the most restarts of one pod of the batch. A measurement
	// that cannot be taken or judged (Prometheus down, an empty vector, a condition that is not true or
	// false for it) is an Error, never a pass.
	// +optional
	SuccessCondition string `json:"successCondition,omitempty" protobuf:"bytes,5,opt,name=successCondition"`

	// Failed measurements tolerated, 0 to 1000: the check fails with the next one. Defaults to 0.
	// +optional
	FailureLimit int32 `json:"failureLimit,omitempty" protobuf:"varint,6,opt,name=failureLimit"`

	// Error measurements in a row tolerated, 0 to 1000: the check fails with the next one; a measurement
	// that is not an Error starts the count again. Counted apart from failureLimit. Defaults to 3.
	// +optional
	ErrorLimit *int32 `json:"errorLimit,omitempty" protobuf:"varint,7,opt,name=errorLimit"`

	// Measured through the whole release, in every phase of every batch, rather than only while a batch
	// bakes: a failure fails the batch in progress whenever it comes.
	// +optional
	Background bool `json:"background,omitempty" protobuf:"varint,8,opt,name=background"`

	// Measured and shown, but never holds or fails a batch: to try a check out.
	// +optional
	DryRun bool `json:"dryRun,omitempty" protobuf:"varint,9,opt,name=dryRun"`
}

// PrometheusCheck measures a PromQL query.
type PrometheusCheck struct {
	// An instant PromQL query, at most 2048 bytes. `${namespace}`, `${release}`, `${cloneSet}`,
	// `${batch}` and `${revision}` are replaced by the release's namespace, name, CloneSet, the batch's
	// index and the revision the release brings. The server adds the release's namespace to every
	// selector of the query (as prom-label-proxy does), so a query reads only the series of its own
	// namespace; one that names another namespace is refused.
	Query string `json:"query" protobuf:"bytes,1,opt,name=query"`
}

// HTTPCheck measures a number that a Service of the release's namespace answers: a GET to one of its ready
// endpoints, never to an arbitrary URL. Redirects are not followed; the time and the size of the answer
// are bounded.
type HTTPCheck struct {
	// Name of the Service, in the release's namespace.
	Service string `json:"service" protobuf:"bytes,1,opt,name=service"`

	// Port of the Service, 1 to 65535.
	Port int32 `json:"port" protobuf:"varint,2,opt,name=port"`

	// Path (and query) to GET, starting with '/', at most 1024 bytes: for example `/metrics/errors?window=1m`.
	Path string `json:"path" protobuf:"bytes,3,opt,name=path"`

	// Where the number is in the JSON answer, as a JSONPath template of kubectl's form, for example
	// `{.errorRate}`; at most 256 bytes. Without it, the whole answer is the number.
	// +optional
	JSONPath string `json:"jsonPath,omitempty" protobuf:"bytes,4,opt,name=jsonPath"`
}

// PodHealthCheck judges the batch's pods against the pods of the CloneSet that are not in the release
// (the others), over the same time: since the check first measured the batch in traffic, once it was
// Baking. A restart or a readiness loss before (such as an in-place update's) does not count.
type PodHealthCheck struct {
	// Container restarts in traffic a pod of the batch may have beyond the others' (their mean per pod,
	// rounded up), 0 to 1000; one more fails the measurement. The same bound holds for the times a pod
	// of the batch lost its readiness (ContainersReady) in traffic. Defaults to 0.
	// +optional
	MaxRestarts *int32 `json:"maxRestarts,omitempty" protobuf:"varint,1,opt,name=maxRestarts"`

	// The most CPU, and the most memory, a pod of the batch may use on average as a multiple of the
	// others' mean, a decimal such as "1.5" (greater than 0, at most 1000). Read from the metrics API
	// (metrics.k8s.io) where the cluster serves it. Unset: CPU and memory are shown, never judged.
	// +optional
	MaxRatio string `json:"maxRatio,omitempty" protobuf:"bytes,2,opt,name=maxRatio"`
}

// AnalysisPhase is where a check of a batch is, or what one measurement said.
// +enum
type AnalysisPhase string

const (
	// AnalysisRunning: the check is being measured and has not decided yet (a check only).
	AnalysisRunning AnalysisPhase = "Running"
	// AnalysisPassed: the measurement passed; a check has passed once it has passed for bakeSeconds.
	AnalysisPassed AnalysisPhase = "Passed"
	// AnalysisFailed: the measurement did not pass; a check has failed once more than failureLimit
	// measurements have.
	AnalysisFailed AnalysisPhase = "Failed"
	// AnalysisError: the measurement could not be taken or judged; a check is in Error once more than
	// errorLimit measurements in a row were, which fails the batch as a failure does.
	AnalysisError AnalysisPhase = "Error"
)

// BlueGreenStrategy is how a BlueGreen release previews, switches and scales blue down.
type BlueGreenStrategy struct {
	// How many green pods come up beside blue before the switch: a number, or a percentage of the
	// CloneSet's replicas, rounded up. Defaults to 100%. With fewer, the switch first brings green to full
	// size.
	// +optional
	PreviewReplicas *intstr.IntOrString `json:"previewReplicas,omitempty" protobuf:"bytes,1,opt,name=previewReplicas"`

	// Switch by itself once the preview is Smoked and batchIntervalSeconds have passed, rather than on
	// `next`. Defaults to false.
	// +optional
	AutoPromote bool `json:"autoPromote,omitempty" protobuf:"varint,2,opt,name=autoPromote"`

	// Seconds blue stays after the switch, out of traffic, before it is removed: a `cancel` in that window
	// switches back at once. Defaults to 30.
	// +optional
	ScaleDownDelaySeconds *int32 `json:"scaleDownDelaySeconds,omitempty" protobuf:"varint,3,opt,name=scaleDownDelaySeconds"`
}

// ReleaseStatus is the observed state of a release.
type ReleaseStatus struct {
	// Pending, Progressing, Paused, Succeeded, Failed or Canceled.
	// +optional
	Phase ReleasePhase `json:"phase,omitempty" protobuf:"bytes,1,opt,name=phase,casttype=ReleasePhase"`

	// The metadata.generation of the spec that this status reflects.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty" protobuf:"varint,2,opt,name=observedGeneration"`

	// Index (1-based) of the batch in progress; 0 before the first batch starts.
	// +optional
	CurrentBatch int32 `json:"currentBatch,omitempty" protobuf:"varint,3,opt,name=currentBatch"`

	// The plan: every batch of the release, in order, with its progress.
	// +optional
	// +listType=atomic
	Batches []ReleaseBatch `json:"batches,omitempty" protobuf:"bytes,4,rep,name=batches"`

	// The target CloneSet as last observed, and what it was before the release.
	// +optional
	CloneSet *CloneSetObservation `json:"cloneSet,omitempty" protobuf:"bytes,5,opt,name=cloneSet"`

	// AwaitingNext, Paused, Failed and Complete; a canceled release also has Reverted (False while its pods
	// leave traffic, True once its CloneSet is back and let go of), and a release with an analysis
	// AnalysisPassed (the checks of the current batch).
	// +optional
	// +listType=map
	// +listMapKey=type
	// +patchStrategy=merge
	// +patchMergeKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type" protobuf:"bytes,6,rep,name=conditions"`

	// True once a caller promoted the release fully (`next` with toBatch the last batch): it succeeds once
	// its last batch is Baked, without another `next`.
	// +optional
	Promoted bool `json:"promoted,omitempty" protobuf:"varint,7,opt,name=promoted"`

	// Every action taken on the release, by a caller or by the controller; the newest 50 are kept.
	// +optional
	// +listType=atomic
	History []ReleaseHistoryEntry `json:"history,omitempty" protobuf:"bytes,8,rep,name=history"`

	// The checks the release runs: those of spec.strategy.analysis followed by those of its templates, as
	// they were when the release was created. Set once, by the server; a later change to a template does
	// not change them.
	// +optional
	// +listType=atomic
	AnalysisChecks []AnalysisCheck `json:"analysisChecks,omitempty" protobuf:"bytes,9,rep,name=analysisChecks"`
}

// ReleaseBatch is one step of a release's plan.
type ReleaseBatch struct {
	// Position of the batch in the plan, from 1.
	Index int32 `json:"index" protobuf:"varint,1,opt,name=index"`

	// True for the canary batch.
	// +optional
	Canary bool `json:"canary,omitempty" protobuf:"varint,2,opt,name=canary"`

	// Number of pods this batch changes.
	Replicas int32 `json:"replicas" protobuf:"varint,3,opt,name=replicas"`

	// Number of pods changed by the release once this batch is done (cumulative).
	Target int32 `json:"target" protobuf:"varint,4,opt,name=target"`

	// Pending, Smoking, Smoked, Baking, Baked, Failed or Skipped.
	// +optional
	Phase BatchPhase `json:"phase,omitempty" protobuf:"bytes,5,opt,name=phase,casttype=BatchPhase"`

	// The pods of this batch.
	// +optional
	// +listType=atomic
	Pods []BatchPod `json:"pods,omitempty" protobuf:"bytes,6,rep,name=pods"`

	// When the batch started.
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty" protobuf:"bytes,7,opt,name=startedAt"`

	// When all its pods became ContainersReady.
	// +optional
	SmokedAt *metav1.Time `json:"smokedAt,omitempty" protobuf:"bytes,8,opt,name=smokedAt"`

	// When all its pods became Ready.
	// +optional
	BakedAt *metav1.Time `json:"bakedAt,omitempty" protobuf:"bytes,9,opt,name=bakedAt"`

	// Where each check of the release's analysis is for this batch, in the order of
	// status.analysisChecks.
	// +optional
	// +listType=atomic
	Analysis []AnalysisStatus `json:"analysis,omitempty" protobuf:"bytes,10,rep,name=analysis"`
}

// AnalysisStatus is where one check is for one batch.
type AnalysisStatus struct {
	// Name of the check.
	Name string `json:"name" protobuf:"bytes,1,opt,name=name"`

	// Running, Passed, Failed or Error.
	// +optional
	Phase AnalysisPhase `json:"phase,omitempty" protobuf:"bytes,2,opt,name=phase,casttype=AnalysisPhase"`

	// The last measurements, newest last: at most 10. The batches before the current one may keep fewer
	// (the status of a release of many batches has room for only so many).
	// +optional
	// +listType=atomic
	Measurements []Measurement `json:"measurements,omitempty" protobuf:"bytes,3,rep,name=measurements"`

	// Failed measurements so far.
	// +optional
	Failures int32 `json:"failures,omitempty" protobuf:"varint,4,opt,name=failures"`

	// Error measurements in a row, up to the last one.
	// +optional
	ConsecutiveErrors int32 `json:"consecutiveErrors,omitempty" protobuf:"varint,5,opt,name=consecutiveErrors"`

	// Since when every measurement has passed: the check has passed once this is bakeSeconds ago.
	// +optional
	PassingSince *metav1.Time `json:"passingSince,omitempty" protobuf:"bytes,6,opt,name=passingSince"`

	// What the check is waiting for, or why it failed.
	// +optional
	Message string `json:"message,omitempty" protobuf:"bytes,7,opt,name=message"`
}

// Measurement is one measurement of a check.
type Measurement struct {
	// When it was taken.
	Time metav1.Time `json:"time" protobuf:"bytes,1,opt,name=time"`

	// What was measured, as text: a number, or a list of numbers.
	// +optional
	Value string `json:"value,omitempty" protobuf:"bytes,2,opt,name=value"`

	// Passed, Failed or Error.
	Phase AnalysisPhase `json:"phase" protobuf:"bytes,3,opt,name=phase,casttype=AnalysisPhase"`

	// Why it failed, or could not be taken.
	// +optional
	Message string `json:"message,omitempty" protobuf:"bytes,4,opt,name=message"`
}

// BatchPod is a pod of a batch as last observed.
type BatchPod struct {
	// Pod name.
	Name string `json:"name" protobuf:"bytes,1,opt,name=name"`

	// Pod IP.
	// +optional
	IP string `json:"ip,omitempty" protobuf:"bytes,2,opt,name=ip"`

	// Pod phase.
	// +optional
	Phase corev1.PodPhase `json:"phase,omitempty" protobuf:"bytes,3,opt,name=phase,casttype=k8s.io/api/core/v1.PodPhase"`

	// True once the pod's readiness gate `apps.triton.io/ready` is True, so it gets traffic.
	// +optional
	PulledIn bool `json:"pulledIn,omitempty" protobuf:"varint,4,opt,name=pulledIn"`

	// True while the pod is Ready (all its containers and readiness gates).
	// +optional
	Ready bool `json:"ready,omitempty" protobuf:"varint,5,opt,name=ready"`
}

// CloneSetObservation is the target CloneSet as the release last saw it.
type CloneSetObservation struct {
	// The revision the CloneSet updates pods to.
	// +optional
	UpdateRevision string `json:"updateRevision,omitempty" protobuf:"bytes,1,opt,name=updateRevision"`

	// The revision of the CloneSet's current pods.
	// +optional
	CurrentRevision string `json:"currentRevision,omitempty" protobuf:"bytes,2,opt,name=currentRevision"`

	// spec.replicas of the CloneSet.
	// +optional
	Replicas int32 `json:"replicas,omitempty" protobuf:"varint,3,opt,name=replicas"`

	// Pods at the update revision.
	// +optional
	UpdatedReplicas int32 `json:"updatedReplicas,omitempty" protobuf:"varint,4,opt,name=updatedReplicas"`

	// Pods at the update revision that are Ready.
	// +optional
	UpdatedReadyReplicas int32 `json:"updatedReadyReplicas,omitempty" protobuf:"varint,5,opt,name=updatedReadyReplicas"`

	// spec.updateStrategy.partition of the CloneSet: pods kept at the old revision.
	// +optional
	Partition *int32 `json:"partition,omitempty" protobuf:"varint,6,opt,name=partition"`

	// spec.updateStrategy.paused of the CloneSet.
	// +optional
	Paused bool `json:"paused,omitempty" protobuf:"varint,7,opt,name=paused"`

	// status.observedGeneration of the CloneSet.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty" protobuf:"varint,8,opt,name=observedGeneration"`

	// The CloneSet's revision before the release: what `cancel` returns to.
	// +optional
	RevisionBeforeRelease string `json:"revisionBeforeRelease,omitempty" protobuf:"bytes,9,opt,name=revisionBeforeRelease"`

	// The CloneSet's replicas before the release: what `cancel` returns to.
	// +optional
	ReplicasBeforeRelease *int32 `json:"replicasBeforeRelease,omitempty" protobuf:"varint,10,opt,name=replicasBeforeRelease"`

	// While the release is paused or failed: the partition (Update, Restart, Rollback) or the replicas
	// (Create, Scale) the CloneSet is held at, so that no pod changes until it is resumed.
	// +optional
	HeldAt *int32 `json:"heldAt,omitempty" protobuf:"varint,11,opt,name=heldAt"`

	// The CloneSet's updateStrategy.maxUnavailable before the release. While the release runs, each batch
	// may take all its pods out at once (the partition is what limits it); at the end this is put back.
	// +optional
	MaxUnavailableBeforeRelease *intstr.IntOrString `json:"maxUnavailableBeforeRelease,omitempty" protobuf:"bytes,12,opt,name=maxUnavailableBeforeRelease"`

	// The CloneSet's updateStrategy.maxSurge before the release (0 when it had none). A release with
	// strategy.maxSurge sets it per batch; at the end this is put back.
	// +optional
	MaxSurgeBeforeRelease *intstr.IntOrString `json:"maxSurgeBeforeRelease,omitempty" protobuf:"bytes,13,opt,name=maxSurgeBeforeRelease"`

	// The CloneSet's updateStrategy.type before the release. A Restart of an InPlaceIfPossible CloneSet
	// recreates its pods (a template annotation alone would be updated in place, and no container would
	// restart): the CloneSet is ReCreate while the release holds it, and this is put back at the end.
	// +optional
	UpdateStrategyTypeBeforeRelease string `json:"updateStrategyTypeBeforeRelease,omitempty" protobuf:"bytes,14,opt,name=updateStrategyTypeBeforeRelease"`

	// Scale: the CloneSet's pods before the release, so that the pods a scale-out adds are told apart.
	// +optional
	// +listType=set
	PodsBeforeRelease []string `json:"podsBeforeRelease,omitempty" protobuf:"bytes,15,rep,name=podsBeforeRelease"`

	// The UID of the CloneSet the release drives: recorded at admission (a Create release: once it has
	// created the CloneSet), and never changed after. A CloneSet of the same name with another UID (deleted
	// and made again) is not the release's: it writes nothing to it, and fails (condition Failed, reason
	// CloneSetReplaced or CloneSetGone).
	// +optional
	UID types.UID `json:"uid,omitempty" protobuf:"bytes,16,opt,name=uid,casttype=k8s.io/apimachinery/pkg/types.UID"`
}

// ReleaseHistoryEntry records one action taken on a release.
type ReleaseHistoryEntry struct {
	// pause, resume, next, cancel, or what the controller did (start, smoked, baked, fail, ...).
	Action string `json:"action" protobuf:"bytes,1,opt,name=action"`

	// Who did it: the caller's user name, or the controller's.
	// +optional
	User string `json:"user,omitempty" protobuf:"bytes,2,opt,name=user"`

	// When.
	Time metav1.Time `json:"time" protobuf:"bytes,3,opt,name=time"`

	// The current batch before the action.
	// +optional
	FromBatch int32 `json:"fromBatch,omitempty" protobuf:"varint,4,opt,name=fromBatch"`

	// The current batch after the action.
	// +optional
	ToBatch int32 `json:"toBatch,omitempty" protobuf:"varint,5,opt,name=toBatch"`

	// The release and batch phase before the action, as `Progressing/Smoked`.
	// +optional
	FromPhase string `json:"fromPhase,omitempty" protobuf:"bytes,6,opt,name=fromPhase"`

	// The release and batch phase after the action.
	// +optional
	ToPhase string `json:"toPhase,omitempty" protobuf:"bytes,7,opt,name=toPhase"`

	// Why: the caller's reason, or what the controller saw.
	// +optional
	Reason string `json:"reason,omitempty" protobuf:"bytes,8,opt,name=reason"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// ReleaseList is a list of Releases.
type ReleaseList struct {
	metav1.TypeMeta `json:",inline"`
	// Standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty" protobuf:"bytes,1,opt,name=metadata"`

	// The Releases.
	Items []Release `json:"items" protobuf:"bytes,2,rep,name=items"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// ReleaseRequest is the body of the pause, resume, next and cancel subresources: preconditions that make
// a call exactly-once, and a reason for the history.
type ReleaseRequest struct {
	metav1.TypeMeta `json:",inline"`
	// Standard object metadata; name, if set, must be the Release's name.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty" protobuf:"bytes,1,opt,name=metadata"`

	// The call is refused with 409 unless this is the release's current batch.
	// +optional
	ExpectedBatch *int32 `json:"expectedBatch,omitempty" protobuf:"varint,2,opt,name=expectedBatch"`

	// The call is refused with 409 unless this is the phase of the release's current batch.
	// +optional
	ExpectedPhase BatchPhase `json:"expectedPhase,omitempty" protobuf:"bytes,3,opt,name=expectedPhase,casttype=BatchPhase"`

	// Why the call is made; recorded in the release's history.
	// +optional
	Reason string `json:"reason,omitempty" protobuf:"bytes,4,opt,name=reason"`

	// `next` only: move straight to this batch (1-based), past the batches between, which the history
	// records as skipped; the last batch promotes the release fully. Like `next`, it needs the current batch
	// Smoked or Baked.
	// +optional
	ToBatch *int32 `json:"toBatch,omitempty" protobuf:"varint,5,opt,name=toBatch"`

	// `next` only: go past the analysis checks of the current batch that have not passed. A Baking batch
	// whose pods are all Ready counts as Baked, and `next` then moves on from it. With toBatch, also
	// those of the batches skipped: on a release with checks (other than dryRun), toBatch skipping a batch
	// that is not Baked is refused (409) without it. It needs a permission of its own, the verb `override`
	// on `releases` (not the one `next` needs), and a reason; the history records it with the caller.
	// +optional
	OverrideAnalysis bool `json:"overrideAnalysis,omitempty" protobuf:"varint,6,opt,name=overrideAnalysis"`
}

// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// AnalysisTemplate is a set of analysis checks written once, for example by a platform team, that
// releases of its namespace name in spec.strategy.analysis.templates. A release copies the checks when it
// is created: changing or deleting a template changes no release that exists.
type AnalysisTemplate struct {
	metav1.TypeMeta `json:",inline"`
	// Standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty" protobuf:"bytes,1,opt,name=metadata"`

	// The checks of the template.
	// +optional
	Spec AnalysisTemplateSpec `json:"spec,omitempty" protobuf:"bytes,2,opt,name=spec"`
}

// AnalysisTemplateSpec is what an AnalysisTemplate holds.
type AnalysisTemplateSpec struct {
	// The checks, of the same form as a release's spec.strategy.analysis.checks, each with a name unique
	// in the template. At least one, at most 10, and at most 24 KiB as JSON together.
	// +optional
	// +listType=map
	// +listMapKey=name
	Checks []AnalysisCheck `json:"checks,omitempty" protobuf:"bytes,1,rep,name=checks"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// AnalysisTemplateList is a list of AnalysisTemplates.
type AnalysisTemplateList struct {
	metav1.TypeMeta `json:",inline"`
	// Standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty" protobuf:"bytes,1,opt,name=metadata"`

	// The AnalysisTemplates.
	Items []AnalysisTemplate `json:"items" protobuf:"bytes,2,rep,name=items"`
}
