package app

import (
	"context"
	"crypto"
	"crypto/x509"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/triton-io/triton/pkg/embeddedetcd"
	"github.com/triton-io/triton/pkg/servingcert"
)

// peerCAValidity is how long the embedded etcd cluster's peer CA is valid. It is replaced at two thirds of
// that; a member trusts the CAs it read at its start, so after a replacement every member must restart
// (a rolling upgrade does it).
const peerCAValidity = 10 * 365 * 24 * time.Hour

// validateEtcdCluster reports bad --etcd-initial-cluster, --etcd-name, --etcd-listen-peer-address and
// --etcd-peer-ca-secret.
func (o *Options) validateEtcdCluster() []error {
	c := o.EtcdCluster
	if !c.Enabled() {
		return nil
	}
	members, err := embeddedetcd.ParseInitialCluster(c.InitialCluster)
	if err != nil {
		return []error{fmt.Errorf("--etcd-initial-cluster: %w", err)}
	}
	var errs []error
	if c.MemberName() == "" {
		errs = append(errs, fmt.Errorf("--etcd-initial-cluster needs --etcd-name (or POD_NAME)"))
	}
	cluster := embeddedetcd.Cluster{Name: c.MemberName(), Members: members, ListenPeerAddress: c.ListenPeerAddress,
		Token: embeddedetcd.DefaultClusterToken, PeerCA: o.peerCA()}
	if err := cluster.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("--etcd-initial-cluster, --etcd-name, --etcd-listen-peer-address: %s",
			strings.ReplaceAll(err.Error(), "\n", "; ")))
	}
	ns, name := secretRef(c.PeerCASecret)
	for what, value := range map[string]string{"--etcd-peer-ca-secret's namespace": ns, "--etcd-peer-ca-secret's name": name} {
		if msgs := validation.IsDNS1123Subdomain(value); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("%s %q: %s", what, value, strings.Join(msgs, "; ")))
		}
	}
	return errs
}

// peerCA is the embedded etcd cluster's peer CA, kept in the Secret --etcd-peer-ca-secret of the cluster
// whose CloneSets the server drives (--kubeconfig, else in-cluster): the first member to start makes it,
// the others read it. The Secret is kept as the serving certificate's is (pkg/servingcert), whose
// serving certificate is not used here: each member issues its own peer certificate from the CA.
func (o *Options) peerCA() embeddedetcd.PeerCA {
	return func(ctx context.Context) ([]*x509.Certificate, crypto.Signer, error) {
		config, err := clientcmd.BuildConfigFromFlags("", o.Recommended.CoreAPI.CoreAPIKubeconfigPath)
		if err != nil {
			return nil, nil, err
		}
		config.UserAgent = "triton-apiserver/etcd-peer-ca"
		kube, err := kubernetes.NewForConfig(config)
		if err != nil {
			return nil, nil, err
		}
		ns, name := secretRef(o.EtcdCluster.PeerCASecret)
		store := &servingcert.Store{Client: kube, Namespace: ns, Name: name,
			Policy: servingcert.Policy{CAValidity: peerCAValidity, CertValidity: peerCAValidity}}
		var b *servingcert.Bundle
		var last error
		err = wait.PollUntilContextTimeout(ctx, time.Second, time.Minute, true, func(ctx context.Context) (bool, error) {
			if b, last = store.Ensure(ctx); last != nil {
				klog.InfoS("Waiting for the etcd peer CA's Secret", "secret", klog.KRef(ns, name), "err", last)
				return false, nil
			}
			return true, nil
		})
		if err != nil {
			return nil, nil, fmt.Errorf("the etcd peer CA in Secret %s/%s: %w", ns, name, last)
		}
		return b.CAs, b.CAKey, nil
	}
}
