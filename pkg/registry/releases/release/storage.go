package release

import (
	"context"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/client-go/tools/record"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/release/access"
	"github.com/triton-io/triton/pkg/release/plan"
)

// Storage is every REST endpoint of the releases resource.
type Storage struct {
	Release *REST
	Status  *StatusREST
	// Actions are releases/pause, resume, next and cancel, by verb; nil without a cluster.
	Actions map[plan.Verb]*ActionREST
}

// REST is the releases resource.
type REST struct {
	*genericregistry.Store
	guard *access.Guard
}

// Create admits a new release against its CloneSet and stores it with its plan.
func (r *REST) Create(ctx context.Context, obj runtime.Object, createValidation rest.ValidateObjectFunc, options *metav1.CreateOptions) (runtime.Object, error) {
	if r.guard != nil {
		var err error
		if ctx, err = r.admit(ctx, obj.(*releases.Release)); err != nil {
			return nil, err
		}
	}
	return r.Store.Create(ctx, obj, createValidation, options)
}

// Update stores a changed Release. A change to its spec changes how its CloneSet moves (mode, interval,
// deadlines), so it needs the caller to be allowed to update the CloneSet; metadata alone does not.
func (r *REST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc, updateValidation rest.ValidateObjectUpdateFunc, forceAllowCreate bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	if r.guard != nil {
		updateValidation = guardChange(r.guard, updateValidation, func(n, o *releases.Release) bool {
			return !apiequality.Semantic.DeepEqual(n.Spec, o.Spec)
		})
	}
	return r.Store.Update(ctx, name, objInfo, createValidation, updateValidation, forceAllowCreate, options)
}

// guardChange runs the CloneSet check before next when changed says the update moves the CloneSet.
func guardChange(guard *access.Guard, next rest.ValidateObjectUpdateFunc, changed func(n, o *releases.Release) bool) rest.ValidateObjectUpdateFunc {
	return func(ctx context.Context, obj, old runtime.Object) error {
		n, o := obj.(*releases.Release), old.(*releases.Release)
		if changed(n, o) {
			if err := guard.Check(ctx, o.Namespace, o.Spec.CloneSetName); err != nil {
				return err
			}
		}
		if next != nil {
			return next(ctx, obj, old)
		}
		return nil
	}
}

// StatusREST is the releases/status subresource.
type StatusREST struct {
	store *genericregistry.Store
	guard *access.Guard
}

var (
	_ rest.StandardStorage     = &REST{}
	_ rest.ShortNamesProvider  = &REST{}
	_ rest.CategoriesProvider  = &REST{}
	_ rest.Getter              = &StatusREST{}
	_ rest.Updater             = &StatusREST{}
	_ rest.ResetFieldsStrategy = statusStrategy{}
)

// NewStorage returns the etcd-backed storage of releases, releases/status and, given the guarded
// CloneSet driver, the action subresources. Without one (tests of storage alone) releases are stored
// without a plan.
func NewStorage(scheme *runtime.Scheme, optsGetter generic.RESTOptionsGetter, guard *access.Guard, events record.EventRecorder) (*Storage, error) {
	strategy := NewStrategy(scheme)
	store := &genericregistry.Store{
		NewFunc:                   func() runtime.Object { return &releases.Release{} },
		NewListFunc:               func() runtime.Object { return &releases.ReleaseList{} },
		PredicateFunc:             Match,
		DefaultQualifiedResource:  releases.Resource("releases"),
		SingularQualifiedResource: releases.Resource("release"),

		CreateStrategy:      strategy,
		UpdateStrategy:      strategy,
		DeleteStrategy:      strategy,
		ResetFieldsStrategy: strategy,

		TableConvertor: tableConvertor{},
	}
	options := &generic.StoreOptions{RESTOptions: optsGetter, AttrFunc: GetAttrs}
	if err := store.CompleteWithOptions(options); err != nil {
		return nil, err
	}

	statusStore := *store
	status := NewStatusStrategy(strategy)
	statusStore.UpdateStrategy = status
	statusStore.ResetFieldsStrategy = status

	storage := &Storage{Release: &REST{Store: store, guard: guard}, Status: &StatusREST{store: &statusStore, guard: guard}}
	if guard != nil {
		storage.Actions = map[plan.Verb]*ActionREST{}
		for _, verb := range plan.Verbs {
			storage.Actions[verb] = &ActionREST{verb: verb, status: &statusStore, guard: guard, events: events}
		}
	}
	return storage, nil
}

// ShortNames lets `kubectl get rel` work.
func (r *REST) ShortNames() []string { return []string{"rel"} }

// Categories puts releases in `kubectl get all`.
func (r *REST) Categories() []string { return []string{"all"} }

// New returns an empty Release.
func (r *StatusREST) New() runtime.Object { return &releases.Release{} }

// Destroy does nothing: the main resource's store owns the etcd client.
func (r *StatusREST) Destroy() {}

// Get returns the Release, for the status subresource.
func (r *StatusREST) Get(ctx context.Context, name string, options *metav1.GetOptions) (runtime.Object, error) {
	return r.store.Get(ctx, name, options)
}

// Update writes the status of a Release and nothing else.
func (r *StatusREST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc, updateValidation rest.ValidateObjectUpdateFunc, forceAllowCreate bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	// The status is the release's intent: the controller makes the CloneSet follow it. Writing it is
	// moving the CloneSet (the controller's own writes come as a privileged loopback user).
	if r.guard != nil {
		updateValidation = guardChange(r.guard, updateValidation, func(n, o *releases.Release) bool {
			return !apiequality.Semantic.DeepEqual(n.Status, o.Status)
		})
	}
	// The status subresource never creates a Release.
	return r.store.Update(ctx, name, objInfo, createValidation, updateValidation, false, options)
}

// GetResetFields returns the fields a status writer cannot own.
func (r *StatusREST) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return r.store.GetResetFields()
}

// ConvertToTable prints the Release as a table.
func (r *StatusREST) ConvertToTable(ctx context.Context, object runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	return r.store.ConvertToTable(ctx, object, tableOptions)
}
