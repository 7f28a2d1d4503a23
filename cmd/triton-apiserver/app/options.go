package app

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apiserver/pkg/endpoints/openapi"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/server/healthz"
	genericoptions "k8s.io/apiserver/pkg/server/options"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/apiserver/pkg/storage/storagebackend/factory"
	"k8s.io/apiserver/pkg/util/compatibility"
	netutils "k8s.io/utils/net"

	kruiseclient "github.com/openkruise/kruise-api/client/clientset/versioned"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"

	"github.com/triton-io/triton/pkg/analysis/prometheus"
	"github.com/triton-io/triton/pkg/analysis/runner"
	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/apiserver"
	"github.com/triton-io/triton/pkg/apiserver/filters"
	"github.com/triton-io/triton/pkg/apiserver/resize"
	"github.com/triton-io/triton/pkg/embeddedetcd"
	generatedopenapi "github.com/triton-io/triton/pkg/generated/openapi"
	"github.com/triton-io/triton/pkg/metrics"
	"github.com/triton-io/triton/pkg/release/caches"
	"github.com/triton-io/triton/pkg/release/claim"
	"github.com/triton-io/triton/pkg/release/cloneset"
	"github.com/triton-io/triton/pkg/servingcert"
	"github.com/triton-io/triton/pkg/storagegate"
)

const (
	// etcdPathPrefix is where Releases live in etcd, as kube-apiserver keeps its objects under /registry.
	etcdPathPrefix = "/registry/releases.triton.io"
	// DefaultSecurePort is the HTTPS port; not 443, so the server needs no privilege to bind it.
	DefaultSecurePort = 8443
	// DefaultEtcdDataDir is where the embedded etcd keeps its data when --etcd-servers is empty.
	DefaultEtcdDataDir = "/var/lib/triton-apiserver/etcd"
)

// Options are the command line of triton-apiserver: k8s.io/apiserver's recommended options (secure
// serving, delegated authentication and authorization, audit, admission, etcd, and --kubeconfig for the
// cluster whose CloneSets it drives) plus the embedded etcd's data dir.
type Options struct {
	Recommended *genericoptions.RecommendedOptions
	// EtcdDataDir is the embedded etcd's data dir, used when no --etcd-servers are given.
	EtcdDataDir string
	// EtcdQuotaBackendBytes and EtcdDefragInterval bound the embedded etcd's database (see
	// embeddedetcd.Config); unused with --etcd-servers.
	EtcdQuotaBackendBytes int64
	EtcdDefragInterval    time.Duration
	// EtcdCluster makes the embedded etcd one member of a cluster of several (see embeddedetcd.Cluster).
	EtcdCluster EtcdClusterOptions
	// KubeAPIQPS and KubeAPIBurst limit each of the server's two kube-apiserver clients: the one the
	// calls use (they wait for its answers) and the controller's. A QPS of 0 or less (the default) sets no
	// limit in the client: kube-apiserver's priority and fairness is the limit that applies.
	KubeAPIQPS   float32
	KubeAPIBurst int
	// Certs: the serving certificate the server keeps itself, in a Secret (see pkg/servingcert).
	Certs CertOptions
	// ResizeWebhookConfiguration is the MutatingWebhookConfiguration whose scale-out webhook the leader
	// scopes to the CloneSets releases hold; empty: none.
	ResizeWebhookConfiguration string
	// Analysis: what releases' analysis checks measure with.
	Analysis AnalysisOptions
}

// AnalysisOptions are the flags of releases' analysis: the cluster admin's Prometheus, which prometheus
// checks query (never one a release names).
type AnalysisOptions struct {
	// PrometheusAddress is Prometheus's base URL, http or https; empty: prometheus checks measure Error.
	PrometheusAddress string
	// PrometheusCAFile verifies Prometheus's certificate; empty: the system's roots.
	PrometheusCAFile string
	// PrometheusTokenFile holds the bearer token sent to Prometheus, read again as it changes.
	PrometheusTokenFile string
	// NamespaceLabel is the label that names a series' namespace, which every query is kept inside.
	NamespaceLabel string
}

