package moves

import (
	"strconv"
	"strings"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/release/plan"
)

// Moves are the pod writes that make a CloneSet's pods follow a release, each list in the order the
// writes are made (pkg/release/cloneset carries them out, field by field, in the order below). Every
// write is level triggered: a pod already as it should be is left alone.
type Moves struct {
	// PullOut: readiness gate False. Before the CloneSet write (OutFirst), the new pods of a canceled
	// release; after it (Decide), the pods at the release's revision beyond those approved (invariant 9).
	// Only pods in traffic.
	PullOut []corev1.Pod
	// Replace: the pods beyond those approved that kruise replaces (spec.scaleStrategy.podsToDelete), only
	// once its partition brings the replacements back at the old revision (PartitionHolds).
	Replace []corev1.Pod
	// Approved is how many pods the batches approved at the release's revision; -1 when every pod may be.
	Approved int
	// PullIn: readiness gate True: the approved pods of a batch in traffic (Baking, Baked, or Smoking when
	// the release pulls in while it smokes) that are not in it yet.
	PullIn []corev1.Pod
	// Blue: triton's not-ready key on a blue/green release's blue pods: off (In) to bring blue back (a
	// switch back after a cancel, a failed switch), on (Out) once green is all Ready.
	Blue NotReadyKeys
	// Ungated: triton's not-ready key on the release's pods made without the readiness gate: on (Out) until
	// their batch is pulled in, off (In) then (UngatedTraffic).
	Ungated NotReadyKeys
	// StableStrays: readiness gate True: pods at the revision from before the release that came up out of
	// traffic while it runs (StableStrays).
	StableStrays []corev1.Pod

	// The hold protocol (hold.go).

	// Drain: readiness gate False: held pods kruise is about to take away that are still in traffic.
	Drain []corev1.Pod
	// LetGo: hold label off at once: every held pod, once the release no longer holds its CloneSet.
	LetGo []corev1.Pod
	// LetGoUnlisted: hold label off for each pod a live read of the EndpointSlices confirms no Service
	// lists as a ready endpoint: held pods kruise is about to take away, out of traffic and no longer
	// Ready, that the cached endpoints do not list either. A pod still listed keeps its hold (Draining).
	LetGoUnlisted []corev1.Pod
	// Hold: hold label on: every pod of a release that holds its CloneSet, but for those kruise is already
	// taking away or updating.
	Hold []corev1.Pod

	// Draining: a pod kruise is about to take is still leaving traffic.
	Draining bool
	// Again: something is in motion that no event of the release's may announce in time (blue waiting for
	// green to serve or coming back, pods beyond those approved, a pod draining): look again soon.
	Again bool
}

// NotReadyKeys are the pods to take out of traffic (Out) and to bring back (In) through triton's not-ready
// key in their KruisePodReady condition.
type NotReadyKeys struct {
	Out, In []corev1.Pod
}

// Input is what Decide decides from.
type Input struct {
	// Release is the release as stored.
	Release *releases.Release
	// CloneSet is the release's CloneSet as its write left it (nil when there is none).
	CloneSet *kruiseappsv1alpha1.CloneSet
	// Pods are the CloneSet's pods, as read before the write.
	Pods []corev1.Pod
	// Observation is how far the release's pods are (ObservationOf).
	Observation plan.Observation
	// ReadyEndpoints, when set, returns the IPs an EndpointSlice of the release's namespace lists as ready
	// endpoints, as a cache has them, and false when it cannot tell. Decide asks only when a pod leaving
	// traffic may be let go.
	ReadyEndpoints func() (ready map[string]bool, known bool)
}

// OutFirst is what leaves traffic before the CloneSet is written, so that no pod the CloneSet is about to
// change serves meanwhile: a canceled blue/green release brings blue back, green serving until blue does
// (BlueServes); any other canceled release pulls its new pods out. (A cancel that cannot put the template
// back, plan.RevisionGone, leaves the release's pods as they are: in traffic.) A release that lost its
// CloneSet moves nothing.
func OutFirst(r *releases.Release, pods []corev1.Pod) Moves {
	m := Moves{Approved: -1}
	if _, lost := plan.Lost(r); lost {
		return m
	}
	switch {
	case plan.SwitchingBack(r):
		m.Blue.In = BluePods(r, pods)
		m.Again = true
	case r.Status.Phase == releases.ReleaseCanceled && r.Status.CurrentBatch > 0 && !plan.RevisionGone(r):
		m.PullOut = pulledIn(NewPods(r, pods))
	}
	return m
}

