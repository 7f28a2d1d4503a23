//go:build e2e

package e2e

// kubectl release from a CI pipeline: a rendered CloneSet manifest released with update -f, waited for
// with --wait and --timeout, and the plugin's and server's versions.

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/version"
	"github.com/triton-io/triton/test/e2e/framework"
)

// renderCloneSet writes the CloneSet nginx (as the fixtures make it) at image into a file, as a
// pipeline's templating step renders its manifest, and returns the file.
func renderCloneSet(t *testing.T, image string) string {
	t.Helper()
	manifest := strings.ReplaceAll(`apiVersion: apps.kruise.io/v1alpha1
kind: CloneSet
metadata:
  name: nginx
  labels: {app: nginx}
spec:
  replicas: 3
  selector:
    matchLabels: {app: nginx}
  template:
    metadata:
      labels: {app: nginx}
    spec:
      containers:
      - name: nginx
        image: ${IMAGE}
  updateStrategy: {type: ReCreate}
`, "${IMAGE}", image)
	file := filepath.Join(t.TempDir(), "cloneset.yaml")
	require.NoError(t, os.WriteFile(file, []byte(manifest), 0o644))
	return file
}

// A pipeline's deploy step: update -f with the rendered manifest, Auto, --wait: it returns 0 once the
// release has Succeeded, with every pod at the new image, having printed its progress.
func TestPluginPipelineUpdateFromAFileWaitsUntilTheEnd(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(4*time.Minute), framework.CloneSet("nginx", 3))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	file := renderCloneSet(t, "nginx:1.28")

	start := time.Now()
	res := admin.KubectlRelease(t, ctx, "-n", ns, "update", "nginx", "-f", file, "--mode", "Auto", "--batch-size", "2", "--wait", "--timeout", "3m")
	require.Equal(t, 0, res.Code, res.String())
	t.Logf("update -f --wait returned after %s", time.Since(start).Round(time.Millisecond))
	assert.Regexp(t, `^release.releases.triton.io/nginx-update-[a-z0-9]{5} created\n`, res.Stdout)
	assert.NotContains(t, res.Stdout, "\x1b[", "piped: plain text")
	assert.GreaterOrEqual(t, strings.Count(res.Stdout, "\nPhase: "), 2, "progress printed as it went:\n%s", res.Stdout)
	assert.Contains(t, res.Stdout, "Phase: Succeeded")
	assert.Contains(t, res.Stdout, "Waiting for: nothing: the release Succeeded.")
	assert.Empty(t, res.Stderr)

	// Exit 0 means done: the pods are all at the new image and Ready now, not later.
	pods := framework.PodsAt(t, ctx, admin, ns, "nginx:1.28")
	assert.True(t, framework.AllReady(pods, 3), "every pod at nginx:1.28 and Ready: %s", framework.PodSummary(pods))
	list, err := admin.Releases.ReleasesV1alpha1().Releases(ns).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	require.Len(t, list.Items, 1)
	r := list.Items[0]
	assert.Equal(t, v1alpha1.ReleaseSucceeded, r.Status.Phase)
	assert.Equal(t, "nginx:1.28", r.Spec.Template.Spec.Containers[0].Image, "the manifest's template")
	assert.Len(t, r.Status.Batches, 2)
}

// --dry-run=server with -f: the server's plan, and nothing changes.
func TestPluginUpdateFromAFileDryRunChangesNothing(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(2*time.Minute), framework.CloneSet("nginx", 3))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	before, err := admin.Kruise.AppsV1alpha1().CloneSets(ns).Get(ctx, "nginx", metav1.GetOptions{})
	require.NoError(t, err)

	res := admin.KubectlRelease(t, ctx, "-n", ns, "update", "-f", renderCloneSet(t, "nginx:1.28"), "--canary", "1", "--batch-size", "1", "--dry-run=server")
	require.Equal(t, 0, res.Code, res.String())
	assert.Contains(t, res.Stdout, "Update to nginx=nginx:1.28 of CloneSet nginx")
	assert.Contains(t, res.Stdout, "Nothing was created: this is the server's plan (dry run).")
	assert.Regexp(t, `1 \(canary\)\s+1\s+1\s+Pending`, res.Stdout)
	assert.Regexp(t, `\n\s+3\s+1\s+3\s+Pending`, res.Stdout)

	after, err := admin.Kruise.AppsV1alpha1().CloneSets(ns).Get(ctx, "nginx", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, before.ResourceVersion, after.ResourceVersion, "the CloneSet is unchanged")
	assert.Equal(t, "nginx:1.27", after.Spec.Template.Spec.Containers[0].Image)
	list, err := admin.Releases.ReleasesV1alpha1().Releases(ns).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	assert.Empty(t, list.Items, "no release stored")
	assert.Len(t, framework.PodsAt(t, ctx, admin, ns, "nginx:1.27"), 3)

	// A file that is not a CloneSet is refused before anything is sent.
	res = admin.KubectlRelease(t, ctx, "-n", ns, "update", "nginx", "-f", filepath.Join(framework.Root, "artifacts", "examples", "update.yaml"))
	assert.Equal(t, 2, res.Code, res.String())
	assert.Contains(t, res.Stderr, "holds a Release of releases.triton.io/v1alpha1: want kind CloneSet, apiVersion apps.kruise.io/v1alpha1")
}