// promLabelName is what a Prometheus label name may be.
var promLabelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

func (a *AnalysisOptions) validate() []error {
	var errs []error
	if a.PrometheusAddress != "" {
		u, err := url.Parse(a.PrometheusAddress)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("--analysis-prometheus-address %q must be an http or https URL", a.PrometheusAddress))
		}
	} else if a.PrometheusCAFile != "" || a.PrometheusTokenFile != "" {
		errs = append(errs, fmt.Errorf("--analysis-prometheus-ca-file and --analysis-prometheus-token-file need --analysis-prometheus-address"))
	}
	if !promLabelName.MatchString(a.NamespaceLabel) {
		errs = append(errs, fmt.Errorf("--analysis-namespace-label %q is not a Prometheus label name", a.NamespaceLabel))
	}
	return errs
}

// Checks is the measurer of analysis checks, with a client of the Prometheus the flags name, if any; the
// server fills in its clients of the cluster (apiserver.Config.Complete).
func (a *AnalysisOptions) Checks() (*runner.Checks, error) {
	c := &runner.Checks{NamespaceLabel: a.NamespaceLabel}
	if a.PrometheusAddress == "" {
		return c, nil
	}
	var err error
	c.Prometheus, err = prometheus.New(prometheus.Options{Address: a.PrometheusAddress, CAFile: a.PrometheusCAFile,
		BearerTokenFile: a.PrometheusTokenFile, NamespaceLabel: a.NamespaceLabel})
	if err != nil {
		return nil, fmt.Errorf("--analysis-prometheus-address: %w", err)
	}
	return c, nil
}

// CertOptions are the self-managed serving certificate's flags.
type CertOptions struct {
	// Secret is [namespace/]name of the Secret that holds the CA and the serving certificate; the
	// namespace defaults to POD_NAMESPACE, else triton-system. Empty: --tls-cert-file, or a throwaway
	// self-signed certificate.
	Secret string
	// Service is the Service kube-apiserver reaches the server by, in the Secret's namespace: its names
	// are the serving certificate's hosts, with Hosts.
	Service string
	Hosts   []string
	// APIServices and Webhooks (MutatingWebhookConfigurations) get the CA bundle in their caBundle.
	APIServices  []string
	Webhooks     []string
	CAValidity   time.Duration
	CertValidity time.Duration
}

// SecretRef is the Secret's namespace and name.
func (c *CertOptions) SecretRef() (namespace, name string) { return secretRef(c.Secret) }

// secretRef splits [namespace/]name; the namespace defaults to POD_NAMESPACE, else triton-system.
func secretRef(ref string) (namespace, name string) {
	if ns, n, ok := strings.Cut(ref, "/"); ok {
		return ns, n
	}
	namespace = os.Getenv("POD_NAMESPACE")
	if namespace == "" {
		namespace = "triton-system"
	}
	return namespace, ref
}

// EtcdClusterOptions are the flags of an embedded etcd that is one member of a cluster.
type EtcdClusterOptions struct {
	// Name is this member's name; empty: POD_NAME.
	Name string
	// InitialCluster is name=https://host:port,... for every member the cluster is founded with; empty:
	// a single member.
	InitialCluster string
	// ListenPeerAddress is host:port of the member's peer listener.
	ListenPeerAddress string
	// PeerCASecret is [namespace/]name of the Secret that holds the peer CA.
	PeerCASecret string
}

// Enabled reports whether the embedded etcd is one member of a cluster.
func (c *EtcdClusterOptions) Enabled() bool { return strings.TrimSpace(c.InitialCluster) != "" }

// MemberName is this member's name: --etcd-name, else POD_NAME.
func (c *EtcdClusterOptions) MemberName() string {
	if c.Name != "" {
		return c.Name
	}
	return os.Getenv("POD_NAME")
}

// Policy is what the certificates must be.
func (c *CertOptions) Policy() servingcert.Policy {
	ns, _ := c.SecretRef()
	return servingcert.Policy{CAValidity: c.CAValidity, CertValidity: c.CertValidity,
		Hosts: append(servingcert.Hosts(ns, c.Service), c.Hosts...)}
}

