package cloneset

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	kruiseclient "github.com/openkruise/kruise-api/client/clientset/versioned"
	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/release/moves"
	"github.com/triton-io/triton/pkg/release/plan"
)

// writeRetry is how often a CloneSet write is tried again after a conflict: kruise writes the CloneSet's
// status (a new resourceVersion) at every pod change, so a busy CloneSet can refuse a few writes in a row;
// about a second in all.
var writeRetry = wait.Backoff{Steps: 10, Duration: 10 * time.Millisecond, Factor: 1.5, Jitter: 0.1}

// Driver reads and writes CloneSets, their revisions and their pods.
type Driver struct {
	Kruise kruiseclient.Interface
	Kube   kubernetes.Interface
	// Cache, when set, answers the driver's reads instead of kube-apiserver. A read from it may be a moment
	// behind; every CloneSet write carries the resourceVersion it was derived from (and the intent stamp),
	// so a write derived from a stale read fails with a conflict, and Apply reads live before it tries
	// again. The reads that must see the latest state (what a release records at admission, the pods it
	// replaces, the pods it holds when it starts) use Live.
	Cache Reader
	// LevelTriggered says the caller acts again on the CloneSet's next event (the controller): a write that
	// a cached read says is not needed is skipped. Without it (the verbs, which answer with the CloneSet as
	// written) Apply confirms that with a live read.
	LevelTriggered bool
	// OnConflict, when set, is told of every CloneSet write kube-apiserver refused with 409 Conflict (the
	// CloneSet changed since it was read).
	OnConflict func()
	// OnPodWrite, when set, is told of each pod as a write of the driver's left it: its readiness gate,
	// hold label, release and batch labels (the controller's own writes, whose events need not wake it).
	OnPodWrite func(written *corev1.Pod)
}

// wrotePod tells OnPodWrite of a pod write that succeeded.
func (d *Driver) wrotePod(written *corev1.Pod, err error) error {
	if err == nil && written != nil && d.OnPodWrite != nil {
		d.OnPodWrite(written)
	}
	return err
}

// Get returns the CloneSet, or nil when it does not exist.
func (d *Driver) Get(ctx context.Context, namespace, name string) (*kruiseappsv1alpha1.CloneSet, error) {
	return d.read().CloneSet(ctx, namespace, name)
}

// PreviousRevision is the revision before the CloneSet's current update revision: where a Rollback
// without toRevision goes.
func PreviousRevision(cs *kruiseappsv1alpha1.CloneSet, revisions []appsv1.ControllerRevision) string {
	var current int64 = -1
	for _, rev := range revisions {
		if rev.Name == cs.Status.UpdateRevision {
			current = rev.Revision
		}
	}
	prev := ""
	for _, rev := range revisions {
		if rev.Name != cs.Status.UpdateRevision && (current < 0 || rev.Revision < current) {
			prev = rev.Name
		}
	}
	return prev
}

// revisionTemplate decodes the pod template kept in a ControllerRevision of the CloneSet with UID owner
// (any CloneSet's when owner is empty), typed and as JSON (see revisionTemplateJSON). A revision that is
// gone, or is another CloneSet's (the release's was deleted, and its revisions with it), is
// ErrRevisionGone.
func (d *Driver) revisionTemplate(ctx context.Context, namespace, name string, owner types.UID) (*corev1.PodTemplateSpec, map[string]interface{}, error) {
	rev, err := d.read().Revision(ctx, namespace, name)
	if err != nil {
		return nil, nil, revisionGone(name, err)
	}
	if err := ownedRevision(rev, owner); err != nil {
		return nil, nil, err
	}
	t, err := RevisionTemplate(rev)
	if err != nil {
		return nil, nil, err
	}
	raw, err := revisionTemplateJSON(rev)
	if err != nil {
		return nil, nil, err
	}
	return t, raw, nil
}

