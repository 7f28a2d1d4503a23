package filters

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/endpoints/request"
)

func TestWithoutRedirectsTurnsEveryRedirectInto404WithoutLocationOrBody(t *testing.T) {
	for _, code := range []int{http.StatusMultipleChoices, http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusUseProxy, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		h := WithoutRedirects(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://evil.example/steal", code)
		}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/debug/pprof", nil))
		assert.Equal(t, http.StatusNotFound, rec.Code, "redirect %d", code)
		assert.Empty(t, rec.Header().Get("Location"))
		assert.NotContains(t, rec.Body.String(), "evil.example")
	}
}

func TestWithoutRedirectsPassesEverythingElse(t *testing.T) {
	for _, code := range []int{http.StatusOK, http.StatusCreated, http.StatusAccepted, http.StatusNotModified, http.StatusForbidden, http.StatusInternalServerError} {
		h := WithoutRedirects(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Kept", "yes")
			w.WriteHeader(code)
			_, _ = w.Write([]byte("body"))
		}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/apis", nil))
		assert.Equal(t, code, rec.Code)
		assert.Equal(t, "yes", rec.Header().Get("X-Kept"))
		assert.Equal(t, "body", rec.Body.String())
	}
	// A handler that writes without a header is a 200, as net/http has it.
	h := WithoutRedirects(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("x")) }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "x", rec.Body.String())
}

func TestWithoutRedirectsKeepsFlushing(t *testing.T) {
	// Watches stream: the wrapped writer must still be a Flusher.
	var flushable bool
	h := WithoutRedirects(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, flushable = w.(http.Flusher)
	}))
	h.ServeHTTP(http2Writer{httptest.NewRecorder()}, httptest.NewRequest(http.MethodGet, "/", nil))
	assert.True(t, flushable)
}

// http2Writer has what net/http's HTTP/2 response writer has: Flush and CloseNotify.
type http2Writer struct{ *httptest.ResponseRecorder }

func (http2Writer) CloseNotify() <-chan bool { return make(chan bool) }

func anonymousInner() authenticator.Request {
	return authenticator.RequestFunc(func(req *http.Request) (*authenticator.Response, bool, error) {
		if req.Header.Get("Authorization") == "Bearer good" {
			return &authenticator.Response{User: &user.DefaultInfo{Name: "alice"}}, true, nil
		}
		return &authenticator.Response{User: &user.DefaultInfo{Name: user.Anonymous, Groups: []string{user.AllUnauthenticated}}}, true, nil
	})
}

func TestAnonymousOnlyForHealthPaths(t *testing.T) {
	a := AnonymousOnlyFor(anonymousInner(), HealthPaths...)
	for _, tc := range []struct {
		path, token string
		cert        bool
		want        string // "" = not authenticated
	}{
		{path: "/readyz", want: user.Anonymous},
		{path: "/livez", want: user.Anonymous},
		{path: "/healthz", want: user.Anonymous},
		{path: "/readyz/etcd", want: ""},
		{path: "/apis/releases.triton.io/v1alpha1/releases", want: ""},
		{path: "/", want: ""},
		{path: "/apis", token: "good", want: "alice"},
		// kube-apiserver's front proxy vouching for system:anonymous: its decision, kept.
		{path: "/apis", cert: true, want: user.Anonymous},
	} {
		req := httptest.NewRequest(http.MethodGet, tc.path, nil)
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		if tc.cert {
			req.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{{}}}
		}
		resp, ok, err := a.AuthenticateRequest(req)
		require.NoError(t, err)
		if tc.want == "" {
			assert.False(t, ok, "%s must not be authenticated", tc.path)
			continue
		}
		require.True(t, ok, tc.path)
		assert.Equal(t, tc.want, resp.User.GetName(), tc.path)
	}
}

func TestWithActionsAnsweringOK(t *testing.T) {
	created := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte("{}"))
	})
	isAction := func(s string) bool { return s == "next" }
	h := WithActionsAnsweringOK(created, "releases.triton.io", "releases", isAction)
	for _, tc := range []struct {
		info *request.RequestInfo
		want int
	}{
		{&request.RequestInfo{IsResourceRequest: true, Verb: "create", APIGroup: "releases.triton.io", Resource: "releases", Subresource: "next"}, http.StatusOK},
		// Creating a release is a 201, as ever.
		{&request.RequestInfo{IsResourceRequest: true, Verb: "create", APIGroup: "releases.triton.io", Resource: "releases"}, http.StatusCreated},
		{&request.RequestInfo{IsResourceRequest: true, Verb: "create", APIGroup: "releases.triton.io", Resource: "releases", Subresource: "status"}, http.StatusCreated},
		{&request.RequestInfo{IsResourceRequest: true, Verb: "create", APIGroup: "other.io", Resource: "releases", Subresource: "next"}, http.StatusCreated},
		{nil, http.StatusCreated},
	} {
		req := httptest.NewRequest(http.MethodPost, "/x", nil)
		if tc.info != nil {
			req = req.WithContext(request.WithRequestInfo(req.Context(), tc.info))
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		assert.Equal(t, tc.want, rec.Code, "%+v", tc.info)
		assert.Equal(t, "{}", rec.Body.String())
	}
}

func TestWithAuthenticationLoadedRefusesAllButProbesUntilTheCAIsLoaded(t *testing.T) {
	loaded := false
	reached := 0
	h := WithAuthenticationLoaded(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		reached++
		w.WriteHeader(http.StatusOK)
	}), func() bool { return loaded }, HealthPaths...)
	serve := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec
	}

	rec := serve("/apis/releases.triton.io/v1alpha1/namespaces/default/releases")
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Equal(t, "1", rec.Header().Get("Retry-After"))
	assert.Contains(t, rec.Body.String(), `"reason":"ServiceUnavailable"`)
	assert.Contains(t, rec.Body.String(), "front-proxy CA is not loaded yet")
	assert.Equal(t, 0, reached, "nothing is authenticated, authorized or served before the CA is loaded")
	for _, p := range HealthPaths {
		assert.Equal(t, http.StatusOK, serve(p).Code, p)
	}

	loaded = true
	assert.Equal(t, http.StatusOK, serve("/apis/releases.triton.io/v1alpha1/namespaces/default/releases").Code)
}
