package apiserver

import (
	"context"
	"net/http"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/kubernetes"
	restclient "k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/triton-io/triton/pkg/analysis/httpcheck"
	"github.com/triton-io/triton/pkg/analysis/runner"
	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/apis/releases/install"
	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/apiserver/filters"
	"github.com/triton-io/triton/pkg/apiserver/resize"
	"github.com/triton-io/triton/pkg/generated/clientset/versioned"
	"github.com/triton-io/triton/pkg/metrics"
	analysistemplatestorage "github.com/triton-io/triton/pkg/registry/releases/analysistemplate"
	releasestorage "github.com/triton-io/triton/pkg/registry/releases/release"
	"github.com/triton-io/triton/pkg/release/access"
	"github.com/triton-io/triton/pkg/release/caches"
	"github.com/triton-io/triton/pkg/release/claim"
	"github.com/triton-io/triton/pkg/release/cloneset"
	"github.com/triton-io/triton/pkg/release/controller"
	"github.com/triton-io/triton/pkg/release/plan"
	"github.com/triton-io/triton/pkg/storagegate"
	"github.com/triton-io/triton/pkg/version"
)

var (
	// Scheme knows the internal and v1alpha1 Release types.
	Scheme = runtime.NewScheme()
	// Codecs serialize them.
	Codecs = serializer.NewCodecFactory(Scheme)
)

func init() {
	install.Install(Scheme)
	// The generic server decodes options (ListOptions, GetOptions, ...) as an unversioned "v1".
	metav1.AddToGroupVersion(Scheme, schema.GroupVersion{Version: "v1"})
	unversioned := schema.GroupVersion{Group: "", Version: "v1"}
	Scheme.AddUnversionedTypes(unversioned,
		&metav1.Status{},
		&metav1.APIVersions{},
		&metav1.APIGroupList{},
		&metav1.APIGroup{},
		&metav1.APIResourceList{},
	)
}

// HandlerChain is k8s.io/apiserver's handler chain plus triton's: the action subresources answer 200,
// nothing ever answers with a redirect (kube-apiserver proxies to us), nothing but probes is served
// before the front-proxy CA is loaded, with a gate, requests for releases get 503 at once while etcd
// does not answer, and every answer says the server's version in the header version.Header.
func HandlerChain(gate *storagegate.Gate) func(http.Handler, *genericapiserver.Config) http.Handler {
	return func(apiHandler http.Handler, c *genericapiserver.Config) http.Handler {
		apiHandler = filters.WithActionsAnsweringOK(apiHandler, releases.GroupName, "releases", plan.IsVerb)
		if gate != nil {
			apiHandler = gate.Filter(apiHandler, releases.GroupName, Codecs)
		}
		chain := genericapiserver.DefaultBuildHandlerChain(apiHandler, c)
		if rh := c.Authentication.RequestHeaderConfig; rh != nil && rh.CAContentProvider != nil {
			chain = filters.WithAuthenticationLoaded(chain, func() bool {
				_, ok := rh.CAContentProvider.VerifyOptions()
				return ok
			}, filters.HealthPaths...)
		}
		return filters.WithVersionHeader(filters.WithoutRedirects(chain), version.Header, version.Get())
	}
}

// Config is the configuration of triton-apiserver.
type Config struct {
	GenericConfig *genericapiserver.RecommendedConfig
	// Driver reads and writes the cluster's CloneSets for calls; nil only in tests of storage alone.
	Driver *cloneset.Driver
	// ControllerDriver is the controller's, with a client of its own; nil: Driver.
	ControllerDriver *cloneset.Driver
	// LeaseClient renews the controller's Lease, with a client of its own so that the controller's work
	// never delays a renewal (the rate limiter of its client is shared by its reads and writes); nil:
	// ControllerDriver's.
	LeaseClient kubernetes.Interface
	// StorageGate, when set, is probed from a post-start hook with StorageProbe (the chain must come
	// from HandlerChain with the same gate).
	StorageGate  *storagegate.Gate
	StorageProbe func() (storagegate.Probe, func(), error)
	// Claims serialize the admission of releases per CloneSet across replicas; nil only without Driver.
	Claims *claim.Locks
	// Caches, when set, are started with the server and passed to the controller (the drivers read from
	// them through their Cache).
	Caches *caches.Caches
	// ResizeWebhookConfiguration is the MutatingWebhookConfiguration whose scale-out webhook the leader
	// scopes to the CloneSets releases hold (resize.Scope); empty: none.
	ResizeWebhookConfiguration string
	// Analysis measures releases' analysis checks (the Measurer of the controller's runner.Runner); nil:
	// one without Prometheus. Complete fills in what it leaves unset: the controller driver's client of the
	// cluster, an HTTP client of 10 s, and the pods of Caches.
	Analysis *runner.Checks
}

