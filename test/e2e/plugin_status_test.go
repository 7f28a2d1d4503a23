//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/test/e2e/framework"
)

// A canary release with Manual batches, moved on with the plugin's next: at every stop, `status` shows
// each batch's age, duration and time waited for a person as the Release's stored times and history
// say, and `status --pods` lists exactly the release's pods, each in its batch and in traffic as its
// readiness gate apps.triton.io/ready says. Piped, neither writes an escape sequence; on a terminal, the
// status is in colour unless NO_COLOR says no.
func TestPluginStatusShowsBatchTimesAndPods(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(5*time.Minute), framework.CloneSet("nginx", 3))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx

	res := admin.KubectlRelease(t, ctx, "-n", ns, "update", "nginx", "--image", "nginx=nginx:1.28", "--canary", "1", "--batch-size", "1", "--name", "web")
	require.Equal(t, 0, res.Code, res.String())
	framework.WaitRelease(t, ctx, admin, ns, "web", "canary Smoked", framework.BatchIs(1, v1alpha1.BatchSmoked))

	// The canary Smoked: it has waited for a pull-in since, out of traffic.
	r := assertStatusTimes(t, ctx, admin, ns, "web")
	assert.Equal(t, "-", r.rows[2].age, "batch 2 has not started")
	assertPods(t, ctx, admin, ns, "web", 1)

	next := func(batch int) {
		t.Helper()
		res := admin.KubectlRelease(t, ctx, "-n", ns, "next", "web", "--expected-batch", strconv.Itoa(batch), "--wait", "--timeout", "2m")
		require.Equal(t, 0, res.Code, res.String())
	}
	next(1) // the pull-in: Baked, waiting for batch 2
	assertStatusTimes(t, ctx, admin, ns, "web")
	assertPods(t, ctx, admin, ns, "web", 1)
	next(1) // batch 2, pulled in by itself, Baked, waiting for batch 3
	assertStatusTimes(t, ctx, admin, ns, "web")
	assertPods(t, ctx, admin, ns, "web", 2)
	next(2)
	next(3) // the end
	r = assertStatusTimes(t, ctx, admin, ns, "web")
	assert.Equal(t, "Succeeded", r.phase)
	assertPods(t, ctx, admin, ns, "web", 3)

	// On a terminal: phases in colour; with NO_COLOR, none.
	coloured := onTerminal(t, ctx, admin, ns, "status", "web")
	assert.Contains(t, coloured, "Phase: \x1b[32mSucceeded\x1b[0m")
	assert.Contains(t, coloured, "\x1b[32mBaked\x1b[0m")
	assert.NotContains(t, onTerminal(t, ctx, admin, ns, "status", "web", "--pods", "NO_COLOR=1"), "\x1b[")
}

// statusView is what `status` printed: the release's phase and a row per batch.
type statusView struct {
	phase string
	rows  map[int]batchRow
}

type batchRow struct {
	phase, age, took, waited string
}

var (
	statusPhase = regexp.MustCompile(`(?m)^Phase: (\S+), batch`)
	statusBatch = regexp.MustCompile(`(?m)^[> ] (\d+)(?: \(canary\))?\s+\d+\s+\d+\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+\[`)
)

// stableRelease runs the plugin's args while the release stays the same: the release as stored before
// and after the run, same resourceVersion, what the run printed, and when it ran.
func stableRelease(t *testing.T, ctx context.Context, c *framework.Cluster, ns, name string, args ...string) (*v1alpha1.Release, framework.Result, time.Time, time.Time) {
	t.Helper()
	type run struct {
		r             *v1alpha1.Release
		res           framework.Result
		before, after time.Time
	}
	got := framework.WaitUntil(t, ctx, "release "+name+" unchanged during `"+strings.Join(args, " ")+"`", func(ctx context.Context) (run, bool, string) {
		r1, err := c.Releases.ReleasesV1alpha1().Releases(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return run{}, false, err.Error()
		}
		before := time.Now()
		res := c.KubectlRelease(t, ctx, append([]string{"-n", ns}, args...)...)
		after := time.Now()
		r2, err := c.Releases.ReleasesV1alpha1().Releases(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return run{}, false, err.Error()
		}
		return run{r2, res, before, after}, r1.ResourceVersion == r2.ResourceVersion && res.Code == 0, res.String()
	}, framework.Within(30*time.Second))
	return got.r, got.res, got.before, got.after
}