// Decide is every pod write that follows the CloneSet write, from the release's intent (plan.IntentOf),
// computed once:
//
//   - into traffic: the approved pods of a batch in traffic, no more than the batches approved (invariant
//     9): those beyond (a scale-out that kruise acted on before the partition counted it) leave traffic
//     and are replaced at the old revision;
//   - blue/green's blue leaves traffic once green is all Ready, and comes back after a failed switch;
//   - pods made without the readiness gate are kept out through KruisePodReady until their batch is pulled
//     in;
//   - pods of the revision from before that came up during the release serve as before;
//   - the hold protocol: every pod of a release that holds its CloneSet is held, and a pod kruise is about
//     to take leaves traffic first (hold.go).
//
// A release that lost its CloneSet moves nothing; nor does one older than the state the CloneSet was last
// written for (NewerIntent: read from a cache behind), whose limits would take out of traffic pods the
// newer state approved: the newer state's own event brings the pods in line.
func Decide(in Input) Moves {
	r, cs, pods := in.Release, in.CloneSet, in.Pods
	m := Moves{Approved: -1}
	if _, lost := plan.Lost(r); lost {
		return m
	}
	if cs != nil && NewerIntent(cs, r) {
		m.Again = true
		return m
	}
	intent := plan.IntentOf(r)
	m.Approved = approvedPods(intent)
	approved, excess := Approved(ReleasePods(r, cs, pods), m.Approved)
	if len(excess) > 0 {
		m.Again = true
		m.PullOut = pulledIn(excess)
		if m.Approved >= 0 && PartitionHolds(cs, int32(m.Approved)) {
			m.Replace = excess
		}
	}
	if b := plan.Current(&r.Status); b != nil && plan.NeedsPullIn(r) && r.Status.Phase == releases.ReleaseProgressing &&
		(b.Phase == releases.BatchBaking || b.Phase == releases.BatchBaked || plan.PullsInWhileSmoking(r)) {
		for _, p := range approved {
			if Gated(&p) && !PulledIn(&p) {
				m.PullIn = append(m.PullIn, p)
			}
		}
	}
	if plan.BlueBack(r) {
		m.Blue.In = BluePods(r, pods)
	}
	if plan.BlueOut(r) {
		if b := plan.Current(&r.Status); b != nil && in.Observation.Ready >= plan.Needed(r, b.Target, in.Observation) {
			m.Blue.Out = BluePods(r, pods)
		} else {
			m.Again = true // green is not all Ready yet
		}
	}
	m.Ungated.Out, m.Ungated.In = UngatedTraffic(r, cs, pods)
	if plan.NeedsPullIn(r) && (!plan.Finished(r.Status.Phase) || plan.Reverting(r)) && r.Status.CurrentBatch > 0 {
		m.StableStrays = StableStrays(r, pods)
	}
	holdProtocol(&m, r, intent, pods, in.ReadyEndpoints)
	m.Again = m.Again || m.Draining
	return m
}

// approvedPods is how many pods may be at the release's revision now; -1 when every pod may be.
func approvedPods(in plan.Intent) int {
	if !in.Owned || in.Updated == nil {
		return -1
	}
	return int(*in.Updated)
}

// NewerIntent reports whether cs was last written for a newer state of r than r (its intent stamp,
// v1alpha1.IntentAnnotation).
func NewerIntent(cs *kruiseappsv1alpha1.CloneSet, r *releases.Release) bool {
	uid, _ := IntentStamp(cs)
	return uid == r.UID && StampedAfter(cs, r)
}

// IntentStamp is cs's intent stamp (v1alpha1.IntentAnnotation) read: the UID of the release cs was last
// written for and the resourceVersion of that release's state then; both empty when there is none.
func IntentStamp(cs *kruiseappsv1alpha1.CloneSet) (uid types.UID, resourceVersion string) {
	stamp := cs.Annotations[v1alpha1.IntentAnnotation]
	i := strings.LastIndex(stamp, "/")
	if i < 0 {
		return "", ""
	}
	return types.UID(stamp[:i]), stamp[i+1:]
}

// StampedAfter reports whether cs's intent stamp is of a release state stored after r's, whichever
// release it is of: all releases are kept in one etcd, whose revisions (their resourceVersions) order
// them. A stamp or a resourceVersion that is not a revision orders nothing: false.
func StampedAfter(cs *kruiseappsv1alpha1.CloneSet, r *releases.Release) bool {
	_, stamped := IntentStamp(cs)
	theirs, err1 := strconv.ParseUint(stamped, 10, 64)
	mine, err2 := strconv.ParseUint(r.ResourceVersion, 10, 64)
	return err1 == nil && err2 == nil && theirs > mine
}