// CompletedConfig is a Config with every default filled in.
type CompletedConfig struct {
	GenericConfig    genericapiserver.CompletedConfig
	Driver           *cloneset.Driver
	ControllerDriver *cloneset.Driver
	LeaseClient      kubernetes.Interface
	StorageGate      *storagegate.Gate
	StorageProbe     func() (storagegate.Probe, func(), error)
	Claims           *claim.Locks
	Caches           *caches.Caches
	// ResizeWebhookConfiguration: see Config.
	ResizeWebhookConfiguration string
	// Analysis: see Config; never nil.
	Analysis *runner.Checks
	// clientConfig is GenericConfig's client configuration of kube-apiserver (the resize webhook's
	// clients are copies of it).
	clientConfig *restclient.Config
}

// Server is a running triton-apiserver.
type Server struct {
	GenericAPIServer *genericapiserver.GenericAPIServer
}

// Complete fills in the defaults of the generic server.
func (c *Config) Complete() CompletedConfig {
	controllerDriver := c.ControllerDriver
	if controllerDriver == nil {
		controllerDriver = c.Driver
	}
	leaseClient := c.LeaseClient
	if leaseClient == nil && controllerDriver != nil {
		leaseClient = controllerDriver.Kube
	}
	return CompletedConfig{GenericConfig: c.GenericConfig.Complete(), Driver: c.Driver, ControllerDriver: controllerDriver, LeaseClient: leaseClient,
		StorageGate: c.StorageGate, StorageProbe: c.StorageProbe, Claims: c.Claims, Caches: c.Caches,
		ResizeWebhookConfiguration: c.ResizeWebhookConfiguration, Analysis: c.completeAnalysis(controllerDriver),
		clientConfig: c.GenericConfig.ClientConfig}
}

// analysisHTTPTimeout bounds the GET of an http check.
const analysisHTTPTimeout = 10 * time.Second

// completeAnalysis is a copy of c.Analysis with what it leaves unset filled in.
func (c *Config) completeAnalysis(driver *cloneset.Driver) *runner.Checks {
	a := c.Analysis
	if a == nil {
		a = &runner.Checks{}
	}
	checks := &runner.Checks{Prometheus: a.Prometheus, NamespaceLabel: a.NamespaceLabel, Kube: a.Kube, HTTP: a.HTTP,
		Pods: a.Pods, Metrics: a.Metrics, Now: a.Now}
	if checks.Kube == nil && driver != nil {
		checks.Kube = driver.Kube
	}
	if checks.HTTP == nil {
		checks.HTTP = httpcheck.NewClient(analysisHTTPTimeout)
	}
	if checks.Pods == nil && c.Caches != nil {
		checks.Pods = cachedPods(c.Caches.PodInformer)
	}
	return checks
}

