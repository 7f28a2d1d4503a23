//go:build e2e

package e2e

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/test/e2e/framework"
)

// The tutorial, done with the plugin: create with a shortcut, see the plan and the canary waiting, next
// it in and on, pause and resume, then watch it to the end piped, and read the history.
func TestPluginTutorial(t *testing.T) {
	s := framework.Setup(t, framework.Timeout(4*time.Minute), framework.CloneSet("nginx", 4))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx

	res := admin.KubectlRelease(t, ctx, "-n", ns, "update", "nginx", "--image", "nginx=nginx:1.28", "--canary", "1",
		"--batch-size", "50%", "--name", "web", "--dry-run=server")
	require.Equal(t, 0, res.Code, res.String())
	assert.Contains(t, res.Stdout, "Nothing was created")
	assert.Regexp(t, `1 \(canary\)\s+1\s+1\s+Pending`, res.Stdout)
	_, err := admin.Releases.ReleasesV1alpha1().Releases(ns).Get(ctx, "web", metav1.GetOptions{})
	assert.Error(t, err, "a dry run creates nothing")

	res = admin.KubectlRelease(t, ctx, "-n", ns, "update", "nginx", "--image", "nginx=nginx:1.28", "--canary", "1",
		"--batch-size", "50%", "--name", "web")
	require.Equal(t, 0, res.Code, res.String())
	assert.Equal(t, "release.releases.triton.io/web created\nFollow it: kubectl release status web -n "+ns+" -w\n", res.Stdout)

	framework.WaitRelease(t, ctx, admin, ns, "web", "canary Smoked", framework.BatchIs(1, v1alpha1.BatchSmoked))
	res = admin.KubectlRelease(t, ctx, "-n", ns, "status", "web")
	require.Equal(t, 0, res.Code, res.String())
	assert.Contains(t, res.Stdout, "Release "+ns+"/web: Update to nginx=nginx:1.28 of CloneSet nginx, Manual\n")
	assert.Contains(t, res.Stdout, "Phase: Progressing, batch 1 of 3 (Smoked)")
	assert.Regexp(t, `> 1 \(canary\)\s+1\s+1\s+Smoked\s+\d\S*\s+\d\S*\s+\d\S*\s+\[##########\] 1/1\s+\[\.{10}\] 0/1\s+\[\.{10}\] 0/1`, res.Stdout)
	assert.Contains(t, res.Stdout, "Waiting for: you: batch 1 (canary) is Smoked, its pods run out of traffic.")
	assert.Contains(t, res.Stdout, "Next: kubectl release next web -n "+ns+" --expected-batch 1   (pulls them into traffic)")

	// A stale or early call is refused with exit 3 and a one-line reason.
	res = admin.KubectlRelease(t, ctx, "-n", ns, "next", "web", "--expected-batch", "2")
	assert.Equal(t, 3, res.Code, res.String())
	assert.Equal(t, 1, strings.Count(res.Stderr, "\n"), "one line: %q", res.Stderr)
	assert.Contains(t, res.Stderr, "See where it stands: kubectl release status web")

	// next --wait pulls the canary in and returns once it is Baked, waiting for the next call.
	res = admin.KubectlRelease(t, ctx, "-n", ns, "next", "web", "--expected-batch", "1", "--reason", "canary looks good", "--wait", "--timeout", "2m")
	require.Equal(t, 0, res.Code, res.String())
	assert.Contains(t, res.Stdout, "release.releases.triton.io/web next: Progressing, batch 1 of 3 Baking")
	assert.Contains(t, res.Stdout, "Waiting for: you: batch 1 (canary) is Baked.")

	res = admin.KubectlRelease(t, ctx, "-n", ns, "pause", "web", "--reason", "lunch")
	require.Equal(t, 0, res.Code, res.String())
	assert.Contains(t, res.Stdout, "web pause: Paused")
	res = admin.KubectlRelease(t, ctx, "-n", ns, "status", "web")
	assert.Contains(t, res.Stdout, "Waiting for: you: the release is paused and its CloneSet held.\nNext: kubectl release resume web -n "+ns)
	res = admin.KubectlRelease(t, ctx, "-n", ns, "next", "web")
	assert.Equal(t, 3, res.Code, "next while paused: %s", res.String())
	res = admin.KubectlRelease(t, ctx, "-n", ns, "resume", "web")
	require.Equal(t, 0, res.Code, res.String())

	// The rest, from a pipeline: next --wait until it has finished, batch after batch.
	for batch := 1; batch <= 3; batch++ {
		res = admin.KubectlRelease(t, ctx, "-n", ns, "next", "web", "--expected-batch", strconv.Itoa(batch), "--wait", "--timeout", "2m")
		require.Equal(t, 0, res.Code, "batch %d: %s", batch, res.String())
		if batch < 3 {
			// Batches 2 and 3 are pulled in by themselves; each Baked batch waits for next.
			assert.Contains(t, res.Stdout, "Waiting for: you: batch "+strconv.Itoa(batch+1)+" is Baked", res.String())
		}
	}
	assert.Contains(t, res.Stdout, "Waiting for: nothing: the release Succeeded.")

	// status -w piped: plain text, no terminal control, and exit 0 on a Succeeded release.
	res = admin.KubectlRelease(t, ctx, "-n", ns, "status", "web", "-w")
	require.Equal(t, 0, res.Code, res.String())
	assert.NotContains(t, res.Stdout, "\x1b[")
	assert.Contains(t, res.Stdout, "Phase: Succeeded")

	// plan: the server's batches for a release in a file, nothing created.
	grow := filepath.Join(t.TempDir(), "grow.yaml")
	require.NoError(t, os.WriteFile(grow, []byte("apiVersion: releases.triton.io/v1alpha1\nkind: Release\nmetadata: {name: grow}\nspec: {cloneSetName: nginx, action: Scale, replicas: 8, strategy: {batchSize: 3}}\n"), 0o644))
	res = admin.KubectlRelease(t, ctx, "-n", ns, "plan", "-f", grow)
	require.Equal(t, 0, res.Code, res.String())
	assert.Contains(t, res.Stdout, "Scale to 8 replicas of CloneSet nginx")
	assert.Regexp(t, `1\s+3\s+3\s+Pending`, res.Stdout)
	assert.Regexp(t, `2\s+1\s+4\s+Pending`, res.Stdout)
	_, err = admin.Releases.ReleasesV1alpha1().Releases(ns).Get(ctx, "grow", metav1.GetOptions{})
	assert.Error(t, err, "plan creates nothing")

	// A shortcut without --name: the server names it.
	res = admin.KubectlRelease(t, ctx, "-n", ns, "restart", "nginx", "--batch-size", "2", "--mode", "Auto")
	require.Equal(t, 0, res.Code, res.String())
	assert.Regexp(t, `^release.releases.triton.io/nginx-restart-[a-z0-9]{5} created\n`, res.Stdout)

	res = admin.KubectlRelease(t, ctx, "-n", ns, "history", "web")
	require.Equal(t, 0, res.Code, res.String())
	assert.Regexp(t, `admin\s+next\s+1 Progressing/Smoked\s+1 Progressing/Baking\s+canary looks good`, res.Stdout)
	assert.Regexp(t, `admin\s+pause\s+.*lunch`, res.Stdout)
	assert.Regexp(t, `triton-controller\s+baked`, res.Stdout)
}