// template is the pod template a release wants on its CloneSet, whose UID is owner (see revisionTemplate),
// and, when it is a revision's, that template as JSON with every field the revision keeps (nil for the
// release's spec.template, which is typed).
func (d *Driver) template(ctx context.Context, r *releases.Release, choice plan.TemplateChoice, owner types.UID) (*corev1.PodTemplateSpec, map[string]interface{}, error) {
	before := ""
	if r.Status.CloneSet != nil {
		before = r.Status.CloneSet.RevisionBeforeRelease
	}
	var t *corev1.PodTemplateSpec
	var raw map[string]interface{}
	switch choice {
	case plan.TemplateKeep:
		return nil, nil, nil
	case plan.TemplateBefore:
		if before == "" {
			return nil, nil, nil
		}
		return d.revisionTemplate(ctx, r.Namespace, before, owner)
	}
	switch r.Spec.Action {
	case releases.ActionCreate, releases.ActionUpdate:
		t = r.Spec.Template.DeepCopy()
	case releases.ActionRollback:
		tmpl, tmplJSON, err := d.revisionTemplate(ctx, r.Namespace, r.Spec.ToRevision, owner)
		if err != nil {
			return nil, nil, err
		}
		t, raw = tmpl, tmplJSON
	case releases.ActionRestart:
		tmpl, tmplJSON, err := d.revisionTemplate(ctx, r.Namespace, before, owner)
		if err != nil {
			return nil, nil, err
		}
		t, raw = tmpl, tmplJSON
		if t.Annotations == nil {
			t.Annotations = map[string]string{}
		}
		// Stable for the release: re-applying it changes nothing.
		t.Annotations[v1alpha1.RestartedAtAnnotation] = r.CreationTimestamp.UTC().Format(time.RFC3339)
		setTemplateAnnotation(raw, v1alpha1.RestartedAtAnnotation, t.Annotations[v1alpha1.RestartedAtAnnotation])
	default:
		return nil, nil, nil
	}
	// Neither the readiness gate nor the hold label is in the template. The gate would stay there after the
	// release, and every pod made later would wait for triton-apiserver to pull it in (invariant 10). The
	// hold label would come back with kruise's in-place update of a pod (kruise applies the template's
	// labels in the same write that starts the update), and a pod held again before its update completes
	// goes from Updating straight to Normal with its KruisePodReady still False: it never becomes Ready.
	// Pods get both at creation while the release holds the CloneSet (v1alpha1.PullInLabel), from a
	// MutatingAdmissionPolicy, and the controller labels the pods there were (prepare, and the hold protocol of moves.Decide).
	return t, raw, nil
}

// legacyTemplateHash is the hash of template t as servers before 2026-11-30 wrote it, with the hold label:
// a release in flight across an upgrade must not rewrite its template for that alone (a label change is a
// new revision, which kruise would roll out to every pod again).
func legacyTemplateHash(t *corev1.PodTemplateSpec) string {
	legacy := t.DeepCopy()
	if legacy.Labels == nil {
		legacy.Labels = map[string]string{}
	}
	legacy.Labels[v1alpha1.HoldLabel] = "true"
	return templateHash(legacy)
}

