//go:build !windows

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

// The test binary is the plugin when BE_KUBECTL_RELEASE is set: the tests below run it as a process,
// under the names and with the signals a user gives it.
func TestMain(m *testing.M) {
	if os.Getenv("BE_KUBECTL_RELEASE") == "1" {
		main()
	}
	os.Exit(m.Run())
}

// plugin is the test binary linked under name, run as the plugin.
func plugin(t *testing.T, name string, args ...string) *exec.Cmd {
	t.Helper()
	self, err := os.Executable()
	require.NoError(t, err)
	link := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.Symlink(self, link))
	cmd := exec.Command(link, args...)
	cmd.Env = append(os.Environ(), "BE_KUBECTL_RELEASE=1")
	return cmd
}

// A symlink named kubectl_complete-release answers kubectl's completion request.
func TestSymlinkAsKubectlComplete(t *testing.T) {
	out, err := plugin(t, "kubectl_complete-release", "completion", "").Output()
	require.NoError(t, err)
	assert.Equal(t, "bash\nzsh\nfish\npowershell\n:4\n", string(out))

	out, err = plugin(t, "kubectl-release", "completion", "").CombinedOutput()
	require.Error(t, err, "under its own name, completion wants a shell: %s", out)
}

// apiServer serves one release and a watch on it that never changes.
func apiServer(t *testing.T) string {
	r := v1alpha1.Release{
		TypeMeta:   metav1.TypeMeta{APIVersion: "releases.triton.io/v1alpha1", Kind: "Release"},
		ObjectMeta: metav1.ObjectMeta{Name: "nginx-update", Namespace: "shop", ResourceVersion: "7"},
		Spec:       v1alpha1.ReleaseSpec{CloneSetName: "nginx", Action: v1alpha1.ActionRestart},
		Status:     v1alpha1.ReleaseStatus{Phase: v1alpha1.ReleaseProgressing, CurrentBatch: 5},
	}
	for i := int32(1); i <= 40; i++ {
		r.Status.Batches = append(r.Status.Batches, v1alpha1.ReleaseBatch{Index: i, Replicas: 1, Target: i, Phase: v1alpha1.BatchPending})
	}
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if req.URL.Query().Get("watch") == "true" {
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			<-req.Context().Done()
			return
		}
		if req.URL.Path != "/apis/releases.triton.io/v1alpha1/namespaces/shop/releases/nginx-update" {
			http.NotFound(w, req)
			return
		}
		_ = json.NewEncoder(w).Encode(r)
	}))
	t.Cleanup(server.Close)
	path := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, os.WriteFile(path, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: %q}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u, namespace: shop}}]