// assertStatusTimes checks that `status` shows, for each batch, the age, duration and wait for a person
// that the stored release says: its batches' startedAt, smokedAt and bakedAt, its history's pull-ins,
// and for the time that runs on (the age, the running batch, the wait going on) a value between the
// moments before and after the plugin ran.
func assertStatusTimes(t *testing.T, ctx context.Context, c *framework.Cluster, ns, name string) statusView {
	t.Helper()
	r, res, before, after := stableRelease(t, ctx, c, ns, name, "status", name)
	assert.NotContains(t, res.Stdout, "\x1b", "piped: no escape sequence")
	view := statusView{rows: map[int]batchRow{}}
	if m := statusPhase.FindStringSubmatch(res.Stdout); assert.NotNil(t, m, res.Stdout) {
		view.phase = m[1]
	}
	for _, m := range statusBatch.FindAllStringSubmatch(res.Stdout, -1) {
		i, _ := strconv.Atoi(m[1])
		view.rows[i] = batchRow{phase: m[2], age: m[3], took: m[4], waited: m[5]}
	}
	require.Len(t, view.rows, len(r.Status.Batches), res.Stdout)

	// exactly is d as the plugin prints it; between, any value of now-from for now from before to after.
	exactly := func(d time.Duration) []string { return []string{duration.HumanDuration(d)} }
	between := func(from time.Time) []string {
		var out []string
		for s := int(before.Sub(from).Seconds()) - 1; s <= int(after.Sub(from).Seconds())+1; s++ {
			out = append(out, duration.HumanDuration(time.Duration(max(s, 0))*time.Second))
		}
		return out
	}
	awaiting := framework.ConditionIs(r, v1alpha1.ConditionAwaitingNext, metav1.ConditionTrue)
	for i := range r.Status.Batches {
		b := &r.Status.Batches[i]
		row := view.rows[int(b.Index)]
		what := fmt.Sprintf("batch %d: %+v\n%s", b.Index, row, res.Stdout)
		assert.Equal(t, string(b.Phase), row.phase, what)
		if b.StartedAt == nil {
			assert.Equal(t, batchRow{phase: row.phase, age: "-", took: "-", waited: "-"}, row, what)
			continue
		}
		assert.Contains(t, between(b.StartedAt.Time), row.age, "AGE: since startedAt; "+what)
		switch {
		case b.Phase == v1alpha1.BatchBaked:
			assert.Contains(t, exactly(b.BakedAt.Sub(b.StartedAt.Time)), row.took, "DURATION: startedAt to bakedAt; "+what)
		default:
			assert.Contains(t, between(b.StartedAt.Time), row.took, "DURATION: so far; "+what)
		}

		// Waited: the canary from Smoked to its pull-in (the `next` that made it Baking), and every batch
		// from Baked to the next one's start (or to the end; or to now while it waits).
		var waited time.Duration
		var since *time.Time
		if b.Canary && b.SmokedAt != nil {
			if pullIn := historyTime(r, "next", b.Index, "Progressing/Baking"); pullIn != nil {
				waited += pullIn.Sub(b.SmokedAt.Time)
			} else if awaiting && b.Index == r.Status.CurrentBatch {
				since = &b.SmokedAt.Time
			}
		}
		if b.Phase == v1alpha1.BatchBaked {
			switch {
			case int(b.Index) < len(r.Status.Batches) && r.Status.Batches[b.Index].StartedAt != nil:
				waited += r.Status.Batches[b.Index].StartedAt.Sub(b.BakedAt.Time)
			case r.Status.Phase == v1alpha1.ReleaseSucceeded:
				end := historyTime(r, "next", b.Index, "Succeeded/Baked")
				require.NotNil(t, end, "the next that finished the release")
				waited += end.Sub(b.BakedAt.Time)
			case awaiting:
				since = &b.BakedAt.Time
			}
		}
		if since == nil {
			assert.Contains(t, exactly(waited), row.waited, "WAITED; "+what)
		} else {
			assert.Contains(t, between(since.Add(-waited)), row.waited, "WAITED, still waiting; "+what)
		}
	}
	return view
}

// historyTime is the time of the first history entry of action that left the release at batch and phase.
func historyTime(r *v1alpha1.Release, action string, batch int32, phase string) *time.Time {
	for _, e := range r.Status.History {
		if e.Action == action && e.ToBatch == batch && e.ToPhase == phase {
			return &e.Time.Time
		}
	}
	return nil
}

var podRow = regexp.MustCompile(`(?m)^(\d+)(?: \(canary\))?\s+(\S+)\s+(\S+)\s+(\S+)\s+(yes|no)\s+(yes|no)\s+(.+)$`)