// Apply makes the CloneSet what the release wants and returns it as it is afterwards (as the server would
// store it, with dryRun). A Create release creates its CloneSet.
//
// An existing CloneSet is written with a JSON merge patch (CRDs take no strategic merge patch) that says
// only what the release owns: the differences between the CloneSet as read and as the release wants it,
// both as the kruise-api types see them, plus the intent stamp and the resourceVersion as read. Fields
// those types do not know (a newer OpenKruise's) are in neither, so never in the patch, and the server
// keeps them; a full update would drop them on every write.
//
// Only the CloneSet the release was admitted for is written (its UID, status.cloneSet.uid, see Pinned):
// another of the same name, or none, is a *LostError (ErrCloneSetReplaced, ErrCloneSetGone) and nothing is
// written to it but, at most, the removal of an owner annotation naming this release. Every patch carries
// the CloneSet's uid as read, so one replaced after the read is not written either.
//
// A finished release writes its final state only to a CloneSet whose intent stamp carries its UID: an
// owner annotation naming it on a CloneSet another release wrote last (put back by hand, or by a manifest
// applied again) is not trusted, and only the annotation goes.
func (d *Driver) Apply(ctx context.Context, r *releases.Release, dryRun bool) (*kruiseappsv1alpha1.CloneSet, error) {
	in := plan.IntentOf(r)
	var result *kruiseappsv1alpha1.CloneSet
	fromCache := d.Cache != nil
	err := retry.RetryOnConflict(writeRetry, func() error {
		cached := fromCache
		// A conflict means the CloneSet changed since it was read: the next try reads it live.
		fromCache = false
		read := d.Live()
		if cached {
			read = d.Cache
		}
		cs, err := read.CloneSet(ctx, r.Namespace, r.Spec.CloneSetName)
		if err == nil && cached && (cs == nil || Pinned(r, cs) != nil) {
			// Absent from the cache: perhaps created a moment ago. Only kube-apiserver can say it is not there
			// (nor that it is not the release's: a cache behind may still show the one before).
			cs, err = d.Live().CloneSet(ctx, r.Namespace, r.Spec.CloneSetName)
		}
		if err != nil {
			return err
		}
		if lost := Pinned(r, cs); lost != nil {
			// Not the CloneSet the release was admitted for: nothing of the release goes on it. Its name
			// comes off if it is there (a manifest that carried it), so that it holds up no new release.
			result = cs
			if !dryRun {
				if result, err = d.LetGoOfName(ctx, r, cs); err != nil {
					return err
				}
			}
			if !in.Touch {
				return nil // it lost it and knows (plan.Lost), or never started: nothing to do
			}
			return lost
		}
		if !in.Touch {
			result = cs
			return nil
		}
		if cs == nil {
			if r.Spec.Action == releases.ActionCreate && r.Status.Phase == releases.ReleaseCanceled {
				// Canceled before its CloneSet was made: nothing of it is anywhere to put back. (A write of
				// an older state of it still in flight that makes the CloneSet after all is this release's
				// to let go of, on that CloneSet's own event.)
				result = nil
				return nil
			}
			if r.Spec.Action != releases.ActionCreate {
				return apierrors.NewNotFound(kruiseappsv1alpha1.SchemeGroupVersion.WithResource("clonesets").GroupResource(), r.Spec.CloneSetName)
			}
			created, err := d.create(ctx, r, in, dryRun)
			if err != nil || dryRun || !plan.NeedsPullIn(r) {
				result = created
				return err
			}
			// Created without pods (see create); the replicas follow in the write below.
			cs = created
		}
		owner := cs.Annotations[v1alpha1.OwnerAnnotation]
		if StaleName(r, cs) {
			// Its final state (its template, partition 0) would roll every pod at once, with no batch: only
			// the name goes, so that the next release can take the CloneSet.
			result = cs
			if dryRun {
				return nil
			}
			result, err = d.dropOwner(ctx, cs)
			return err
		}
		if plan.Finished(r.Status.Phase) && owner != r.Name {
			// A finished release only lets go of a CloneSet it still owns. One that a newer release took
			// over (created the moment this one finished, before the controller released the CloneSet) is
			// not its to write: that would put the old template back under the new release.
			result = cs
			if owner != "" || dryRun || moves.NewerIntent(cs, r) || stampedWith(cs, r) || writtenSince(cs, r) {
				// Held, or written last by another release since: not this one's to stamp.
				return nil
			}
			// Nobody holds it: the release finished before any write of it landed (canceled the moment it
			// started). Its stamp goes on anyway, so that a write of an older state of it still in flight
			// (the controller starting it) is fenced by moves.NewerIntent instead of taking the CloneSet back
			// over a change made since.
			stamp := map[string]interface{}{"metadata": map[string]interface{}{
				"resourceVersion": cs.ResourceVersion,
				"annotations":     map[string]interface{}{v1alpha1.IntentAnnotation: string(r.UID) + "/" + r.ResourceVersion},
			}}
			raw, err := json.Marshal(stamp)
			if err != nil {
				return err
			}
			result, err = d.patch(ctx, cs, raw, false)
			return err
		}
		if owner != "" && owner != r.Name {
			// Another release holds the CloneSet: this one cannot be running (admission claims a CloneSet
			// for one unfinished release at a time), so this is a write of an older state of it.
			return apierrors.NewConflict(kruiseappsv1alpha1.SchemeGroupVersion.WithResource("clonesets").GroupResource(), cs.Name,
				fmt.Errorf("CloneSet %s is held by release %s, not by %s", cs.Name, owner, r.Name))
		}
		if moves.NewerIntent(cs, r) {
			// A newer state of this release has been applied already: this one is stale (a cache behind,
			// or a retry after a conflict with that newer write).
			result = cs
			return nil
		}
		want, wrote, err := d.desired(ctx, cs, r, in)
		if err != nil {
			return err
		}
		if apiequality.Semantic.DeepEqual(want.Spec, cs.Spec) &&
			apiequality.Semantic.DeepEqual(without(want.Annotations, v1alpha1.IntentAnnotation), without(cs.Annotations, v1alpha1.IntentAnnotation)) {
			if cached && !d.LevelTriggered && !stampedWith(cs, r) {
				// The cache may not show a write made a moment ago (pause, then resume at once): see it live.
				return errStaleRead
			}
			result = cs
			return nil
		}
		if !dryRun && in.Owned && plan.NeedsPullIn(r) &&
			(cs.Labels[v1alpha1.PullInLabel] == "" || !apiequality.Semantic.DeepEqual(cs.Spec.Lifecycle, want.Spec.Lifecycle)) {
			// Before the release's template or replicas: the pull-in label (kube-apiserver's admission
			// policy must know the CloneSet is held before kruise makes the first pod for the release,
			// within milliseconds of seeing it), the lifecycle hooks, and the hold label on every pod
			// (kruise holds only a pod that carries it: one it picked before would be deleted while still
			// in traffic).
			if cs, err = d.prepare(ctx, cs, want); err != nil {
				return err
			}
		}
		// The patch carries the CloneSet's resourceVersion as read (a precondition: a write in between
		// makes it fail with 409 Conflict, and the loop reads again), so the stamp check above and this
		// write are atomic.
		stamp := string(r.UID) + "/" + r.ResourceVersion
		want.Annotations[v1alpha1.IntentAnnotation] = stamp
		patch, err := ownedPatch(cs, want, stamp)
		if err != nil {
			return err
		}
		if result, err = d.patch(ctx, cs, patch, dryRun); err != nil {
			return err
		}
		if wrote != nil && in.Owned && !dryRun && !apiequality.Semantic.DeepDerivative(*wrote, result.Spec.Template) {
			// The server did not keep the template as given: an admission webhook changed a field the
			// release sets (kruise's webhook drops pod fields its types do not know and rounds quantities
			// to millis, another webhook may rewrite images). Writing it again would be changed back
			// again, for ever: record the template as stored, which desired then takes as the release's.
			stored := map[string]interface{}{"metadata": map[string]interface{}{
				"resourceVersion": result.ResourceVersion,
				"annotations":     map[string]interface{}{v1alpha1.StoredTemplateAnnotation: templateHash(&result.Spec.Template)},
			}}
			raw, err := json.Marshal(stored)
			if err != nil {
				return err
			}
			if result, err = d.patch(ctx, result, raw, false); err != nil {
				return err
			}
		}
		return nil
	})
	return result, err
}

