//go:build bench

package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/test/bench/stats"
	"github.com/triton-io/triton/test/browser"
)

// dashboardReleases is how many releases the dashboard scenario shows (BENCH_DASHBOARD_RELEASES, default
// 1000); its baseline shows dashboardBaseline.
func dashboardReleases() int {
	if n, err := strconv.Atoi(os.Getenv("BENCH_DASHBOARD_RELEASES")); err == nil && n > 0 {
		return n
	}
	return 1000
}

const (
	dashboardBaseline = 10
	// dashboardLoads is how many times each page is loaded afresh; dashboardEvents how many changes each
	// page is timed to show.
	dashboardLoads  = 7
	dashboardEvents = dashboardBaseline
)

// dashboardSide is one dashboard: a namespace of releases and the plugin serving it.
type dashboardSide struct {
	ns, url string
	pid     int
	n       int
}

// dashboardCost: the dashboard (kubectl release dashboard, in Debian's chromium) over a namespace of 1,000
// releases, against the same over 10, interleaved: the time from the start of a page load to the first
// drawing of the fleet table; the time from a change of a release (a cancel's answer) to the page showing
// it; and the plugin's resident memory afterwards. Half the 1,000 releases are Pending, half Canceled (with
// a status and a history), the baseline's all Pending; the release controller is held, so that nothing
// else changes them.
func dashboardCost(t *testing.T, ctx context.Context, c *cluster) []stats.Row {
	controllerBack(t, ctx, c)
	var namespaces []string
	holdController(t, ctx, c, &namespaces)
	dyn := dynamic.NewForConfigOrDie(c.config)
	plugin := filepath.Join(t.TempDir(), "kubectl-release")
	build := exec.CommandContext(ctx, "go", "build", "-o", plugin, "./cmd/kubectl-release")
	build.Dir = root
	out, err := build.CombinedOutput()
	require.NoError(t, err, "building the plugin: %s", out)

	name := func(i int) string { return fmt.Sprintf("r-%05d", i) }
	n := dashboardReleases()
	var sides [2]dashboardSide
	for side, count := range []int{n, dashboardBaseline} {
		ns := c.namespace(t, ctx, "bench-dashboard")
		namespaces = append(namespaces, ns)
		releases := dyn.Resource(releasesGVR).Namespace(ns)
		interleavedSides(t, 32, count, 1, func(i, _ int) error {
			_, err := releases.Create(ctx, releaseObject(releasesGVR, "Release", name(i)), metav1.CreateOptions{})
			return err
		})
		// The second half canceled: a status and a history each. The first dashboardEvents stay Pending,
		// for the page to see them canceled (the baseline's all stay Pending).
		typed := c.releases.ReleasesV1alpha1().Releases(ns)
		canceled := count / 2
		if count-canceled < dashboardEvents {
			canceled = 0
		}
		interleavedSides(t, 32, canceled, 1, func(i, _ int) error {
			_, err := typed.Cancel(ctx, name(count-1-i), &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{})
			return err
		})
		d := browser.StartDashboard(t, ctx, plugin, filepath.Join(localDir(), "kubeconfig"), ns)
		sides[side] = dashboardSide{ns: ns, url: d.URL.String(), pid: d.PID, n: count}
	}

	tab := browser.New(t, ctx)
	load := func(s dashboardSide) time.Duration {
		_, err := chromedp.Run(tab, chromedp.Navigate("about:blank"))
		require.NoError(t, err)
		// The table is shown by the same task that draws it first and notes when.
		require.NoError(t, chromedp.Do(tab, chromedp.Navigate(s.url), chromedp.WaitVisible("#releases")), "the fleet of %d releases is drawn", s.n)
		ms, err := chromedp.Run(tab, chromedp.Evaluate[float64](`window.tritonFirstRender`))
		require.NoError(t, err)
		rows, err := chromedp.Run(tab, chromedp.Evaluate[int](`document.querySelectorAll("#releases tbody tr").length`))
		require.NoError(t, err)
		require.Equal(t, s.n, rows, "every release is a row")
		return time.Duration(ms * float64(time.Millisecond))
	}
	var firstRender [2][]time.Duration
	for i := 0; i < dashboardLoads; i++ {
		for side := range sides {
			firstRender[side] = append(firstRender[side], load(sides[side]))
		}
	}

	// A change on the server to the page: a page open on each side in turn, one release canceled, timed
	// until its row says Canceled.
	var shown, script [2][]time.Duration
	for side := range sides {
		s := sides[side]
		load(s)
		typed := c.releases.ReleasesV1alpha1().Releases(s.ns)
		for i := 0; i < dashboardEvents; i++ {
			_, err := typed.Cancel(ctx, name(i), &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{})
			require.NoError(t, err)
			start := time.Now()
			_, err = chromedp.Run(tab, chromedp.Poll[bool](fmt.Sprintf(
				`(() => { const r = document.querySelector('tr[data-release="%s/%s"] .phase'); return !!r && r.textContent === "Canceled"; })()`, s.ns, name(i)),
				chromedp.WithPollingTimeout(time.Minute), chromedp.WithPollingInterval(5*time.Millisecond)))
			require.NoError(t, err, "the page shows %s canceled", name(i))
			shown[side] = append(shown[side], time.Since(start))
			ms, err := chromedp.Run(tab, chromedp.Evaluate[float64](`window.tritonRenderMs`))
			require.NoError(t, err)
			script[side] = append(script[side], time.Duration(ms*float64(time.Millisecond)))
		}
	}
	rss := [2]stats.Memory{memory(sides[0].pid), memory(sides[1].pid)}

	note := fmt.Sprintf("baseline: the same page over %d releases; the plugin's RSS after %d loads and %d changes: "+
		"%.1f MiB anon + %.1f MiB file (baseline %.1f + %.1f)", dashboardBaseline, dashboardLoads+1, dashboardEvents,
		stats.MiB(rss[0].Anon), stats.MiB(rss[0].File), stats.MiB(rss[1].Anon), stats.MiB(rss[1].File))
	first := stats.Row{
		Scenario: fmt.Sprintf("dashboard: first render, %d releases", n),
		Measured: stats.Series{Name: "page load to the table drawn", Samples: firstRender[0]},
		Baseline: &stats.Series{Name: fmt.Sprintf("%d releases", dashboardBaseline), Samples: firstRender[1]},
		Note:     note,
		Values: map[string]float64{
			"plugin RSS MiB": stats.MiB(rss[0].Anon + rss[0].File), "baseline plugin RSS MiB": stats.MiB(rss[1].Anon + rss[1].File),
		},
	}
	first.Goals = []stats.Goal{
		{Figure: "median first render, s", Got: first.Measured.Median().Seconds(), Limit: 1},
		{Figure: "plugin RSS, MiB", Got: stats.MiB(rss[0].Anon + rss[0].File), Limit: 100},
	}
	change := stats.Row{
		Scenario: fmt.Sprintf("dashboard: a change shown, %d releases", n),
		Measured: stats.Series{Name: "cancel answered to the row redrawn", Samples: shown[0]},
		Baseline: &stats.Series{Name: fmt.Sprintf("%d releases", dashboardBaseline), Samples: shown[1]},
		Note: fmt.Sprintf("the event stream, then one redraw of the table at the next frame; the redraw's script took %s median "+
			"(baseline %s), the rest is the event's way and the browser's layout", stats.Series{Samples: script[0]}.Median().Round(100*time.Microsecond),
			stats.Series{Samples: script[1]}.Median().Round(100*time.Microsecond)),
	}
	change.Goals = []stats.Goal{{Figure: "p99 change shown, s", Got: change.Measured.P99().Seconds(), Limit: 1}}
	return []stats.Row{first, change}
}
