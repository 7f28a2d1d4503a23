//go:build e2e

package framework

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	kruiseclient "github.com/openkruise/kruise-api/client/clientset/versioned"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/triton-io/triton/pkg/generated/clientset/versioned"
)

var (
	// Root is the repository's root directory.
	Root = repoRoot()
	// Local is where hack/local-up.sh wrote the kubeconfigs, the logs and the PKI of the local control
	// plane: LOCAL_DIR, as for the script, or _output/local.
	Local = localDir()
	// KubectlBinary is the kubectl that make tools built.
	KubectlBinary = filepath.Join(Root, "_output", "bin", "kubectl")
)

func localDir() string {
	if dir := os.Getenv("LOCAL_DIR"); dir != "" {
		return dir
	}
	return filepath.Join(Root, "_output", "local")
}

// repoRoot is three directories up from this file's: test/e2e/framework.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", ".."))
}

// Cluster is a user's view of the local control plane: the user's kubeconfig and clients built from it.
type Cluster struct {
	Kubeconfig string
	Config     *rest.Config
	Kube       kubernetes.Interface
	Releases   versioned.Interface
	Kruise     kruiseclient.Interface
}

// Connect connects to the local control plane as user: "admin" (in system:masters), or one of the users
// with a kubeconfig of their own in Local ("alice", "bob"). It fails the test when the control plane is
// not up.
func Connect(t *testing.T, user string) *Cluster {
	t.Helper()
	file := filepath.Join(Local, "kubeconfig")
	if user != "admin" {
		file = filepath.Join(Local, user+".kubeconfig")
	}
	config, err := clientcmd.BuildConfigFromFlags("", file)
	require.NoError(t, err, "the local control plane is not up: run `make up` (or `make test-e2e`)")
	c := &Cluster{Kubeconfig: file, Config: config}
	c.Kube = kubernetes.NewForConfigOrDie(config)
	c.Releases = versioned.NewForConfigOrDie(config)
	c.Kruise = kruiseclient.NewForConfigOrDie(config)
	return c
}

// Context is the test's context: it ends after timeout, or when the test ends.
func Context(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return ctx
}

// Kubectl runs kubectl as the cluster's user and returns its combined output.
func (c *Cluster) Kubectl(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, KubectlBinary, append([]string{"--kubeconfig", c.Kubeconfig}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
