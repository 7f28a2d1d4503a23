package release

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apimachinery/pkg/util/wait"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/storage/names"
	"k8s.io/klog/v2"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/apis/releases/validation"
	"github.com/triton-io/triton/pkg/release/cloneset"
	"github.com/triton-io/triton/pkg/release/plan"
)

type plannedStatusKey struct{}

// plannedStatus is the status computed for a release being created, carried to PrepareForCreate.
func plannedStatus(ctx context.Context) (releases.ReleaseStatus, bool) {
	s, ok := ctx.Value(plannedStatusKey{}).(releases.ReleaseStatus)
	return s, ok
}

// admit checks a new release against its CloneSet and computes its plan: the CloneSet must exist (or,
// for Create, must not), no other release may be running on it, a Rollback's revision must exist (and
// defaults to the one before the current). It returns the context carrying the planned status, and the
// function that lets go of the CloneSet's claim once the release is stored (or not).
func (r *REST) admit(ctx context.Context, rel *releases.Release) (context.Context, func(), error) {
	ctx, err := r.prepare(ctx, rel)
	var planErr badPlan
	if errors.As(err, &planErr) {
		err = nil
	}
	if err != nil {
		return ctx, nil, err
	}
	// Whether another release runs on the CloneSet is checked once, under the claim: a create of the same
	// CloneSet (here or on another replica) stores its release before it lets go of the claim, so a list at
	// the revision the claim was taken at sees it (see runningRelease).
	unclaim, rev, err := r.claim(ctx, genericapirequest.NamespaceValue(ctx), rel.Spec.CloneSetName)
	if err != nil {
		return ctx, nil, err
	}
	if err := r.noRunningRelease(ctx, rel, rev); err != nil {
		unclaim()
		return ctx, nil, err
	}
	if planErr.error != nil {
		unclaim()
		return ctx, nil, planErr.error
	}
	return ctx, unclaim, nil
}

