//go:build bench

package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/test/bench/stats"
)

// analysisReleases is how many releases the analysis scenario measures (BENCH_ANALYSIS_RELEASES, default
// 100).
func analysisReleases() int {
	if n, err := strconv.Atoi(os.Getenv("BENCH_ANALYSIS_RELEASES")); err == nil && n > 0 {
		return n
	}
	return 100
}

// analysisWindow is how long each of the analysis scenario's two windows lasts (BENCH_ANALYSIS_WINDOW, a Go
// duration, default 60s).
func analysisWindow() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("BENCH_ANALYSIS_WINDOW")); err == nil && d > 0 {
		return d
	}
	return time.Minute
}

const (
	// analysisInterval is the checks' intervalSeconds.
	analysisInterval = 10
	// reconcileMetric is the controller's reconcile duration histogram (seconds).
	reconcileMetric = "triton_release_controller_reconcile_duration_seconds"
	// benchCounter is the counter the scenario's exporter serves.
	benchCounter = "bench_requests_total"
)

// analysisChecks are the three prometheus checks of each release: the counter's sum, its rate, and an
// error ratio compared in PromQL; each passes.
func analysisChecks() []v1alpha1.AnalysisCheck {
	return []v1alpha1.AnalysisCheck{
		{Name: "requests", Prometheus: &v1alpha1.PrometheusCheck{Query: "sum(" + benchCounter + ")"},
			SuccessCondition: "result >= 0.0"},
		{Name: "rate", Prometheus: &v1alpha1.PrometheusCheck{Query: "sum(rate(" + benchCounter + `{code="200"}[30s]))`},
			SuccessCondition: "result >= 0.0"},
		{Name: "errors", Prometheus: &v1alpha1.PrometheusCheck{Query: "(sum(rate(" + benchCounter + `{code="500"}[30s])) / sum(rate(` +
			benchCounter + "[30s]))) < bool 0.01"},
			SuccessCondition: "result == 1.0"},
	}
}