// status -w on a terminal redraws the view in place until the release ends, then exits 1 if it was
// canceled; piped, it prints each change as plain text.
func TestPluginStatusWatchOnATerminalAndPiped(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.SmokedCanary())
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	bin := framework.PluginBinary(t)

	// On a pseudo-terminal.
	cmd := exec.CommandContext(ctx, bin, "--kubeconfig", admin.Kubeconfig, "-n", ns, "status", "nginx-update", "-w")
	cmd.Env = terminalEnv()
	tty, err := pty.Start(cmd)
	require.NoError(t, err)
	defer tty.Close()
	var screen syncBuffer
	go func() { _, _ = io.Copy(&screen, tty) }()
	// Piped, at the same time.
	var piped syncBuffer
	pipedCmd := exec.CommandContext(ctx, bin, "--kubeconfig", admin.Kubeconfig, "-n", ns, "status", "nginx-update", "-w")
	pipedCmd.Stdout = &piped
	require.NoError(t, pipedCmd.Start())

	// The view in colour (a terminal); its text without the colours. Both have shown the release waiting
	// before it moves: each must then print the changes that follow.
	shown := func() string { return colours.ReplaceAllString(screen.String(), "") }
	framework.WaitFor(t, ctx, "the first view on the terminal", func() bool { return strings.Contains(shown(), "Waiting for: you") })
	framework.WaitFor(t, ctx, "the first view piped", func() bool { return strings.Contains(piped.String(), "Waiting for: you") })
	_, err = admin.Releases.ReleasesV1alpha1().Releases(ns).Next(ctx, "nginx-update", &v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(1)}, metav1.CreateOptions{})
	require.NoError(t, err)
	framework.WaitFor(t, ctx, "a redraw in place", func() bool { return strings.Contains(screen.String(), "\x1b[J") })
	_, err = admin.Releases.ReleasesV1alpha1().Releases(ns).Cancel(ctx, "nginx-update", &v1alpha1.ReleaseRequest{Reason: "enough"}, metav1.CreateOptions{})
	require.NoError(t, err)

	err = cmd.Wait()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "status -w ends with the release")
	assert.Equal(t, 1, exit.ExitCode(), "Canceled: exit 1")
	out := screen.String()
	assert.Contains(t, out, "Phase: \x1b[31mCanceled\x1b[0m", "in colour")
	assert.Contains(t, shown(), "Phase: Canceled")
	assert.Contains(t, out, "\x1b[", "redrawn with cursor movement")

	err = pipedCmd.Wait()
	require.ErrorAs(t, err, &exit)
	assert.Equal(t, 1, exit.ExitCode())
	assert.NotContains(t, piped.String(), "\x1b[", "no terminal control when piped")
	assert.GreaterOrEqual(t, strings.Count(piped.String(), "Phase: "), 2, "every change printed:\n%s", piped.String())
	assert.Contains(t, piped.String(), "Phase: Canceled")
}