// prepare does admit's checks and computes the planned status.
func (r *REST) prepare(ctx context.Context, rel *releases.Release) (context.Context, error) {
	// The store gives a generateName release its name later; check it as if it had one already.
	checked := rel
	if rel.Name == "" && rel.GenerateName != "" {
		checked = rel.DeepCopy()
		checked.Name = names.SimpleNameGenerator.GenerateName(rel.GenerateName)
	}
	if errs := validation.ValidateRelease(checked); len(errs) > 0 {
		return ctx, apierrors.NewInvalid(releases.Kind("Release"), rel.Name, errs)
	}
	ns := genericapirequest.NamespaceValue(ctx)
	spec := field.NewPath("spec")
	// Whoever creates a release moves its CloneSet through us: they must be allowed to move it
	// themselves, and to create it for a Create release. Asked before the CloneSet is read, so a 403
	// tells nothing about whether it exists.
	if rel.Spec.Action == releases.ActionCreate {
		if _, err := r.guard.DriverFor(ctx, "create", ns, rel.Spec.CloneSetName); err != nil {
			return ctx, err
		}
	}
	driver, err := r.guard.Driver(ctx, ns, rel.Spec.CloneSetName)
	if err != nil {
		return ctx, err
	}
	// The templates the analysis names are read once the caller is known to be allowed to create the
	// release, so a 403 tells nothing about which templates exist.
	if ctx, err = r.resolveAnalysis(ctx, rel); err != nil {
		return ctx, err
	}
	cs, revisionKnown, err := observedCloneSet(ctx, driver, ns, rel.Spec.CloneSetName)
	if err != nil {
		return ctx, err
	}
	// Which CloneSet this is (none yet for a Create release): a release of another CloneSet of the same
	// name, since deleted, does not hold this one (see runningRelease).
	var uid types.UID
	if cs != nil {
		uid = cs.UID
	}
	ctx = context.WithValue(ctx, cloneSetUIDKey{}, uid)
	status := releases.ReleaseStatus{Phase: releases.ReleasePending}
	var current int32
	switch {
	case rel.Spec.Action == releases.ActionCreate && cs != nil:
		return ctx, apierrors.NewInvalid(releases.Kind("Release"), rel.Name, field.ErrorList{
			field.Invalid(spec.Child("cloneSetName"), rel.Spec.CloneSetName, "a Create release needs a CloneSet that does not exist yet; this one exists"),
		})
	case rel.Spec.Action == releases.ActionCreate:
		status.CloneSet = &releases.CloneSetObservation{ReplicasBeforeRelease: int32Ptr(0)}
	case cs == nil:
		return ctx, apierrors.NewInvalid(releases.Kind("Release"), rel.Name, field.ErrorList{
			field.NotFound(spec.Child("cloneSetName"), rel.Spec.CloneSetName),
		})
	case rel.Spec.Action == releases.ActionRestart && !plan.RestartsPods(rel) && cs.Spec.UpdateStrategy.Type == kruiseappsv1alpha1.InPlaceOnlyCloneSetUpdateStrategyType:
		// A Restart recreates pods: a restart annotation alone is updated in place, and no container
		// restarts. A CloneSet that may only be updated in place must not be recreated.
		return ctx, apierrors.NewInvalid(releases.Kind("Release"), rel.Name, field.ErrorList{
			field.Invalid(spec.Child("action"), rel.Spec.Action, fmt.Sprintf(
				"a Restart recreates the pods of CloneSet %s, whose updateStrategy.type InPlaceOnly forbids that; restart its containers in place with OpenKruise ContainerRecreateRequests instead", cs.Name)),
		})
	case plan.Surges(rel) && cs.Spec.UpdateStrategy.Type == kruiseappsv1alpha1.InPlaceOnlyCloneSetUpdateStrategyType:
		return ctx, apierrors.NewInvalid(releases.Kind("Release"), rel.Name, field.ErrorList{
			field.Invalid(spec.Child("strategy", "maxSurge"), rel.Spec.Strategy.MaxSurge.String(), fmt.Sprintf(
				"surge brings new pods up beside the old ones, which CloneSet %s's updateStrategy.type InPlaceOnly forbids (kruise refuses maxSurge with it)", cs.Name)),
		})
	case !revisionKnown:
		// The starting point (the revision a cancel goes back to, a Restart's template, a Rollback's
		// default) is the CloneSet's update revision, which is only current once kruise has seen its
		// latest template: taken now, it could be the template from before the last edit.
		return ctx, apierrors.NewConflict(releases.Resource("releases"), rel.Name, fmt.Errorf(
			"CloneSet %s changed (generation %d) and kruise has not observed it yet (observed generation %d), so its current revision is not known; retry in a moment",
			cs.Name, cs.Generation, cs.Status.ObservedGeneration))
	default:
		if cs.Spec.Replicas != nil {
			current = *cs.Spec.Replicas
		} else {
			current = 1
		}
		status.CloneSet = cloneset.Observe(cs, nil)
		// The release drives this CloneSet and no other of its name (cloneset.Pinned).
		status.CloneSet.UID = cs.UID
		status.CloneSet.RevisionBeforeRelease = cs.Status.UpdateRevision
		status.CloneSet.ReplicasBeforeRelease = int32Ptr(current)
		// kruise's default when unset.
		maxUnavailable := intstr.FromString("20%")
		if v := cs.Spec.UpdateStrategy.MaxUnavailable; v != nil {
			maxUnavailable = *v
		}
		status.CloneSet.MaxUnavailableBeforeRelease = &maxUnavailable
		// kruise's default when unset: no surge.
		maxSurge := intstr.FromInt32(0)
		if v := cs.Spec.UpdateStrategy.MaxSurge; v != nil {
			maxSurge = *v
		}
		status.CloneSet.MaxSurgeBeforeRelease = &maxSurge
		status.CloneSet.UpdateStrategyTypeBeforeRelease = string(cs.Spec.UpdateStrategy.Type)
	}
	// Scale and a Restart of named pods tell their pods from the others by name: the pods there are now are
	// recorded, and every pod named must be one of them.
	if (rel.Spec.Action == releases.ActionScale || plan.RestartsPods(rel)) && cs != nil {
		pods, err := driver.Live().Pods(ctx, cs)
		if err != nil {
			return ctx, apierrors.NewInternalError(err)
		}
		have := map[string]bool{}
		recorded := 0
		for _, p := range pods {
			status.CloneSet.PodsBeforeRelease = append(status.CloneSet.PodsBeforeRelease, p.Name)
			have[p.Name] = true
			recorded += len(p.Name) + 3 // as JSON: quotes and a comma
		}
		if recorded > MaxPodsBeforeReleaseBytes {
			// The names are kept in the Release, which must stay well inside etcd's object limit.
			return ctx, apierrors.NewInvalid(releases.Kind("Release"), rel.Name, field.ErrorList{
				field.Invalid(spec.Child("cloneSetName"), rel.Spec.CloneSetName, fmt.Sprintf(
					"a %s release records the names of the CloneSet's %d pods (%d bytes as JSON); at most %d bytes can be kept in a Release",
					rel.Spec.Action, len(pods), recorded, MaxPodsBeforeReleaseBytes)),
			})
		}
		var errs field.ErrorList
		for i, name := range rel.Spec.PodsToDelete {
			if !have[name] {
				errs = append(errs, field.NotFound(spec.Child("podsToDelete").Index(i), name))
			}
		}
		if len(errs) > 0 {
			return ctx, apierrors.NewInvalid(releases.Kind("Release"), rel.Name, errs)
		}
	}
	if rel.Spec.Action == releases.ActionRollback {
		revisions, err := driver.Live().Revisions(ctx, cs)
		if err != nil {
			return ctx, apierrors.NewInternalError(err)
		}
		if rel.Spec.ToRevision == "" {
			rel.Spec.ToRevision = cloneset.PreviousRevision(cs, revisions)
			if rel.Spec.ToRevision == "" {
				return ctx, apierrors.NewInvalid(releases.Kind("Release"), rel.Name, field.ErrorList{
					field.Required(spec.Child("toRevision"), "the CloneSet has no revision before its current one"),
				})
			}
		} else if !hasRevision(revisions, rel.Spec.ToRevision) {
			return ctx, apierrors.NewInvalid(releases.Kind("Release"), rel.Name, field.ErrorList{
				field.NotFound(spec.Child("toRevision"), rel.Spec.ToRevision),
			})
		}
	}
	batches, err := plan.Batches(&rel.Spec, current)
	if err != nil {
		// Answered after the check for a running release, which says more (409 before 422).
		return ctx, badPlan{apierrors.NewInvalid(releases.Kind("Release"), rel.Name, field.ErrorList{
			field.Invalid(spec.Child("strategy", "batchSize"), batchSizeString(rel.Spec.Strategy.BatchSize), err.Error()),
		})}
	}
	status.Batches = batches
	return context.WithValue(ctx, plannedStatusKey{}, status), nil
}

