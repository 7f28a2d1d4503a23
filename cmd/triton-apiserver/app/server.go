package app

import (
	"context"
	"errors"
	"fmt"
	"net"

	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/triton-io/triton/pkg/embeddedetcd"
)

// Instance is a started triton-apiserver.
type Instance struct {
	// Loopback is a privileged client configuration of the server itself.
	Loopback *rest.Config
	// Addr is the address the server listens on.
	Addr net.Addr
	done chan error
}

// Done is closed with the server's final error (nil after a clean stop) once it and its embedded
// etcd have stopped.
func (i *Instance) Done() <-chan error { return i.done }

// Start starts the embedded etcd when no --etcd-servers are given, then the API server; both run
// until ctx is done. Options must be validated.
func Start(ctx context.Context, o *Options) (*Instance, error) {
	var member *embeddedetcd.Server
	if o.EmbeddedEtcd() {
		var err error
		member, err = embeddedetcd.StartWithConfig(ctx, o.EmbeddedEtcdConfig())
		if err != nil {
			return nil, err
		}
		klog.InfoS("Embedded etcd started", "dataDir", o.EtcdDataDir, "clientURL", member.ClientURL)
		o.Recommended.Etcd.StorageConfig.Transport.ServerList = []string{member.ClientURL}
	}
	stopEtcd := func() {
		if member != nil {
			member.Stop()
		}
	}

	if err := o.loadServingCert(ctx); err != nil {
		stopEtcd()
		return nil, err
	}
	config, err := o.Config()
	if err != nil {
		stopEtcd()
		return nil, err
	}
	server, err := config.Complete().New()
	if err != nil {
		stopEtcd()
		return nil, err
	}
	prepared := server.GenericAPIServer.PrepareRun()
	inst := &Instance{
		Loopback: rest.CopyConfig(server.GenericAPIServer.LoopbackClientConfig),
		Addr:     config.GenericConfig.SecureServing.Listener.Addr(),
		done:     make(chan error, 1),
	}
	go func() {
		err := prepared.RunWithContext(ctx)
		// The API server drains its requests before it returns; only then may storage go away.
		stopEtcd()
		inst.done <- err
		close(inst.done)
	}()
	return inst, nil
}

// Run starts the server and blocks until ctx is done and everything has stopped.
func Run(ctx context.Context, o *Options) error {
	inst, err := Start(ctx, o)
	if err != nil {
		return err
	}
	if err := <-inst.Done(); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("triton-apiserver: %w", err)
	}
	return nil
}
