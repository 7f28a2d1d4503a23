// Package integration runs the real triton-apiserver in-process, on its embedded etcd, and drives it
// through the generated clientset.
package integration

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"

	"github.com/triton-io/triton/cmd/triton-apiserver/app"
	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/generated/clientset/versioned"
)

// shared is the server most tests use; tests that stop a server start their own.
var shared *testServer

type testServer struct {
	inst   *app.Instance
	client versioned.Interface
	config *rest.Config
	cancel context.CancelFunc
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "triton-integration-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	shared, err = startServer(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting triton-apiserver:", err)
		removeTemp(dir)
		os.Exit(1)
	}
	code := m.Run()
	shared.stop()
	removeTemp(dir)
	os.Exit(code)
}

// startServer starts triton-apiserver with its embedded etcd in dir/etcd, as `triton-apiserver` does
// without --etcd-servers, but with no cluster behind it: no kube-apiserver to delegate authentication or
// authorization to, no admission, no priority and fairness. It authenticates as in production otherwise,
// so the only credential it takes is its loopback token (user system:apiserver in system:masters, which
// may do anything). Clients use that identity: the server's own, as its controller does; as() calls as
// another user.
func startServer(dir string) (*testServer, error) {
	o := app.NewOptions()
	o.EtcdDataDir = dir + "/etcd"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	o.Recommended.SecureServing.Listener = ln
	o.Recommended.SecureServing.BindPort = ln.Addr().(*net.TCPAddr).Port
	o.Recommended.SecureServing.ServerCert.CertDirectory = dir + "/certificates"
	o.Recommended.Authentication.RemoteKubeConfigFileOptional = true
	o.Recommended.Authentication.SkipInClusterLookup = true
	o.Recommended.Authorization.RemoteKubeConfigFileOptional = true
	o.Recommended.CoreAPI = nil
	o.Recommended.Admission = nil
	o.Recommended.Features.EnablePriorityAndFairness = false
	if err := o.Validate(); err != nil {
		return nil, errors.Join(err, ln.Close())
	}

	ctx, cancel := context.WithCancel(context.Background())
	inst, err := app.Start(ctx, o)
	if err != nil {
		cancel()
		return nil, errors.Join(err, ln.Close())
	}
	s := &testServer{inst: inst, config: inst.Loopback, cancel: cancel}
	s.client, err = versioned.NewForConfig(inst.Loopback)
	if err != nil {
		s.stop()
		return nil, err
	}
	// Ready means storage answers too: /readyz includes etcd.
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		body, err := s.client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err == nil && string(body) == "ok", nil
	})
	if err != nil {
		s.stop()
		return nil, fmt.Errorf("server never became ready: %w", err)
	}
	return s, nil
}

// stop stops the server and waits until it and its embedded etcd are gone.
func (s *testServer) stop() {
	s.cancel()
	select {
	case err := <-s.inst.Done():
		if err != nil {
			panic(fmt.Sprintf("triton-apiserver stopped with an error: %v", err))
		}
	case <-time.After(time.Minute):
		panic("triton-apiserver did not stop within a minute")
	}
}

// as is a client of the shared server that calls as user in groups: the server's loopback identity
// impersonates them (system:masters may).
func as(t *testing.T, user string, groups ...string) versioned.Interface {
	t.Helper()
	config := rest.CopyConfig(shared.config)
	config.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
	client, err := versioned.NewForConfig(config)
	if err != nil {
		t.Fatal(err)
	}
	return client
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// namespace gives each test its own namespace, so lists and watches see only its objects.
var namespaceSeq atomic.Int64

func namespace(t *testing.T) string {
	return "it-" + strconv.FormatInt(namespaceSeq.Add(1), 10)
}

// updateRelease is a valid Release that rolls a new nginx image out to CloneSet cloneSet.
func updateRelease(name, cloneSet string) *v1alpha1.Release {
	return &v1alpha1.Release{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.ReleaseSpec{
			CloneSetName: cloneSet,
			Action:       v1alpha1.ActionUpdate,
			Template: &corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": cloneSet}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{
					{Name: "web", Image: "nginx:1.27"},
				}},
			},
			Strategy: v1alpha1.ReleaseStrategy{Canary: 1, BatchSize: ptrIntOrString(intstr.FromInt32(2))},
		},
	}
}

func ptrIntOrString(v intstr.IntOrString) *intstr.IntOrString { return &v }

func intstrFromString(s string) intstr.IntOrString { return intstr.FromString(s) }

// removeTemp removes the shared server's data; what cannot be removed is said, for whoever cleans /tmp.
func removeTemp(dir string) {
	if err := os.RemoveAll(dir); err != nil {
		fmt.Fprintln(os.Stderr, "removing the test server's data:", err)
	}
}
