package app

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/triton-io/triton/pkg/version"
)

// tritonServer answers the discovery document of releases.triton.io/v1alpha1 as kube-apiserver passes on
// triton-apiserver's answer: with the header version.Header set to said (none when empty). It counts the
// requests it gets.
func tritonServer(t *testing.T, said string) *atomic.Int32 {
	t.Helper()
	var requests atomic.Int32
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if r.URL.Path != "/apis/releases.triton.io/v1alpha1" {
			http.NotFound(w, r)
			return
		}
		if said != "" {
			w.Header().Set(version.Header, said)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"releases.triton.io/v1alpha1","resources":[]}`))
	}))
	t.Cleanup(server.Close)
	kubeconfig(t, server.URL)
	return &requests
}

// withPluginVersion makes the plugin say it is v for the test.
func withPluginVersion(t *testing.T, v string) {
	t.Helper()
	old := pluginVersion
	pluginVersion = func() string { return v }
	t.Cleanup(func() { pluginVersion = old })
}

func TestVersionPrintsThePluginsAndTheServersVersion(t *testing.T) {
	withPluginVersion(t, "v0.3.1")
	p := newPlugin(t)
	tritonServer(t, "v0.3.0")
	require.Equal(t, ExitOK, p.run("version"), p.errOut.String())
	assert.Equal(t, "Client Version: v0.3.1\nServer Version: v0.3.0\n", p.out.String())
	assert.Empty(t, p.errOut.String(), "a patch apart: no warning")
}

func TestVersionWarnsOnSkew(t *testing.T) {
	for _, tc := range []struct {
		client, server string
		warn           string
	}{
		{"v0.3.0", "v0.2.4", "differ in their minor version"},
		{"v1.0.0", "v0.9.0", "differ in their major version"},
		{"v0.2.0-3-g9b46586", "v0.3.0", "differ in their minor version"},
		{"v0.2.0", "v0.2.7", ""},
		{"v0.2.0-3-g9b46586-dirty", "v0.2.0", ""},
		// Development builds (a commit's hash, dev) cannot be compared: no warning.
		{"9b46586", "v0.3.0", ""},
		{"dev", "v1.0.0", ""},
		{"v0.2.0", "1234567", ""},
	} {
		withPluginVersion(t, tc.client)
		p := newPlugin(t)
		tritonServer(t, tc.server)
		require.Equal(t, ExitOK, p.run("version"), "%v: %s", tc, p.errOut)
		assert.Equal(t, "Client Version: "+tc.client+"\nServer Version: "+tc.server+"\n", p.out.String(), "%v", tc)
		if tc.warn == "" {
			assert.Empty(t, p.errOut.String(), "%v", tc)
			continue
		}
		assert.Contains(t, p.errOut.String(), tc.warn, "%v", tc)
		assert.True(t, strings.HasPrefix(p.errOut.String(), "warning: kubectl-release "+tc.client+" and triton-apiserver "+tc.server+" "), "%v: %s", tc, p.errOut)
		assert.Equal(t, 1, strings.Count(p.errOut.String(), "\n"), "one line: %q", p.errOut)
	}
}

func TestSkewRule(t *testing.T) {
	assert.Equal(t, "minor", skew("v0.3.0", "v0.2.0"))
	assert.Equal(t, "minor", skew("v0.2.0", "v0.3.0"), "either way")
	assert.Equal(t, "major", skew("v2.0.0", "v1.0.0"))
	assert.Equal(t, "major", skew("v2.1.0", "v1.1.0"), "major before minor")
	assert.Equal(t, "", skew("v1.2.3", "v1.2.9"))
	assert.Equal(t, "", skew("v1.2.3-rc.1", "v1.2.0"))
	assert.Equal(t, "", skew("v1", "v2.0.0"), "a shorthand is no release version")
	assert.Equal(t, "", skew("1.2.3", "v2.0.0"))
	assert.Equal(t, "", skew("", "v2.0.0"))
}

func TestVersionOutput(t *testing.T) {
	withPluginVersion(t, "v0.3.1")
	p := newPlugin(t)
	tritonServer(t, "v0.3.0")
	require.Equal(t, ExitOK, p.run("version", "-o", "json"), p.errOut.String())
	var got map[string]string
	require.NoError(t, json.Unmarshal([]byte(p.out.String()), &got), p.out.String())
	assert.Equal(t, map[string]string{"clientVersion": "v0.3.1", "serverVersion": "v0.3.0"}, got)

	p.out.b.Reset()
	require.Equal(t, ExitOK, p.run("version", "-o", "yaml"), p.errOut.String())
	got = nil
	require.NoError(t, yaml.Unmarshal([]byte(p.out.String()), &got), p.out.String())
	assert.Equal(t, map[string]string{"clientVersion": "v0.3.1", "serverVersion": "v0.3.0"}, got)

	assert.Equal(t, ExitUsage, p.run("version", "-o", "wide"))
}

func TestVersionClientAsksNoServer(t *testing.T) {
	withPluginVersion(t, "v0.3.1")
	p := newPlugin(t)
	requests := tritonServer(t, "v0.3.0")
	require.Equal(t, ExitOK, p.run("version", "--client"), p.errOut.String())
	assert.Equal(t, "Client Version: v0.3.1\n", p.out.String())
	p.out.b.Reset()
	require.Equal(t, ExitOK, p.run("version", "--client", "-o", "json"), p.errOut.String())
	assert.JSONEq(t, `{"clientVersion": "v0.3.1"}`, p.out.String())
	assert.Zero(t, requests.Load(), "--client asks nothing")
	assert.Empty(t, p.errOut.String())
}

// A server that cannot be reached: the client's version, the error, and a non-zero exit.
func TestVersionWhenTheServerCannotBeReached(t *testing.T) {
	withPluginVersion(t, "v0.3.1")
	p := newPlugin(t) // its kubeconfig names https://127.0.0.1:9, where nothing listens
	assert.Equal(t, ExitError, p.run("version"))
	assert.Equal(t, "Client Version: v0.3.1\n", p.out.String())
	assert.Contains(t, p.errOut.String(), "error: asking triton-apiserver its version: ")
	assert.Contains(t, p.errOut.String(), "127.0.0.1:9")
	assert.Equal(t, 1, strings.Count(p.errOut.String(), "\n"), "one line: %q", p.errOut)
}

// A cluster without Triton: not found, said so.
func TestVersionWithoutTriton(t *testing.T) {
	p := newPlugin(t)
	server := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(server.Close)
	kubeconfig(t, server.URL)
	assert.Equal(t, ExitNotFound, p.run("version"))
	assert.Contains(t, p.errOut.String(), "does not serve releases.triton.io/v1alpha1: is Triton installed?")
}

// A server from before the header: its version is unknown, and a warning says so.
func TestVersionOfAServerThatDoesNotSayIt(t *testing.T) {
	withPluginVersion(t, "v0.3.1")
	p := newPlugin(t)
	tritonServer(t, "")
	require.Equal(t, ExitOK, p.run("version"), p.errOut.String())
	assert.Equal(t, "Client Version: v0.3.1\nServer Version: unknown\n", p.out.String())
	assert.Contains(t, p.errOut.String(), "warning: triton-apiserver did not say its version")
	p.out.b.Reset()
	require.Equal(t, ExitOK, p.run("version", "-o", "json"), p.errOut.String())
	assert.JSONEq(t, `{"clientVersion": "v0.3.1"}`, p.out.String())
}

// What the server says is printed escaped (HTTP keeps ASCII controls out of a header, not a bidi control).
func TestVersionEscapesTheServersVersion(t *testing.T) {
	withPluginVersion(t, "v0.3.1")
	p := newPlugin(t)
	tritonServer(t, "v0.3.0\u202e1.0.0v")
	require.Equal(t, ExitOK, p.run("version"), p.errOut.String())
	assert.NotContains(t, p.out.String(), "\u202e")
	assert.Contains(t, p.out.String(), `Server Version: v0.3.0\u202e1.0.0v`)
}