// assertPods checks that `status --pods` lists exactly the release's pods as its batches list them, and
// as they live: the pods at the CloneSet's update revision, each in traffic as its readiness gate says,
// Ready as it is, at the release's image, none failing; n of them (one a batch).
func assertPods(t *testing.T, ctx context.Context, c *framework.Cluster, ns, name string, n int) {
	t.Helper()
	type seen struct {
		printed, stored, live []string
		stdout                string
	}
	// The controller writes the pods' state into the status a moment after the pods change: wait until
	// what it printed is what lives, or show the difference.
	got := framework.WaitUntil(t, ctx, "status --pods as the pods are", func(ctx context.Context) (seen, bool, string) {
		r, res, _, _ := stableRelease(t, ctx, c, ns, name, "status", name, "--pods")
		var s seen
		s.stdout = res.Stdout
		if strings.Contains(res.Stdout, "\x1b") {
			return s, false, "an escape sequence, piped: " + res.Stdout
		}
		for _, m := range podRow.FindAllStringSubmatch(res.Stdout, -1) {
			s.printed = append(s.printed, fmt.Sprintf("batch %s %s %s %s ready=%s traffic=%s failing=%s", m[1], m[2], m[3], m[4], m[5], m[6], m[7]))
		}
		for _, b := range r.Status.Batches {
			for _, p := range b.Pods {
				s.stored = append(s.stored, fmt.Sprintf("batch %d %s", b.Index, p.Name))
			}
		}
		cs, err := c.Kruise.AppsV1alpha1().CloneSets(ns).Get(ctx, "nginx", metav1.GetOptions{})
		if err != nil {
			return s, false, err.Error()
		}
		pods, err := c.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=nginx"})
		if err != nil {
			return s, false, err.Error()
		}
		byName := map[string]string{}
		for _, line := range s.stored {
			f := strings.Fields(line)
			byName[f[2]] = f[1]
		}
		for _, p := range pods.Items {
			if p.DeletionTimestamp != nil || p.Labels[appsv1.ControllerRevisionHashLabelKey] != cs.Status.UpdateRevision {
				continue
			}
			s.live = append(s.live, fmt.Sprintf("batch %s %s nginx:1.28 %s ready=%s traffic=%s failing=-", byName[p.Name], p.Name,
				p.Status.Phase, yesNo(framework.PodCondition(&p, corev1.PodReady)), yesNo(framework.PodCondition(&p, v1alpha1.ReadinessGate))))
		}
		sort.Strings(s.printed)
		sort.Strings(s.live)
		sort.Strings(s.stored)
		var names []string
		for _, line := range s.printed {
			f := strings.Fields(line)
			names = append(names, "batch "+f[1]+" "+f[2])
		}
		sort.Strings(names)
		ok := strings.Join(s.printed, "\n") == strings.Join(s.live, "\n") && strings.Join(names, "\n") == strings.Join(s.stored, "\n") &&
			len(s.printed) == n
		return s, ok, fmt.Sprintf("printed:\n%s\nlive:\n%s\nstored:\n%s\n%s", strings.Join(s.printed, "\n"), strings.Join(s.live, "\n"),
			strings.Join(s.stored, "\n"), res.Stdout)
	}, framework.Within(30*time.Second))
	assert.Len(t, got.printed, n, got.stdout)
}

func yesNo(s corev1.ConditionStatus) string {
	if s == corev1.ConditionTrue {
		return "yes"
	}
	return "no"
}

// onTerminal runs the plugin binary on a pseudo-terminal (TERM=xterm, NO_COLOR unset) with args; an
// argument NAME=value sets that environment variable instead.
func onTerminal(t *testing.T, ctx context.Context, c *framework.Cluster, ns string, args ...string) string {
	t.Helper()
	env, plain := terminalEnv(), []string(nil)
	for _, a := range args {
		if strings.Contains(a, "=") && !strings.HasPrefix(a, "-") {
			env = append(env, a)
		} else {
			plain = append(plain, a)
		}
	}
	cmd := exec.CommandContext(ctx, framework.PluginBinary(t), append([]string{"--kubeconfig", c.Kubeconfig, "-n", ns}, plain...)...)
	cmd.Env = env
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 50, Cols: 200})
	require.NoError(t, err)
	defer tty.Close()
	var out bytes.Buffer
	copied := make(chan struct{})
	go func() { _, _ = io.Copy(&out, tty); close(copied) }()
	require.NoError(t, cmd.Wait(), out.String())
	<-copied
	return out.String()
}

// terminalEnv is the environment of a plugin on a terminal that shows colour: TERM=xterm, no NO_COLOR.
func terminalEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NO_COLOR=") && !strings.HasPrefix(kv, "TERM=") {
			env = append(env, kv)
		}
	}
	return append(env, "TERM=xterm")
}

