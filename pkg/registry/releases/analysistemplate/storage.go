package analysistemplate

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/triton-io/triton/pkg/apis/releases"
)

// REST is the analysistemplates resource.
type REST struct {
	*genericregistry.Store
}

var (
	_ rest.StandardStorage    = &REST{}
	_ rest.ShortNamesProvider = &REST{}
)

// NewREST returns the etcd-backed storage of AnalysisTemplates.
func NewREST(scheme *runtime.Scheme, optsGetter generic.RESTOptionsGetter) (*REST, error) {
	strategy := NewStrategy(scheme)
	store := &genericregistry.Store{
		NewFunc:                   func() runtime.Object { return &releases.AnalysisTemplate{} },
		NewListFunc:               func() runtime.Object { return &releases.AnalysisTemplateList{} },
		PredicateFunc:             Match,
		DefaultQualifiedResource:  releases.Resource("analysistemplates"),
		SingularQualifiedResource: releases.Resource("analysistemplate"),

		CreateStrategy: strategy,
		UpdateStrategy: strategy,
		DeleteStrategy: strategy,

		TableConvertor: tableConvertor{},
	}
	options := &generic.StoreOptions{RESTOptions: optsGetter, AttrFunc: GetAttrs}
	if err := store.CompleteWithOptions(options); err != nil {
		return nil, err
	}
	return &REST{Store: store}, nil
}

// ShortNames lets `kubectl get at` work.
func (r *REST) ShortNames() []string { return []string{"at"} }

// Template reads the AnalysisTemplate name of namespace from etcd (not from the watch cache: a template
// created just before a release that names it is found), for a release being created. A template that
// does not exist is a NotFound error.
func (r *REST) Template(ctx context.Context, namespace, name string) (*releases.AnalysisTemplate, error) {
	obj, err := r.Get(genericapirequest.WithNamespace(ctx, namespace), name, &metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return obj.(*releases.AnalysisTemplate), nil
}
