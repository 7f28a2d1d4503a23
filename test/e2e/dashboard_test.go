//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/test/browser"
	"github.com/triton-io/triton/test/e2e/framework"
)

// startDashboard runs `kubectl release dashboard` as c in ns until the test ends and returns the address it
// printed, token included.
func startDashboard(t *testing.T, ctx context.Context, c *framework.Cluster, ns string) *url.URL {
	t.Helper()
	return browser.StartDashboard(t, ctx, framework.PluginBinary(t), c.Kubeconfig, ns).URL
}

// screenshot saves the page as name under $E2E_SCREENSHOTS (make screenshots sets it to docs/images);
// without it, nothing.
func screenshot(t *testing.T, tab context.Context, name string) {
	t.Helper()
	dir := os.Getenv("E2E_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), png, 0o644))
}

// The dashboard, in a real browser: the page lists the namespace's release, read with the user's own
// credentials. A request without the token is refused, and so is a change from another origin. The page's
// next button pulls the canary into traffic, and the page shows it without a reload (the event stream).
func TestDashboardListsTheReleasesInABrowser(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(3*time.Minute), framework.CloneSet("nginx", 3), framework.CloneSet("api", 1))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	// A finished release beside the running one: an Auto update of the CloneSet api in one batch.
	done := framework.UpdateTo("nginx:1.28", 0, intstr.FromString("100%"), v1alpha1.ModeAuto)
	done.Name, done.Spec.CloneSetName = "api-update", "api"
	done.Spec.Template.Labels = map[string]string{"app": "api"}
	_, err := s.Releases.Create(ctx, done, metav1.CreateOptions{})
	require.NoError(t, err)
	rel := framework.UpdateTo("nginx:1.28", 1, intstr.FromString("100%"), v1alpha1.ModeManual)
	_, err = s.Releases.Create(ctx, rel, metav1.CreateOptions{})
	require.NoError(t, err)
	framework.WaitRelease(t, ctx, admin, ns, rel.Name, "the canary Smoked, waiting for next", framework.BatchIs(1, v1alpha1.BatchSmoked))
	framework.WaitRelease(t, ctx, admin, ns, done.Name, "Succeeded", func(r *v1alpha1.Release) bool { return r.Status.Phase == v1alpha1.ReleaseSucceeded })

	address := startDashboard(t, ctx, admin, ns)
	tab := browser.New(t, ctx)
	require.NoError(t, chromedp.Do(tab, chromedp.Navigate(address.String()), chromedp.WaitVisible("#releases")))
	table := browser.Text(t, tab, "#releases tbody")
	status := browser.Text(t, tab, "#status")
	assert.Contains(t, table, "nginx-update")
	assert.Contains(t, table, "1/2 Smoked", "the current batch as the release's status has it")
	assert.True(t, strings.HasPrefix(status, "2 releases"), status)
	row := fmt.Sprintf(`tr[data-release=%q]`, ns+"/"+rel.Name)
	finished := fmt.Sprintf(`tr[data-release=%q]`, ns+"/"+done.Name)
	order, err := chromedp.Run(tab, chromedp.Evaluate[[]string](
		`[...document.querySelectorAll("#releases tbody tr")].map((r) => r.dataset.release)`))
	require.NoError(t, err)
	assert.Equal(t, []string{ns + "/" + rel.Name, ns + "/" + done.Name}, order, "the release waiting for a person comes first")
	waiting := browser.Text(t, tab, row+" .you")
	assert.Equal(t, "waiting for you", waiting)
	finishedRow := browser.Text(t, tab, finished)
	assert.Contains(t, finishedRow, "Succeeded")
	assert.Contains(t, finishedRow, "1/1", "all its pods changed")
	buttonsOfFinished, err := chromedp.Run(tab, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, finished+" button[data-verb]")))
	require.NoError(t, err)
	assert.Zero(t, buttonsOfFinished, "a finished release has nothing to act on")
	verbsShown, err := chromedp.Run(tab, chromedp.Evaluate[[]string](fmt.Sprintf(
		`[...document.querySelectorAll(%q)].map((b) => b.dataset.verb)`, row+" button[data-verb]")))
	require.NoError(t, err)
	assert.Equal(t, []string{"next", "promote", "pause", "cancel"}, verbsShown)
	screenshot(t, tab, "dashboard-fleet.png")

	// The filters: a CloneSet that no release drives hides the row; the CloneSet's name shows it again.
	rows := func() int {
		n, err := chromedp.Run(tab, chromedp.Evaluate[int](`document.querySelectorAll("#releases tbody tr").length`))
		require.NoError(t, err)
		return n
	}
	filter := func(text string) {
		// As typing does: the field's value, then its input event.
		_, err := chromedp.Run(tab, chromedp.Evaluate[bool](fmt.Sprintf(
			`(() => { const f = document.getElementById("filter-cloneset"); f.value = %q; return f.dispatchEvent(new Event("input")); })()`, text)))
		require.NoError(t, err)
	}
	filter("no-such-cloneset")
	assert.Equal(t, 0, rows(), "filtered out")
	filter("ngin")
	assert.Equal(t, 1, rows(), "the CloneSet by part of its name")
	filter("a")
	assert.Equal(t, 1, rows(), "api, not nginx")
	filter("")

	base := "http://" + address.Host
	resp, err := http.Get(base + "/api/releases")
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "a request without the token")

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/releases/"+ns+"/"+rel.Name+"/next",
		strings.NewReader(`{"expectedBatch":1}`))
	require.NoError(t, err)
	req.Header.Set("X-Triton-Token", address.Query().Get("token"))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", "http://evil.example")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "a change from another origin")
	r, err := s.Releases.Get(ctx, rel.Name, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.BatchSmoked, r.Status.Batches[0].Phase, "nothing moved")

	// The page's own next pulls the canary into traffic, and the page shows it without a reload.
	browser.Click(t, tab, row+` button[data-verb="next"]`)
	framework.WaitRelease(t, ctx, admin, ns, rel.Name, "the canary pulled in", func(r *v1alpha1.Release) bool {
		return r.Status.Batches[0].Phase == v1alpha1.BatchBaking || r.Status.Batches[0].Phase == v1alpha1.BatchBaked
	})
	shown, err := chromedp.Run(tab, chromedp.Poll[string](
		fmt.Sprintf(`(() => { const c = document.querySelector(%q); return c && /^1\/2 Bak/.test(c.textContent) && c.textContent; })()`, row+" .batch"),
		chromedp.WithPollingTimeout(30*time.Second)))
	require.NoError(t, err, "the page shows the canary in traffic")
	assert.Contains(t, shown, "1/2 Bak")
	history, err := s.Releases.Get(ctx, rel.Name, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Contains(t, framework.HistoryActions(history), "next", "the next is in the history")

	// The release's own view: its timeline, its pods and its history, as the status has them.
	browser.Click(t, tab, row+` button.open`)
	browser.WaitShown(t, tab, "#detail .history")
	// Once the canary is Baked its pod is ready and in traffic; the view follows the release's events. The
	// status that makes the batch Baked may still list its pod as the reconcile before saw it (the pods are
	// listed again in the write after the CloneSet's): wait for the listing too.
	r = framework.WaitRelease(t, ctx, admin, ns, rel.Name, "the canary Baked, waiting for next, its pods listed Ready", func(r *v1alpha1.Release) bool {
		if !framework.BatchIs(1, v1alpha1.BatchBaked)(r) || len(r.Status.Batches[0].Pods) == 0 {
			return false
		}
		for _, p := range r.Status.Batches[0].Pods {
			if !p.PulledIn || !p.Ready {
				return false
			}
		}
		return true
	})
	var canaryPods []string
	for _, p := range r.Status.Batches[0].Pods {
		canaryPods = append(canaryPods, p.Name)
	}
	// The pod map: the canary's pods in batch 1's group, in traffic; the two pods the release has not
	// changed beside them, in traffic too.
	podStates := func() map[string]string {
		states, err := chromedp.Run(tab, chromedp.Evaluate[map[string]string](
			`Object.fromEntries([...document.querySelectorAll("#detail .group.batch .pod")].map((p) => [p.dataset.pod, p.dataset.state]))`))
		require.NoError(t, err)
		return states
	}
	_, err = chromedp.Run(tab, chromedp.Poll[bool](
		`document.querySelectorAll("#detail .group.batch .pod[data-state='in-traffic']").length > 0 && document.querySelector("#detail table.batches tr:nth-child(2) td:nth-child(2)")?.textContent === "Baked"`,
		chromedp.WithPollingTimeout(30*time.Second)))
	require.NoError(t, err, "the view shows batch 1 Baked and the canary in traffic")
	states := podStates()
	assert.Len(t, states, len(canaryPods), "batch 1's group holds the canary's pods: %v", states)
	for _, name := range canaryPods {
		assert.Equal(t, "in-traffic", states[name], "pod %s of the canary", name)
	}
	old, err := chromedp.Run(tab, chromedp.Evaluate[int](`document.querySelectorAll("#detail .group.old .pod[data-state='in-traffic']").length`))
	require.NoError(t, err)
	assert.Equal(t, 2, old, "the two pods the release has not changed, still in traffic")

	// The timeline: batch 1 was made, waited for the page's next (sent as the user), baked, and waits again.
	var puller string
	for _, h := range r.Status.History {
		if h.Action == "next" {
			puller = h.User
		}
	}
	require.NotEmpty(t, puller)
	kinds, err := chromedp.Run(tab, chromedp.Evaluate[[]string](
		`[...document.querySelectorAll("#detail .lane[data-batch='1'] .span")].map((s) => s.dataset.kind + (s.classList.contains("open") ? " open" : ""))`))
	require.NoError(t, err)
	assert.Equal(t, []string{"smoking", "waiting", "baking", "waiting open"}, kinds, "batch 1's lane")
	waits := browser.Text(t, tab, "#detail .waits")
	assert.Regexp(t, regexp.MustCompile(`batch 1: waiting for a person, [0-9]+s, until `+regexp.QuoteMeta(puller)+`'s next`), waits)
	assert.Contains(t, waits, "so far", "the wait for the next batch goes on")
	plan := browser.Text(t, tab, "#detail ol.plan")
	assert.Contains(t, plan, "batch 2: 2 pods (3 in all), started by a person's `next` once batch 1 is Baked")
	historyShown := browser.Text(t, tab, "#detail .history")
	for _, h := range r.Status.History {
		assert.Contains(t, historyShown, h.Action)
		assert.Contains(t, historyShown, h.User)
	}
	screenshot(t, tab, "dashboard-release.png")

	// A frozen page, left as it is while someone else calls next: its own next, for the batch it shows,
	// is refused with the server's 409, and the release moves no further.
	_, err = chromedp.Run(tab, chromedp.Poll[string](
		fmt.Sprintf(`(() => { const c = document.querySelector(%q); return c && c.textContent === "1/2 Baked" && c.textContent; })()`, row+" .batch"),
		chromedp.WithPollingTimeout(30*time.Second)))
	require.NoError(t, err, "the page shows the canary Baked")
	browser.Click(t, tab, "#freeze")
	_, err = chromedp.Run(tab, chromedp.Poll[bool](`document.getElementById("live").textContent === "frozen"`,
		chromedp.WithPollingTimeout(10*time.Second)))
	require.NoError(t, err)
	_, err = s.Releases.Next(ctx, rel.Name, &v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(1)}, metav1.CreateOptions{})
	require.NoError(t, err, "someone else's next")
	browser.Click(t, tab, row+` button[data-verb="next"]`)
	said, err := chromedp.Run(tab, chromedp.Poll[string](
		`(() => { const s = document.getElementById("status").textContent; return s.startsWith("Error") && s; })()`,
		chromedp.WithPollingTimeout(30*time.Second)))
	require.NoError(t, err, "the page says why its next was refused")
	assert.True(t, strings.HasPrefix(said, "Error 409: "), said)
	assert.Contains(t, said, "batch 1", "it names the batch the page showed")
	r, err = s.Releases.Get(ctx, rel.Name, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(2), r.Status.CurrentBatch, "the other caller's next moved it to batch 2, and no further")
	nexts := 0
	for _, h := range r.Status.History {
		if h.Action == "next" {
			nexts++
		}
	}
	assert.Equal(t, 2, nexts, "the page's next and the other caller's, not a third: %s", framework.HistoryActions(r))
}

