package dashboard

import (
	"encoding/base64"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// securityHeaders are on every answer, refusals included.
func assertSecurityHeaders(t *testing.T, h http.Header) {
	t.Helper()
	assert.Equal(t, contentSecurityPolicy, h.Get("Content-Security-Policy"))
	assert.Contains(t, h.Get("Content-Security-Policy"), "frame-ancestors 'none'")
	assert.Equal(t, "nosniff", h.Get("X-Content-Type-Options"))
	assert.Equal(t, "no-referrer", h.Get("Referrer-Policy"))
	assert.Equal(t, "no-store", h.Get("Cache-Control"))
}

func TestNewGeneratesAToken(t *testing.T) {
	s1, err := New(Config{Client: fakeClient()})
	require.NoError(t, err)
	s2, err := New(Config{Client: fakeClient()})
	require.NoError(t, err)
	raw, err := base64.RawURLEncoding.DecodeString(s1.token)
	require.NoError(t, err, "the token is URL-safe base64")
	assert.Len(t, raw, 32)
	assert.NotEqual(t, s1.token, s2.token)

	s3, err := New(Config{Client: fakeClient(), Token: "given"})
	require.NoError(t, err)
	assert.Equal(t, "given", s3.token)

	_, err = New(Config{})
	assert.Error(t, err, "no clientset")
}

func TestToken(t *testing.T) {
	s, _ := newTestServer(t)
	for _, tc := range []struct {
		name string
		rq   request
		code int
	}{
		{"missing", request{target: "/", headers: map[string]string{TokenHeader: ""}}, http.StatusUnauthorized},
		{"wrong in the URL", request{target: "/?token=nope", headers: map[string]string{TokenHeader: ""}}, http.StatusUnauthorized},
		{"wrong in the header", request{target: "/api/releases", headers: map[string]string{TokenHeader: "nope"}}, http.StatusUnauthorized},
		{"right in the header, wrong in the URL", request{target: "/?token=nope"}, http.StatusOK},
		{"a prefix of it", request{target: "/api/releases", headers: map[string]string{TokenHeader: testToken[:5]}}, http.StatusUnauthorized},
		{"right in the URL, first page load", request{target: "/?token=" + testToken, headers: map[string]string{TokenHeader: ""}}, http.StatusOK},
		{"right in the URL, the page's script", request{target: "/app.js?token=" + testToken, headers: map[string]string{TokenHeader: ""}}, http.StatusOK},
		{"right in the header, an API call", request{target: "/api/releases"}, http.StatusOK},
		{"in the URL of a POST", request{method: http.MethodPost, target: "/api/releases/a/web/pause?token=" + testToken, body: "{}",
			headers: map[string]string{TokenHeader: ""}}, http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := serve(t, s, tc.rq)
			assert.Equal(t, tc.code, rec.Code, rec.Body.String())
			assertSecurityHeaders(t, rec.Header())
			if tc.code == http.StatusUnauthorized {
				assert.Equal(t, "text/plain; charset=utf-8", rec.Header().Get("Content-Type"))
				assert.NotContains(t, rec.Body.String(), testToken)
			}
		})
	}
}

func TestHost(t *testing.T) {
	s, _ := newTestServer(t)
	for host, code := range map[string]int{
		"127.0.0.1:8080":      http.StatusOK,
		"localhost:8080":      http.StatusOK,
		"LOCALHOST:8080":      http.StatusOK,
		"[::1]:8080":          http.StatusOK,
		"evil.example:8080":   http.StatusForbidden, // DNS rebinding: a foreign name that resolves to 127.0.0.1
		"evil.example":        http.StatusForbidden,
		"127.0.0.1:9999":      http.StatusForbidden, // another port
		"127.0.0.1":           http.StatusForbidden,
		"":                    http.StatusForbidden,
		"127.0.0.1.nip.io:80": http.StatusForbidden,
	} {
		t.Run(host, func(t *testing.T) {
			rec := serve(t, s, request{target: "/api/releases", headers: map[string]string{"Host": host}})
			assert.Equal(t, code, rec.Code, rec.Body.String())
			assertSecurityHeaders(t, rec.Header())
		})
	}

	t.Run("nothing before Listen", func(t *testing.T) {
		s, err := New(Config{Client: fakeClient(), Token: testToken})
		require.NoError(t, err)
		assert.Equal(t, http.StatusForbidden, serve(t, s, request{target: "/api/releases"}).Code)
	})
}

func TestPostOriginAndContentType(t *testing.T) {
	s, cs := newTestServer(t, release("a", "web", "Progressing", 1, "Smoking"))
	recordCalls(cs)
	for _, tc := range []struct {
		name    string
		headers map[string]string
		code    int
	}{
		{"missing Origin", map[string]string{"Origin": ""}, http.StatusForbidden},
		{"foreign Origin", map[string]string{"Origin": "http://evil.example"}, http.StatusForbidden},
		{"rebound Origin", map[string]string{"Origin": "http://evil.example:8080"}, http.StatusForbidden},
		{"opaque Origin", map[string]string{"Origin": "null"}, http.StatusForbidden},
		{"https Origin", map[string]string{"Origin": "https://" + testHost}, http.StatusForbidden},
		{"another Origin of loopback", map[string]string{"Origin": "http://localhost:8080"}, http.StatusForbidden},
		{"a form", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, http.StatusUnsupportedMediaType},
		{"text", map[string]string{"Content-Type": "text/plain"}, http.StatusUnsupportedMediaType},
		{"no Content-Type", map[string]string{"Content-Type": ""}, http.StatusUnsupportedMediaType},
		{"the page's own", nil, http.StatusOK},
		{"JSON with a charset", map[string]string{"Content-Type": "application/json; charset=utf-8"}, http.StatusOK},
		{"the Origin of its Host", map[string]string{"Host": "localhost:8080", "Origin": "http://localhost:8080"}, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := serve(t, s, request{method: http.MethodPost, target: "/api/releases/a/web/pause", body: `{}`, headers: tc.headers})
			assert.Equal(t, tc.code, rec.Code, rec.Body.String())
			assertSecurityHeaders(t, rec.Header())
		})
	}
}

func TestPage(t *testing.T) {
	s, _ := newTestServer(t)
	rec := serve(t, s, request{target: "/?token=" + testToken, headers: map[string]string{TokenHeader: ""}})
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "text/html; charset=utf-8", rec.Header().Get("Content-Type"))
	// The script tag carries the token: the browser fetches it without the page's headers.
	assert.Contains(t, rec.Body.String(), `<script src="/app.js?token=`+testToken+`"`)

	rec = serve(t, s, request{target: "/app.js"})
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "text/javascript; charset=utf-8", rec.Header().Get("Content-Type"))
	assert.Contains(t, rec.Body.String(), "textContent")
	assert.NotContains(t, rec.Body.String(), "innerHTML")

	// The style, too, with the token in its link; nothing is fetched from elsewhere.
	page := serve(t, s, request{target: "/?token=" + testToken, headers: map[string]string{TokenHeader: ""}}).Body.String()
	assert.Contains(t, page, `<link rel="stylesheet" href="/app.css?token=`+testToken+`">`)
	assert.NotRegexp(t, `(src|href)="(https?:)?//`, page, "nothing from another origin")
	rec = serve(t, s, request{target: "/app.css"})
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "text/css; charset=utf-8", rec.Header().Get("Content-Type"))
	assert.NotContains(t, rec.Body.String(), "url(", "the style loads nothing")

	assert.Equal(t, http.StatusNotFound, serve(t, s, request{target: "/elsewhere"}).Code)
}
