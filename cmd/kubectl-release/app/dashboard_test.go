package app

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var dashboardURL = regexp.MustCompile(`http://127\.0\.0\.1:[0-9]+/\?token=[A-Za-z0-9_-]+`)

// dashboard prints its address once, token included, answers the page's API with the namespace's
// releases, refuses a request without the token, and stops when the command is interrupted.
func TestDashboardServesTheNamespacesReleasesUntilStopped(t *testing.T) {
	p := newPlugin(t, release("shop", "nginx-update", "nginx", t0), release("bank", "web-update", "web", t0))
	ctx, stop := context.WithCancel(context.Background())
	code := make(chan int, 1)
	go func() { code <- p.runContext(ctx, "dashboard", "-n", "shop") }()
	var address string
	eventually(t, "the address printed", func() bool {
		address = dashboardURL.FindString(p.out.String())
		return address != ""
	})
	assert.Contains(t, p.out.String(), "Dashboard of the releases of namespace shop: ")
	u, err := url.Parse(address)
	require.NoError(t, err)
	base, token := "http://"+u.Host, u.Query().Get("token")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/releases", nil)
	require.NoError(t, err)
	req.Header.Set("X-Triton-Token", token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	var body struct {
		Items []struct{ Namespace, Name string }
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	_ = resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Len(t, body.Items, 1, "the namespace's releases only")
	assert.Equal(t, "nginx-update", body.Items[0].Name)

	resp, err = http.Get(base + "/api/releases")
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "no token")

	stop()
	select {
	case c := <-code:
		assert.Equal(t, ExitOK, c, p.errOut.String())
	case <-time.After(10 * time.Second):
		t.Fatal("dashboard did not stop")
	}
}

func TestDashboardRefusesAPortOutOfRange(t *testing.T) {
	p := newPlugin(t)
	assert.Equal(t, ExitUsage, p.run("dashboard", "--port", "70000"))
	assert.Contains(t, p.errOut.String(), "--port must be from 0")
}