// NewOptions returns the defaults.
func NewOptions() *Options {
	o := &Options{
		Recommended: genericoptions.NewRecommendedOptions(etcdPathPrefix,
			apiserver.Codecs.LegacyCodec(v1alpha1.SchemeGroupVersion)),
		EtcdDataDir:                DefaultEtcdDataDir,
		KubeAPIQPS:                 -1,
		KubeAPIBurst:               200,
		ResizeWebhookConfiguration: resize.ConfigurationName,
		Analysis:                   AnalysisOptions{NamespaceLabel: "namespace"},
		Certs: CertOptions{Service: "triton-apiserver", CAValidity: 5 * 365 * 24 * time.Hour,
			CertValidity: 90 * 24 * time.Hour},
		EtcdCluster: EtcdClusterOptions{ListenPeerAddress: embeddedetcd.DefaultListenPeerAddress,
			PeerCASecret: "triton-apiserver-peer-ca"},
	}
	o.EtcdQuotaBackendBytes = embeddedetcd.DefaultQuotaBackendBytes
	o.EtcdDefragInterval = embeddedetcd.DefaultDefragInterval
	o.Recommended.Etcd.StorageConfig.EncodeVersioner = runtime.NewMultiGroupVersioner(v1alpha1.SchemeGroupVersion,
		schema.GroupKind{Group: v1alpha1.GroupName})
	o.Recommended.SecureServing.BindPort = DefaultSecurePort
	// kube-apiserver proxies every call through a few HTTP/2 connections: allow as many streams on one as
	// kube-apiserver itself does (the generic server's default is 100).
	o.Recommended.SecureServing.HTTP2MaxStreamsPerConnection = 1000
	// An aggregated API server that does not serve HTTPS serves nothing: refuse --secure-port=0.
	o.Recommended.SecureServing.Required = true
	// The CloneSet resize webhook (resize.Path) is authenticated and authorized like any other request: a
	// non-resource "post" on its path, which artifacts/deploy/webhook-rbac.yaml grants to the identity
	// kube-apiserver is configured to present to it (its AdmissionConfiguration's kubeConfigFile).

	// Profiling is off unless --profiling: it serves /debug/pprof, PUT /debug/flags/v (a caller could raise
	// the verbosity until client-go logs TokenReviews and the Secret with the CA key) and DELETE /metrics to
	// whoever is authorized on those paths. --contention-profiling does nothing without it.
	o.Recommended.Features.EnableProfiling = false
	return o
}

