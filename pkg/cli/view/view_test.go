package view

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

func TestBar(t *testing.T) {
	for _, tc := range []struct {
		done, total int32
		want        string
	}{
		{0, 4, "[..........] 0/4"},
		{1, 4, "[##........] 1/4"},
		{2, 4, "[#####.....] 2/4"},
		{4, 4, "[##########] 4/4"},
		{5, 4, "[##########] 4/4"},
		{0, 0, "[..........] 0/0"},
		{-1, 3, "[..........] 0/3"},
	} {
		assert.Equal(t, tc.want, Bar(tc.done, tc.total), "%d/%d", tc.done, tc.total)
	}
}

// tutorial is the Triton tutorial's release: canary 1, then batches of 2, Manual, 5 pods.
func tutorial() *v1alpha1.Release {
	return &v1alpha1.Release{
		ObjectMeta: metav1.ObjectMeta{Name: "nginx-update", Namespace: "shop"},
		Spec: v1alpha1.ReleaseSpec{
			CloneSetName: "nginx", Action: v1alpha1.ActionUpdate,
			Template: &corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "nginx", Image: "nginx:1.28"}}}},
			Strategy: v1alpha1.ReleaseStrategy{Canary: 1, Mode: v1alpha1.ModeManual},
		},
		Status: v1alpha1.ReleaseStatus{
			Phase: v1alpha1.ReleaseProgressing, CurrentBatch: 2,
			Batches: []v1alpha1.ReleaseBatch{
				{Index: 1, Canary: true, Replicas: 1, Target: 1, Phase: v1alpha1.BatchBaked},
				{Index: 2, Replicas: 2, Target: 3, Phase: v1alpha1.BatchBaking, Pods: []v1alpha1.BatchPod{
					{Name: "nginx-a", Ready: true, PulledIn: true}, {Name: "nginx-b", PulledIn: true}}},
				{Index: 3, Replicas: 2, Target: 5, Phase: v1alpha1.BatchPending},
			},
		},
	}
}

func awaitingNext(r *v1alpha1.Release) {
	r.Status.Conditions = append(r.Status.Conditions, metav1.Condition{Type: v1alpha1.ConditionAwaitingNext, Status: metav1.ConditionTrue})
}

func TestStatusShowsEveryBatchWithProgress(t *testing.T) {
	var out strings.Builder
	require.NoError(t, Status(&out, tutorial()))
	lines := strings.Split(out.String(), "\n")
	assert.Equal(t, "Release shop/nginx-update: Update to nginx=nginx:1.28 of CloneSet nginx, Manual", lines[0])
	assert.Equal(t, "Phase: Progressing, batch 2 of 3 (Baking)", lines[1])
	assert.Regexp(t, `^BATCH\s+PODS\s+TARGET\s+PHASE\s+AGE\s+DURATION\s+WAITED\s+UPDATED\s+READY\s+PULLED IN$`, lines[3])
	// No times in the status: nothing to count.
	assert.Regexp(t, `^  1 \(canary\)\s+1\s+1\s+Baked\s+-\s+-\s+-\s+\[##########\] 1/1\s+\[##########\] 1/1\s+\[##########\] 1/1$`, lines[4])
	assert.Regexp(t, `^> 2\s+2\s+3\s+Baking\s+-\s+-\s+-\s+\[##########\] 2/2\s+\[#####\.\.\.\.\.\] 1/2\s+\[##########\] 2/2$`, lines[5])
	assert.Regexp(t, `^  3\s+2\s+5\s+Pending\s+-\s+-\s+-\s+\[\.{10}\] 0/2`, lines[6])
	assert.Contains(t, out.String(), "Waiting for: batch 2's pods to become Ready (1/2).\n")
	assert.NotContains(t, out.String(), "Next:")
}