// analysisCost: BENCH_ANALYSIS_RELEASES (default 100) CloneSets of one kwok pod, each with an Update
// release (Manual, no canary, one batch of 100%), in one namespace whose counter an exporter in the bench
// serves to the bed's Prometheus. First the releases without analysis (Baked, waiting for next: idle),
// measured over a window of BENCH_ANALYSIS_WINDOW (default 60 s); then, those finished and deleted, the
// next release of each CloneSet with three prometheus checks every 10 s and bakeSeconds 3600 (Baking, and
// measured, through the whole window), measured over a window as long. In both windows a side release
// (a 3-pod lane waiting for next) is paused and resumed once a second, so that the controller has the same
// reconciles to time in both. Each window starts once the server's RSS has settled. Figures of each
// window: the server's CPU (utime+stime of /proc/<pid>/stat) per second of the window, its anonymous RSS
// (the median of a reading a second), the measurements the releases' status recorded in it, and the
// reconcile duration histogram from its /metrics, with what explains them (status and etcd writes, the Go
// heap live at the last GC, the size of a release).
func analysisCost(t *testing.T, ctx context.Context, c *cluster) []stats.Row {
	controllerBack(t, ctx, c)
	n, window := analysisReleases(), analysisWindow()
	pid := tritonPID()
	require.NotZero(t, pid, "no pid of triton-apiserver")
	ns := c.namespace(t, ctx, "bench-analysis")
	stopExporter := benchExporter(t, ctx, ns)

	name := func(i int) string { return fmt.Sprintf("a-%03d", i) }
	interleavedSides(t, 16, n, 1, func(i, _ int) error {
		_, err := c.kruise.AppsV1alpha1().CloneSets(ns).Create(ctx, newCloneSet(name(i), 1, "app:0"), metav1.CreateOptions{})
		return err
	})
	require.NoError(t, wait.PollUntilContextTimeout(ctx, 2*time.Second, 15*time.Minute, true, func(ctx context.Context) (bool, error) {
		list, err := c.kruise.AppsV1alpha1().CloneSets(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		ready := 0
		for _, cs := range list.Items {
			if strings.HasPrefix(cs.Name, "a-") && cs.Status.ReadyReplicas == 1 {
				ready++
			}
		}
		return ready == n, nil
	}), "%d CloneSets of one Ready pod", n)
	probe := newLane(t, ctx, c, ns, 0)
	probe.start(t, ctx, c)
	probe.waiting(t, ctx, c)
	releases := c.releases.ReleasesV1alpha1().Releases(ns)

	// Without analysis: Baked, waiting for next.
	create := func(suffix, image string, analysis *v1alpha1.ReleaseAnalysis) {
		interleavedSides(t, 16, n, 1, func(i, _ int) error {
			_, err := releases.Create(ctx, oneBatchRelease(name(i)+suffix, name(i), image, analysis), metav1.CreateOptions{})
			return err
		})
	}
	create("-base", "app:1", nil)
	waitReleases(t, ctx, c, ns, "-base", n, "Baked, waiting for next", func(r *v1alpha1.Release) bool {
		return meta.IsStatusConditionTrue(r.Status.Conditions, v1alpha1.ConditionAwaitingNext)
	})
	time.Sleep(analysisInterval * time.Second) // the last ones' pod events settle
	base := measureWindow(t, ctx, c, ns, pid, window, probe, "idle")

	// The baseline's releases finished and deleted: the window with analysis holds as many releases.
	interleavedSides(t, 16, n, 1, func(i, _ int) error {
		_, err := releases.Next(ctx, name(i)+"-base", &v1alpha1.ReleaseRequest{ExpectedBatch: ptr(int32(1))}, metav1.CreateOptions{})
		return err
	})
	waitReleases(t, ctx, c, ns, "-base", n, "Succeeded", func(r *v1alpha1.Release) bool {
		return r.Status.Phase == v1alpha1.ReleaseSucceeded
	})
	interleavedSides(t, 16, n, 1, func(i, _ int) error {
		return releases.Delete(ctx, name(i)+"-base", metav1.DeleteOptions{})
	})
	waitReleases(t, ctx, c, ns, "-base", 0, "deleted", func(*v1alpha1.Release) bool { return true })

	// With analysis: Baking, each check measured every interval.
	interval := int32(analysisInterval)
	create("-checks", "app:2", &v1alpha1.ReleaseAnalysis{Checks: analysisChecks(), IntervalSeconds: &interval, BakeSeconds: 3600})
	waitReleases(t, ctx, c, ns, "-checks", n, "Baking, each check measured", func(r *v1alpha1.Release) bool {
		if len(r.Status.Batches) == 0 {
			return false
		}
		b := r.Status.Batches[0]
		if b.Phase != v1alpha1.BatchBaking || len(b.Analysis) != len(analysisChecks()) {
			return false
		}
		for _, a := range b.Analysis {
			if len(a.Measurements) == 0 {
				return false
			}
		}
		return true
	})
	time.Sleep(analysisInterval * time.Second) // every release on its cadence
	with := measureWindow(t, ctx, c, ns, pid, window, probe, fmt.Sprintf("%d releases measured", n))

	// Every release's checks still running: none failed in the window.
	list, err := releases.List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	baking := 0
	for _, r := range list.Items {
		if strings.HasSuffix(r.Name, "-checks") && len(r.Status.Batches) > 0 && r.Status.Batches[0].Phase == v1alpha1.BatchBaking {
			baking++
		}
	}

	deleteNamespace(t, c, ns)
	stopExporter()
	return analysisRows(n, window, baking, base, with)
}

// oneBatchRelease is an Update release of cloneSet to image in one batch of 100%, Manual, no canary, with
// analysis when set (and a progress deadline past its bake).
func oneBatchRelease(name, cloneSet, image string, analysis *v1alpha1.ReleaseAnalysis) *v1alpha1.Release {
	r := autoRelease(name, cloneSet, image, 1)
	size := intstr.FromString("100%")
	r.Spec.Strategy = v1alpha1.ReleaseStrategy{BatchSize: &size, Mode: v1alpha1.ModeManual, Analysis: analysis}
	if analysis != nil {
		r.Spec.Strategy.ProgressDeadlineSeconds = ptr(int32(2 * 3600))
	}
	return r
}

// waitReleases waits until want releases named with suffix are in ns and each is done; a Failed one fails
// the run.
func waitReleases(t *testing.T, ctx context.Context, c *cluster, ns, suffix string, want int, what string, done func(*v1alpha1.Release) bool) {
	t.Helper()
	got, total := 0, 0
	require.NoError(t, wait.PollUntilContextTimeout(ctx, 2*time.Second, 15*time.Minute, true, func(ctx context.Context) (bool, error) {
		list, err := c.releases.ReleasesV1alpha1().Releases(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		got, total = 0, 0
		for i := range list.Items {
			r := &list.Items[i]
			if !strings.HasSuffix(r.Name, suffix) {
				continue
			}
			total++
			if r.Status.Phase == v1alpha1.ReleaseFailed {
				return false, fmt.Errorf("release %s failed: %s", r.Name, conditionMessage(r, v1alpha1.ConditionFailed))
			}
			if done(r) {
				got++
			}
		}
		return total == want && got == want, nil
	}), "%d releases *%s %s (%d of %d)", want, suffix, what, got, total)
}

func conditionMessage(r *v1alpha1.Release, kind string) string {
	if cond := meta.FindStatusCondition(r.Status.Conditions, kind); cond != nil {
		return cond.Message
	}
	return ""
}

// analysisFigures is what one window measured.
type analysisFigures struct {
	seconds float64
	// cores is the server's CPU time over the window's wall time.
	cores float64
	// anon and file are the medians of the server's RSS, read once a second, MiB.
	anon, file float64
	// memory and work are further figures of the window (NaN: not served), by name: of the server's
	// memory, and of what it did.
	memory, work map[string]float64
	// reconcile is the window's reconcile durations.
	reconcile stats.Histogram
	served    bool
	// measurements by phase, recorded in the window.
	measurements map[v1alpha1.AnalysisPhase]int
	probe        stats.Series
}

func (f analysisFigures) measured() int {
	total := 0
	for _, k := range f.measurements {
		total += k
	}
	return total
}

// measureWindow measures the server for window, once its RSS has settled (at most a minute): pause and
// resume on the probe once a second, its RSS read once a second, the releases' measurements listed every
// 30 s and at the end.
func measureWindow(t *testing.T, ctx context.Context, c *cluster, ns string, pid int, window time.Duration, probe *lane, what string) analysisFigures {
	t.Helper()
	releases := c.releases.ReleasesV1alpha1().Releases(ns)
	seen := map[string]v1alpha1.AnalysisPhase{}
	objectBytes := 0.0 // the mean size of a release of ns as JSON, at the last list
	record := func() {
		list, err := releases.List(ctx, metav1.ListOptions{})
		require.NoError(t, err)
		objectBytes = 0
		for _, r := range list.Items {
			raw, err := json.Marshal(r)
			require.NoError(t, err)
			objectBytes += float64(len(raw)) / float64(len(list.Items))
			for _, b := range r.Status.Batches {
				for _, a := range b.Analysis {
					for _, m := range a.Measurements {
						seen[fmt.Sprintf("%s/%d/%s/%d", r.Name, b.Index, a.Name, m.Time.UnixNano())] = m.Phase
					}
				}
			}
		}
	}
	f := analysisFigures{probe: stats.Series{Name: "pause + resume of a side release, " + what}, measurements: map[v1alpha1.AnalysisPhase]int{}}
	var anon, file []float64
	// The server's RSS first settles (the Go runtime gives freed memory back to the kernel over minutes).
	settledMemory(ctx, pid)
	before := c.server.metrics(t, ctx)
	ticksBefore := cpuTicks(t, pid)
	from := time.Now()
	listed := from
	for tick := from; time.Since(from) < window; {
		start := time.Now()
		_, err := releases.Pause(ctx, probe.release, &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{})
		require.NoError(t, err, "pause %s", probe.release)
		_, err = releases.Resume(ctx, probe.release, &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{})
		require.NoError(t, err, "resume %s", probe.release)
		f.probe.Samples = append(f.probe.Samples, time.Since(start))
		m := memory(pid)
		anon, file = append(anon, stats.MiB(m.Anon)), append(file, stats.MiB(m.File))
		if time.Since(listed) >= 30*time.Second {
			record()
			listed = time.Now()
		}
		tick = tick.Add(time.Second)
		time.Sleep(time.Until(tick))
	}
	to := time.Now()
	ticksAfter := cpuTicks(t, pid)
	after := c.server.since(t, ctx, before)
	record()
	f.seconds = to.Sub(from).Seconds()
	f.cores = float64(ticksAfter-ticksBefore) / clockTicks() / f.seconds
	f.anon, f.file = median(anon), median(file)
	// The served figures: a gauge at the window's end, or a counter's growth a second.
	gauge := func(name string, scale float64) float64 {
		if !after.served(name) {
			return math.NaN()
		}
		return after.sum(name) * scale
	}
	perSecond := func(name string) float64 {
		if !after.served(name) {
			return math.NaN()
		}
		return (after.sum(name) - before.sum(name)) / f.seconds
	}
	f.memory = map[string]float64{
		"anonymous RSS MiB at the window's start": anon[0], "anonymous RSS MiB at the window's end": anon[len(anon)-1],
		// With GOGC 100 the heap goal is about twice what the last GC found live.
		"Go heap live at the last GC MiB (next_gc ÷ 2), at the end": gauge("go_memstats_next_gc_bytes", 0.5/(1<<20)),
		"mean release JSON bytes":                                   objectBytes,
	}
	f.work = map[string]float64{
		"reconciles/s":            perSecond("triton_release_controller_reconcile_duration_seconds_count"),
		"Release status writes/s": perSecond("triton_release_controller_status_write_duration_seconds_count"),
		// The embedded etcd's revision grows by one a write transaction.
		"etcd writes/s":         perSecond("etcd_debugging_mvcc_current_revision"),
		"goroutines at the end": gauge("go_goroutines", 1),
		"GC cycles/s":           perSecond("go_gc_duration_seconds_count"),
	}
	// Measurement times are stored to the second: the window is counted from its first whole second.
	lo, hi := from.Truncate(time.Second), to.Truncate(time.Second)
	for key, phase := range seen {
		nanos, err := strconv.ParseInt(key[strings.LastIndexByte(key, '/')+1:], 10, 64)
		require.NoError(t, err)
		if at := time.Unix(0, nanos); at.After(lo) && !at.After(hi) {
			f.measurements[phase]++
		}
	}
	h, served := stats.HistogramOf(after, reconcileMetric)
	if served {
		was, _ := stats.HistogramOf(before, reconcileMetric)
		f.reconcile, f.served = h.Sub(was), true
	}
	t.Logf("analysis window %s: %.1f s, %.3f cores, anonymous RSS %.1f MiB, %d measurements, %.0f reconciles, p99 %.1f ms",
		what, f.seconds, f.cores, f.anon, f.measured(), f.reconcile.Count(), f.reconcile.Quantile(0.99)*1000)
	return f
}

// analysisRows are the scenario's rows: the server's extra CPU and anonymous RSS, the measurements taken,
// the reconcile p99 with analysis against without, and the side release's calls.
func analysisRows(n int, window time.Duration, baking int, base, with analysisFigures) []stats.Row {
	load := fmt.Sprintf("%d releases × %d prometheus checks every %d s", n, len(analysisChecks()), analysisInterval)
	note := fmt.Sprintf("%s, Baking (bakeSeconds 3600), against the same releases Baked and idle; two windows of %s, "+
		"a side release paused and resumed once a second in both", load, window)
	expected := float64(n*len(analysisChecks())) / analysisInterval
	rate := float64(with.measured()) / with.seconds
	measurements := map[string]float64{
		"measurements": float64(with.measured()), "measurements/s": rate, "expected measurements/s": expected,
		"releases still Baking at the end": float64(baking), "baseline measurements": float64(base.measured()),
	}
	for phase, k := range with.measurements {
		measurements["measurements "+string(phase)] = float64(k)
	}
	reconcileP99 := func(f analysisFigures) float64 {
		if !f.served || f.reconcile.Count() == 0 {
			return math.NaN()
		}
		return f.reconcile.Quantile(0.99) * 1000
	}
	withP99, baseP99 := reconcileP99(with), reconcileP99(base)
	ratio := withP99 / baseP99
	reconcileGoal := stats.Goal{Figure: load + ": reconcile p99 ÷ without analysis", Got: ratio, Limit: 1.5}
	if !with.served {
		reconcileGoal = stats.ServedGoal(reconcileGoal.Figure, 0, false, 1.5)
	}
	reconcile := stats.Row{Scenario: "analysis",
		Measured: stats.Series{Name: "analysis: reconcile, " + load},
		Note: note + "; " + reconcileMetric + " over each window, p99 interpolated in its buckets (×2 apart); " +
			"the server's every reconcile, those of other namespaces included",
		Values: finite(map[string]float64{
			"reconcile p99 ms with analysis": withP99, "reconcile p99 ms without": baseP99, "p99 ratio": ratio,
			"reconciles with analysis": with.reconcile.Count(), "reconciles without": base.reconcile.Count(),
			"reconcile median ms with analysis": with.reconcile.Quantile(0.5) * 1000, "reconcile median ms without": base.reconcile.Quantile(0.5) * 1000,
		}),
		Goals: []stats.Goal{reconcileGoal}}
	if with.served {
		h := with.reconcile
		reconcile.Histogram = &h
	}
	probe := stats.Row{Scenario: "analysis", Measured: with.probe, Baseline: &base.probe,
		Note: "the side release's calls in each window (pause then resume, through kube-apiserver)"}
	return []stats.Row{
		{Scenario: "analysis", Measured: stats.Series{Name: "analysis: server CPU, " + load},
			Note: note + "; utime+stime of /proc/<pid>/stat over the window's wall time; what the server did, from its /metrics",
			Values: finite(map[string]float64{"millicores with analysis": 1000 * with.cores, "millicores without": 1000 * base.cores,
				"extra millicores": 1000 * (with.cores - base.cores), "clock ticks/s": clockTicks()}, beside(base.work, with.work)),
			Goals: []stats.Goal{{Figure: load + ": extra server CPU, cores", Got: with.cores - base.cores, Limit: 0.1}}},
		{Scenario: "analysis", Measured: stats.Series{Name: "analysis: server RSS, " + load},
			Note: note + "; the median of a reading of /proc/<pid>/status a second; the Go heap from /metrics",
			Values: finite(map[string]float64{
				"anonymous RSS MiB with analysis": with.anon, "anonymous RSS MiB without": base.anon, "extra anonymous RSS MiB": with.anon - base.anon,
				"file-backed RSS MiB with analysis": with.file, "file-backed RSS MiB without": base.file,
			}, beside(base.memory, with.memory)),
			Goals: []stats.Goal{{Figure: load + ": extra anonymous RSS, MiB", Got: with.anon - base.anon, Limit: 32}}},
		{Scenario: "analysis", Measured: stats.Series{Name: "analysis: measurements, " + load},
			Note:   note + "; counted in the releases' status (status.batches[].analysis[].measurements, listed every 30 s)",
			Values: finite(measurements),
			Goals:  []stats.Goal{{Figure: load + ": measurements/s ÷ expected", Got: rate / expected, Limit: 0.9, AtLeast: true}}},
		reconcile,
		probe,
	}
}

// benchExporter serves bench_requests_total (code 200 counting 10 a second, code 500 at 0) on an httptest
// server and has the bed's Prometheus scrape it, labelled namespace=ns, through a target file; it waits
// until Prometheus answers a rate of it. The function returned removes the file and stops the server (also
// done when the test ends).
func benchExporter(t *testing.T, ctx context.Context, ns string) func() {
	t.Helper()
	dir := filepath.Join(localDir(), "prometheus")
	raw, err := os.ReadFile(filepath.Join(dir, "url"))
	require.NoError(t, err, "the local control plane runs no Prometheus")
	promURL := strings.TrimSpace(string(raw))
	started := time.Now()
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = fmt.Fprintf(w, "# TYPE %s counter\n%s{code=\"200\"} %d\n%s{code=\"500\"} 0\n",
			benchCounter, benchCounter, int64(time.Since(started).Seconds()*10), benchCounter)
	}))
	data, err := json.Marshal([]map[string]interface{}{{"targets": []string{strings.TrimPrefix(server.URL, "http://")},
		"labels": map[string]string{"namespace": ns}}})
	require.NoError(t, err)
	file := filepath.Join(dir, "targets", ns+".json")
	tmp := filepath.Join(dir, "targets", "."+ns+".tmp") // not *.json: Prometheus never reads it half written
	require.NoError(t, os.WriteFile(tmp, data, 0o644))
	require.NoError(t, os.Rename(tmp, file))
	var once sync.Once
	stop := func() {
		once.Do(func() {
			_ = os.Remove(file)
			server.Close()
		})
	}
	t.Cleanup(stop)
	query := fmt.Sprintf(`sum(rate(%s{namespace=%q}[30s]))`, benchCounter, ns)
	require.NoError(t, wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, promURL+"/api/v1/query?query="+url.QueryEscape(query), nil)
		if err != nil {
			return false, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, nil
		}
		defer resp.Body.Close()
		var answer struct {
			Data struct {
				Result []json.RawMessage `json:"result"`
			} `json:"data"`
		}
		return json.NewDecoder(resp.Body).Decode(&answer) == nil && len(answer.Data.Result) == 1, nil
	}), "Prometheus to answer %s", query)
	return stop
}

