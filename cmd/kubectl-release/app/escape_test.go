package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

// hostile is what a caller, a pod or a compromised writer may put in a string the plugin prints: a screen
// clear, a window title, a bell and a carriage return that would overwrite the line.
const hostile = "ok\x1b[2J\x1b]0;pwned\x07\r"

// escapedHostile is hostile as the plugin shows it.
const escapedHostile = `ok\x1b[2J\x1b]0;pwned\x07\r`

// assertTerminalSafe checks that out holds nothing a terminal would act on: valid UTF-8, no byte below
// 0x20 but newline and tab, no C1 control or DEL (U+007F to U+009F, the runes, since UTF-8 text has
// bytes 0x80 to 0x9f in its letters), and no bidi override or isolate.
func assertTerminalSafe(t *testing.T, what, out string) {
	t.Helper()
	require.True(t, utf8.ValidString(out), "%s: not UTF-8: %q", what, out)
	for i := 0; i < len(out); i++ {
		if c := out[i]; c < 0x20 && c != '\n' && c != '\t' {
			t.Errorf("%s: byte %#x at %d: %q", what, c, i, out)
			return
		}
	}
	for _, r := range out {
		if (r >= 0x7f && r <= 0x9f) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) {
			t.Errorf("%s: rune %U: %q", what, r, out)
			return
		}
	}
}

// hostileRelease is a release as a hostile server, or a hostile writer of its status, could answer it:
// every string the plugin prints carries hostile.
func hostileRelease(phase v1alpha1.ReleasePhase) *v1alpha1.Release {
	r := release("shop", "nginx-update"+hostile, "nginx"+hostile, t0)
	r.Namespace = "shop\u009b31m"
	r.Spec.Template = &corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "nginx" + hostile, Image: "nginx:1.28" + hostile}}}}
	r.Spec.Strategy.Mode = v1alpha1.ModeManual
	r.Status.Phase = phase
	r.Status.CurrentBatch = 2
	r.Status.Batches = []v1alpha1.ReleaseBatch{{Index: 1, Canary: true, Replicas: 1, Target: 1, Phase: v1alpha1.BatchBaked},
		{Index: 2, Replicas: 2, Target: 3, Phase: v1alpha1.BatchSmoking + hostile}, {Index: 3, Replicas: 2, Target: 5}}
	r.Status.Conditions = []metav1.Condition{{Type: v1alpha1.ConditionFailed, Status: metav1.ConditionTrue, Reason: "BatchFailed",
		Message: "pod nginx-b" + hostile + ": Back-off pulling image \"nginx:1.28" + hostile + "\" \u202eetadpu\xff"}}
	r.Status.History = []v1alpha1.ReleaseHistoryEntry{
		{Action: "next", User: "mallory" + hostile, Time: metav1.NewTime(t0), FromBatch: 1, FromPhase: "Progressing/Smoked" + hostile,
			ToBatch: 2, ToPhase: "Progressing/Smoking\u2066", Reason: hostile + "\u009b2J\u202e\x7f"},
	}
	return r
}

// answerGet makes the fake server answer every read of a release with r.
func answerGet(p *plugin, r *v1alpha1.Release) {
	p.releases.PrependReactor("get", "releases", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, r.DeepCopy(), nil
	})
}

// answerCreate makes the fake server answer a create of a release (not a verb) with r.
func answerCreate(p *plugin, r *v1alpha1.Release) {
	p.releases.PrependReactor("create", "releases", func(action k8stesting.Action) (bool, runtime.Object, error) {
		if action.GetSubresource() != "" {
			return false, nil, nil
		}
		return true, r.DeepCopy(), nil
	})
}

