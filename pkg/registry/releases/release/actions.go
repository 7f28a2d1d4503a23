package release

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/util/dryrun"
	"k8s.io/client-go/tools/record"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/apis/releases/validation"
	"github.com/triton-io/triton/pkg/failpoint"
	"github.com/triton-io/triton/pkg/metrics"
	"github.com/triton-io/triton/pkg/release/access"
	"github.com/triton-io/triton/pkg/release/cloneset"
	"github.com/triton-io/triton/pkg/release/moves"
	"github.com/triton-io/triton/pkg/release/plan"
)

// ActionREST is one of the action subresources: releases/pause, resume, next, cancel. A call writes the
// Release's new state first, with optimistic concurrency (the intent), then makes the CloneSet follow it
// with absolute values, and answers with the Release showing the CloneSet as it now is.
type ActionREST struct {
	verb   plan.Verb
	status *genericregistry.Store
	guard  *access.Guard
	events record.EventRecorder
}

var (
	_ rest.NamedCreater    = &ActionREST{}
	_ rest.StorageMetadata = &ActionREST{}
)

// New returns the body of a call.
func (a *ActionREST) New() runtime.Object { return &releases.ReleaseRequest{} }

// Destroy does nothing: the main resource's store owns the etcd client.
func (a *ActionREST) Destroy() {}

// ProducesMIMETypes: the answer is in the request's media type.
func (a *ActionREST) ProducesMIMETypes(verb string) []string { return nil }

// ProducesObject: the answer is the Release.
func (a *ActionREST) ProducesObject(verb string) interface{} { return v1alpha1.Release{} }

var errNoChange = errors.New("no change")

// Create performs the verb on the release name. Each call is counted, by the HTTP status code it answers,
// and timed (pkg/metrics).
func (a *ActionREST) Create(ctx context.Context, name string, obj runtime.Object, createValidation rest.ValidateObjectFunc, options *metav1.CreateOptions) (_ runtime.Object, err error) {
	defer func(start time.Time) {
		metrics.ObserveAction(string(a.verb), answeredCode(err), time.Since(start))
	}(time.Now())
	req, ok := obj.(*releases.ReleaseRequest)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("not a ReleaseRequest: %T", obj))
	}
	if req.Name != "" && req.Name != name {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the ReleaseRequest names %q but the call is for release %q", req.Name, name))
	}
	if errs := validation.ValidateReleaseRequest(req); len(errs) > 0 {
		return nil, apierrors.NewInvalid(releases.Kind("ReleaseRequest"), name, errs)
	}
	if createValidation != nil {
		if err := createValidation(ctx, obj.DeepCopyObject()); err != nil {
			return nil, err
		}
	}
	dryRun := dryrun.IsDryRun(options.DryRun)
	user := ""
	if u, ok := genericapirequest.UserFrom(ctx); ok {
		user = u.GetName()
	}

	current, err := a.status.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	rel := current.(*releases.Release)
	// The caller moves the CloneSet through us: they must be allowed to move it themselves.
	driver, err := a.guard.Driver(ctx, rel.Namespace, rel.Spec.CloneSetName)
	if err != nil {
		return nil, err
	}
	if req.OverrideAnalysis {
		if err := a.guard.CheckOverride(ctx, rel.Namespace, rel.Name); err != nil {
			return nil, err
		}
	}
	cs, err := driver.Get(ctx, rel.Namespace, rel.Spec.CloneSetName)
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("reading CloneSet %s: %w", rel.Spec.CloneSetName, err))
	}
	var obs plan.Observation
	var pods []corev1.Pod
	if cs != nil {
		pods, err = driver.Pods(ctx, cs)
		if err != nil {
			return nil, apierrors.NewInternalError(fmt.Errorf("reading the pods of CloneSet %s: %w", cs.Name, err))
		}
		obs = moves.ObservationOf(rel, cs, pods)
	}

	// 1. The intent: the Release's new state, written with optimistic concurrency. A conflict re-runs the
	// verb on the newer Release, so preconditions (expectedBatch) make a call exactly-once.
	updated, _, err := a.status.Update(ctx, name, actOnRelease(func(r *releases.Release) error {
		changed, err := plan.Act(r, a.verb, req, obs, user, metav1.Now())
		var refusal *plan.Refusal
		if errors.As(err, &refusal) {
			return apierrors.NewConflict(releases.Resource("releases"), name, refusal)
		}
		var invalid *plan.Invalid
		if errors.As(err, &invalid) {
			return apierrors.NewInvalid(releases.Kind("ReleaseRequest"), name,
				field.ErrorList{field.Invalid(field.NewPath(invalid.Field), invalid.Value, invalid.Message)})
		}
		if err != nil {
			return err
		}
		if !changed {
			return errNoChange
		}
		return nil
	}), rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, false,
		&metav1.UpdateOptions{DryRun: options.DryRun, FieldManager: options.FieldManager})
	switch {
	case errors.Is(err, errNoChange):
		updated, err = a.status.Get(ctx, name, &metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	}
	rel = updated.(*releases.Release)
	if !dryRun && len(rel.Status.History) > 0 && a.events != nil {
		if h := rel.Status.History[len(rel.Status.History)-1]; h.Action == string(a.verb) && h.User == user {
			a.events.Event(&corev1.ObjectReference{
				Kind: "Release", APIVersion: v1alpha1.SchemeGroupVersion.String(),
				Namespace: rel.Namespace, Name: rel.Name, UID: rel.UID, ResourceVersion: rel.ResourceVersion,
			}, corev1.EventTypeNormal, plan.EventReason(h.Action), plan.Describe(h))
		}
	}

	failpoint.Crash(failpoint.ActionAfterReleaseWrite)

	// 2. The CloneSet and its pods follow the intent, through the path the controller takes too: traffic
	// out first (a cancel), the CloneSet, then traffic in. Should this fail, the intent is stored and the
	// controller converges the CloneSet and the pods to it.
	f, err := driver.Follow(ctx, rel, pods, obs, dryRun)
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("release %s is %s; making CloneSet %s and its pods follow it failed (the controller retries): %w",
			name, rel.Status.Phase, rel.Spec.CloneSetName, err))
	}
	after := f.CloneSet
	// 3. The answer shows the CloneSet as it now is.
	answer := rel.DeepCopy()
	if after != nil {
		answer.Status.CloneSet = cloneset.Observe(after, rel.Status.CloneSet)
	}
	return answer, nil
}

// answeredCode is the HTTP status code the generic server answers for what Create returned: 200 (the
// actions answer 200, see filters.WithActionsAnsweringOK), a status error's code, else 500. Like the
// server's ErrorToAPIStatus it does not unwrap errors.
func answeredCode(err error) int {
	if err == nil {
		return http.StatusOK
	}
	if s, ok := err.(apierrors.APIStatus); ok && s.Status().Code != 0 {
		return int(s.Status().Code)
	}
	return http.StatusInternalServerError
}

// actOnRelease is an update that applies a verb to the stored Release.
type actOnRelease func(r *releases.Release) error

func (f actOnRelease) Preconditions() *metav1.Preconditions { return nil }

func (f actOnRelease) UpdatedObject(ctx context.Context, old runtime.Object) (runtime.Object, error) {
	r := old.(*releases.Release).DeepCopy()
	if err := f(r); err != nil {
		return nil, err
	}
	return r, nil
}