// AddFlags adds every option to fs.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	o.Recommended.AddFlags(fs)
	fs.StringVar(&o.EtcdDataDir, "etcd-data-dir", o.EtcdDataDir,
		"Data directory of the embedded etcd, used when --etcd-servers is empty. Only one server may use it: "+
			"without --etcd-initial-cluster run one replica in this mode.")
	fs.StringVar(&o.EtcdCluster.InitialCluster, "etcd-initial-cluster", o.EtcdCluster.InitialCluster,
		"Makes the embedded etcd one member of a cluster: name=https://host:port,... for every member it is founded "+
			"with (three survive the loss of one), each server running one of them. Peers talk TLS with certificates "+
			"each member issues itself from the CA in --etcd-peer-ca-secret. A member whose data dir was lost is "+
			"added again by the running members by itself. Empty: a single member.")
	fs.StringVar(&o.EtcdCluster.Name, "etcd-name", o.EtcdCluster.Name,
		"With --etcd-initial-cluster: this member's name in it. Empty: the environment variable POD_NAME.")
	fs.StringVar(&o.EtcdCluster.ListenPeerAddress, "etcd-listen-peer-address", o.EtcdCluster.ListenPeerAddress,
		"With --etcd-initial-cluster: host:port the member listens on for its peers (clients are served on 127.0.0.1 only).")
	fs.StringVar(&o.EtcdCluster.PeerCASecret, "etcd-peer-ca-secret", o.EtcdCluster.PeerCASecret,
		"With --etcd-initial-cluster: [namespace/]name of the Secret in which the members keep the CA of their peer "+
			"certificates: created if missing, shared by every member. The namespace defaults to POD_NAMESPACE.")
	fs.Int64Var(&o.EtcdQuotaBackendBytes, "etcd-quota-backend-bytes", o.EtcdQuotaBackendBytes,
		"Backend quota of the embedded etcd, in bytes, between 16 MiB and 8 GiB: once its database reaches it, "+
			"every write is refused (NOSPACE) until compaction and defragmentation bring it below 80% of the "+
			"quota, which the server does by itself. The data dir's volume needs about twice the quota plus 1 GiB.")
	fs.DurationVar(&o.EtcdDefragInterval, "etcd-defrag-interval", o.EtcdDefragInterval,
		"How often, at most, the embedded etcd is defragmented (which blocks it meanwhile): when more than half "+
			"of its database, and more than 64 MiB, is free. 0: never, except to recover from NOSPACE.")
	fs.Float32Var(&o.KubeAPIQPS, "kube-api-qps", o.KubeAPIQPS,
		"Requests per second to kube-apiserver, for each of the two clients (the calls', the controller's). "+
			"0 or less: no limit in the server, which leaves kube-apiserver's priority and fairness to limit it "+
			"(rest_client_rate_limiter_duration_seconds on /metrics shows the time spent waiting for a limit).")
	fs.IntVar(&o.KubeAPIBurst, "kube-api-burst", o.KubeAPIBurst,
		"Burst of requests to kube-apiserver, for each of the two clients, with a --kube-api-qps above 0.")
	fs.StringVar(&o.Certs.Secret, "cert-secret", o.Certs.Secret,
		"[namespace/]name of a Secret in which the server keeps its own CA and serving certificate: created if "+
			"missing, renewed at two thirds of their life, shared by every replica. The namespace defaults to "+
			"POD_NAMESPACE. Instead of --tls-cert-file.")
	fs.StringVar(&o.Certs.Service, "cert-service", o.Certs.Service,
		"With --cert-secret: the Service (in the Secret's namespace) that kube-apiserver reaches the server by; "+
			"its DNS names are in the serving certificate.")
	fs.StringSliceVar(&o.Certs.Hosts, "cert-hosts", o.Certs.Hosts,
		"With --cert-secret: more DNS names or IP addresses for the serving certificate.")
	fs.StringSliceVar(&o.Certs.APIServices, "ca-bundle-apiservices", o.Certs.APIServices,
		"With --cert-secret: APIServices whose spec.caBundle the server keeps set to its CA bundle.")
	fs.StringSliceVar(&o.Certs.Webhooks, "ca-bundle-webhooks", o.Certs.Webhooks,
		"With --cert-secret: MutatingWebhookConfigurations whose webhooks' caBundle the server keeps set to its CA bundle.")
	fs.DurationVar(&o.Certs.CAValidity, "cert-ca-validity", o.Certs.CAValidity,
		"With --cert-secret: how long a CA the server makes is valid; it is replaced at two thirds of that.")
	fs.DurationVar(&o.Certs.CertValidity, "cert-validity", o.Certs.CertValidity,
		"With --cert-secret: how long a serving certificate is valid; it is replaced at two thirds of that.")
	fs.StringVar(&o.ResizeWebhookConfiguration, "resize-webhook-configuration", o.ResizeWebhookConfiguration,
		"The MutatingWebhookConfiguration of the CloneSet resize webhook, whose scale-out webhook's match condition "+
			"the leader keeps listing the CloneSets releases hold, so that other scale-outs never wait for this server. "+
			"One installation per cluster may keep it: a second one (another server with a store of its own) must "+
			"set this empty, and then leaves every webhook configuration's match conditions alone.")
	fs.StringVar(&o.Analysis.PrometheusAddress, "analysis-prometheus-address", o.Analysis.PrometheusAddress,
		"Base URL (http or https) of the Prometheus that releases' prometheus checks query, for example "+
			"https://prometheus.monitoring:9090. A release never names its own: every query is kept inside the "+
			"release's namespace (see --analysis-namespace-label). Empty: prometheus checks measure Error.")
	fs.StringVar(&o.Analysis.PrometheusCAFile, "analysis-prometheus-ca-file", o.Analysis.PrometheusCAFile,
		"PEM file of the CA certificates that verify Prometheus's serving certificate. Empty: the system's roots.")
	fs.StringVar(&o.Analysis.PrometheusTokenFile, "analysis-prometheus-token-file", o.Analysis.PrometheusTokenFile,
		"File holding the bearer token sent to Prometheus, read again when it changes (a projected service "+
			"account token). Empty: none.")
	fs.StringVar(&o.Analysis.NamespaceLabel, "analysis-namespace-label", o.Analysis.NamespaceLabel,
		"The label that names a series' namespace in Prometheus: a matcher label=\"<the release's namespace>\" "+
			"is added to every selector of a check's query, and a query that selects another namespace on it "+
			"is refused.")
	// --kubeconfig comes from the core API options; say what it is for here.
	if f := fs.Lookup("kubeconfig"); f != nil {
		f.Usage = "Kubeconfig of the cluster whose CloneSets the server drives and whose kube-apiserver " +
			"authenticates and authorizes its callers. Empty: the in-cluster configuration."
	}
}