// --wait on a Manual release waits for a next that nobody calls: --timeout ends the wait with exit 8,
// and the release goes on, its canary waiting.
func TestPluginWaitTimesOutOnAManualRelease(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(2*time.Minute), framework.CloneSet("nginx", 3))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx

	start := time.Now()
	res := admin.KubectlRelease(t, ctx, "-n", ns, "update", "nginx", "-f", renderCloneSet(t, "nginx:1.28"), "--canary", "1", "--name", "web",
		"--wait", "--timeout", "5s")
	took := time.Since(start)
	assert.Equal(t, 8, res.Code, res.String())
	assert.GreaterOrEqual(t, took, 5*time.Second)
	assert.Less(t, took, 30*time.Second)
	assert.Equal(t, "error: timed out after 5s waiting for release web to end; the release goes on as it is, nothing was canceled: see it with kubectl release status web -n "+ns+"\n", res.Stderr)
	assert.Contains(t, res.Stdout, "release.releases.triton.io/web created\n")
	assert.Contains(t, res.Stdout, "Waiting for:")

	// Left running: the canary comes up and waits for next.
	r := framework.WaitRelease(t, ctx, admin, ns, "web", "canary Smoked", framework.BatchIs(1, v1alpha1.BatchSmoked))
	assert.Equal(t, v1alpha1.ReleaseProgressing, r.Status.Phase)
	for _, h := range r.Status.History {
		assert.NotEqual(t, "cancel", h.Action, "nothing canceled it")
	}

	// status -w --timeout the same way.
	res = admin.KubectlRelease(t, ctx, "-n", ns, "status", "web", "-w", "--timeout", "2s")
	assert.Equal(t, 8, res.Code, res.String())
	assert.Contains(t, res.Stderr, "timed out after 2s waiting for release web to end")
}

// version against the bed: the plugin's version and the running server's, which kube-apiserver passes on
// from the server's Triton-Version header to any authenticated user (bob has no role on releases).
func TestPluginVersionShowsTheServersVersion(t *testing.T) {
	t.Parallel()
	bob := framework.Connect(t, "bob")
	ctx := framework.Context(t, time.Minute)
	served := bedServerVersion(t)

	res := bob.KubectlRelease(t, ctx, "version", "--client")
	require.Equal(t, 0, res.Code, res.String())
	client, ok := strings.CutPrefix(strings.TrimSpace(res.Stdout), "Client Version: ")
	require.True(t, ok, res.String())

	// The header itself, through kube-apiserver, on the discovery document.
	httpClient, err := rest.HTTPClientFor(bob.Config)
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, bob.Config.Host+"/apis/releases.triton.io/v1alpha1", nil)
	require.NoError(t, err)
	resp, err := httpClient.Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, served, resp.Header.Get(version.Header),
		"kube-apiserver passes on triton-apiserver's %s header (a bed started before the server set it has none: restart the bed)", version.Header)

	res = bob.KubectlRelease(t, ctx, "version")
	require.Equal(t, 0, res.Code, res.String())
	assert.Equal(t, fmt.Sprintf("Client Version: %s\nServer Version: %s\n", client, served), res.Stdout)
	assert.NotContains(t, res.Stderr, "did not say its version")

	res = bob.KubectlRelease(t, ctx, "version", "-o", "json")
	require.Equal(t, 0, res.Code, res.String())
	assert.JSONEq(t, fmt.Sprintf(`{"clientVersion": %q, "serverVersion": %q}`, client, served), res.Stdout)

	// A server that cannot be reached: the client's version, the error, exit 7.
	res = bob.KubectlRelease(t, ctx, "version", "--server", "https://127.0.0.1:9", "--request-timeout", "5s")
	assert.Equal(t, 7, res.Code, res.String())
	assert.Equal(t, "Client Version: "+client+"\n", res.Stdout)
	assert.Contains(t, res.Stderr, "error: asking triton-apiserver its version: ")
}

// bedServerVersion is the version of the bed's running triton-apiserver, as its binary says it.
func bedServerVersion(t *testing.T) string {
	t.Helper()
	out, err := exec.Command(fmt.Sprintf("/proc/%d/exe", localPID(t, "triton-apiserver")), "--version").CombinedOutput()
	require.NoError(t, err, string(out))
	v, ok := strings.CutPrefix(strings.TrimSpace(string(out)), "triton-apiserver ")
	require.True(t, ok, string(out))
	return v
}