// checkRow is the row `status` prints for the check errors of errorsCheck: its phase, last value, when it
// was measured, and its failures and errors in a row against their limits.
var checkRow = regexp.MustCompile(`(?m)^  errors\s+prometheus\s+(\S+)\s+(\S+)\s+(\d+\S* ago|-)\s+(\d+)/1000\s+(\d+)/20$`)

// A release with a Prometheus check on the bed's Prometheus, its batch 1 Baking with its pods Ready while
// the exporter counts 3 failed requests: `status` shows the check of the current batch (its name, phase
// Running, last value 3, its failures counted against failureLimit) and that the batch waits for it, as
// the stored release says. `next --override-analysis` without a reason is refused before anything is sent;
// with one, it goes past the check (the admin may).
func TestPluginStatusShowsTheAnalysisChecks(t *testing.T) {
	t.Parallel()
	prom := framework.LocalPrometheus(t)
	s := framework.Setup(t, framework.Timeout(4*time.Minute), framework.CloneSet("nginx", 2))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	var failed atomic.Int64
	failed.Store(3)
	exporter(t, prom, ns, &failed, 100)
	waitSeries(t, ctx, prom, ns, "3")

	check := errorsCheck()
	check.FailureLimit = 1000 // the failing measurements hold the batch; they do not fail it
	rel := withAnalysis(framework.UpdateTo("nginx:1.28", 0, intstr.FromInt32(1), v1alpha1.ModeManual), 0, check)
	_, err := s.Releases.Create(ctx, rel, metav1.CreateOptions{})
	require.NoError(t, err)
	framework.WaitRelease(t, ctx, admin, ns, rel.Name, "batch 1 Baking, its pods Ready, the check measured failing", func(r *v1alpha1.Release) bool {
		b := r.Status.Batches[0]
		return b.Phase == v1alpha1.BatchBaking && len(b.Analysis) == 1 && b.Analysis[0].Failures > 0 &&
			r.Status.CloneSet != nil && r.Status.CloneSet.UpdatedReadyReplicas >= 1
	})

	// The check is measured every second: each run of status is compared with the release read just
	// before it, and the failures with those stored before and after.
	framework.WaitUntil(t, ctx, "status to show the check as stored", func(ctx context.Context) (string, bool, string) {
		before, err := s.Releases.Get(ctx, rel.Name, metav1.GetOptions{})
		if err != nil {
			return "", false, err.Error()
		}
		res := admin.KubectlRelease(t, ctx, "-n", ns, "status", rel.Name)
		after, err := s.Releases.Get(ctx, rel.Name, metav1.GetOptions{})
		if err != nil {
			return "", false, err.Error()
		}
		if res.Code != 0 {
			return "", false, res.String()
		}
		out := res.Stdout
		m := checkRow.FindStringSubmatch(out)
		if m == nil {
			return "", false, "no row for the check errors:\n" + out
		}
		failures, _ := strconv.Atoi(m[4])
		ok := m[1] == string(v1alpha1.AnalysisRunning) && m[2] == "3" && m[3] != "-" && m[5] == "0" &&
			failures >= int(before.Status.Batches[0].Analysis[0].Failures) && failures <= int(after.Status.Batches[0].Analysis[0].Failures) &&
			strings.Contains(out, "\nAnalysis of batch 1 (a measurement every 1s):\n") &&
			strings.Contains(out, `Waiting for: batch 1's analysis: check "errors" has not passed`) &&
			!strings.Contains(out, "\x1b")
		return out, ok, fmt.Sprintf("row %q\n%s", m, out)
	}, framework.Within(30*time.Second))

	res := admin.KubectlRelease(t, ctx, "-n", ns, "next", rel.Name, "--expected-batch", "1", "--override-analysis")
	assert.Equal(t, 2, res.Code, res.String())
	assert.Contains(t, res.Stderr, "--override-analysis needs --reason")
	r, err := s.Releases.Get(ctx, rel.Name, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(1), r.Status.CurrentBatch, "nothing was sent")

	res = admin.KubectlRelease(t, ctx, "-n", ns, "next", rel.Name, "--expected-batch", "1", "--override-analysis", "--reason", "the errors come from a test client")
	require.Equal(t, 0, res.Code, res.String())
	assert.Contains(t, res.Stdout, "next: Progressing, batch 2 of 2")
	r, err = s.Releases.Get(ctx, rel.Name, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(2), r.Status.CurrentBatch, "batch 1 counted as Baked, and next moved on")
	assert.Equal(t, v1alpha1.BatchBaked, r.Status.Batches[0].Phase)
	found := false
	for _, h := range r.Status.History {
		found = found || (h.Action == "override-analysis" && h.Reason == "the errors come from a test client")
	}
	assert.True(t, found, "the history records the override: %+v", r.Status.History)
}