func TestWaitingSaysWhichCommandMovesItOn(t *testing.T) {
	for _, tc := range []struct {
		name       string
		change     func(r *v1alpha1.Release)
		wait, next string
	}{
		{"canary smoked", func(r *v1alpha1.Release) {
			r.Status.CurrentBatch = 1
			r.Status.Batches[0].Phase = v1alpha1.BatchSmoked
			awaitingNext(r)
		}, "you: batch 1 (canary) is Smoked, its pods run out of traffic.",
			"kubectl release next nginx-update -n shop --expected-batch 1   (pulls them into traffic)"},
		{"batch baked", func(r *v1alpha1.Release) {
			r.Status.Batches[1].Phase = v1alpha1.BatchBaked
			awaitingNext(r)
		}, "you: batch 2 is Baked.", "kubectl release next nginx-update -n shop --expected-batch 2   (starts batch 3)"},
		{"last baked", func(r *v1alpha1.Release) {
			r.Status.CurrentBatch = 3
			r.Status.Batches[1].Phase = v1alpha1.BatchBaked
			r.Status.Batches[2].Phase = v1alpha1.BatchBaked
			awaitingNext(r)
		}, "you: batch 3 is Baked, the last one.", "kubectl release next nginx-update -n shop --expected-batch 3   (finishes the release)"},
		{"smoking", func(r *v1alpha1.Release) { r.Status.Batches[1].Phase = v1alpha1.BatchSmoking },
			"batch 2's pods to run (2/2 updated).", ""},
		{"paused", func(r *v1alpha1.Release) { r.Status.Phase = v1alpha1.ReleasePaused },
			"you: the release is paused and its CloneSet held.", "kubectl release resume nginx-update -n shop"},
		{"failed", func(r *v1alpha1.Release) {
			r.Status.Phase = v1alpha1.ReleaseFailed
			r.Status.Conditions = []metav1.Condition{{Type: v1alpha1.ConditionFailed, Status: metav1.ConditionTrue, Message: "batch 2 not Baked in 600s"}}
		}, "you; it Failed: batch 2 not Baked in 600s. Resume retries the batch; cancel returns the CloneSet to where it was.",
			"kubectl release resume nginx-update -n shop   (or: kubectl release cancel nginx-update -n shop)"},
		{"auto interval", func(r *v1alpha1.Release) {
			r.Spec.Strategy.Mode = v1alpha1.ModeAuto
			r.Spec.Strategy.BatchIntervalSeconds = 30
			r.Status.Batches[1].Phase = v1alpha1.BatchBaked
		}, "the 30s interval after batch 2; the next batch then starts by itself.", ""},
		{"succeeded", func(r *v1alpha1.Release) { r.Status.Phase = v1alpha1.ReleaseSucceeded }, "nothing: the release Succeeded.", ""},
		{"pending", func(r *v1alpha1.Release) { r.Status.Phase = v1alpha1.ReleasePending; r.Status.CurrentBatch = 0 },
			"the controller to start the first batch.", ""},
	} {
		r := tutorial()
		tc.change(r)
		wait, next := Waiting(r)
		assert.Equal(t, tc.wait, wait, tc.name)
		assert.Equal(t, tc.next, next, tc.name)
	}
}

func TestNoPullInAndBakedScaleIn(t *testing.T) {
	r := tutorial()
	r.Spec.Strategy.NoPullIn = true
	assert.Equal(t, int32(-1), BatchProgress(r, &r.Status.Batches[1]).PulledIn)
	var out strings.Builder
	require.NoError(t, Batches(&out, r))
	assert.Contains(t, out.String(), "n/a (noPullIn)")

	// Smoked before the controller has listed the batch's pods: they are all updated.
	smoked := &v1alpha1.ReleaseBatch{Index: 1, Replicas: 2, Target: 2, Phase: v1alpha1.BatchSmoked}
	assert.Equal(t, Progress{Updated: 2, Ready: 0, PulledIn: 0}, BatchProgress(tutorial(), smoked))

	// A scale-in batch lists no pods (they are gone); Baked means done.
	scale := &v1alpha1.ReleaseBatch{Index: 1, Replicas: 3, Target: 3, Phase: v1alpha1.BatchBaked}
	assert.Equal(t, Progress{Updated: 3, Ready: 3, PulledIn: 3}, BatchProgress(tutorial(), scale))
}

func TestHistory(t *testing.T) {
	r := tutorial()
	r.Status.History = []v1alpha1.ReleaseHistoryEntry{
		{Action: "next", User: "alice", Time: metav1.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC), FromBatch: 1, ToBatch: 1,
			FromPhase: "Progressing/Smoked", ToPhase: "Progressing/Baking", Reason: "canary looks fine"},
	}
	var out strings.Builder
	require.NoError(t, History(&out, r))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 2)
	assert.Regexp(t, `^TIME\s+USER\s+ACTION\s+FROM\s+TO\s+REASON$`, lines[0])
	assert.Regexp(t, `^2026-11-25T10:00:00Z\s+alice\s+next\s+1 Progressing/Smoked\s+1 Progressing/Baking\s+canary looks fine$`, lines[1])
}