// A blue/green release in the dashboard: its view shows blue and green side by side, blue in traffic and
// green ready beside it, out of traffic, until the switch (the view's promote button); then green in
// traffic and blue out of it.
func TestDashboardShowsBlueAndGreenSideBySide(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(3*time.Minute), framework.CloneSet("nginx", 2),
		framework.Release(blueGreenTo("nginx:1.28", intstr.FromString("100%"), 600, false)), framework.Phase(v1alpha1.BatchSmoked))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	rel := s.Release
	dashboard := browser.StartDashboard(t, ctx, framework.PluginBinary(t), admin.Kubeconfig, ns)
	address := dashboard.URL
	tab := browser.New(t, ctx)
	// The address of the release's own view.
	require.NoError(t, chromedp.Do(tab, chromedp.Navigate(address.String()+"#"+ns+"/"+rel.Name), chromedp.WaitVisible("#detail")))
	browser.WaitShown(t, tab, "#detail .podmap")

	group := func(color string) map[string]string {
		states, err := chromedp.Run(tab, chromedp.Evaluate[map[string]string](fmt.Sprintf(
			`Object.fromEntries([...document.querySelectorAll("#detail .group.%s .pod")].map((p) => [p.dataset.pod, p.dataset.state]))`, color)))
		require.NoError(t, err)
		return states
	}
	// The pods as the cluster has them: green are the release's preview pods (its status), blue the others.
	r, err := s.Releases.Get(ctx, rel.Name, metav1.GetOptions{})
	require.NoError(t, err)
	var green []string
	for _, p := range r.Status.Batches[0].Pods {
		green = append(green, p.Name)
	}
	require.Len(t, green, 2)
	waitStates := func(what string, want func(blue, green map[string]string) bool) (map[string]string, map[string]string) {
		t.Helper()
		var b, g map[string]string
		framework.WaitUntil(t, ctx, what, func(context.Context) (bool, bool, string) {
			b, g = group("blue"), group("green")
			return true, want(b, g), fmt.Sprintf("blue %v, green %v", b, g)
		})
		return b, g
	}
	all := func(m map[string]string, state string, names ...string) bool {
		if len(m) != 2 {
			return false
		}
		for name, s := range m {
			if s != state {
				return false
			}
			if len(names) > 0 && !slices.Contains(names, name) {
				return false
			}
		}
		return true
	}
	blue, greenShown := waitStates("blue in traffic, green ready beside it", func(b, g map[string]string) bool {
		return all(b, "in-traffic") && all(g, "ready", green...)
	})
	for name := range blue {
		assert.NotContains(t, green, name, "a blue pod is not one of the preview's")
	}
	assert.Len(t, greenShown, 2)

	// The switch, from the view's own promote (next to the last batch): green in traffic, blue out of it
	// (held for the scale-down delay).
	browser.Click(t, tab, `#detail .summary button[data-verb="promote"]`)
	framework.WaitRelease(t, ctx, admin, ns, rel.Name, "switched", func(r *v1alpha1.Release) bool {
		return r.Status.CurrentBatch == 2 && r.Status.Batches[1].Phase == v1alpha1.BatchBaked
	})
	waitStates("green in traffic, blue out of it", func(b, g map[string]string) bool {
		return all(g, "in-traffic", green...) && len(b) == 2 && !slices.Contains(slices.Collect(maps.Values(b)), "in-traffic")
	})
	screenshot(t, tab, "dashboard-bluegreen.png")

	// The dashboard gone (stopped, or the laptop asleep): the page says so, rather than showing a fleet
	// that no longer moves as if it were live.
	live := browser.Text(t, tab, "#live")
	require.Equal(t, "live", live)
	require.NoError(t, syscall.Kill(dashboard.PID, syscall.SIGKILL))
	_, err = chromedp.Run(tab, chromedp.Poll[bool](`document.getElementById("live").textContent === "connection lost: reconnecting…"`,
		chromedp.WithPollingTimeout(30*time.Second)))
	require.NoError(t, err, "the page says its connection is lost")
}