// errStaleRead makes Apply's retry read the CloneSet live.
var errStaleRead = apierrors.NewConflict(kruiseappsv1alpha1.SchemeGroupVersion.WithResource("clonesets").GroupResource(), "",
	fmt.Errorf("a cached read may be behind"))

// prepare writes want's labels and lifecycle hooks alone (with the record of what the release added to
// them, v1alpha1.HooksAnnotation), then puts the hold label on the CloneSet's pods.
func (d *Driver) prepare(ctx context.Context, cs *kruiseappsv1alpha1.CloneSet, want *wanted) (*kruiseappsv1alpha1.CloneSet, error) {
	pre := cs.DeepCopy()
	pre.Labels = want.Labels
	pre.Spec.Lifecycle = want.Spec.Lifecycle
	if record, ok := want.Annotations[v1alpha1.HooksAnnotation]; ok {
		if pre.Annotations == nil {
			pre.Annotations = map[string]string{}
		}
		pre.Annotations[v1alpha1.HooksAnnotation] = record
	}
	patch, meta, err := mergePatch(cs, pre)
	if err != nil {
		return nil, err
	}
	meta["resourceVersion"] = cs.ResourceVersion
	raw, err := json.Marshal(patch)
	if err != nil {
		return nil, err
	}
	out, err := d.patch(ctx, cs, raw, false)
	if err != nil {
		return nil, err
	}
	// Live: every pod there is now must be held, one kruise made a moment ago included.
	pods, err := d.Live().Pods(ctx, out)
	if err != nil {
		return nil, err
	}
	var hold []*corev1.Pod
	for i := range pods {
		if pods[i].DeletionTimestamp == nil {
			hold = append(hold, &pods[i])
		}
	}
	if err := eachPod(ctx, hold, "holding", func(ctx context.Context, i int) error {
		return d.SetHold(ctx, hold[i], true)
	}); err != nil {
		return nil, err
	}
	return out, nil
}

