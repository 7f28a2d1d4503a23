//go:build bench

package bench

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	certutil "k8s.io/client-go/util/cert"

	"github.com/triton-io/triton/test/ports"
)

// The bare aggregated server (test/bench/bareserver): its group, its APIService and the ExternalName
// Service the aggregator reaches it by. hack/bench.sh removes them too should the bench die.
const (
	bareGroup      = "bare.bench.triton.io"
	bareAPIService = "v1alpha1." + bareGroup
	bareNamespace  = "bench-bare"
	bareService    = "bare-apiserver"
)

var (
	bareGVR        = schema.GroupVersionResource{Group: bareGroup, Version: "v1alpha1", Resource: "releases"}
	apiServicesGVR = schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}
)

// bareServer is the running bare server.
type bareServer struct {
	cmd    *exec.Cmd
	exited chan struct{}
	// server reaches its /metrics as the aggregator would.
	server *tritonServer
}

func bareDir() string { return filepath.Join(root, "_output", "bench", "bare") }

// bare starts the bare server for the run, the first time a scenario needs it: builds it, starts it on a
// free port with a serving certificate of its own, registers its APIService (the CA in caBundle) and waits
// until kube-apiserver serves its group. It is removed at the end of the run.
func (c *cluster) bare(t *testing.T, ctx context.Context) *bareServer {
	t.Helper()
	if c.bareServer != nil {
		return c.bareServer
	}
	dyn := dynamic.NewForConfigOrDie(c.config)
	removeBare(t, c, dyn) // what a run that died left behind
	dir := bareDir()
	require.NoError(t, os.MkdirAll(dir, 0o755))
	bin := filepath.Join(root, "_output", "bench", "bareserver")
	build := exec.CommandContext(ctx, "go", "build", "-tags", "bench", "-o", bin, "./test/bench/bareserver")
	build.Dir = root
	out, err := build.CombinedOutput()
	require.NoError(t, err, "building the bare server: %s", out)

	host := bareService + "." + bareNamespace + ".svc"
	crt, key, err := certutil.GenerateSelfSignedCertKey(host, []net.IP{net.ParseIP("127.0.0.1")}, []string{"localhost"})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tls.crt"), crt, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tls.key"), key, 0o600))

	port := ports.Free(t)
	// The same delegated authentication and authorization as triton-apiserver, with its identity.
	kubeconfig := filepath.Join(localDir(), "triton-apiserver.kubeconfig")
	log, err := os.Create(filepath.Join(dir, "bareserver.log"))
	require.NoError(t, err)
	cmd := exec.Command(bin, "--bind-address", "127.0.0.1", "--secure-port", strconv.Itoa(port),
		"--tls-cert-file", filepath.Join(dir, "tls.crt"), "--tls-private-key-file", filepath.Join(dir, "tls.key"),
		"--kubeconfig", kubeconfig, "--authentication-kubeconfig", kubeconfig, "--authorization-kubeconfig", kubeconfig,
		"--etcd-data-dir", filepath.Join(dir, "etcd"))
	cmd.Stdout, cmd.Stderr = log, log
	require.NoError(t, cmd.Start())
	require.NoError(t, log.Close()) // the child has its own copy
	b := &bareServer{cmd: cmd, exited: make(chan struct{}), server: serverAt(t, fmt.Sprintf("https://127.0.0.1:%d", port))}
	go func() { _ = cmd.Wait(); close(b.exited) }()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bareserver.pid"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644))
	c.bareServer = b
	t.Cleanup(func() {
		removeBare(t, c, dyn)
		c.bareServer = nil
	})

	require.NoError(t, wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		select {
		case <-b.exited:
			return false, fmt.Errorf("the bare server exited; its log: %s", filepath.Join(dir, "bareserver.log"))
		default:
		}
		body, err := b.server.get(ctx, "/readyz")
		if err != nil {
			return false, nil
		}
		_ = body.Close() // read to the end: only whether it answered matters
		return true, nil
	}), "the bare server ready")

	_, err = c.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: bareNamespace}}, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		require.NoError(t, err)
	}
	// As hack/local-up.sh reaches triton-apiserver: the aggregator dials localhost on the APIService's port.
	_, err = c.kube.CoreV1().Services(bareNamespace).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: bareService},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "localhost",
			Ports: []corev1.ServicePort{{Name: "https", Port: int32(port)}}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = dyn.Resource(apiServicesGVR).Create(ctx, &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
		"metadata": map[string]interface{}{"name": bareAPIService},
		"spec": map[string]interface{}{
			"group": bareGroup, "version": "v1alpha1",
			"service": map[string]interface{}{"namespace": bareNamespace, "name": bareService, "port": int64(port)},
			// The serving certificate and the CA that signed it.
			"caBundle":             base64.StdEncoding.EncodeToString(crt),
			"groupPriorityMinimum": int64(1000), "versionPriority": int64(15),
		},
	}}, metav1.CreateOptions{})
	require.NoError(t, err)
	require.NoError(t, wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := dyn.Resource(bareGVR).Namespace("default").List(ctx, metav1.ListOptions{Limit: 1})
		return err == nil, nil
	}), "kube-apiserver serving %s (APIService %s)", bareGroup, bareAPIService)
	t.Logf("bare server: pid %d, port %d, log %s", cmd.Process.Pid, port, filepath.Join(dir, "bareserver.log"))
	return b
}

// removeBare unregisters the bare server's APIService and Service and stops the bare server: this run's, or
// one a run that died left running (its pid file, if that process is still the bare server).
func removeBare(t *testing.T, c *cluster, dyn dynamic.Interface) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := dyn.Resource(apiServicesGVR).Delete(ctx, bareAPIService, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Logf("deleting APIService %s: %v", bareAPIService, err)
	}
	if err := c.kube.CoreV1().Namespaces().Delete(ctx, bareNamespace, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Logf("deleting namespace %s: %v", bareNamespace, err)
	}
	// Gone before a new one of the same name is made.
	if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := c.kube.CoreV1().Namespaces().Get(ctx, bareNamespace, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	}); err != nil {
		t.Logf("namespace %s still there: %v", bareNamespace, err)
	}
	pidFile := filepath.Join(bareDir(), "bareserver.pid")
	if b := c.bareServer; b != nil {
		_ = b.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-b.exited:
		case <-time.After(30 * time.Second):
			_ = b.cmd.Process.Kill()
			<-b.exited
		}
	} else if raw, err := os.ReadFile(pidFile); err == nil {
		pid, _ := strconv.Atoi(strings.TrimSpace(string(raw)))
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if pid > 0 && strings.Contains(string(cmdline), "bareserver") {
			t.Logf("stopping the bare server a previous run left running (pid %d)", pid)
			_ = syscall.Kill(pid, syscall.SIGTERM)
			_ = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
				return syscall.Kill(pid, 0) != nil, nil
			})
		}
	}
	_ = os.Remove(pidFile)
	_ = os.RemoveAll(filepath.Join(bareDir(), "etcd"))
}