// New builds the server and installs the releases.triton.io group.
func (c CompletedConfig) New() (*Server, error) {
	metrics.Register()
	generic, err := c.GenericConfig.New("triton-apiserver", genericapiserver.NewEmptyDelegate())
	if err != nil {
		return nil, err
	}
	var events record.EventRecorder
	var guard *access.Guard
	if c.Driver != nil {
		// Every request that would move a CloneSet is checked with the same authorizer as the request
		// itself: delegated to kube-apiserver, with the caller's identity.
		if guard, err = access.NewGuard(c.GenericConfig.Authorization.Authorizer, c.Driver); err != nil {
			return nil, err
		}
		var stop func()
		events, stop = controller.NewRecorder(c.Driver.Kube)
		generic.AddPreShutdownHookOrDie("stop-release-events", func() error { stop(); return nil })
	}
	templates, err := analysistemplatestorage.NewREST(Scheme, c.GenericConfig.RESTOptionsGetter)
	if err != nil {
		return nil, err
	}
	storage, err := releasestorage.NewStorage(Scheme, c.GenericConfig.RESTOptionsGetter, guard, c.Claims, events, templates.Template)
	if err != nil {
		return nil, err
	}
	group := genericapiserver.NewDefaultAPIGroupInfo(releases.GroupName, Scheme, metav1.ParameterCodec, Codecs)
	resources := map[string]rest.Storage{
		"releases":          storage.Release,
		"releases/status":   storage.Status,
		"analysistemplates": templates,
	}
	for verb, action := range storage.Actions {
		resources["releases/"+string(verb)] = action
	}
	group.VersionedResourcesStorageMap[v1alpha1.SchemeGroupVersion.Version] = resources
	if err := generic.InstallAPIGroup(&group); err != nil {
		return nil, err
	}
	var scope func(ctx context.Context)
	if c.Driver != nil {
		// The admission webhook that keeps a release's partition right across a resize of its CloneSet.
		if scope, err = c.installResizeWebhook(generic, storage.Release.Store); err != nil {
			return nil, err
		}
	}
	if c.StorageGate != nil && c.StorageProbe != nil {
		gate, probe := c.StorageGate, c.StorageProbe
		generic.AddPostStartHookOrDie("start-storage-gate", func(hook genericapiserver.PostStartHookContext) error {
			go gate.Run(hook, probe)
			return nil
		})
	}
	if c.Caches != nil {
		informers := c.Caches
		generic.AddPostStartHookOrDie("start-release-caches", func(hook genericapiserver.PostStartHookContext) error {
			informers.Start(hook.Done())
			return nil
		})
	}
	if c.Driver != nil {
		// The controller reads releases through the server's own loopback client (an informer), and writes
		// their status in-process.
		driver, leaseClient, informers, analysis := c.ControllerDriver, c.LeaseClient, c.Caches, c.Analysis
		generic.AddPostStartHookOrDie("start-release-controller", func(hook genericapiserver.PostStartHookContext) error {
			client, err := versioned.NewForConfig(hook.LoopbackClientConfig)
			if err != nil {
				return err
			}
			// A fresh controller (informers, queue) for every term of leadership.
			go controller.RunWhileLeader(hook, leaseClient, controller.DefaultElection(), func(ctx context.Context) {
				if scope != nil {
					go scope(ctx)
				}
				// A reconcile mostly waits on kube-apiserver; a release is never reconciled by two at once.
				controller.New(client, driver, informers).WithStatusWriter(storage.Status).WithAnalysis(analysis).Run(ctx, controllerWorkers)
			})
			return nil
		})
	}
	return &Server{GenericAPIServer: generic}, nil
}

// controllerWorkers is how many releases the controller reconciles at once.
const controllerWorkers = 8

// installResizeWebhook serves the CloneSet resize webhook (pkg/apiserver/resize) and returns what keeps
// the scale-out webhook scoped to the CloneSets releases hold, for the leader to run (nil without caches).
// The webhook reads CloneSets from the caches and writes through clients of its own, reads releases only
// while the storage gate is open, and answers only callers the server's authorizer lets post reviews.
func (c CompletedConfig) installResizeWebhook(generic *genericapiserver.GenericAPIServer, store *genericregistry.Store) (func(context.Context), error) {
	kruise, kube := c.Driver.Kruise, c.Driver.Kube
	if c.clientConfig != nil {
		var err error
		if kruise, kube, err = resize.NewClients(c.clientConfig); err != nil {
			return nil, err
		}
	}
	webhook := &resize.Webhook{Kruise: kruise, Authorizer: c.GenericConfig.Authorization.Authorizer,
		Releases: resize.Gated(c.StorageGate, func(ctx context.Context, namespace, name string) (*releases.Release, error) {
			obj, err := store.Get(genericapirequest.WithNamespace(ctx, namespace), name, &metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return nil, nil
			}
			if err != nil {
				return nil, err
			}
			return obj.(*releases.Release), nil
		})}
	if c.Caches != nil {
		webhook.CloneSets = resize.InformerCache(c.Caches.CloneSetInformer)
	}
	generic.Handler.NonGoRestfulMux.Handle(resize.Path, webhook)
	if c.Caches == nil || c.ResizeWebhookConfiguration == "" {
		return nil, nil
	}
	// The webhook configurations the generic server's admission already watches (informers are started
	// with the server, so this one is asked for now).
	var configs cache.SharedIndexInformer
	if factory := c.GenericConfig.SharedInformerFactory; factory != nil {
		configs = factory.Admissionregistration().V1().MutatingWebhookConfigurations().Informer()
	}
	cloneSets := c.Caches.CloneSetInformer
	return func(ctx context.Context) {
		(&resize.Scope{Configuration: c.ResizeWebhookConfiguration, Kube: kube, CloneSets: cloneSets, Configs: configs}).Run(ctx)
	}, nil
}