// patch sends a JSON merge patch to the CloneSet, with cs's uid (as read) as a precondition: a CloneSet
// replaced since it was read is refused by kube-apiserver (uid is immutable), which is a conflict here, so
// that Apply reads it again (and finds it is not the release's).
func (d *Driver) patch(ctx context.Context, cs *kruiseappsv1alpha1.CloneSet, patch []byte, dryRun bool) (*kruiseappsv1alpha1.CloneSet, error) {
	opts := metav1.PatchOptions{FieldManager: "triton-apiserver"}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	patch, err := withUID(patch, cs.UID)
	if err != nil {
		return nil, err
	}
	if !dryRun {
		answerCue(ctx)
	}
	out, err := d.Kruise.AppsV1alpha1().CloneSets(cs.Namespace).Patch(ctx, cs.Name, types.MergePatchType, patch, opts)
	if apierrors.IsConflict(err) && d.OnConflict != nil {
		d.OnConflict()
	}
	if uidRefused(err) {
		return nil, apierrors.NewConflict(kruiseappsv1alpha1.SchemeGroupVersion.WithResource("clonesets").GroupResource(), cs.Name,
			fmt.Errorf("CloneSet %s/%s is not the one read (uid %s): it was replaced", cs.Namespace, cs.Name, cs.UID))
	}
	return out, err
}

// mergePatch is the JSON merge patch from cs to want, as the kruise-api types see them (numbers kept as
// written), with its metadata map (made if the patch had none) for the caller to add preconditions to.
// spec.lifecycle in it says only the paths that differ (lifecyclePatch), never null.
func mergePatch(cs, want *kruiseappsv1alpha1.CloneSet) (patch, meta map[string]interface{}, err error) {
	from, err := json.Marshal(cs)
	if err != nil {
		return nil, nil, err
	}
	to, err := json.Marshal(want)
	if err != nil {
		return nil, nil, err
	}
	diff, err := jsonpatch.CreateMergePatch(from, to)
	if err != nil {
		return nil, nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(diff))
	dec.UseNumber()
	if err := dec.Decode(&patch); err != nil {
		return nil, nil, err
	}
	lifecycle, err := lifecyclePatch(cs.Spec.Lifecycle, want.Spec.Lifecycle)
	if err != nil {
		return nil, nil, err
	}
	setSpec(patch, "lifecycle", lifecycle)
	meta, _ = patch["metadata"].(map[string]interface{})
	if meta == nil {
		meta = map[string]interface{}{}
		patch["metadata"] = meta
	}
	return patch, meta, nil
}

// ownedPatch is the JSON merge patch from cs to want: the fields that differ between them as the kruise-api
// types see them (a key set to null removes it), metadata.resourceVersion of cs as a precondition, and
// the intent stamp. status is not the release's to write, and is left out. A revision's template (want's
// JSON of it) is written from that JSON, with the fields the typed structs do not know.
func ownedPatch(cs *kruiseappsv1alpha1.CloneSet, want *wanted, stamp string) ([]byte, error) {
	patch, meta, err := mergePatch(cs, want.CloneSet)
	if err != nil {
		return nil, err
	}
	if want.template != nil {
		template, err := templatePatch(&cs.Spec.Template, want.template)
		if err != nil {
			return nil, err
		}
		setSpec(patch, "template", template)
	}
	delete(patch, "status")
	meta["resourceVersion"] = cs.ResourceVersion
	annotations, _ := meta["annotations"].(map[string]interface{})
	if annotations == nil {
		annotations = map[string]interface{}{}
		meta["annotations"] = annotations
	}
	annotations[v1alpha1.IntentAnnotation] = stamp
	return json.Marshal(patch)
}

func (d *Driver) create(ctx context.Context, r *releases.Release, in plan.Intent, dryRun bool) (*kruiseappsv1alpha1.CloneSet, error) {
	t, _, err := d.template(ctx, r, plan.TemplateRelease, ownerUID(r, nil))
	if err != nil {
		return nil, err
	}
	cs := &kruiseappsv1alpha1.CloneSet{
		ObjectMeta: metav1.ObjectMeta{
			Name:      r.Spec.CloneSetName,
			Namespace: r.Namespace,
			Labels:    withLabel(t.Labels, v1alpha1.PullInLabel, plan.NeedsPullIn(r)),
			Annotations: map[string]string{
				v1alpha1.OwnerAnnotation:        r.Name,
				v1alpha1.TemplateHashAnnotation: templateHash(t),
				v1alpha1.IntentAnnotation:       string(r.UID) + "/" + r.ResourceVersion,
			},
		},
		Spec: kruiseappsv1alpha1.CloneSetSpec{
			Replicas: in.Replicas,
			Selector: r.Spec.Selector.DeepCopy(),
			Template: *t,
		},
	}
	if plan.NeedsPullIn(r) && !dryRun {
		// With no pods at first: kube-apiserver's admission policy gates the pods of a CloneSet labeled
		// v1alpha1.PullInLabel, and must know about the new CloneSet before kruise makes its first pod (Apply
		// raises the replicas in a second write).
		zero := int32(0)
		cs.Spec.Replicas = &zero
	}
	withHooks(cs, plan.NeedsPullIn(r))
	opts := metav1.CreateOptions{FieldManager: "triton-apiserver"}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	return d.Kruise.AppsV1alpha1().CloneSets(r.Namespace).Create(ctx, cs, opts)
}