// blueGreenRelease is a blue/green Update of 4 pods at its preview, Smoked: 2 green pods beside 4 blue.
func blueGreenRelease() *v1alpha1.Release {
	r := tutorial()
	r.Spec.Strategy = v1alpha1.ReleaseStrategy{Type: v1alpha1.StrategyBlueGreen, Mode: v1alpha1.ModeManual}
	r.Status.CurrentBatch = 1
	r.Status.Batches = []v1alpha1.ReleaseBatch{
		{Index: 1, Replicas: 2, Target: 2, Phase: v1alpha1.BatchSmoked},
		{Index: 2, Replicas: 2, Target: 4, Phase: v1alpha1.BatchPending},
	}
	r.Status.CloneSet = &v1alpha1.CloneSetObservation{Replicas: 6, UpdatedReplicas: 2, UpdatedReadyReplicas: 0}
	awaitingNext(r)
	return r
}

func TestStatusShowsBlueAndGreen(t *testing.T) {
	r := blueGreenRelease()
	var out strings.Builder
	require.NoError(t, Status(&out, r))
	lines := strings.Split(out.String(), "\n")
	assert.Equal(t, "Blue/green: blue 4 pods, green 2 pods (0 Ready); traffic on blue", lines[2])
	assert.Regexp(t, `^> 1 \(preview\)\s+2\s+2\s+Smoked`, lines[5])
	assert.Regexp(t, `^  2 \(switch\)\s+2\s+4\s+Pending`, lines[6])
	assert.Contains(t, out.String(), "Next: kubectl release next nginx-update -n shop --expected-batch 1   (switches traffic to green)")

	// Switched: green serves, blue waits out its delay; cancel switches back.
	r.Status.CurrentBatch = 2
	r.Status.Batches[0].Phase = v1alpha1.BatchBaked
	r.Status.Batches[1].Phase = v1alpha1.BatchBaked
	r.Status.Conditions = nil
	r.Status.CloneSet = &v1alpha1.CloneSetObservation{Replicas: 8, UpdatedReplicas: 4, UpdatedReadyReplicas: 4}
	assert.Equal(t, "Blue/green: blue 4 pods, green 4 pods (4 Ready); traffic on green; blue waits out of traffic, then goes", PodsLine(r))
	wait, next := Waiting(r)
	assert.Contains(t, wait, "scale-down delay")
	assert.Equal(t, "kubectl release cancel nginx-update -n shop   (switches back to blue)", next)
}

func TestStatusShowsSurge(t *testing.T) {
	r := tutorial()
	half := intstr.FromString("50%")
	r.Spec.Strategy.MaxSurge = &half
	r.Status.CloneSet = &v1alpha1.CloneSetObservation{Replicas: 5, UpdatedReplicas: 3, UpdatedReadyReplicas: 1}
	assert.Equal(t, "Surge: maxSurge 50% of each batch: new pods come up beside the 5 replicas; 3 new (1 Ready)", PodsLine(r))
	assert.Empty(t, PodsLine(tutorial()), "neither blue/green nor surge: no line")
}

// many is the tutorial's release with n batches of 1 pod, at batch current.
func many(n, current int) *v1alpha1.Release {
	r := tutorial()
	r.Status.Batches = nil
	for i := 1; i <= n; i++ {
		r.Status.Batches = append(r.Status.Batches, v1alpha1.ReleaseBatch{Index: int32(i), Replicas: 1, Target: int32(i), Phase: v1alpha1.BatchPending})
	}
	r.Status.CurrentBatch = int32(current)
	return r
}