// EmbeddedEtcd reports whether the server runs its own etcd (no --etcd-servers).
func (o *Options) EmbeddedEtcd() bool {
	return len(o.Recommended.Etcd.StorageConfig.Transport.ServerList) == 0
}

// EmbeddedEtcdConfig is how the embedded etcd runs (embeddedetcd.StartWithConfig).
func (o *Options) EmbeddedEtcdConfig() embeddedetcd.Config {
	c := embeddedetcd.NewConfig(o.EtcdDataDir)
	c.QuotaBackendBytes = o.EtcdQuotaBackendBytes
	c.DefragInterval = o.EtcdDefragInterval
	// The API server compacts its etcd every --etcd-compaction-interval, and etcd's own compaction stays off
	// so as not to compact twice; with --etcd-compaction-interval=0 nothing would compact the member, whose
	// history would then fill its quota: etcd's own periodic compaction takes over, keeping 5 minutes.
	if o.Recommended.Etcd.StorageConfig.CompactionInterval == 0 {
		c.AutoCompactionRetention = storagebackend.DefaultCompactInterval
	}
	if o.EtcdCluster.Enabled() {
		members, _ := embeddedetcd.ParseInitialCluster(o.EtcdCluster.InitialCluster)
		c.Cluster = &embeddedetcd.Cluster{Name: o.EtcdCluster.MemberName(), Members: members,
			ListenPeerAddress: o.EtcdCluster.ListenPeerAddress, Token: embeddedetcd.DefaultClusterToken,
			PeerCA: o.peerCA()}
	}
	return c
}

// Validate reports every bad option at once.
func (o *Options) Validate() error {
	var errs []error
	if o.KubeAPIQPS > 0 && o.KubeAPIBurst < 1 {
		errs = append(errs, fmt.Errorf("--kube-api-burst must be at least 1"))
	}
	errs = append(errs, o.validateCerts()...)
	errs = append(errs, o.Analysis.validate()...)
	if o.EmbeddedEtcd() {
		if strings.TrimSpace(o.EtcdDataDir) == "" {
			errs = append(errs, fmt.Errorf("--etcd-data-dir must be set when --etcd-servers is empty"))
		}
		// 0 would be etcd's default quota and a negative one no quota at all: both refused.
		if q := o.EtcdQuotaBackendBytes; q < embeddedetcd.MinQuotaBackendBytes || q > embeddedetcd.MaxQuotaBackendBytes {
			errs = append(errs, fmt.Errorf("--etcd-quota-backend-bytes must be between %d (16 MiB) and %d (8 GiB)",
				embeddedetcd.MinQuotaBackendBytes, embeddedetcd.MaxQuotaBackendBytes))
		}
		if o.EtcdDefragInterval < 0 {
			errs = append(errs, fmt.Errorf("--etcd-defrag-interval must not be negative (0 turns it off)"))
		}
		errs = append(errs, o.validateEtcdCluster()...)
		// The recommended options insist on --etcd-servers; the embedded member will provide it.
		o.Recommended.Etcd.StorageConfig.Transport.ServerList = []string{"http://embedded.invalid"}
		defer func() { o.Recommended.Etcd.StorageConfig.Transport.ServerList = nil }()
	}
	errs = append(errs, o.Recommended.Validate()...)
	return utilerrors.NewAggregate(errs)
}