// wanted is the CloneSet a release wants (desired) and, when desired gives it the template of a
// ControllerRevision (a cancel's, a Rollback's, a Restart's), that template as JSON: the typed structs drop
// the pod and container fields of a Kubernetes newer than k8s.io/api's, and the patch writes the template
// from the JSON (ownedPatch), so that they are kept.
type wanted struct {
	*kruiseappsv1alpha1.CloneSet
	template map[string]interface{}
}

// desired is cs changed to the intent: absolute values only. It also returns the template it gave the
// CloneSet, or nil when it kept the CloneSet's.
func (d *Driver) desired(ctx context.Context, cs *kruiseappsv1alpha1.CloneSet, r *releases.Release, in plan.Intent) (*wanted, *corev1.PodTemplateSpec, error) {
	want := &wanted{CloneSet: cs.DeepCopy()}
	t, raw, err := d.template(ctx, r, in.Template, ownerUID(r, cs))
	if err != nil {
		return nil, nil, err
	}
	if want.Annotations == nil {
		want.Annotations = map[string]string{}
	}
	var wrote *corev1.PodTemplateSpec
	if t != nil {
		h := templateHash(t)
		current := cs.Annotations[v1alpha1.TemplateHashAnnotation] == h ||
			(in.Template == plan.TemplateRelease && plan.NeedsPullIn(r) && cs.Annotations[v1alpha1.TemplateHashAnnotation] == legacyTemplateHash(t))
		if !current || (in.Owned && !plan.Reverting(r) && templateDrifted(cs, t)) {
			want.Spec.Template = *t
			want.template = raw
			want.Annotations[v1alpha1.TemplateHashAnnotation] = h
			delete(want.Annotations, v1alpha1.StoredTemplateAnnotation)
			wrote = t
		}
	}
	if !in.Owned {
		delete(want.Annotations, v1alpha1.StoredTemplateAnnotation)
	}
	// The partition is absolute: always the intent's value, so a hand edit that lowers it (more pods
	// updated than the batches approved, invariant 2) or raises it is put back. A write derived from an
	// older state of the release (a stale cache racing a verb) cannot undo a batch: the intent stamp
	// (moves.NewerIntent) refuses a state older than the one applied last, and the stamp is written in the same
	// patch as the resourceVersion precondition, so a newer write in between fails it with a conflict and
	// the check runs again on what that write left.
	//
	// It counts the replicas the CloneSet has now (invariant 9): after a scale-out, by hand or by an HPA,
	// the pods added stay at the old revision, and after a scale-in no more pods than approved are updated.
	//
	// A partition the resize webhook raised ahead of a scale-out that has not landed yet counts the
	// replicas asked for (plan.PendingScaleOut): put back to the count of the replicas there are, it would
	// be too low a moment later, when the scale lands. Once the replicas have moved, or the grace is over,
	// the webhook's annotation goes.
	replicas := int32(1)
	if cs.Spec.Replicas != nil {
		replicas = *cs.Spec.Replicas
	}
	if to, _, pending := plan.PendingScaleOut(cs.Annotations, replicas, time.Now()); pending && in.Owned {
		replicas = to
	} else {
		delete(want.Annotations, v1alpha1.ScaleOutAnnotation)
	}
	if partition := in.PartitionFor(replicas); partition != nil {
		p := intstr.FromInt32(*partition)
		want.Spec.UpdateStrategy.Partition = &p
	}
	// While the release progresses on a CloneSet it already drives, its replicas only ever move forward.
	forward := r.Status.Phase == releases.ReleaseProgressing && cs.Annotations[v1alpha1.OwnerAnnotation] == r.Name
	if in.Replicas != nil {
		value := *in.Replicas
		if forward && cs.Spec.Replicas != nil {
			if growing(r) {
				value = max(value, *cs.Spec.Replicas)
			} else {
				value = min(value, *cs.Spec.Replicas)
			}
		}
		want.Spec.Replicas = &value
	}
	if in.PodsToDelete != nil || len(cs.Spec.ScaleStrategy.PodsToDelete) > 0 {
		// kruise refuses names of pods that are gone: keep only the pods there are.
		pods, err := d.Pods(ctx, cs)
		if err != nil {
			return nil, nil, err
		}
		names := withoutNames(mergeNames(cs.Spec.ScaleStrategy.PodsToDelete, in.PodsToDelete), in.WithdrawPods)
		want.Spec.ScaleStrategy.PodsToDelete = existing(names, pods)
	}
	if in.MaxUnavailable != nil {
		v := *in.MaxUnavailable
		want.Spec.UpdateStrategy.MaxUnavailable = &v
	}
	if in.MaxSurge != nil {
		v := *in.MaxSurge
		want.Spec.UpdateStrategy.MaxSurge = &v
	}
	want.Spec.UpdateStrategy.Paused = in.Paused
	if in.UpdateType != "" {
		want.Spec.UpdateStrategy.Type = kruiseappsv1alpha1.CloneSetUpdateStrategyType(in.UpdateType)
	}
	withHooks(want.CloneSet, in.Owned && plan.NeedsPullIn(r))
	if in.Owned {
		want.Annotations[v1alpha1.OwnerAnnotation] = r.Name
	} else if want.Annotations[v1alpha1.OwnerAnnotation] == r.Name {
		delete(want.Annotations, v1alpha1.OwnerAnnotation)
	}
	want.Labels = withLabel(want.Labels, v1alpha1.PullInLabel, in.Owned && plan.NeedsPullIn(r))
	return want, wrote, nil
}

