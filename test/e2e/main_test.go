//go:build e2e

// Package e2e tests triton-apiserver on the local control plane that hack/local-up.sh brings up: a real
// etcd, kube-apiserver, kube-scheduler, kruise-manager and kwok, with triton-apiserver behind an
// APIService. Run with `make test-e2e`.
//
// A test that works only in namespaces of its own (namespace) and changes nothing shared calls t.Parallel
// first: go test runs those together (hack/test-e2e.sh: -parallel 4, E2E_PARALLEL) once the others have run
// one at a time. A test that stops or restarts a component of the bed, changes something cluster-wide (a
// webhook configuration, a CRD, the server's certificates) or measures the bed's server (its memory, its
// metrics) must not call it.
package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	kruiseclient "github.com/openkruise/kruise-api/client/clientset/versioned"

	"github.com/triton-io/triton/pkg/generated/clientset/versioned"
)

var (
	root    = repoRoot()
	local   = localDir()
	kubectl = filepath.Join(root, "_output", "bin", "kubectl")
)

// localDir is where hack/local-up.sh wrote the kubeconfigs: LOCAL_DIR, as for the script, or _output/local.
func localDir() string {
	if dir := os.Getenv("LOCAL_DIR"); dir != "" {
		return dir
	}
	return filepath.Join(root, "_output", "local")
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// cluster is a user's view of the local control plane.
type cluster struct {
	kubeconfig string
	config     *rest.Config
	kube       kubernetes.Interface
	releases   versioned.Interface
	kruise     kruiseclient.Interface
}

func connect(t *testing.T, user string) *cluster {
	t.Helper()
	file := filepath.Join(local, "kubeconfig")
	if user != "admin" {
		file = filepath.Join(local, user+".kubeconfig")
	}
	config, err := clientcmd.BuildConfigFromFlags("", file)
	require.NoError(t, err, "the local control plane is not up: run `make up` (or `make test-e2e`)")
	c := &cluster{kubeconfig: file, config: config}
	c.kube = kubernetes.NewForConfigOrDie(config)
	c.releases = versioned.NewForConfigOrDie(config)
	c.kruise = kruiseclient.NewForConfigOrDie(config)
	return c
}

func testContext(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return ctx
}

var namespaceSeq atomic.Int64

// namespace creates a fresh namespace for a test and deletes it afterwards.
func namespace(t *testing.T, admin *cluster) string {
	t.Helper()
	name := fmt.Sprintf("e2e-%d-%s", os.Getpid(), strconv.FormatInt(namespaceSeq.Add(1), 10))
	ctx := testContext(t, 30*time.Second)
	_, err := admin.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			logsOf(t, name)
		}
		_ = admin.kube.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	return name
}

// logsOf prints, for a failed test, the last lines triton-apiserver and kruise-manager logged about the
// namespace ns: what the controller did (or failed to do) is what explains most failures.
func logsOf(t *testing.T, ns string) {
	t.Helper()
	for _, component := range []string{"triton-apiserver", "kruise-manager"} {
		data, err := os.ReadFile(filepath.Join(local, "logs", component+".log"))
		if err != nil {
			continue
		}
		var lines []string
		for _, line := range strings.Split(string(data), "\n") {
			if strings.Contains(line, ns+"/") || strings.Contains(line, `"`+ns+`"`) {
				lines = append(lines, line)
			}
		}
		if len(lines) > 40 {
			lines = lines[len(lines)-40:]
		}
		t.Logf("%s on %s (last %d lines):\n%s", component, ns, len(lines), strings.Join(lines, "\n"))
	}
}

// run runs kubectl as the cluster's user and returns its combined output.
func (c *cluster) kubectl(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, kubectl, append([]string{"--kubeconfig", c.kubeconfig}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