current-context: c
`, server.URL)), 0o600))
	return path
}

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

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("never: " + what)
}

// status -w on a terminal fits the view to it; Ctrl-C ends it with exit 130, nothing said, the cursor shown.
func TestStatusWatchOnATerminalStopsQuietlyOnCtrlC(t *testing.T) {
	kubeconfig := apiServer(t)
	cmd := plugin(t, "kubectl-release", "--kubeconfig", kubeconfig, "status", "nginx-update", "-w")
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 15, Cols: 50})
	require.NoError(t, err)
	defer tty.Close()
	var screen syncBuffer
	copied := make(chan struct{})
	go func() { _, _ = io.Copy(&screen, tty); close(copied) }()

	waitFor(t, "the view", func() bool { return strings.Contains(screen.String(), "Waiting for:") })
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	requireExit(t, cmd.Wait(), 130, screen.String())
	<-copied

	out := screen.String()
	assert.True(t, strings.HasSuffix(out, "\r\x1b[K\x1b[?25h"), "the ^C line cleared, the cursor back: %q", out)
	assert.NotContains(t, out, "error")
	view := strings.TrimSuffix(strings.TrimPrefix(out, "\x1b[?25l"), "\r\x1b[K\x1b[?25h")
	assert.Contains(t, view, "Phase: \x1b[36mProgressing\x1b[0m", "a terminal: in colour")
	// The colours take no room: each line shows at most the terminal's width.
	view = colour.ReplaceAllString(view, "")
	lines := strings.Split(strings.TrimSuffix(view, "\r\n"), "\r\n")
	assert.Len(t, lines, 14, "%q", view)
	for _, l := range lines {
		assert.LessOrEqual(t, len([]rune(l)), 50, l)
	}
	assert.Contains(t, view, "  ... 33 of 40 batches not shown (3 before, 30 af…")
}

// Piped, SIGTERM ends status -w with exit 130 (a pipeline must not read a stopped wait as done) and one line
// on stderr saying the release goes on.
func TestStatusWatchPipedStopsQuietlyOnSIGTERM(t *testing.T) {
	kubeconfig := apiServer(t)
	cmd := plugin(t, "kubectl-release", "--kubeconfig", kubeconfig, "status", "nginx-update", "-w")
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Start())
	waitFor(t, "the view", func() bool { return strings.Contains(stdout.String(), "Waiting for:") })
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	requireExit(t, cmd.Wait(), 130, stderr.String())
	assert.Equal(t, "error: interrupted while watching release nginx-update; the release goes on as it is, nothing was canceled\n", stderr.String())
	assert.NotContains(t, stdout.String(), "\x1b[")
	assert.Contains(t, stdout.String(), "> 5 ")
	assert.Contains(t, stdout.String(), "  40 ", "piped: every batch")
}

// colour matches the colour sequences (SGR) the views write.
var colour = regexp.MustCompile("\x1b\\[[0-9;]*m")

// environ is the environment without NO_COLOR and TERM, plus extra.
func environ(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NO_COLOR=") && !strings.HasPrefix(kv, "TERM=") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// status is in colour on a terminal only, and not when the user says no: --no-color, NO_COLOR (any value
// but empty), TERM=dumb.
func TestStatusIsInColourOnATerminalUnlessTheUserSaysNo(t *testing.T) {
	kubeconfig := apiServer(t)
	onTerminal := func(t *testing.T, env []string, args ...string) string {
		t.Helper()
		cmd := plugin(t, "kubectl-release", append([]string{"--kubeconfig", kubeconfig, "status", "nginx-update"}, args...)...)
		cmd.Env = append(env, "BE_KUBECTL_RELEASE=1")
		tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 60, Cols: 200})
		require.NoError(t, err)
		defer tty.Close()
		var out bytes.Buffer
		copied := make(chan struct{})
		go func() { _, _ = io.Copy(&out, tty); close(copied) }()
		require.NoError(t, cmd.Wait())
		<-copied
		return out.String()
	}
	for _, tc := range []struct {
		name   string
		env    []string
		args   []string
		colour bool
	}{
		{name: "a terminal", env: environ("TERM=xterm-256color"), colour: true},
		{name: "a terminal, NO_COLOR empty", env: environ("TERM=xterm", "NO_COLOR="), colour: true},
		{name: "--no-color", env: environ("TERM=xterm"), args: []string{"--no-color"}},
		{name: "NO_COLOR=1", env: environ("TERM=xterm", "NO_COLOR=1")},
		{name: "TERM=dumb", env: environ("TERM=dumb")},
		{name: "--pods, a terminal", env: environ("TERM=xterm"), args: []string{"--pods"}, colour: true},
		{name: "--pods, NO_COLOR=yes", env: environ("TERM=xterm", "NO_COLOR=yes"), args: []string{"--pods"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := onTerminal(t, tc.env, tc.args...)
			if tc.colour {
				assert.Contains(t, out, "\x1b[36mProgressing\x1b[0m")
			} else {
				assert.NotContains(t, out, "\x1b[")
				assert.Contains(t, out, "Phase: Progressing")
			}
		})
	}
	// Piped: never.
	cmd := plugin(t, "kubectl-release", "--kubeconfig", kubeconfig, "status", "nginx-update")
	cmd.Env = environ("TERM=xterm-256color", "BE_KUBECTL_RELEASE=1")
	out, err := cmd.Output()
	require.NoError(t, err)
	assert.NotContains(t, string(out), "\x1b[")
	assert.Contains(t, string(out), "Phase: Progressing")
}

// requireExit checks that a command ended with exit code want.
func requireExit(t *testing.T, err error, want int, output string) {
	t.Helper()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "exit %d:\n%s", want, output)
	require.Equal(t, want, exit.ExitCode(), output)
}
