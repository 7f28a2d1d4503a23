package app

import (
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

// withPods is a canary release whose canary is Baked and in traffic and whose batch 2 has one pod up,
// out of traffic yet, and one failing.
func withPods() *v1alpha1.Release {
	r := release("shop", "nginx-update", "nginx", t0)
	r.Spec.Template = &corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "nginx", Image: "nginx:1.28"}}}}
	r.Status.CurrentBatch = 2
	r.Status.Batches = []v1alpha1.ReleaseBatch{
		{Index: 1, Canary: true, Replicas: 1, Target: 1, Phase: v1alpha1.BatchBaked,
			Pods: []v1alpha1.BatchPod{{Name: "nginx-9vgk9", Phase: corev1.PodRunning, Ready: true, PulledIn: true}}},
		{Index: 2, Replicas: 2, Target: 3, Phase: v1alpha1.BatchSmoking, Pods: []v1alpha1.BatchPod{
			{Name: "nginx-4xq2p", Phase: corev1.PodRunning}, {Name: "nginx-b7r5m", Phase: corev1.PodFailed}}},
	}
	return r
}

func TestStatusPodsListsThePodsOfTheBatches(t *testing.T) {
	p := newPlugin(t, withPods())
	assert.Equal(t, ExitOK, p.run("status", "nginx-update", "--pods"), p.errOut.String())
	assert.Equal(t, `Release shop/nginx-update: Update to nginx=nginx:1.28 of CloneSet nginx, Manual
Phase: Progressing, batch 2 of 2 (Smoking)

BATCH       POD          VERSION     PHASE    READY  IN TRAFFIC  FAILING
1 (canary)  nginx-9vgk9  nginx:1.28  Running  yes    yes         -
2           nginx-4xq2p  nginx:1.28  Running  no     no          -
2           nginx-b7r5m  nginx:1.28  Failed   no     no          the pod failed
`, p.out.String())
	for _, a := range p.releases.Actions() {
		assert.Equal(t, "releases", a.GetResource().Resource, "nothing but the release is read")
	}
	assert.Empty(t, p.kruise.Actions(), "nothing but the release is read")

	p = newPlugin(t, withPods())
	assert.Equal(t, ExitUsage, p.run("status", "nginx-update", "--pods", "-o", "json"))
	assert.Contains(t, p.errOut.String(), "--pods is a text view: it does not go with -o")
}

// Colour on a terminal only, and never when the user says no.
func TestStatusColourFollowsTheTerminalAndTheUser(t *testing.T) {
	for _, tc := range []struct {
		name     string
		terminal bool
		noColor  string
		args     []string
		colour   bool
	}{
		{name: "a terminal", terminal: true, colour: true},
		{name: "piped", terminal: false},
		{name: "--no-color", terminal: true, args: []string{"--no-color"}},
		{name: "NO_COLOR", terminal: true, noColor: "1"},
		{name: "--pods on a terminal", terminal: true, args: []string{"--pods"}, colour: true},
		{name: "--pods, NO_COLOR", terminal: true, noColor: "true", args: []string{"--pods"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("NO_COLOR", tc.noColor)
			t.Setenv("TERM", "xterm")
			p := newPlugin(t, withPods())
			p.o.terminal = func(io.Writer) (bool, int, int) { return tc.terminal, 0, 0 }
			assert.Equal(t, ExitOK, p.run(append([]string{"status", "nginx-update"}, tc.args...)...), p.errOut.String())
			if tc.colour {
				assert.Contains(t, p.out.String(), "Phase: \x1b[36mProgressing\x1b[0m")
			} else {
				assert.NotContains(t, p.out.String(), "\x1b")
			}
			assertTerminalSafe(t, "colours aside", ansi.ReplaceAllString(p.out.String(), ""))
		})
	}
}

// The pods view escapes a pod's name, phase, image and failure from the server in its columns, and its
// colours are its own: a colour sequence in the server's strings is shown escaped.
func TestStatusPodsEscapesTheServersStrings(t *testing.T) {
	r := withPods()
	r.Spec.Template.Spec.Containers[0].Image += hostile
	failing := &r.Status.Batches[1].Pods[0]
	failing.Name += hostile
	failing.Phase += "\x1b[32m"
	r.Status.Phase = v1alpha1.ReleaseFailed
	r.Status.Conditions = []metav1.Condition{{Type: v1alpha1.ConditionFailed, Status: metav1.ConditionTrue,
		Message: "batch 2: 1 failing pods, 0 tolerated: " + failing.Name + ": container nginx: " + hostile + "\u202e"}}
	for _, terminal := range []bool{false, true} {
		p := newPlugin(t, r)
		p.o.terminal = func(io.Writer) (bool, int, int) { return terminal, 0, 0 }
		t.Setenv("NO_COLOR", "")
		assert.Equal(t, ExitOK, p.run("status", "nginx-update", "--pods"), p.errOut.String())
		out := p.out.String()
		assert.NotContains(t, out, "Running\x1b[32m", "no colour from the server")
		out = ansi.ReplaceAllString(out, "")
		assertTerminalSafe(t, "status --pods", out)
		assert.Contains(t, out, "nginx-4xq2p"+escapedHostile+"  nginx:1.28"+escapedHostile+`  Running\x1b[32m  no     no          container nginx: `+escapedHostile+`\u202e`)
	}
}