// badPlan is a plan that cannot be made (too many batches): answered only once no other release runs on
// the CloneSet, since that answer (409) tells the caller more.
type badPlan struct{ error }

// observedCloneSet reads the CloneSet live (nil when it does not exist): what a release records of it at
// admission (its revision, replicas and strategy before the release) must be the latest, not a cache's.
// revisionKnown says whether its update revision is that of its template as it is now
// (cloneset.UpdateRevisionCurrent): once kruise has observed its latest spec, or at once when what kruise
// has not observed yet left the template alone (the end of the release before puts back the update
// strategy, which kruise may take seconds to observe when it is busy: a pipeline that creates the next
// release the moment the last one Succeeded must not get a 409 for that). Otherwise it waits a little for
// kruise: right after an edit it catches up in a moment, and a caller should not get a 409 for that.
func observedCloneSet(ctx context.Context, driver *cloneset.Driver, ns, name string) (cs *kruiseappsv1alpha1.CloneSet, revisionKnown bool, err error) {
	var readErr error
	checked := int64(-1) // the generation whose template was compared with the update revision's
	start, polls := time.Now(), 0
	defer func() {
		if cs != nil && (polls > 1 || cs.Status.ObservedGeneration < cs.Generation) {
			// Shown in the logs: a create that waited for kruise (or was refused for it) is slower, and one
			// that went ahead of kruise did so on its update revision's template.
			klog.InfoS("Admission read a CloneSet kruise had not observed", "cloneSet", klog.KObj(cs),
				"waited", time.Since(start).Round(time.Millisecond), "generation", cs.Generation,
				"observedGeneration", cs.Status.ObservedGeneration, "revisionKnown", revisionKnown)
		}
	}()
	_ = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, observeWait, true, func(ctx context.Context) (bool, error) {
		polls++
		cs, readErr = driver.Live().CloneSet(ctx, ns, name)
		if readErr != nil || cs == nil {
			return true, nil
		}
		if cs.Status.ObservedGeneration >= cs.Generation {
			revisionKnown = true
			return true, nil
		}
		if cs.Generation == checked {
			return false, nil
		}
		checked = cs.Generation
		revisionKnown, readErr = cloneset.UpdateRevisionCurrent(ctx, driver.Live(), cs)
		return revisionKnown || readErr != nil, nil
	})
	if readErr != nil {
		return nil, false, apierrors.NewInternalError(fmt.Errorf("reading CloneSet %s/%s: %w", ns, name, readErr))
	}
	return cs, revisionKnown, nil
}

