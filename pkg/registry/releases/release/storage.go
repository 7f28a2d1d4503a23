package release

import (
	"context"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/authentication/user"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/client-go/tools/record"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/release/access"
	"github.com/triton-io/triton/pkg/release/claim"
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
	// claims serializes admissions per CloneSet across replicas; nil without a cluster.
	claims *claim.Locks
	// templates reads the AnalysisTemplates a release names when it is created; nil: none exists.
	templates AnalysisTemplateGetter
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

// StatusREST is the releases/status subresource. The status is the server's own record of a release
// (the intent its controller makes the CloneSet follow), so only the server writes it: its controller
// through the loopback client, the action subresources straight through the status store.
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

// NewStorage returns the etcd-backed storage of releases, releases/status and, given the guarded
// CloneSet driver, the action subresources. Without one (tests of storage alone) releases are stored
// without a plan. templates reads the AnalysisTemplates a release names when it is created (their checks
// are copied into its status.analysisChecks); nil: none exists.
func NewStorage(scheme *runtime.Scheme, optsGetter generic.RESTOptionsGetter, guard *access.Guard, claims *claim.Locks, events record.EventRecorder, templates AnalysisTemplateGetter) (*Storage, error) {
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
	// The watch cache indexes releases by their CloneSet: admission lists a CloneSet's releases at every
	// create, which would otherwise read every release the cache holds.
	options := &generic.StoreOptions{RESTOptions: optsGetter, AttrFunc: GetAttrs, Indexers: Indexers(),
		TriggerFunc: map[string]storage.IndexerFunc{CloneSetNameField: CloneSetNameTriggerFunc}}
	if err := store.CompleteWithOptions(options); err != nil {
		return nil, err
	}

	statusStore := *store
	status := NewStatusStrategy(strategy)
	statusStore.UpdateStrategy = status
	statusStore.ResetFieldsStrategy = status

	storage := &Storage{Release: &REST{Store: store, guard: guard, claims: claims, templates: templates}, Status: &StatusREST{store: &statusStore}}
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

// Update writes the status of a Release and nothing else, for the server's own controller only. PUT and
// PATCH (server-side apply included) of releases/status all come here; any other caller, however
// privileged, is refused with 403 before anything is read.
func (r *StatusREST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc, updateValidation rest.ValidateObjectUpdateFunc, forceAllowCreate bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	if u, ok := genericapirequest.UserFrom(ctx); !ok || !isServer(u) {
		return nil, false, statusForbidden(u, name)
	}
	// The status subresource never creates a Release.
	return r.store.Update(ctx, name, objInfo, createValidation, updateValidation, false, options)
}

// isServer reports whether u is the server's own loopback identity, as k8s.io/apiserver authenticates
// the loopback client's token (server.AuthorizeClientBearerToken): user system:apiserver in group
// system:masters. Its UID is random per process and not known here, so it is not compared. Through
// kube-apiserver only kube-apiserver's own loopback client, or a caller allowed to impersonate that user
// and group (who may do anything anyway), comes as this identity.
func isServer(u user.Info) bool {
	return u != nil && u.GetName() == user.APIServerUser && slices.Contains(u.GetGroups(), user.SystemPrivilegedGroup)
}

// statusForbidden is the 403 of a status write by anyone but the server.
func statusForbidden(u user.Info, name string) error {
	who := "a request without a user"
	if u != nil {
		who = fmt.Sprintf("User %q", u.GetName())
	}
	return apierrors.NewForbidden(releases.Resource("releases/status"), name, fmt.Errorf(
		"%s cannot write the status of a release: the status is written by triton-apiserver's controller only; "+
			"move a release with the pause, resume, next and cancel subresources", who))
}

// GetResetFields returns the fields a status writer cannot own.
func (r *StatusREST) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return r.store.GetResetFields()
}

// ConvertToTable prints the Release as a table.
func (r *StatusREST) ConvertToTable(ctx context.Context, object runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	return r.store.ConvertToTable(ctx, object, tableOptions)
}

// WriteStatus stores the status of rel as the server's own controller, in-process: through the same
// status strategy (only the status changes; rel's resourceVersion is a precondition, so a release changed
// since it was read is a 409 Conflict) and the same storage as a PUT of releases/status, without the
// loopback HTTP round trip, the serializations and the request's filters (audit among them).
func (r *StatusREST) WriteStatus(ctx context.Context, rel *releases.Release) (*releases.Release, error) {
	ctx = genericapirequest.WithNamespace(ctx, rel.Namespace)
	ctx = genericapirequest.WithUser(ctx, &user.DefaultInfo{Name: user.APIServerUser, Groups: []string{user.SystemPrivilegedGroup}})
	obj, _, err := r.Update(ctx, rel.Name, rest.DefaultUpdatedObjectInfo(rel.DeepCopy()), rest.ValidateAllObjectFunc,
		rest.ValidateAllObjectUpdateFunc, false, &metav1.UpdateOptions{FieldManager: "triton-controller"})
	if err != nil {
		return nil, err
	}
	return obj.(*releases.Release), nil
}