// withLabel returns labels with key set to "true" (on) or without it, copying rather than changing the map.
func withLabel(labels map[string]string, key string, on bool) map[string]string {
	if _, has := labels[key]; has == on {
		return labels
	}
	out := make(map[string]string, len(labels)+1)
	for k, v := range labels {
		if k != key {
			out[k] = v
		}
	}
	if on {
		out[key] = "true"
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// templateDrifted reports whether the CloneSet's template was changed by hand away from the release's
// template t: a field t sets has another value, or is gone. The stored template carries the defaults
// kruise's webhook fills in, which are unset in t; DeepDerivative ignores what t leaves unset, so
// defaulting is not drift. Nor is a field someone added (t does not set it).
//
// It cannot loop, that is write a template the server changes back every time. Defaulting fills fields
// the release leaves unset, and those are ignored here, so the template the release wrote compares equal
// afterwards. Where the server changes a value the release does set (kruise's webhook drops pod fields
// its own, older, core types do not know and rounds quantities up to millis; a default may fill a plain
// int the release left 0, such as hostPort with hostNetwork; another webhook may rewrite images), the
// template would be changed back after every write: Apply sees that in the answer to its write and
// records the template as stored (v1alpha1.StoredTemplateAnnotation), and exactly that template is not drift.
// A hand edit changes the template, so it no longer matches the record and is repaired.
func templateDrifted(cs *kruiseappsv1alpha1.CloneSet, t *corev1.PodTemplateSpec) bool {
	if apiequality.Semantic.DeepDerivative(*t, cs.Spec.Template) {
		return false
	}
	stored, ok := cs.Annotations[v1alpha1.StoredTemplateAnnotation]
	return !ok || stored != templateHash(&cs.Spec.Template)
}

// growing reports whether a release adds pods (Create, scale out).
func growing(r *releases.Release) bool {
	if r.Spec.Action == releases.ActionCreate || plan.BlueGreen(r) {
		// A BlueGreen release adds green pods beside blue until the end.
		return true
	}
	before := int32(0)
	if r.Status.CloneSet != nil && r.Status.CloneSet.ReplicasBeforeRelease != nil {
		before = *r.Status.CloneSet.ReplicasBeforeRelease
	}
	return r.Spec.Replicas != nil && *r.Spec.Replicas >= before
}

func existing(names []string, pods []corev1.Pod) []string {
	alive := map[string]bool{}
	for _, p := range pods {
		if p.DeletionTimestamp == nil {
			alive[p.Name] = true
		}
	}
	var out []string
	for _, n := range names {
		if alive[n] {
			out = append(out, n)
		}
	}
	return out
}

// withoutNames is names less those in drop.
func withoutNames(names, drop []string) []string {
	if len(drop) == 0 {
		return names
	}
	out := names[:0:0]
	for _, n := range names {
		if !slices.Contains(drop, n) {
			out = append(out, n)
		}
	}
	return out
}

func mergeNames(have, add []string) []string {
	out := append([]string(nil), have...)
	for _, n := range add {
		found := false
		for _, h := range have {
			found = found || h == n
		}
		if !found {
			out = append(out, n)
		}
	}
	return out
}

// Observe is what a release records of its CloneSet, keeping the before-release values (and the hold) of
// the previous observation.
//
// The CloneSet's UID is kept too, and recorded from cs when none was (a Create release, at its first
// observation after it created the CloneSet). A CloneSet with another UID than the one recorded is not the
// release's: the observation stays as it was.
func Observe(cs *kruiseappsv1alpha1.CloneSet, previous *releases.CloneSetObservation) *releases.CloneSetObservation {
	if previous != nil && previous.UID != "" && cs != nil && cs.UID != previous.UID {
		return previous.DeepCopy()
	}
	o := &releases.CloneSetObservation{}
	if previous != nil {
		o.UID = previous.UID
		o.RevisionBeforeRelease = previous.RevisionBeforeRelease
		o.ReplicasBeforeRelease = previous.ReplicasBeforeRelease
		o.HeldAt = previous.HeldAt
		o.MaxUnavailableBeforeRelease = previous.MaxUnavailableBeforeRelease
		o.MaxSurgeBeforeRelease = previous.MaxSurgeBeforeRelease
		o.UpdateStrategyTypeBeforeRelease = previous.UpdateStrategyTypeBeforeRelease
		o.PodsBeforeRelease = previous.PodsBeforeRelease
	}
	if cs == nil {
		return o
	}
	if o.UID == "" {
		o.UID = cs.UID
	}
	o.UpdateRevision = cs.Status.UpdateRevision
	o.CurrentRevision = cs.Status.CurrentRevision
	if cs.Spec.Replicas != nil {
		o.Replicas = *cs.Spec.Replicas
	}
	o.UpdatedReplicas = cs.Status.UpdatedReplicas
	o.UpdatedReadyReplicas = cs.Status.UpdatedReadyReplicas
	if p := cs.Spec.UpdateStrategy.Partition; p != nil {
		v := int32(p.IntValue())
		o.Partition = &v
	}
	o.Paused = cs.Spec.UpdateStrategy.Paused
	o.ObservedGeneration = cs.Status.ObservedGeneration
	return o
}

func without(a map[string]string, key string) map[string]string {
	if _, ok := a[key]; !ok {
		return a
	}
	out := make(map[string]string, len(a))
	for k, v := range a {
		if k != key {
			out[k] = v
		}
	}
	return out
}

// stampedWith reports whether cs was last written for exactly this state of r.
func stampedWith(cs *kruiseappsv1alpha1.CloneSet, r *releases.Release) bool {
	return cs.Annotations[v1alpha1.IntentAnnotation] == string(r.UID)+"/"+r.ResourceVersion
}

// StaleName reports whether cs's owner annotation names the finished release r although r did not write
// cs last (its intent stamp carries another release's UID, or none): the name is stale (put back by hand, or
// by a manifest exported while r ran), not a hold, and r may not write its final state over what another
// release (or a person) made since. A canceled release whose pods still leave traffic (plan.Reverting)
// holds the CloneSet by its own status, not by the name.
func StaleName(r *releases.Release, cs *kruiseappsv1alpha1.CloneSet) bool {
	return cs != nil && plan.Finished(r.Status.Phase) && !plan.Reverting(r) &&
		cs.Annotations[v1alpha1.OwnerAnnotation] == r.Name && stampUID(cs) != r.UID
}

// writtenSince reports whether cs was last written for another release's state stored after r's (its
// intent stamp carries another UID and a newer resourceVersion, moves.StampedAfter). A release stored
// before r's state, as the one that held the CloneSet before r was admitted, did not write it since; nor
// did one whose stamp cannot be read as a revision.
func writtenSince(cs *kruiseappsv1alpha1.CloneSet, r *releases.Release) bool {
	uid := stampUID(cs)
	return uid != "" && uid != r.UID && moves.StampedAfter(cs, r)
}

// stampUID is the UID of the release cs was last written for (its intent stamp), or empty.
func stampUID(cs *kruiseappsv1alpha1.CloneSet) types.UID {
	uid, _ := moves.IntentStamp(cs)
	return uid
}

func templateHash(t *corev1.PodTemplateSpec) string {
	raw, _ := json.Marshal(t)
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:8])
}
