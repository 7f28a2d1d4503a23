//go:build e2e

package framework

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

var (
	pluginOnce sync.Once
	pluginDir  string
	pluginErr  error
)

// PluginBinary is the kubectl-release the tests run, in a directory of its own, which the tests put on
// kubectl's PATH: the binary E2E_KUBECTL_RELEASE names (hack/test-e2e.sh names the one make build just made
// for the control plane), else cmd/kubectl-release built once per test run.
func PluginBinary(t *testing.T) string {
	t.Helper()
	pluginOnce.Do(func() {
		pluginDir, pluginErr = os.MkdirTemp("", "kubectl-release-")
		if pluginErr != nil {
			return
		}
		bin := filepath.Join(pluginDir, "kubectl-release")
		if built := os.Getenv("E2E_KUBECTL_RELEASE"); built != "" {
			pluginErr = linkPlugin(built, bin)
			return
		}
		cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/kubectl-release")
		cmd.Dir = Root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		out, err := cmd.CombinedOutput()
		if err != nil {
			pluginErr = errors.New(string(out))
		}
	})
	require.NoError(t, pluginErr, "building kubectl-release")
	return filepath.Join(pluginDir, "kubectl-release")
}

// linkPlugin links the kubectl-release at built (relative to the repository's root unless absolute) as bin.
func linkPlugin(built, bin string) error {
	if !filepath.IsAbs(built) {
		built = filepath.Join(Root, built)
	}
	info, err := os.Stat(built)
	if err != nil {
		return fmt.Errorf("E2E_KUBECTL_RELEASE: %w", err)
	}
	if info.IsDir() || info.Mode()&0o111 == 0 {
		return fmt.Errorf("E2E_KUBECTL_RELEASE: %s is not an executable file", built)
	}
	return os.Symlink(built, bin)
}

// Result is what a `kubectl release` command did: its output and its exit code.
type Result struct {
	Stdout, Stderr string
	Code           int
}

// KubectlRelease runs `kubectl release args...` as the cluster's user, through kubectl's plugin lookup.
func (c *Cluster) KubectlRelease(t *testing.T, ctx context.Context, args ...string) Result {
	t.Helper()
	bin := PluginBinary(t)
	cmd := exec.CommandContext(ctx, KubectlBinary, append([]string{"release", "--kubeconfig", c.Kubeconfig}, args...)...)
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else {
		require.NoError(t, err, "kubectl release %v", args)
	}
	return Result{Stdout: stdout.String(), Stderr: stderr.String(), Code: code}
}

// String is the whole result, for a message.
func (r Result) String() string {
	return "exit " + strconv.Itoa(r.Code) + "\nstdout:\n" + r.Stdout + "\nstderr:\n" + r.Stderr
}
