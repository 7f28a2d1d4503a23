package app

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

var releasesResource = schema.GroupVersionResource{Group: "releases.triton.io", Version: "v1alpha1", Resource: "releases"}

// watched says whether the plugin has started watching releases.
func watched(p *plugin) bool {
	for _, a := range p.releases.Actions() {
		if a.GetVerb() == "watch" {
			return true
		}
	}
	return false
}

// background runs the plugin until it ends and returns its exit code on the channel.
func background(p *plugin, args ...string) <-chan int {
	code := make(chan int, 1)
	go func() { code <- p.runContext(context.Background(), args...) }()
	return code
}

func exitOf(t *testing.T, code <-chan int) int {
	t.Helper()
	select {
	case c := <-code:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("the plugin did not end")
		return -1
	}
}

// moveTo sets the phase of the release ns/name as the server would, seen by watchers.
func moveTo(t *testing.T, p *plugin, name string, phase v1alpha1.ReleasePhase) {
	t.Helper()
	obj, err := p.releases.Tracker().Get(releasesResource, "shop", name)
	require.NoError(t, err)
	r := obj.(*v1alpha1.Release).DeepCopy()
	r.Status.Phase = phase
	r.Status.Batches = batches(2)
	r.Status.CurrentBatch = 2
	require.NoError(t, p.releases.Tracker().Update(releasesResource, r, "shop"))
}

// Each shortcut with --wait follows the release it made until it ends, printing every change, and
// exits as status -w does.
func TestShortcutsWaitUntilTheReleaseEnds(t *testing.T) {
	file := writeFile(t, "cloneset.yaml", nginxManifest)
	for _, tc := range []struct {
		args  []string
		phase v1alpha1.ReleasePhase
		code  int
	}{
		{[]string{"update", "-f", file, "--mode", "Auto"}, v1alpha1.ReleaseSucceeded, ExitOK},
		{[]string{"update", "nginx", "--image", "nginx=nginx:1.29"}, v1alpha1.ReleaseSucceeded, ExitOK},
		{[]string{"scale", "nginx", "--replicas", "5"}, v1alpha1.ReleaseSucceeded, ExitOK},
		{[]string{"restart", "nginx", "-w"}, v1alpha1.ReleaseFailed, ExitReleaseFailed},
		{[]string{"rollback", "nginx"}, v1alpha1.ReleaseCanceled, ExitReleaseFailed},
	} {
		cs := cloneSet("shop", "nginx", "")
		cs.Spec.Template.Spec.Containers = nginxContainers()
		p := newPlugin(t, cs)
		args := append(tc.args, "--name", "web", "--timeout", "1m")
		if !contains(args, "-w") {
			args = append(args, "--wait")
		}
		code := background(p, args...)
		eventually(t, "a watch on the new release", func() bool { return watched(p) })
		moveTo(t, p, "web", tc.phase)
		assert.Equal(t, tc.code, exitOf(t, code), "%v: %s", tc.args, p.errOut)

		out := p.out.String()
		assert.True(t, strings.HasPrefix(out, "release.releases.triton.io/web created\n"), "%v: %s", tc.args, out)
		assert.NotContains(t, out, "Follow it:", "%v: it follows it itself", tc.args)
		assert.GreaterOrEqual(t, strings.Count(out, "Waiting for:"), 2, "%v: each change printed: %s", tc.args, out)
		assert.Contains(t, out, "Phase: "+string(tc.phase), tc.args)
		assert.NotContains(t, out, "\x1b[", "%v: piped: no terminal control", tc.args)
		if tc.code != ExitOK {
			assert.Equal(t, "error: release web is "+string(tc.phase)+"\n", p.errOut.String(), tc.args)
		}
	}
}

func nginxContainers() []corev1.Container {
	return []corev1.Container{{Name: "nginx", Image: "nginx:1.27"}}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// --timeout passes: exit 8, a message that says the release goes on and how to see it, and nothing
// done to the release.
func TestShortcutWaitTimesOutAndLeavesTheRelease(t *testing.T) {
	file := writeFile(t, "cloneset.yaml", nginxManifest)
	p := newPlugin(t)
	start := time.Now()
	code := p.run("update", "-f", file, "--name", "web", "--wait", "--timeout", "300ms")
	assert.Equal(t, ExitTimeout, code, p.errOut.String())
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.Equal(t, "error: timed out after 300ms waiting for release web to end; the release goes on as it is, nothing was canceled: see it with kubectl release status web -n shop\n",
		p.errOut.String())
	assert.Contains(t, p.out.String(), "release.releases.triton.io/web created\n")
	assert.Contains(t, p.out.String(), "Waiting for:", "the state it was in")
	for _, a := range p.releases.Actions() {
		assert.Contains(t, []string{"create", "get", "watch"}, a.GetVerb(), "only reads after the create: %v", a)
		assert.Empty(t, a.GetSubresource(), "no verb called: %v", a)
	}
	_, err := p.releases.ReleasesV1alpha1().Releases("shop").Get(context.Background(), "web", metav1.GetOptions{})
	assert.NoError(t, err, "the release is still there")
}

// Ctrl-C (or a job's SIGTERM) while waiting stops with exit 130, as status -w does, so that a pipeline
// never reads a stopped wait as a release done; the release goes on.
func TestShortcutWaitInterruptedIsNotDone(t *testing.T) {
	p := newPlugin(t)
	ctx, cancel := context.WithCancel(context.Background())
	code := make(chan int, 1)
	go func() { code <- p.runContext(ctx, "restart", "nginx", "--name", "web", "--wait") }()
	eventually(t, "a watch on the new release", func() bool { return watched(p) })
	cancel()
	assert.Equal(t, ExitInterrupted, exitOf(t, code), p.errOut.String())
	assert.Equal(t, "error: interrupted while watching release web; the release goes on as it is, nothing was canceled\n", p.errOut.String())
}

// With -o, --wait prints the release at each change, as status -w -o does.
func TestShortcutWaitWithOutput(t *testing.T) {
	p := newPlugin(t)
	code := background(p, "scale", "nginx", "--replicas", "4", "--name", "web", "--wait", "-o", "json")
	eventually(t, "a watch on the new release", func() bool { return watched(p) })
	moveTo(t, p, "web", v1alpha1.ReleaseSucceeded)
	require.Equal(t, ExitOK, exitOf(t, code), p.errOut.String())
	decoder := json.NewDecoder(strings.NewReader(p.out.String()))
	var phases []string
	for decoder.More() {
		var r v1alpha1.Release
		require.NoError(t, decoder.Decode(&r), p.out.String())
		assert.Equal(t, "web", r.Name)
		phases = append(phases, string(r.Status.Phase))
	}
	require.GreaterOrEqual(t, len(phases), 2, p.out.String())
	assert.Equal(t, "", phases[0], "as created")
	assert.Equal(t, "Succeeded", phases[len(phases)-1], "as it ended")
}