// Every text view of the plugin escapes what the server answered: the status, the history, the plan, the
// verbs' one-line answers and the shortcuts' ones, and the errors the plugin words itself. The strings are
// shown, escaped, and nothing reaches the terminal that it would act on.
func TestTextOutputEscapesTheServersStrings(t *testing.T) {
	planFile := filepath.Join(t.TempDir(), "release.yaml")
	require.NoError(t, os.WriteFile(planFile, []byte(`apiVersion: releases.triton.io/v1alpha1
kind: Release
metadata: {name: nginx-update}
spec: {cloneSetName: nginx, action: Restart}
`), 0o600))

	tests := []struct {
		name  string
		args  []string
		setup func(p *plugin)
		code  int
		// shown must be in the output (stdout, then stderr), escaped.
		shown []string
	}{
		{name: "status", args: []string{"status", "nginx-update"}, setup: func(p *plugin) { answerGet(p, hostileRelease(v1alpha1.ReleaseFailed)) },
			shown: []string{
				"Release shop\\u009b31m/nginx-update" + escapedHostile + ": Update to nginx" + escapedHostile + "=nginx:1.28" + escapedHostile +
					" of CloneSet nginx" + escapedHostile + ", Manual",
				"Smoking" + escapedHostile,
				`it Failed: pod nginx-b` + escapedHostile + `: Back-off pulling image "nginx:1.28` + escapedHostile + `" \u202eetadpu\xff`,
			}},
		{name: "status -w, piped, until the release ends", args: []string{"status", "nginx-update", "-w"}, code: ExitReleaseFailed,
			setup: func(p *plugin) { answerGet(p, hostileRelease(v1alpha1.ReleaseFailed)) },
			shown: []string{"it Failed: pod nginx-b" + escapedHostile, "error: release nginx-update is Failed"}},
		{name: "history", args: []string{"history", "nginx-update"}, setup: func(p *plugin) { answerGet(p, hostileRelease(v1alpha1.ReleaseFailed)) },
			shown: []string{"mallory" + escapedHostile, "1 Progressing/Smoked" + escapedHostile, `2 Progressing/Smoking\u2066`,
				escapedHostile + `\u009b2J\u202e\x7f`}},
		{name: "plan", args: []string{"plan", "-f", planFile}, setup: func(p *plugin) { answerCreate(p, hostileRelease(v1alpha1.ReleasePending)) },
			shown: []string{"Release shop\\u009b31m/nginx-update" + escapedHostile, "Smoking" + escapedHostile}},
		{name: "a shortcut", args: []string{"restart", "nginx", "--name", "nginx-restart"},
			setup: func(p *plugin) { answerCreate(p, hostileRelease(v1alpha1.ReleasePending)) },
			shown: []string{"release.releases.triton.io/nginx-update" + escapedHostile + " created",
				"kubectl release status nginx-update" + escapedHostile + " -n shop\\u009b31m -w"}},
		{name: "a shortcut's dry run", args: []string{"restart", "nginx", "--dry-run=server"},
			setup: func(p *plugin) { answerCreate(p, hostileRelease(v1alpha1.ReleasePending)) },
			shown: []string{"Release shop\\u009b31m/nginx-update" + escapedHostile, "Smoking" + escapedHostile}},
		{name: "update with a container the CloneSet lacks", args: []string{"update", "nginx", "--image", "nope=nginx:1.28"}, code: ExitUsage,
			setup: func(p *plugin) {
				cs := cloneSet("shop", "nginx", "")
				cs.Spec.Template.Spec.Containers = []corev1.Container{{Name: "nginx" + hostile, Image: "nginx:1.27"}}
				_, err := p.kruise.AppsV1alpha1().CloneSets("shop").Update(t.Context(), cs, metav1.UpdateOptions{})
				require.NoError(t, err)
			},
			shown: []string{`(it has: nginx` + escapedHostile + `)`}},
		{name: "next --wait", args: []string{"next", "nginx-update", "--wait"}, code: ExitReleaseFailed,
			setup: func(p *plugin) {
				var called []string
				answer(p, hostileRelease(v1alpha1.ReleaseFailed), &called)
				answerGet(p, hostileRelease(v1alpha1.ReleaseFailed))
			},
			shown: []string{"it Failed: pod nginx-b" + escapedHostile, "error: release nginx-update" + escapedHostile + " is Failed"}},
	}
	for _, verb := range []string{"next", "pause", "resume", "cancel", "promote"} {
		subresource := verb
		if verb == "promote" {
			subresource = "next"
		}
		tests = append(tests, struct {
			name  string
			args  []string
			setup func(p *plugin)
			code  int
			shown []string
		}{name: verb, args: []string{verb, "nginx-update"}, setup: func(p *plugin) {
			var called []string
			answer(p, hostileRelease(v1alpha1.ReleaseProgressing+hostile), &called)
		}, shown: []string{"release.releases.triton.io/nginx-update" + escapedHostile + " " + subresource + ": Progressing" + escapedHostile +
			", batch 2 of 3 Smoking" + escapedHostile}})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newPlugin(t, release("shop", "nginx-update", "nginx", t0), cloneSet("shop", "nginx", ""))
			if tc.setup != nil {
				tc.setup(p)
			}
			assert.Equal(t, tc.code, p.run(tc.args...), "stderr: %q", p.errOut.String())
			out, errOut := p.out.String(), p.errOut.String()
			assertTerminalSafe(t, "stdout", out)
			assertTerminalSafe(t, "stderr", errOut)
			for _, s := range tc.shown {
				assert.True(t, strings.Contains(out, s) || strings.Contains(errOut, s), "%q is not shown in\n%s\n%s", s, out, errOut)
			}
		})
	}
}

// -o json and yaml are the server's object, encoded by their printers, and not escaped again by the
// plugin (JSON escapes the C0 controls itself).
func TestObjectOutputIsNotEscapedTwice(t *testing.T) {
	p := newPlugin(t, release("shop", "nginx-update", "nginx", t0))
	answerGet(p, hostileRelease(v1alpha1.ReleaseFailed))
	require.Equal(t, ExitOK, p.run("history", "nginx-update", "-o", "json"), p.errOut.String())
	assert.Contains(t, p.out.String(), `"user": "mallory`+`ok\u001b[2J\u001b]0;pwned\u0007\r"`)
}
