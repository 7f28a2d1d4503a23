package release

import (
	"context"
	"fmt"
	"time"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/release/plan"
)

// claimWait bounds how long a create waits for another admission on the same CloneSet.
const claimWait = 10 * time.Second

// Create admits a new release against its CloneSet and stores it with its plan. Admission and the store
// happen under the CloneSet's claim, so that of two creates in the same moment (on any replica) the second
// sees the first.
func (r *REST) Create(ctx context.Context, obj runtime.Object, createValidation rest.ValidateObjectFunc, options *metav1.CreateOptions) (runtime.Object, error) {
	rel := obj.(*releases.Release)
	if r.guard == nil {
		// No cluster: nothing to admit against, but the checks are resolved all the same.
		ctx, err := r.resolveAnalysis(ctx, rel)
		if err != nil {
			return nil, err
		}
		return r.Store.Create(ctx, obj, createValidation, options)
	}
	ctx, unclaim, err := r.admit(ctx, rel)
	if err != nil {
		return nil, err
	}
	defer unclaim()
	return r.Store.Create(ctx, obj, createValidation, options)
}

// claim takes the CloneSet's claim for the rest of an admission. The revision is etcd's once it was taken
// (0 without claims): a release stored by an earlier holder lies at or below it.
func (r *REST) claim(ctx context.Context, namespace, cloneSet string) (func(), int64, error) {
	if r.claims == nil {
		return func() {}, 0, nil
	}
	wait, cancel := context.WithTimeout(ctx, claimWait)
	defer cancel()
	unlock, rev, err := r.claims.Lock(wait, namespace, cloneSet)
	if err != nil {
		return nil, 0, apierrors.NewServiceUnavailable(fmt.Sprintf(
			"could not claim CloneSet %s/%s for a new release (another release is being admitted for it, or etcd does not answer); nothing was stored, retry: %v",
			namespace, cloneSet, err))
	}
	return unlock, rev, nil
}

// Update stores a changed Release. A change to its spec changes how its CloneSet moves (mode, interval,
// deadlines), so it needs the caller to be allowed to update the CloneSet; metadata alone does not.
//
// Server-side apply of a Release that does not exist creates it through this path: it goes through
// Create, so it is admitted, planned and claimed like any other create. Only the server removes the
// cleanup finalizer.
func (r *REST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc, updateValidation rest.ValidateObjectUpdateFunc, forceAllowCreate bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	if r.guard == nil {
		return r.Store.Update(ctx, name, objInfo, createValidation, updateValidation, forceAllowCreate, options)
	}
	if forceAllowCreate {
		_, err := r.Store.Get(ctx, name, &metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			obj, err := objInfo.UpdatedObject(ctx, r.Store.New())
			if err != nil {
				return nil, false, err
			}
			created, err := r.Create(ctx, obj, createValidation, &metav1.CreateOptions{
				DryRun: options.DryRun, FieldManager: options.FieldManager, FieldValidation: options.FieldValidation,
			})
			return created, err == nil, err
		case err != nil:
			return nil, false, err
		}
		// It exists: an update, and should it be deleted meanwhile, a 404 rather than a create that skips
		// admission.
		forceAllowCreate = false
	}
	updateValidation = guardChange(r.guard, updateValidation, func(n, o *releases.Release) bool {
		return !apiequality.Semantic.DeepEqual(n.Spec, o.Spec)
	})
	updateValidation = r.guardDeletionDoors(updateValidation)
	updateValidation = keepFinalizer(updateValidation)
	return r.Store.Update(ctx, name, objInfo, createValidation, updateValidation, forceAllowCreate, options)
}

// keepFinalizer refuses an update by anyone but the server that takes away the cleanup finalizer: without
// it, deleting the release would strand its CloneSet.
func keepFinalizer(next rest.ValidateObjectUpdateFunc) rest.ValidateObjectUpdateFunc {
	return func(ctx context.Context, obj, old runtime.Object) error {
		n, o := obj.(*releases.Release), old.(*releases.Release)
		if hasFinalizer(o) && !hasFinalizer(n) && !requestFromServer(ctx) {
			return apierrors.NewForbidden(releases.Resource("releases"), o.Name, fmt.Errorf(
				"finalizer %s is removed by triton-apiserver once the CloneSet is cleaned up; delete the release instead", releases.CleanupFinalizer))
		}
		if next != nil {
			return next(ctx, obj, old)
		}
		return nil
	}
}

// Delete deletes a Release. Deleting one that has not finished cancels it (the controller does, before
// the finalizer lets it go), which moves its CloneSet: the caller must be allowed to update the CloneSet,
// as for `cancel`.
func (r *REST) Delete(ctx context.Context, name string, deleteValidation rest.ValidateObjectFunc, options *metav1.DeleteOptions) (runtime.Object, bool, error) {
	return r.Store.Delete(ctx, name, r.guardDelete(deleteValidation), options)
}

// DeleteCollection deletes releases one by one with the same check as Delete.
func (r *REST) DeleteCollection(ctx context.Context, deleteValidation rest.ValidateObjectFunc, options *metav1.DeleteOptions, listOptions *metainternalversion.ListOptions) (runtime.Object, error) {
	return r.Store.DeleteCollection(ctx, r.guardDelete(deleteValidation), options, listOptions)
}

func (r *REST) guardDelete(next rest.ValidateObjectFunc) rest.ValidateObjectFunc {
	if r.guard == nil {
		return next
	}
	return func(ctx context.Context, obj runtime.Object) error {
		rel := obj.(*releases.Release)
		if !plan.Finished(rel.Status.Phase) && rel.DeletionTimestamp == nil {
			if err := r.guard.CheckDelete(ctx, rel.Namespace, rel.Spec.CloneSetName); err != nil {
				return err
			}
		}
		if next != nil {
			return next(ctx, obj)
		}
		return nil
	}
}

// guardDeletionDoors asks what a delete needs of a caller who changes the owner references or the
// finalizers of a release that has not finished: an owner reference to an owner that does not exist (or
// one the caller deletes) makes the garbage collector delete the release, which cancels it, and a
// finalizer decides when a deletion ends. Neither may be a way round the delete's own check. The server's
// own writes (its finalizer) are its own.
func (r *REST) guardDeletionDoors(next rest.ValidateObjectUpdateFunc) rest.ValidateObjectUpdateFunc {
	return func(ctx context.Context, obj, old runtime.Object) error {
		n, o := obj.(*releases.Release), old.(*releases.Release)
		if !plan.Finished(o.Status.Phase) && !requestFromServer(ctx) &&
			(!apiequality.Semantic.DeepEqual(n.OwnerReferences, o.OwnerReferences) ||
				!apiequality.Semantic.DeepEqual(n.Finalizers, o.Finalizers)) {
			if err := r.guard.CheckDelete(ctx, o.Namespace, o.Spec.CloneSetName); err != nil {
				return err
			}
		}
		if next != nil {
			return next(ctx, obj, old)
		}
		return nil
	}
}

func hasFinalizer(r *releases.Release) bool {
	for _, f := range r.Finalizers {
		if f == releases.CleanupFinalizer {
			return true
		}
	}
	return false
}

// requestFromServer reports whether the request comes from the server itself (its loopback client, which
// its controller uses).
func requestFromServer(ctx context.Context) bool {
	u, _ := genericapirequest.UserFrom(ctx)
	return isServer(u)
}