// Every exit code the README documents, from the command that earns it.
func TestPluginExitCodes(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.SmokedCanary())
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	bob := framework.Connect(t, "bob")

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("apiVersion: releases.triton.io/v1alpha1\nkind: Release\nmetadata: {name: x}\nspec: {cloneSetName: nginx, action: Scale, replicas: -1}\n"), 0o644))
	good := filepath.Join(t.TempDir(), "good.yaml")
	require.NoError(t, os.WriteFile(good, []byte("apiVersion: releases.triton.io/v1alpha1\nkind: Release\nmetadata: {name: grow}\nspec: {cloneSetName: nginx, action: Scale, replicas: 6, strategy: {batchSize: 2}}\n"), 0o644))

	for _, tc := range []struct {
		name string
		c    *framework.Cluster
		args []string
		code int
		err  string
	}{
		{"unknown command", admin, []string{"bogus"}, 2, "unknown command"},
		{"missing name", admin, []string{"next"}, 2, "accepts 1 arg"},
		{"bad flag value", admin, []string{"next", "nginx-update", "--expected-batch", "x"}, 2, "--expected-batch"},
		{"bad --dry-run", admin, []string{"pause", "nginx-update", "--dry-run", "client"}, 2, "--dry-run must be none or server"},
		{"a container the CloneSet lacks", admin, []string{"update", "nginx", "--image", "sidecar=x:1"}, 2, `no container "sidecar" (it has: nginx)`},
		{"refused: wrong batch", admin, []string{"next", "nginx-update", "--expected-batch", "3"}, 3, "kubectl release status nginx-update"},
		{"refused: another release runs", admin, []string{"restart", "nginx"}, 3, ""},
		{"not allowed", bob, []string{"next", "nginx-update"}, 4, "Ask for a role"},
		{"not found", admin, []string{"status", "nope"}, 5, `"nope" not found`},
		{"invalid", admin, []string{"plan", "-f", bad}, 6, "spec.replicas"},
		{"plan while another release runs", admin, []string{"plan", "-f", good}, 3, "still running"},
		{"dry-run cancel", admin, []string{"cancel", "nginx-update", "--dry-run=server"}, 0, ""},
		{"server unreachable", admin, []string{"status", "nginx-update", "--server", "https://127.0.0.1:9", "--request-timeout", "5s"}, 7, "127.0.0.1:9"},
	} {
		res := tc.c.KubectlRelease(t, ctx, append([]string{"-n", ns}, tc.args...)...)
		assert.Equal(t, tc.code, res.Code, "%s: %s", tc.name, res.String())
		if tc.code != 0 {
			assert.True(t, strings.HasPrefix(res.Stderr, "error: "), "%s: %q", tc.name, res.Stderr)
			assert.Equal(t, 1, strings.Count(res.Stderr, "\n"), "%s: one line: %q", tc.name, res.Stderr)
			assert.Contains(t, res.Stderr, tc.err, tc.name)
		}
	}
	// plan and the dry-run cancel changed nothing.
	r, err := admin.Releases.ReleasesV1alpha1().Releases(ns).Get(ctx, "nginx-update", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.ReleaseProgressing, r.Status.Phase)
	_, err = admin.Releases.ReleasesV1alpha1().Releases(ns).Get(ctx, "grow", metav1.GetOptions{})
	assert.Error(t, err, "plan creates nothing")
}

