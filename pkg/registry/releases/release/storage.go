package release

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/client-go/tools/record"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/release/cloneset"
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
	driver *cloneset.Driver
}

// Create admits a new release against its CloneSet and stores it with its plan.
func (r *REST) Create(ctx context.Context, obj runtime.Object, createValidation rest.ValidateObjectFunc, options *metav1.CreateOptions) (runtime.Object, error) {
	if r.driver != nil {
		var err error
		if ctx, err = r.admit(ctx, obj.(*releases.Release)); err != nil {
			return nil, err
		}
	}
	return r.Store.Create(ctx, obj, createValidation, options)
}

// StatusREST is the releases/status subresource.
type StatusREST struct {
	store *genericregistry.Store
}

var (
	_ rest.StandardStorage     = &REST{}
	_ rest.ShortNamesProvider  = &REST{}
	_ rest.CategoriesProvider  = &REST{}
	_ rest.Getter              = &StatusREST{}
	_ rest.Updater             = &StatusREST{}
	_ rest.ResetFieldsStrategy = statusStrategy{}
)

// NewStorage returns the etcd-backed storage of releases, releases/status and, given a CloneSet driver,
// the action subresources. Without a driver (tests of storage alone) releases are stored without a plan.
func NewStorage(scheme *runtime.Scheme, optsGetter generic.RESTOptionsGetter, driver *cloneset.Driver, events record.EventRecorder) (*Storage, error) {
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

	storage := &Storage{Release: &REST{Store: store, driver: driver}, Status: &StatusREST{store: &statusStore}}
	if driver != nil {
		storage.Actions = map[plan.Verb]*ActionREST{}
		for _, verb := range []plan.Verb{plan.VerbPause, plan.VerbResume, plan.VerbNext, plan.VerbCancel} {
			storage.Actions[verb] = &ActionREST{verb: verb, status: &statusStore, driver: driver, events: events}
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