// observeWait is how long admission waits for kruise to observe a CloneSet's latest spec.
const observeWait = 3 * time.Second

// noRunningRelease is the 409 for a release of a CloneSet another unfinished release runs on, or that a
// canceled release still holds while its pods leave traffic.
func (r *REST) noRunningRelease(ctx context.Context, rel *releases.Release, rev int64) error {
	uid, _ := ctx.Value(cloneSetUIDKey{}).(types.UID)
	running, reverting, err := r.runningRelease(ctx, rel.Spec.CloneSetName, uid, rev)
	if err != nil {
		return err
	}
	switch {
	case running != "":
		return apierrors.NewConflict(releases.Resource("releases"), rel.Name,
			fmt.Errorf("release %s is still running on CloneSet %s; wait for it to finish or cancel it", running, rel.Spec.CloneSetName))
	case reverting != "":
		return apierrors.NewConflict(releases.Resource("releases"), rel.Name,
			fmt.Errorf("release %s was canceled and its pods are still leaving traffic on CloneSet %s; retry in a moment (kubectl wait --for=condition=Reverted release/%s)",
				reverting, rel.Spec.CloneSetName, reverting))
	}
	return nil
}

// cloneSetUIDKey carries the UID of the CloneSet a release is admitted for (empty: there is none) from
// prepare to noRunningRelease.
type cloneSetUIDKey struct{}

// runningRelease names a release on the CloneSet that has not finished, if any, and a canceled one that
// still holds it (plan.Reverting). A release that lost its CloneSet (plan.Lost), or was admitted for
// another CloneSet of the name than the one there now, with UID uid (empty: none), is neither: it can never
// touch this one again.
//
// The releases are listed from the watch cache as of etcd revision rev (the claim's) or later. The claim's
// keys lie outside the releases' prefix, so no event of the cache's watch carries rev: the cache learns it
// has reached it from a progress notification, asked for here at once rather than at the cacher's own
// pace (every 100 ms), so a create waits a round trip to etcd, not a tick. Should the notification not come
// (another storage), the cacher's own request ends the wait. Without a claim (rev 0) the list is a
// consistent read, which waits the same way.
func (r *REST) runningRelease(ctx context.Context, cloneSet string, uid types.UID, rev int64) (running, reverting string, err error) {
	opts := &metainternalversion.ListOptions{FieldSelector: fields.OneTermEqualSelector("spec.cloneSetName", cloneSet)}
	if rev > 0 {
		opts.ResourceVersion = strconv.FormatInt(rev, 10)
		opts.ResourceVersionMatch = metav1.ResourceVersionMatchNotOlderThan
		_ = r.Store.Storage.Storage.RequestWatchProgress(ctx)
	}
	list, err := r.Store.List(ctx, opts)
	if err != nil {
		return "", "", err
	}
	items := list.(*releases.ReleaseList).Items
	for i := range items {
		other := &items[i]
		if !holds(other, uid) {
			continue
		}
		switch {
		case !plan.Finished(other.Status.Phase):
			return other.Name, "", nil
		case plan.Reverting(other):
			reverting = other.Name
		}
	}
	return "", reverting, nil
}

// holds reports whether a release of the CloneSet's name may still act on the CloneSet there now, with UID
// uid (empty: there is none): not when it lost its CloneSet (plan.Lost), nor when it was admitted for
// another CloneSet of that name (its recorded UID is not uid), which it will never touch.
func holds(other *releases.Release, uid types.UID) bool {
	if _, lost := plan.Lost(other); lost {
		return false
	}
	pinned := cloneset.PinnedUID(other)
	return pinned == "" || pinned == uid
}

func hasRevision(revisions []appsv1.ControllerRevision, name string) bool {
	for _, rev := range revisions {
		if rev.Name == name {
			return true
		}
	}
	return false
}

func int32Ptr(v int32) *int32 { return &v }

func batchSizeString(v *intstr.IntOrString) string {
	if v == nil {
		return "100%"
	}
	return v.String()
}

// MaxPodsBeforeReleaseBytes bounds the pod names a Scale release records (status.cloneSet.podsBeforeRelease):
// with every other part of a Release at its bound, the object stays under etcd's 1.5 MiB request limit.
const MaxPodsBeforeReleaseBytes = 256 << 10
