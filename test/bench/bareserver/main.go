//go:build bench

// Command bareserver is the bench's bare aggregated API server: the Release kinds (the same Go types,
// conversions, defaults and validation as triton-apiserver's) stored with k8s.io/apiserver's generic
// registry and its watch cache, in an embedded etcd of its own as triton-apiserver's default is (or
// --etcd-servers), behind the same delegated authentication and authorization, under the group
// bare.bench.triton.io. It has no admission, no claim, no plan, no CloneSet reads and no controller: what
// an aggregated server of this type costs with nothing of Triton's in it, the limit triton-apiserver's
// storage figures are held to. The bench (test/bench) builds and starts it, registers its APIService and
// removes both at the end; it is not part of the product.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/endpoints/openapi"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	genericapiserver "k8s.io/apiserver/pkg/server"
	genericoptions "k8s.io/apiserver/pkg/server/options"
	"k8s.io/apiserver/pkg/util/compatibility"
	"k8s.io/klog/v2"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/embeddedetcd"
	generatedopenapi "github.com/triton-io/triton/pkg/generated/openapi"
	"github.com/triton-io/triton/pkg/registry/releases/release"
)

func main() {
	if err := run(); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "bareserver:", err)
		os.Exit(1)
	}
}

func run() error {
	o := genericoptions.NewRecommendedOptions("/registry/"+group, codecs.LegacyCodec(version))
	// No admission at all: nothing between the request and the generic store.
	o.Admission = nil
	// Stored as triton-apiserver stores Releases: JSON of v1alpha1.
	o.Etcd.StorageConfig.EncodeVersioner = runtime.NewMultiGroupVersioner(version, schema.GroupKind{Group: group})
	// As triton-apiserver's defaults.
	o.Features.EnableProfiling = false
	fs := pflag.NewFlagSet("bareserver", pflag.ExitOnError)
	o.AddFlags(fs)
	dataDir := fs.String("etcd-data-dir", "", "Data directory of the embedded etcd, used when --etcd-servers is empty.")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return err
	}
	ctx := genericapiserver.SetupSignalContext()

	if len(o.Etcd.StorageConfig.Transport.ServerList) == 0 {
		if *dataDir == "" {
			return errors.New("--etcd-data-dir or --etcd-servers is needed")
		}
		member, err := embeddedetcd.Start(ctx, *dataDir)
		if err != nil {
			return err
		}
		defer member.Stop()
		o.Etcd.StorageConfig.Transport.ServerList = []string{member.ClientURL}
		klog.InfoS("Embedded etcd started", "dataDir", *dataDir, "clientURL", member.ClientURL)
	}
	if errs := o.Validate(); len(errs) > 0 {
		return errors.Join(errs...)
	}

	cfg := genericapiserver.NewRecommendedConfig(codecs)
	cfg.EffectiveVersion = compatibility.DefaultBuildEffectiveVersion()
	namer := openapi.NewDefinitionNamer(scheme)
	cfg.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(generatedopenapi.GetOpenAPIDefinitions, namer)
	cfg.OpenAPIConfig.Info.Title, cfg.OpenAPIConfig.Info.Version = "Triton bench: bare server", version.Version
	cfg.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(generatedopenapi.GetOpenAPIDefinitions, namer)
	cfg.OpenAPIV3Config.Info.Title, cfg.OpenAPIV3Config.Info.Version = "Triton bench: bare server", version.Version
	if err := o.ApplyTo(cfg); err != nil {
		return err
	}
	server, err := cfg.Complete().New("bare-bench-apiserver", genericapiserver.NewEmptyDelegate())
	if err != nil {
		return err
	}
	store, err := newStore(cfg.RESTOptionsGetter)
	if err != nil {
		return err
	}
	info := genericapiserver.NewDefaultAPIGroupInfo(group, scheme, metav1.ParameterCodec, codecs)
	info.VersionedResourcesStorageMap[version.Version] = map[string]rest.Storage{"releases": store}
	if err := server.InstallAPIGroup(&info); err != nil {
		return err
	}
	return server.PrepareRun().RunWithContext(ctx)
}

// newStore is the generic registry's store of Releases, with triton-apiserver's strategy (its
// validation, the status set by the server) and selectable fields, and nothing else.
func newStore(options generic.RESTOptionsGetter) (*genericregistry.Store, error) {
	strategy := release.NewStrategy(scheme)
	resource := schema.GroupResource{Group: group, Resource: "releases"}
	store := &genericregistry.Store{
		NewFunc:                   func() runtime.Object { return &releases.Release{} },
		NewListFunc:               func() runtime.Object { return &releases.ReleaseList{} },
		PredicateFunc:             release.Match,
		DefaultQualifiedResource:  resource,
		SingularQualifiedResource: schema.GroupResource{Group: group, Resource: "release"},
		CreateStrategy:            strategy,
		UpdateStrategy:            strategy,
		DeleteStrategy:            strategy,
		TableConvertor:            rest.NewDefaultTableConvertor(resource),
	}
	if err := store.CompleteWithOptions(&generic.StoreOptions{RESTOptions: options, AttrFunc: release.GetAttrs}); err != nil {
		return nil, err
	}
	return store, nil
}
