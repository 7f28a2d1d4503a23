//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/test/e2e/framework"
)

// chromiumBinary is Debian's chromium, which .ci/run installs where it is missing.
const chromiumBinary = "/usr/bin/chromium"

var dashboardAddress = regexp.MustCompile(`http://127\.0\.0\.1:[0-9]+/\?token=[A-Za-z0-9_-]+`)

// startDashboard runs `kubectl release dashboard` as c in ns until the test ends and returns the address it
// printed, token included.
func startDashboard(t *testing.T, ctx context.Context, c *framework.Cluster, ns string) *url.URL {
	t.Helper()
	cmd := exec.CommandContext(ctx, framework.PluginBinary(t), "dashboard", "--kubeconfig", c.Kubeconfig, "-n", ns)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	found := make(chan string, 1)
	go func() {
		lines := bufio.NewScanner(stdout)
		for lines.Scan() {
			if a := dashboardAddress.FindString(lines.Text()); a != "" {
				found <- a
			}
		}
	}()
	select {
	case a := <-found:
		u, err := url.Parse(a)
		require.NoError(t, err)
		return u
	case <-time.After(30 * time.Second):
		t.Fatal("kubectl release dashboard printed no address")
		return nil
	}
}

// browser is a headless Chromium for the test, closed when it ends.
func browser(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumBinary),
		chromedp.NoSandbox, // the tests run as root
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	allocator, cancelAllocator := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAllocator)
	tab, cancelTab := chromedp.NewContext(allocator)
	t.Cleanup(cancelTab)
	require.NoError(t, chromedp.Do(tab, chromedp.Navigate("about:blank")), "starting %s (installed by .ci/run)", chromiumBinary)
	return tab
}

// click clicks the element selector finds, once it is there. The page redraws its table on every event:
// finding the element and clicking it happen in one step in the page, so that a redraw in between cannot
// take the element away.
func click(t *testing.T, tab context.Context, selector string) {
	t.Helper()
	_, err := chromedp.Run(tab, chromedp.Poll[bool](fmt.Sprintf(
		`(() => { const e = document.querySelector(%q); if (!e) { return false; } e.click(); return true; })()`, selector),
		chromedp.WithPollingTimeout(30*time.Second)))
	require.NoError(t, err, "clicking %s", selector)
}

// The dashboard, in a real browser: the page lists the namespace's release, read with the user's own
// credentials. A request without the token is refused, and so is a change from another origin. The page's
// next button pulls the canary into traffic, and the page shows it without a reload (the event stream).
func TestDashboardListsTheReleasesInABrowser(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(3*time.Minute), framework.CloneSet("nginx", 3))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	rel := framework.UpdateTo("nginx:1.28", 1, intstr.FromString("100%"), v1alpha1.ModeManual)
	_, err := s.Releases.Create(ctx, rel, metav1.CreateOptions{})
	require.NoError(t, err)
	framework.WaitRelease(t, ctx, admin, ns, rel.Name, "the canary Smoked, waiting for next", framework.BatchIs(1, v1alpha1.BatchSmoked))

	address := startDashboard(t, ctx, admin, ns)
	tab := browser(t, ctx)
	require.NoError(t, chromedp.Do(tab, chromedp.Navigate(address.String()), chromedp.WaitVisible("#releases")))
	table, err := chromedp.Run(tab, chromedp.Text("#releases tbody"))
	require.NoError(t, err)
	status, err := chromedp.Run(tab, chromedp.Text("#status"))
	require.NoError(t, err)
	assert.Contains(t, table, "nginx-update")
	assert.Contains(t, table, "1/2 Smoked", "the current batch as the release's status has it")
	assert.True(t, strings.HasPrefix(status, "1 releases"), status)

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
	row := fmt.Sprintf(`tr[data-release=%q]`, ns+"/"+rel.Name)
	click(t, tab, row+` button[data-verb="next"]`)
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

	// The release's own view: its batches with their pods (in traffic or not) and its history, who did
	// what, as the status has them.
	click(t, tab, row+` button.open`)
	require.NoError(t, chromedp.Do(tab, chromedp.WaitVisible("#detail .history")))
	// Once the canary is Baked its pod is ready and in traffic; the view follows the release's events.
	r = framework.WaitRelease(t, ctx, admin, ns, rel.Name, "the canary Baked, waiting for next", framework.BatchIs(1, v1alpha1.BatchBaked))
	require.NotEmpty(t, r.Status.Batches[0].Pods)
	var want []string
	for _, p := range r.Status.Batches[0].Pods {
		require.True(t, p.PulledIn && p.Ready, "%+v", p)
		want = append(want, p.Name+" (Running, ready, in traffic)")
	}
	wanted, err := json.Marshal(want)
	require.NoError(t, err)
	batches, err := chromedp.Run(tab, chromedp.Poll[string](fmt.Sprintf(
		`(() => { const t = document.querySelector("#detail .batches"); const s = t ? t.textContent : ""; return %s.every((w) => s.includes(w)) && /Baked/.test(s) && s; })()`, wanted),
		chromedp.WithPollingTimeout(30*time.Second)))
	require.NoError(t, err, "the pod map shows %v", want)
	assert.Contains(t, batches, "1 (canary)")
	historyShown, err := chromedp.Run(tab, chromedp.Text("#detail .history"))
	require.NoError(t, err)
	for _, h := range r.Status.History {
		assert.Contains(t, historyShown, h.Action)
		assert.Contains(t, historyShown, h.User)
	}

	// A frozen page, left as it is while someone else calls next: its own next, for the batch it shows,
	// is refused with the server's 409, and the release moves no further.
	_, err = chromedp.Run(tab, chromedp.Poll[string](
		fmt.Sprintf(`(() => { const c = document.querySelector(%q); return c && c.textContent === "1/2 Baked" && c.textContent; })()`, row+" .batch"),
		chromedp.WithPollingTimeout(30*time.Second)))
	require.NoError(t, err, "the page shows the canary Baked")
	click(t, tab, "#freeze")
	_, err = chromedp.Run(tab, chromedp.Poll[bool](`document.getElementById("live").textContent === "frozen"`,
		chromedp.WithPollingTimeout(10*time.Second)))
	require.NoError(t, err)
	_, err = s.Releases.Next(ctx, rel.Name, &v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(1)}, metav1.CreateOptions{})
	require.NoError(t, err, "someone else's next")
	click(t, tab, row+` button[data-verb="next"]`)
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
