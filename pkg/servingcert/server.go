package servingcert

import (
	"context"
	"crypto/x509"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
)

// Server serves the certificate of a Store: it is the generic API server's serving certificate provider
// (a dynamiccertificates.CertKeyContentProvider and ControllerRunner). Run watches the Secret, renews it
// when due, and keeps the caBundles current; every replica runs it.
type Server struct {
	Store    *Store
	Injector *Injector

	mu        sync.Mutex
	serving   *Bundle
	listeners []dynamiccertificates.Listener
}

var (
	_ dynamiccertificates.CertKeyContentProvider = &Server{}
	_ dynamiccertificates.ControllerRunner       = &Server{}
)

// Name names the provider in the server's logs.
func (s *Server) Name() string { return "secret/" + s.Store.Namespace + "/" + s.Store.Name }

// CurrentCertKeyContent is the serving certificate and key being served.
func (s *Server) CurrentCertKeyContent() ([]byte, []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.serving == nil {
		return nil, nil
	}
	return s.serving.ServingPair()
}

// AddListener is told when the certificate changes.
func (s *Server) AddListener(l dynamiccertificates.Listener) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.listeners = append(s.listeners, l)
}

// Serving is the bundle being served (nil before the first RunOnce).
func (s *Server) Serving() *Bundle {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.serving
}

// serve makes b's certificate the one served, unless the one served is newer (a replica may read an
// older Secret after a newer one: serving only moves forward). A certificate not valid yet by this clock
// (a replica whose clock runs ahead made it) is never newer than one that is valid: it is served only
// while there is nothing else.
func (s *Server) serve(b *Bundle) {
	if b == nil {
		return
	}
	now := s.Store.now()
	s.mu.Lock()
	if s.serving != nil && (s.serving.Cert.Equal(b.Cert) || !servesBetter(b.Cert, s.serving.Cert, now)) {
		s.mu.Unlock()
		return
	}
	s.serving = b
	listeners := append([]dynamiccertificates.Listener(nil), s.listeners...)
	s.mu.Unlock()
	klog.InfoS("Serving certificate loaded", "provider", s.Name(), "notAfter", b.Cert.NotAfter, "hosts", b.Cert.DNSNames)
	for _, l := range listeners {
		l.Enqueue()
	}
}

// servesBetter reports whether cert should replace served: a certificate valid by now beats one that is
// not yet; between two alike, unless served has the later NotBefore.
func servesBetter(cert, served *x509.Certificate, now time.Time) bool {
	if ahead, servedAhead := notYetValid(cert, now), notYetValid(served, now); ahead != servedAhead {
		return servedAhead
	}
	return !served.NotBefore.After(cert.NotBefore)
}

// Load renews the Secret if it must and serves its certificate: before the server listens.
func (s *Server) Load(ctx context.Context) error {
	b, err := s.Store.Ensure(ctx)
	if err != nil {
		return err
	}
	s.serve(b)
	return nil
}

// RunOnce renews the Secret if it must, serves its certificate and injects its CA bundle.
func (s *Server) RunOnce(ctx context.Context) error {
	b, err := s.Store.Ensure(ctx)
	if err != nil {
		return err
	}
	s.serve(b)
	if !s.Injector.Empty() {
		if err := s.Injector.Inject(ctx, b.CABundle()); err != nil {
			return err
		}
	}
	return nil
}

// Trusted is Store.Trusted for an Injector (nil when there is nothing to inject into).
func Trusted(i *Injector) func(context.Context, *x509.Certificate) (bool, error) {
	if i.Empty() {
		return nil
	}
	return i.Trusted
}

// Run keeps everything current until ctx is done: on every change of the Secret, of an APIService or of
// a webhook configuration named, and when Renew may next have something to do, it runs RunOnce again.
func (s *Server) Run(ctx context.Context, _ int) {
	kicks := make(chan struct{}, 1)
	kick := func() {
		select {
		case kicks <- struct{}{}:
		default:
		}
	}
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(interface{}) { kick() },
		UpdateFunc: func(_, _ interface{}) { kick() },
		DeleteFunc: func(interface{}) { kick() },
	}
	byName := func(name string) func(*metav1.ListOptions) {
		return func(o *metav1.ListOptions) { o.FieldSelector = "metadata.name=" + name }
	}
	secrets := informers.NewSharedInformerFactoryWithOptions(s.Store.Client, 0,
		informers.WithNamespace(s.Store.Namespace), informers.WithTweakListOptions(byName(s.Store.Name)))
	_, _ = secrets.Core().V1().Secrets().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj interface{}) { s.fromSecret(obj); kick() },
		UpdateFunc: func(_, obj interface{}) { s.fromSecret(obj); kick() },
		DeleteFunc: func(interface{}) { kick() },
	})
	secrets.Start(ctx.Done())
	// Every informer factory started here is shut down when Run returns.
	shutdowns := []func(){secrets.Shutdown}
	defer func() {
		for _, shutdown := range shutdowns {
			shutdown()
		}
	}()
	if !s.Injector.Empty() {
		for _, name := range s.Injector.APIServices {
			f := dynamicinformer.NewFilteredDynamicSharedInformerFactory(s.Injector.Dynamic, 0, "", byName(name))
			_, _ = f.ForResource(APIServiceResource).Informer().AddEventHandler(handler)
			f.Start(ctx.Done())
			shutdowns = append(shutdowns, f.Shutdown)
		}
		for _, name := range s.Injector.Webhooks {
			f := informers.NewSharedInformerFactoryWithOptions(s.Injector.Kube, 0, informers.WithTweakListOptions(byName(name)))
			_, _ = f.Admissionregistration().V1().MutatingWebhookConfigurations().Informer().AddEventHandler(handler)
			f.Start(ctx.Done())
			shutdowns = append(shutdowns, f.Shutdown)
		}
	}

	// The informers' first events run RunOnce; the timer is for renewals and retries.
	backoff := time.Second
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-kicks:
		case <-timer.C:
		}
		wait := time.Hour
		if err := s.RunOnce(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			klog.ErrorS(err, "Keeping the serving certificate current", "provider", s.Name(), "retryIn", backoff)
			wait, backoff = backoff, min(2*backoff, time.Minute)
		} else {
			backoff = time.Second
			if b := s.Serving(); b != nil {
				if until := time.Until(NextCheck(b)) + time.Second; until < wait {
					wait = max(until, time.Second)
				}
			}
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(wait)
	}
}

// fromSecret serves what a watched Secret holds, if it is usable: a replica takes up a certificate
// another replica renewed as soon as it sees it.
func (s *Server) fromSecret(obj interface{}) {
	secret, ok := obj.(*corev1.Secret)
	if !ok {
		return
	}
	b, err := Parse(secret.Data)
	if err != nil {
		return
	}
	s.serve(b)
}

// Hosts are the names kube-apiserver reaches the Service namespace/name by.
func Hosts(namespace, service string) []string {
	return []string{
		service,
		fmt.Sprintf("%s.%s", service, namespace),
		fmt.Sprintf("%s.%s.svc", service, namespace),
		fmt.Sprintf("%s.%s.svc.cluster.local", service, namespace),
	}
}
