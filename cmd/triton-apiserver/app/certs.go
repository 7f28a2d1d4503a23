package app

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/triton-io/triton/pkg/servingcert"
)

// loadServingCert sets up the self-managed serving certificate when --cert-secret is given: the Secret is
// read, or created, before the server listens, so that it serves a certificate from its first connection;
// the generic API server then runs the provider, which keeps the Secret and the caBundles current.
func (o *Options) loadServingCert(ctx context.Context) error {
	if o.Certs.Secret == "" {
		return nil
	}
	// The cluster's kube-apiserver: --kubeconfig, else in-cluster (as for the CloneSets).
	config, err := clientcmd.BuildConfigFromFlags("", o.Recommended.CoreAPI.CoreAPIKubeconfigPath)
	if err != nil {
		return fmt.Errorf("--cert-secret: %w", err)
	}
	config.UserAgent = "triton-apiserver/serving-certificate"
	kube, err := kubernetes.NewForConfig(config)
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(config)
	if err != nil {
		return err
	}
	injector := &servingcert.Injector{Dynamic: dyn, Kube: kube, APIServices: o.Certs.APIServices, Webhooks: o.Certs.Webhooks}
	ns, name := o.Certs.SecretRef()
	server := &servingcert.Server{
		Store: &servingcert.Store{Client: kube, Namespace: ns, Name: name, Policy: o.Certs.Policy(),
			Trusted: servingcert.Trusted(injector)},
		Injector: injector,
	}
	var last error
	err = wait.PollUntilContextTimeout(ctx, time.Second, time.Minute, true, func(ctx context.Context) (bool, error) {
		if last = server.Load(ctx); last != nil {
			klog.InfoS("Waiting for the serving certificate's Secret", "secret", klog.KRef(ns, name), "err", last)
			return false, nil
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("the serving certificate in Secret %s/%s: %w", ns, name, last)
	}
	o.Recommended.SecureServing.ServerCert.GeneratedCert = server
	return nil
}