// status --pods -w on a terminal redraws the pods in place.
func TestStatusPodsWatch(t *testing.T) {
	r := withPods()
	p := newPlugin(t, r)
	p.o.terminal = func(io.Writer) (bool, int, int) { return true, 100, 30 }
	w, stop := watching(t, p, "status", "nginx-update", "--pods", "-w", "--no-color")
	eventually(t, "the first view", func() bool { return strings.Contains(p.out.String(), "nginx-4xq2p  nginx:1.28  Running  no ") })
	next := r.DeepCopy()
	next.Status.Batches[1].Pods[0].PulledIn = true
	w.Modify(next)
	eventually(t, "a redraw", func() bool { return strings.Contains(p.out.String(), "nginx-4xq2p  nginx:1.28  Running  no     yes") })
	assert.Equal(t, ExitInterrupted, stop())
	assert.Regexp(t, `\r\x1b\[\d+A\x1b\[J`, p.out.String(), "redrawn in place")
	assert.NotContains(t, ansi.ReplaceAllString(p.out.String(), ""), "\x1b", "--no-color: only the cursor's control")
}

// tickingClock makes the views' clock go on by a minute at every reading, until the test ends.
func tickingClock(t *testing.T) {
	var mu sync.Mutex
	now := t0.Add(time.Hour)
	statusClock = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Minute)
		return now
	}
	t.Cleanup(func() { statusClock = time.Now })
}

// Piped, status -w prints the release again when it changed in the view, not when only the clock moved
// on: a batch that runs shows a new age at every reading, and that alone prints nothing.
func TestStatusWatchPipedPrintsChangesOfTheReleaseNotOfTheClock(t *testing.T) {
	tickingClock(t)
	r := withPods()
	started := metav1.NewTime(t0)
	r.Status.Batches[1].StartedAt = &started
	p := newPlugin(t, r)
	w, stop := watching(t, p, "status", "nginx-update", "-w")
	eventually(t, "the first view", func() bool { return strings.Contains(p.out.String(), "Waiting for:") })

	// The controller refreshed a pod's IP: nothing the view shows.
	same := r.DeepCopy()
	same.Status.Batches[1].Pods[0].IP = "10.128.0.9"
	w.Modify(same)
	// Then batch 2's first pod is Ready: that shows.
	ready := same.DeepCopy()
	ready.Status.Batches[1].Pods[0].Ready = true
	w.Modify(ready)
	eventually(t, "the second view", func() bool { return strings.Count(p.out.String(), "Waiting for:") == 2 })
	assert.Equal(t, ExitInterrupted, stop())
	views := strings.Split(p.out.String(), "\n\nRelease ")
	require.Len(t, views, 2, "the IP alone printed nothing:\n%s", p.out.String())
	assert.Regexp(t, `> 2\s+2\s+3\s+Smoking\s+61m\s+61m\s+0s\s+\[#{10}\] 2/2\s+\[\.{10}\] 0/2`, views[0], "as of the first reading")
	assert.Regexp(t, `> 2\s+2\s+3\s+Smoking\s+6[2-9]m\s+6[2-9]m\s+0s\s+\[#{10}\] 2/2\s+\[#####\.{5}\] 1/2`, views[1], "as of a later reading")
}

// On a terminal, status -w redraws the view in place as its times go on, with no change of the release.
func TestStatusWatchOnATerminalKeepsTheTimeGoing(t *testing.T) {
	tickingClock(t)
	r := withPods()
	started := metav1.NewTime(t0)
	r.Status.Batches[1].StartedAt = &started
	p := newPlugin(t, r)
	p.o.terminal = func(io.Writer) (bool, int, int) { return true, 120, 30 }
	_, stop := watching(t, p, "status", "nginx-update", "-w", "--no-color")
	eventually(t, "a redraw as the time goes on", func() bool { return strings.Contains(p.out.String(), "\x1b[J") })
	assert.Equal(t, ExitInterrupted, stop())
	assert.Regexp(t, `> 2\s+2\s+3\s+Smoking\s+61m\s`, p.out.String())
	assert.Regexp(t, `> 2\s+2\s+3\s+Smoking\s+6[2-9]m\s`, p.out.String())
}
