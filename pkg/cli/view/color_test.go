package view

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

// sgr matches the colour sequences the views write, and nothing else.
var sgr = regexp.MustCompile("\x1b\\[(0|32|36|33|1;33|31)m")

func TestUseColor(t *testing.T) {
	for _, tc := range []struct {
		name        string
		terminal    bool
		noColorFlag bool
		env         map[string]string
		want        bool
	}{
		{name: "a terminal", terminal: true, env: map[string]string{"TERM": "xterm-256color"}, want: true},
		{name: "a terminal, no TERM", terminal: true, want: true},
		{name: "piped", terminal: false, env: map[string]string{"TERM": "xterm-256color"}},
		{name: "--no-color", terminal: true, noColorFlag: true},
		{name: "NO_COLOR=1", terminal: true, env: map[string]string{"NO_COLOR": "1"}},
		{name: "NO_COLOR=0 is set too", terminal: true, env: map[string]string{"NO_COLOR": "0"}},
		{name: "NO_COLOR empty is not set", terminal: true, env: map[string]string{"NO_COLOR": ""}, want: true},
		{name: "TERM=dumb", terminal: true, env: map[string]string{"TERM": "dumb"}},
		{name: "piped and --no-color", noColorFlag: true, env: map[string]string{"NO_COLOR": "1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			getenv := func(k string) string { return tc.env[k] }
			assert.Equal(t, tc.want, UseColor(tc.terminal, tc.noColorFlag, getenv))
		})
	}
}

// A colour sequence in the server's strings is shown escaped, colour or not; and a phase this plugin does
// not know, or one with something after it, gets no colour: the view's colours come from its own
// knowledge of the phases, never from the server's text.
func TestColourNeverComesFromTheServer(t *testing.T) {
	const magenta = "\x1b[35m"
	r := midwayRelease()
	r.Status.Phase = v1alpha1.ReleaseProgressing + magenta
	r.Status.Batches[0].Phase = v1alpha1.BatchBaked + magenta
	r.Status.Batches[1].Pods[0].Name = "nginx-4xq2p" + magenta
	r.Status.Batches[1].Pods[0].Phase = "Running" + magenta
	r.Status.Conditions = []metav1.Condition{{Type: v1alpha1.ConditionFailed, Status: metav1.ConditionTrue,
		Message: "batch 2: 1 failing pods, 0 tolerated: nginx-b7r5m: container nginx: " + magenta + "CrashLoopBackOff"}}
	for name, draw := range map[string]func(*strings.Builder, Options) error{
		"status": func(b *strings.Builder, o Options) error { return StatusWith(b, r, o) },
		"pods":   func(b *strings.Builder, o Options) error { return Pods(b, r, o) },
	} {
		var out strings.Builder
		require.NoError(t, draw(&out, Options{Now: t0.Add(11 * time.Minute), Color: true}), name)
		assert.NotContains(t, out.String(), magenta, name)
		assert.Contains(t, out.String(), `\x1b[35m`, "%s: shown, escaped", name)
		assertTerminalSafe(t, name, sgr.ReplaceAllString(out.String(), ""))
	}
	var status strings.Builder
	require.NoError(t, StatusWith(&status, r, Options{Now: t0.Add(11 * time.Minute), Color: true}))
	assert.Contains(t, status.String(), "Phase: Progressing\\x1b[35m, batch 2 of 3 (\x1b[36mBaking\x1b[0m)\n", "an unknown release phase: plain")
	assert.Contains(t, status.String(), "  1 (canary)  1     1       Baked\\x1b[35m  ", "an unknown batch phase: plain")
	var pods strings.Builder
	require.NoError(t, Pods(&pods, r, Options{Color: true}))
	assert.Contains(t, pods.String(), "2           nginx-4xq2p\\x1b[35m  nginx:1.28  Running\\x1b[35m  ")
	assert.Contains(t, pods.String(), "\x1b[31mcontainer nginx: \\x1b[35mCrashLoopBackOff\x1b[0m\n")
}