// deleteNamespace deletes ns and waits (at most 5 minutes) until it is gone.
func deleteNamespace(t *testing.T, c *cluster, ns string) {
	t.Helper()
	ctx := context.Background()
	if err := c.kube.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Logf("deleting namespace %s: %v", ns, err)
		return
	}
	if err := wait.PollUntilContextTimeout(ctx, 2*time.Second, 5*time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := c.kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	}); err != nil {
		t.Logf("namespace %s still there after 5 minutes", ns)
	}
}

// cpuTicks is a process's CPU time (utime+stime of /proc/<pid>/stat), in clock ticks.
func cpuTicks(t *testing.T, pid int) int64 {
	t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	require.NoError(t, err)
	// The fields after the command, which is in parentheses and may hold spaces: state is field 3, utime
	// and stime fields 14 and 15.
	s := string(raw)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	require.GreaterOrEqual(t, len(fields), 13, s)
	utime, err := strconv.ParseInt(fields[11], 10, 64)
	require.NoError(t, err)
	stime, err := strconv.ParseInt(fields[12], 10, 64)
	require.NoError(t, err)
	return utime + stime
}

// clockTicks is the kernel's clock ticks a second (getconf CLK_TCK; 100 if it cannot say).
var clockTicks = sync.OnceValue(func() float64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err == nil {
		if hz, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64); err == nil && hz > 0 {
			return hz
		}
	}
	return 100
})

// median is the median of values (NaN for none).
func median(values []float64) float64 {
	if len(values) == 0 {
		return math.NaN()
	}
	sorted := append([]float64(nil), values...)
	sort.Float64s(sorted)
	if k := len(sorted); k%2 == 0 {
		return (sorted[k/2-1] + sorted[k/2]) / 2
	}
	return sorted[len(sorted)/2]
}

// beside is each figure of the two windows, named "<figure>, without" and "<figure>, with analysis".
func beside(base, with map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range base {
		out[k+", without"] = v
	}
	for k, v := range with {
		out[k+", with analysis"] = v
	}
	return out
}

// finite is values, and those of more, without the figures that are not numbers (NaN, ±Inf), which the
// report's JSON cannot hold: a figure with nothing to compute it from is left out.
func finite(values map[string]float64, more ...map[string]float64) map[string]float64 {
	for _, m := range more {
		for k, v := range m {
			values[k] = v
		}
	}
	for k, v := range values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			delete(values, k)
		}
	}
	return values
}