func TestStatusFitCutsTheViewToTheTerminal(t *testing.T) {
	var full, fit, unlimited strings.Builder
	require.NoError(t, Status(&full, many(20, 9)))
	require.NoError(t, StatusFit(&unlimited, many(20, 9), 0, 0))
	assert.Equal(t, full.String(), unlimited.String(), "0 is no limit")
	// A terminal big enough changes nothing.
	require.NoError(t, StatusFit(&fit, many(20, 9), 200, 100))
	assert.Equal(t, full.String(), fit.String())

	fit.Reset()
	require.NoError(t, StatusFit(&fit, many(20, 9), 40, 12))
	lines := strings.Split(strings.TrimSuffix(fit.String(), "\n"), "\n")
	assert.Len(t, lines, 11, "height-1 lines: the cursor's line stays on the screen\n%s", fit.String())
	for _, l := range lines {
		assert.LessOrEqual(t, utf8.RuneCountInString(l), 40, l)
	}
	assert.Equal(t, "Release shop/nginx-update: Update to ng…", lines[0])
	// 11 lines: 3 above the table, its header, 4 batches, the note, a blank and Waiting for.
	assert.Regexp(t, `^  8\s`, lines[4], "the batch before the current one")
	assert.Regexp(t, `^> 9\s`, lines[5], "the current batch")
	assert.Regexp(t, `^  11\s`, lines[7])
	assert.Equal(t, "  ... 16 of 20 batches not shown (7 bef…", lines[8])
	assert.True(t, strings.HasPrefix(lines[10], "Waiting for: "), lines[10])

	// At the last batch, the window ends with it.
	fit.Reset()
	require.NoError(t, StatusFit(&fit, many(20, 20), 0, 12))
	assert.Contains(t, fit.String(), "> 20 ")
	assert.Contains(t, fit.String(), "  ... 16 of 20 batches not shown (16 before, 0 after); the terminal has 12 lines\n")
	// Before the first batch, the window starts at 1.
	fit.Reset()
	require.NoError(t, StatusFit(&fit, many(20, 0), 0, 12))
	assert.Regexp(t, `(?m)^  1\s`, fit.String())
	assert.Contains(t, fit.String(), "(0 before, 16 after)")

	// A tiny terminal still gets no more lines than it has.
	fit.Reset()
	require.NoError(t, StatusFit(&fit, many(20, 9), 10, 4))
	assert.Equal(t, 3, strings.Count(fit.String(), "\n"), fit.String())
}

func TestPrintable(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"canary looks good, go to 70%", "canary looks good, go to 70%"},
		{`C:\path\x1b stays`, `C:\path\x1b stays`},
		{"déploiement vérifié, 金丝雀正常, канарейка ✓ 🚀, שלום, مرحبا", "déploiement vérifié, 金丝雀正常, канарейка ✓ 🚀, שלום, مرحبا"},
		{"می\u200cخواهم 👨\u200d👩\u200d👧 ❤\ufe0f", "می\u200cخواهم 👨\u200d👩\u200d👧 ❤\ufe0f"}, // zero-width non-joiner and joiner, a variation selector
		{"ok\x1b[2J\x1b]0;pwned\x07\r", `ok\x1b[2J\x1b]0;pwned\x07\r`},
		{"line\nforged\tcell", `line\nforged\tcell`},
		{"nul\x00 bs\b del\x7f", `nul\x00 bs\x08 del\x7f`},
		{"c1 \u009b31m nel\u0085", `c1 \u009b31m nel\u0085`},
		{"rlo \u202eetadpu\u202c lri\u2066x\u2069", `rlo \u202eetadpu\u202c lri\u2066x\u2069`},
		{"nbsp\u00a0ls\u2028", `nbsp\u00a0ls\u2028`},
		{"tag \U000E0001", `tag \U000e0001`},
		{"raw \x9b2J and \xff\xfe", `raw \x9b2J and \xff\xfe`},
		{"a real \uFFFD stays", "a real \uFFFD stays"},
	} {
		got := Printable(tc.in)
		assert.Equal(t, tc.want, got, "%q", tc.in)
		assertTerminalSafe(t, "Printable", got)
	}
}

// hostile is what a caller, a pod or a compromised writer may put in a string the views print: a screen
// clear, a window title, a bell and a carriage return that would overwrite the line.
const hostile = "ok\x1b[2J\x1b]0;pwned\x07\r"

// escapedHostile is hostile as the views show it.
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

// hostileRelease is a Failed release whose every string of the server's carries hostile.
func hostileRelease() *v1alpha1.Release {
	r := tutorial()
	r.Name += hostile
	r.Namespace += "\u009b31m"
	r.Spec.CloneSetName += hostile
	r.Spec.Template.Spec.Containers[0].Name += hostile
	r.Spec.Template.Spec.Containers[0].Image = "nginx:1.28" + hostile
	r.Spec.Strategy.Mode += hostile
	r.Status.Phase = v1alpha1.ReleaseFailed
	r.Status.Batches[2].Phase += hostile
	r.Status.Conditions = append(r.Status.Conditions, metav1.Condition{Type: v1alpha1.ConditionFailed, Status: metav1.ConditionTrue,
		Reason: "BatchFailed", Message: "pod nginx-b" + hostile + ": Back-off pulling image \"nginx:1.28" + hostile + "\" \u202eetadpu\xff"})
	r.Status.History = []v1alpha1.ReleaseHistoryEntry{
		{Action: "next" + hostile, User: "mallory" + hostile, Time: metav1.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC), FromBatch: 1, ToBatch: 1,
			FromPhase: "Progressing/Smoked" + hostile, ToPhase: "Progressing/Baking\u2066", Reason: hostile + "\u009b2J\u202e\x7f"},
		{Action: "fail", User: "triton-controller", Time: metav1.Date(2026, 11, 25, 10, 5, 0, 0, time.UTC), ToPhase: "Failed/Failed" + hostile,
			Reason: "pod nginx-b" + hostile},
	}
	return r
}