func (o *Options) validateCerts() []error {
	c := o.Certs
	if c.Secret == "" {
		if len(c.APIServices)+len(c.Webhooks) > 0 {
			return []error{fmt.Errorf("--ca-bundle-apiservices and --ca-bundle-webhooks need --cert-secret")}
		}
		return nil
	}
	var errs []error
	key := o.Recommended.SecureServing.ServerCert.CertKey
	if key.CertFile != "" || key.KeyFile != "" {
		errs = append(errs, fmt.Errorf("--cert-secret and --tls-cert-file/--tls-private-key-file cannot both be set"))
	}
	ns, name := c.SecretRef()
	for what, value := range map[string]string{"--cert-secret's namespace": ns, "--cert-secret's name": name, "--cert-service": c.Service} {
		if msgs := validation.IsDNS1123Subdomain(value); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("%s %q: %s", what, value, strings.Join(msgs, "; ")))
		}
	}
	if c.CAValidity < time.Minute {
		errs = append(errs, fmt.Errorf("--cert-ca-validity must be at least 1m"))
	}
	if c.CertValidity < time.Minute || c.CertValidity > c.CAValidity {
		errs = append(errs, fmt.Errorf("--cert-validity must be at least 1m and no longer than --cert-ca-validity"))
	}
	return errs
}

