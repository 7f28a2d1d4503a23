// Package browser is what the dashboard's browser tests and its benchmark share: a headless Debian
// chromium driven through chromedp, and `kubectl release dashboard` run until the test ends.
package browser

import (
	"bufio"
	"context"
	"fmt"
	"net/url"
	"os/exec"
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// Chromium is Debian's chromium, which hack/ensure-chromium.sh (and .ci/run) installs where it is missing.
const Chromium = "/usr/bin/chromium"

// address is what the dashboard prints: its address with the token.
var address = regexp.MustCompile(`http://127\.0\.0\.1:[0-9]+/\?token=[A-Za-z0-9_-]+`)

// Dashboard is a running `kubectl release dashboard`.
type Dashboard struct {
	// URL is the address it printed, token included.
	URL *url.URL
	// PID is the plugin's process.
	PID int
}

// StartDashboard runs plugin's dashboard with kubeconfig over namespace ns until the test ends, and
// returns once it has printed its address.
func StartDashboard(t *testing.T, ctx context.Context, plugin, kubeconfig, ns string) Dashboard {
	t.Helper()
	cmd := exec.CommandContext(ctx, plugin, "dashboard", "--kubeconfig", kubeconfig, "-n", ns)
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
			if a := address.FindString(lines.Text()); a != "" {
				found <- a
			}
		}
	}()
	select {
	case a := <-found:
		u, err := url.Parse(a)
		require.NoError(t, err)
		return Dashboard{URL: u, PID: cmd.Process.Pid}
	case <-time.After(30 * time.Second):
		t.Fatal("kubectl release dashboard printed no address")
		return Dashboard{}
	}
}

// New is a tab of a headless chromium of 1280×900, closed when the test ends.
func New(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(Chromium),
		chromedp.NoSandbox, // the tests run as root
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	allocator, cancelAllocator := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAllocator)
	tab, cancelTab := chromedp.NewContext(allocator)
	t.Cleanup(cancelTab)
	require.NoError(t, chromedp.Do(tab, chromedp.Navigate("about:blank")), "starting %s (hack/ensure-chromium.sh installs it)", Chromium)
	return tab
}

// The page redraws its table on every event and its release view on every event of that release, so a
// node found in one call to the browser may be gone by the next. chromedp's element actions (Text, Click,
// WaitVisible on a redrawn part) find the node and then act on it in two calls, and fail with "No node
// with given id found" when a redraw falls between them. The helpers below find and act in one step in
// the page, and try again until the element is there.

// Click clicks the first element selector finds, once there is one.
func Click(t *testing.T, tab context.Context, selector string) {
	t.Helper()
	_, err := chromedp.Run(tab, chromedp.Poll[bool](fmt.Sprintf(
		`(() => { const e = document.querySelector(%q); if (!e) { return false; } e.click(); return true; })()`, selector),
		chromedp.WithPollingTimeout(30*time.Second)))
	require.NoError(t, err, "clicking %s", selector)
}

// Text is the visible text (innerText) of the first element selector finds, once there is one drawn.
func Text(t *testing.T, tab context.Context, selector string) string {
	t.Helper()
	text, err := chromedp.Run(tab, chromedp.Poll[[]string](fmt.Sprintf(
		`(() => { const e = document.querySelector(%q); return e && e.getClientRects().length > 0 ? [e.innerText] : null; })()`, selector),
		chromedp.WithPollingTimeout(30*time.Second)))
	require.NoError(t, err, "the text of %s", selector)
	require.Len(t, text, 1)
	return text[0]
}

// WaitShown waits until selector finds an element that is drawn.
func WaitShown(t *testing.T, tab context.Context, selector string) {
	t.Helper()
	_, err := chromedp.Run(tab, chromedp.Poll[bool](fmt.Sprintf(
		`(() => { const e = document.querySelector(%q); return !!e && e.getClientRects().length > 0; })()`, selector),
		chromedp.WithPollingTimeout(30*time.Second)))
	require.NoError(t, err, "waiting for %s to be drawn", selector)
}