// Every text view escapes the server's strings: they are shown, escaped, and nothing reaches the terminal
// that it would act on.
func TestTextViewsEscapeTheServersStrings(t *testing.T) {
	r := hostileRelease()
	views := map[string]func() (string, error){
		"Status": func() (string, error) {
			var b strings.Builder
			err := Status(&b, r)
			return b.String(), err
		},
		"StatusFit": func() (string, error) {
			var b strings.Builder
			err := StatusFit(&b, r, 60, 8)
			return b.String(), err
		},
		"Batches": func() (string, error) {
			var b strings.Builder
			err := Batches(&b, r)
			return b.String(), err
		},
		"History": func() (string, error) {
			var b strings.Builder
			err := History(&b, r)
			return b.String(), err
		},
		"Pods": func() (string, error) {
			var b strings.Builder
			err := Pods(&b, r, Options{})
			return b.String(), err
		},
		"StatusWith, in colour, its colours taken out": func() (string, error) {
			var b strings.Builder
			err := StatusWith(&b, r, Options{Color: true, Width: 60, Height: 8})
			return sgr.ReplaceAllString(b.String(), ""), err
		},
		"Summary": func() (string, error) { return Summary(r), nil },
		"Waiting": func() (string, error) { w, n := Waiting(r); return w + "\n" + n, nil },
		"PodsLine": func() (string, error) {
			s := r.DeepCopy()
			surge := intstr.FromString("50%" + hostile)
			s.Spec.Strategy.MaxSurge = &surge
			return PodsLine(s), nil
		},
	}
	for name, view := range views {
		out, err := view()
		require.NoError(t, err, name)
		assertTerminalSafe(t, name, out)
	}

	var status strings.Builder
	require.NoError(t, Status(&status, r))
	for _, shown := range []string{
		"Release shop\\u009b31m/nginx-update" + escapedHostile + ": Update to nginx" + escapedHostile + "=nginx:1.28" + escapedHostile +
			" of CloneSet nginx" + escapedHostile + ", Manual" + escapedHostile,
		"Pending" + escapedHostile,
		`it Failed: pod nginx-b` + escapedHostile + `: Back-off pulling image "nginx:1.28` + escapedHostile + `" \u202eetadpu\xff`,
		"kubectl release resume nginx-update" + escapedHostile + " -n shop\\u009b31m",
	} {
		assert.Contains(t, status.String(), shown)
	}
	var history strings.Builder
	require.NoError(t, History(&history, r))
	assert.Contains(t, history.String(), "mallory"+escapedHostile)
	assert.Contains(t, history.String(), "next"+escapedHostile)
	assert.Contains(t, history.String(), "1 Progressing/Smoked"+escapedHostile)
	assert.Contains(t, history.String(), `1 Progressing/Baking\u2066`)
	assert.Contains(t, history.String(), escapedHostile+`\u009b2J\u202e\x7f`)
	lines := strings.Split(strings.TrimSuffix(history.String(), "\n"), "\n")
	assert.Len(t, lines, 3, "one line an entry: %q", history.String())
}

// A Restart of named pods says which, at most three of them, escaped.
func TestSummaryOfARestartOfNamedPods(t *testing.T) {
	r := &v1alpha1.Release{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-restart"},
		Spec: v1alpha1.ReleaseSpec{CloneSetName: "web", Action: v1alpha1.ActionRestart, PodsToDelete: []string{"web-a", "web-b\x1b[31m"}}}
	assert.Equal(t, `Release shop/web-restart: Restart of pods web-a,web-b\x1b[31m of CloneSet web, Manual`, Summary(r))
	r.Spec.PodsToDelete = []string{"web-a", "web-b", "web-c", "web-d", "web-e"}
	assert.Equal(t, "Release shop/web-restart: Restart of pods web-a,web-b,web-c and 2 more of CloneSet web, Manual", Summary(r))
}
