//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/test/e2e/framework"
)

// kubectl completes `kubectl release <TAB>` through kubectl_complete-release on the PATH (a symlink to the
// plugin, as the README says): release names for the verbs, CloneSet names for the shortcuts, from the
// real cluster. The verbs and history print -o output a script can read, and status takes cloneset/NAME.
func TestPluginCompletesNamesThroughKubectlAndPrintsOutput(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(2*time.Minute), framework.SmokedCanary())
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx

	bin := framework.PluginBinary(t)
	dir := t.TempDir()
	require.NoError(t, os.Symlink(bin, filepath.Join(dir, "kubectl_complete-release")))
	complete := func(args ...string) []string {
		t.Helper()
		cmd := exec.CommandContext(ctx, framework.KubectlBinary, append([]string{"__complete", "release"}, args...)...)
		cmd.Env = append(os.Environ(), "KUBECONFIG="+admin.Kubeconfig,
			"PATH="+dir+string(os.PathListSeparator)+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"))
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		require.NoError(t, cmd.Run(), "kubectl __complete release %v: %s", args, stderr.String())
		var words []string
		for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
			if !strings.HasPrefix(line, ":") {
				words = append(words, strings.SplitN(line, "\t", 2)[0])
			}
		}
		return words
	}
	assert.Contains(t, complete("-n", ns, "next", ""), "nginx-update", "release names for a verb")
	assert.Contains(t, complete("-n", ns, "status", "ng"), "nginx-update")
	assert.Contains(t, complete("-n", ns, "update", ""), "nginx", "CloneSet names for a shortcut")
	assert.NotContains(t, complete("-n", ns, "next", ""), "nginx", "no CloneSet names where a release is meant")

	// -o on a verb: the Release the server answered.
	res := admin.KubectlRelease(t, ctx, "pause", "nginx-update", "-n", ns, "--reason", "lunch", "-o", "json")
	require.Equal(t, 0, res.Code, res.String())
	var r v1alpha1.Release
	require.NoError(t, json.Unmarshal([]byte(res.Stdout), &r), res.Stdout)
	assert.Equal(t, v1alpha1.ReleasePaused, r.Status.Phase)
	res = admin.KubectlRelease(t, ctx, "resume", "nginx-update", "-n", ns, "-o", "name")
	require.Equal(t, 0, res.Code, res.String())
	assert.Equal(t, "release.releases.triton.io/nginx-update\n", res.Stdout)
	res = admin.KubectlRelease(t, ctx, "history", "nginx-update", "-n", ns, "-o", "jsonpath={.items[*].action}")
	require.Equal(t, 0, res.Code, res.String())
	assert.Contains(t, res.Stdout, "pause resume")

	// status by CloneSet.
	res = admin.KubectlRelease(t, ctx, "status", "cloneset/nginx", "-n", ns)
	require.Equal(t, 0, res.Code, res.String())
	assert.Contains(t, res.Stdout, "nginx-update")
	res = admin.KubectlRelease(t, ctx, "status", "cloneset/nothing", "-n", ns)
	assert.Equal(t, 5, res.Code, res.String())
}
