package filters

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestWithVersionHeaderOnEveryAnswer(t *testing.T) {
	for name, inner := range map[string]http.HandlerFunc{
		"200": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte("{}"))
		},
		"a write without a status": func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("x")) },
		"401":                      func(w http.ResponseWriter, r *http.Request) { http.Error(w, "Unauthorized", http.StatusUnauthorized) },
		"503":                      func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) },
		"headers cleared first": func(w http.ResponseWriter, r *http.Request) {
			for k := range w.Header() {
				delete(w.Header(), k)
			}
			w.WriteHeader(http.StatusForbidden)
		},
		// WithoutRedirects clears every header of a redirect it refuses.
		"a refused redirect": WithoutRedirects(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://elsewhere.example/", http.StatusFound)
		})).ServeHTTP,
	} {
		rec := httptest.NewRecorder()
		WithVersionHeader(inner, "Triton-Version", "v1.2.3").ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/apis/releases.triton.io/v1alpha1", nil))
		assert.Equal(t, "v1.2.3", rec.Result().Header.Get("Triton-Version"), name)
		assert.Len(t, rec.Result().Header.Values("Triton-Version"), 1, name)
	}
}

func TestWithVersionHeaderKeepsFlushing(t *testing.T) {
	var flushable bool
	h := WithVersionHeader(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, flushable = w.(http.Flusher)
	}), "Triton-Version", "v1.2.3")
	h.ServeHTTP(http2Writer{httptest.NewRecorder()}, httptest.NewRequest(http.MethodGet, "/", nil))
	assert.True(t, flushable, "watches stream: the writer must still flush")
}