// colours matches the colour sequences (SGR) of the plugin's views.
var colours = regexp.MustCompile("\x1b\\[[0-9;]*m")

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// /metrics counts the action calls by verb and code, times them, and counts releases by phase.
func TestMetrics(t *testing.T) {
	s := framework.Setup(t, framework.Timeout(2*time.Minute), framework.SmokedCanary())
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	releases := s.Releases
	_, err := releases.Next(ctx, "nginx-update", &v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(3)}, metav1.CreateOptions{})
	require.Error(t, err, "a stale next: 409")

	proxy, _ := loadPair(t, "front-proxy-client")
	scrape := func() string {
		a := call(t, ctx, direct(t, &proxy), "GET", tritonURL(t)+"/metrics", frontProxy("admin", "", []string{"system:masters"}, nil), "")
		require.Equal(t, 200, a.code, a.body)
		return a.body
	}
	metrics := scrape()
	for _, want := range []string{
		`triton_release_action_calls_total{code="409",verb="next"}`,
		`triton_release_action_duration_seconds_bucket{verb="next",le="`,
		`triton_releases{phase="Progressing"}`,
		`triton_release_controller_reconcile_duration_seconds_count{result="success"}`,
		`triton_release_controller_queue_depth`,
	} {
		assert.Contains(t, metrics, want)
	}
	_, err = releases.Next(ctx, "nginx-update", &v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(1)}, metav1.CreateOptions{})
	require.NoError(t, err)
	framework.WaitRelease(t, ctx, admin, ns, "nginx-update", "canary Baked", framework.BatchIs(1, v1alpha1.BatchBaked))
	framework.WaitFor(t, ctx, "a canary batch duration", func() bool {
		m := scrape()
		return strings.Contains(m, `triton_release_action_calls_total{code="200",verb="next"}`) &&
			strings.Contains(m, `triton_release_batch_duration_seconds_count{action="Update",canary="true"}`)
	})
}

// The shortcuts make the releases they say, and cancel through the plugin puts the CloneSet back.
func TestPluginShortcutsAndCancel(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(4*time.Minute), framework.CloneSet("nginx", 3))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	finish := func(name string) {
		t.Helper()
		framework.WaitRelease(t, ctx, admin, ns, name, "Succeeded", framework.Succeeded)
	}

	res := admin.KubectlRelease(t, ctx, "-n", ns, "update", "nginx", "--image", "nginx=nginx:1.28", "--mode", "Auto", "--batch-size", "2", "--name", "to-128")
	require.Equal(t, 0, res.Code, res.String())
	finish("to-128")
	framework.WaitPods(t, ctx, admin, ns, "3 pods at nginx:1.28", func(pods []corev1.Pod) bool {
		return framework.AllReady(pods, 3) && framework.CountImage(pods, "nginx:1.28") == 3
	})

	res = admin.KubectlRelease(t, ctx, "-n", ns, "rollback", "nginx", "--mode", "Auto", "--name", "back", "-o", "jsonpath={.spec.toRevision}")
	require.Equal(t, 0, res.Code, res.String())
	assert.NotEmpty(t, res.Stdout, "the server defaulted toRevision to the revision before")
	finish("back")
	framework.WaitPods(t, ctx, admin, ns, "3 pods back at nginx:1.27", func(pods []corev1.Pod) bool {
		return framework.AllReady(pods, 3) && framework.CountImage(pods, "nginx:1.27") == 3
	})

	res = admin.KubectlRelease(t, ctx, "-n", ns, "scale", "nginx", "--replicas", "5", "--mode", "Auto", "--name", "out")
	require.Equal(t, 0, res.Code, res.String())
	finish("out")
	pods := framework.WaitPods(t, ctx, admin, ns, "5 pods", func(pods []corev1.Pod) bool { return framework.AllReady(pods, 5) })
	victim := pods[0].Name
	res = admin.KubectlRelease(t, ctx, "-n", ns, "scale", "nginx", "--replicas", "4", "--delete", victim, "--mode", "Auto", "--name", "in")
	require.Equal(t, 0, res.Code, res.String())
	finish("in")
	framework.WaitPods(t, ctx, admin, ns, "4 pods, without "+victim, func(pods []corev1.Pod) bool {
		return len(pods) == 4 && !slices.Contains(framework.PodNames(pods), victim)
	})

	res = admin.KubectlRelease(t, ctx, "-n", ns, "update", "nginx", "--image", "nginx=nginx:1.29", "--canary", "1", "--name", "to-129")
	require.Equal(t, 0, res.Code, res.String())
	framework.WaitRelease(t, ctx, admin, ns, "to-129", "canary Smoked", framework.BatchIs(1, v1alpha1.BatchSmoked))
	res = admin.KubectlRelease(t, ctx, "-n", ns, "cancel", "to-129", "--reason", "not today")
	require.Equal(t, 0, res.Code, res.String())
	assert.Contains(t, res.Stdout, "release.releases.triton.io/to-129 cancel: Canceled")
	framework.WaitPods(t, ctx, admin, ns, "4 pods at nginx:1.27 again", func(pods []corev1.Pod) bool {
		return framework.AllReady(pods, 4) && framework.CountImage(pods, "nginx:1.27") == 4
	})
	res = admin.KubectlRelease(t, ctx, "-n", ns, "history", "to-129")
	assert.Regexp(t, `admin\s+cancel\s+.*not today`, res.Stdout)
}