// Config turns validated options into the server's configuration. The etcd servers must be known by
// now: the embedded member, if any, is already running.
func (o *Options) Config() (*apiserver.Config, error) {
	// With --cert-secret the serving certificate is already in place (Start); without it and without
	// --tls-cert-file, a throwaway self-signed one.
	if o.Recommended.SecureServing.ServerCert.GeneratedCert == nil {
		if err := o.Recommended.SecureServing.MaybeDefaultWithSelfSignedCerts("localhost", nil,
			[]net.IP{netutils.ParseIPSloppy("127.0.0.1")}); err != nil {
			return nil, fmt.Errorf("creating self-signed certificates: %w", err)
		}
	}

	cfg := genericapiserver.NewRecommendedConfig(apiserver.Codecs)
	cfg.EffectiveVersion = compatibility.DefaultBuildEffectiveVersion()
	namer := openapi.NewDefinitionNamer(apiserver.Scheme)
	cfg.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(generatedopenapi.GetOpenAPIDefinitions, namer)
	cfg.OpenAPIConfig.Info.Title = "Triton"
	cfg.OpenAPIConfig.Info.Version = v1alpha1.SchemeGroupVersion.Version
	cfg.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(generatedopenapi.GetOpenAPIDefinitions, namer)
	cfg.OpenAPIV3Config.Info.Title = "Triton"
	cfg.OpenAPIV3Config.Info.Version = v1alpha1.SchemeGroupVersion.Version

	if err := o.Recommended.ApplyTo(cfg); err != nil {
		return nil, err
	}
	// Only kubelet probes may come without credentials; everything else, the resize webhook included,
	// answers 401 to them.
	if cfg.Authentication.Authenticator != nil {
		cfg.Authentication.Authenticator = filters.AnonymousOnlyFor(cfg.Authentication.Authenticator, filters.HealthPaths...)
	}
	// Watches (kube-controller-manager's garbage collector and namespace controller watch every resource,
	// releases too) end when the server shuts down, after up to 5 s for them to drain; without this an
	// open watch keeps the server from exiting for a minute.
	cfg.ShutdownWatchTerminationGracePeriod = 5 * time.Second
	// While etcd does not answer, requests for releases get 503 at once rather than waiting a minute.
	gate := storagegate.New()
	cfg.BuildHandlerChainFunc = apiserver.HandlerChain(gate)
	cfg.AddReadyzChecks(gate)
	// etcd stays in /readyz (no traffic while storage is down) but leaves /livez: an etcd outage must
	// not make the kubelet restart a server that would come back by itself.
	cfg.LivezChecks = withoutCheck(cfg.LivezChecks, "etcd")
	storageConfig := o.Recommended.Etcd.StorageConfig
	config := &apiserver.Config{GenericConfig: cfg, StorageGate: gate, StorageProbe: func() (storagegate.Probe, func(), error) {
		prober, err := factory.CreateProber(storageConfig)
		if err != nil {
			return nil, nil, err
		}
		return prober.Probe, func() { _ = prober.Close() }, nil
	}}
	var err error
	if config.Analysis, err = o.Analysis.Checks(); err != nil {
		return nil, err
	}
	// The cluster whose CloneSets the server drives: --kubeconfig, or in-cluster. Calls and the controller
	// get a client each, so the controller's background work never makes a caller wait for a token
	// (client-go's default of 5 requests per second made every call wait about a second).
	if cfg.ClientConfig != nil {
		if config.Driver, err = o.driver(cfg.ClientConfig, "calls"); err != nil {
			return nil, err
		}
		if config.ControllerDriver, err = o.driver(cfg.ClientConfig, "controller"); err != nil {
			return nil, err
		}
		// One set of caches (CloneSets, their pods and revisions), shared by calls and the controller, on a
		// client of its own (lists and watches).
		caching, err := o.driver(cfg.ClientConfig, "caches")
		if err != nil {
			return nil, err
		}
		config.Caches = caches.New(caching.Kruise, caching.Kube)
		config.ResizeWebhookConfiguration = o.ResizeWebhookConfiguration
		config.Driver.Cache = config.Caches
		config.ControllerDriver.Cache = config.Caches
		config.ControllerDriver.LevelTriggered = true
		// The Lease renews through a client of its own (client-go's default limits: a renewal every 2 s).
		lease := rest.CopyConfig(cfg.ClientConfig)
		lease.UserAgent = rest.DefaultKubernetesUserAgent() + " triton-apiserver/leader-election"
		if config.LeaseClient, err = kubernetes.NewForConfig(lease); err != nil {
			return nil, err
		}
		// Admissions of releases of one CloneSet take turns, on every replica: a lock in the same etcd.
		client, err := claim.Dial(storageConfig.Transport)
		if err != nil {
			return nil, fmt.Errorf("connecting to etcd for CloneSet claims: %w", err)
		}
		config.Claims = claim.New(client, etcdPathPrefix+"/cloneset-claims")
		// podHealth checks read CPU and memory from the metrics API, where the cluster serves it.
		metricsConfig := rest.CopyConfig(cfg.ClientConfig)
		metricsConfig.UserAgent = rest.DefaultKubernetesUserAgent() + " triton-apiserver/analysis"
		if config.Analysis.Metrics, err = metricsclient.NewForConfig(metricsConfig); err != nil {
			return nil, err
		}
	}
	return config, nil
}

// driver is a CloneSet driver with a client of its own, limited by --kube-api-qps and --kube-api-burst
// (client-go sets no limit for a negative QPS, and its default of 5 for 0).
func (o *Options) driver(base *rest.Config, purpose string) (*cloneset.Driver, error) {
	c := rest.CopyConfig(base)
	c.QPS, c.Burst = o.KubeAPIQPS, o.KubeAPIBurst
	if c.QPS <= 0 {
		c.QPS, c.RateLimiter = -1, nil
	}
	c.UserAgent = rest.DefaultKubernetesUserAgent() + " triton-apiserver/" + purpose
	kruise, err := kruiseclient.NewForConfig(c)
	if err != nil {
		return nil, err
	}
	kube, err := kubernetes.NewForConfig(c)
	if err != nil {
		return nil, err
	}
	return &cloneset.Driver{Kruise: kruise, Kube: kube, OnConflict: func() { metrics.CloneSetWriteConflict(purpose) }}, nil
}

func withoutCheck(checks []healthz.HealthChecker, name string) []healthz.HealthChecker {
	kept := checks[:0:0]
	for _, c := range checks {
		if c.Name() != name {
			kept = append(kept, c)
		}
	}
	return kept
}
