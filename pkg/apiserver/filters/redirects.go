package filters

import (
	"net/http"

	"k8s.io/apiserver/pkg/endpoints/responsewriter"
)

// WithoutRedirects makes sure the server never answers with a redirect (a 3xx other than 304). kube-apiserver proxies
// aggregated APIs; a redirect from behind it would point the caller somewhere the caller did not ask
// to go (CVE-2022-3172). A handler that tries to redirect (the generic server's /debug/pprof does)
// answers 404 instead, with neither its Location header nor its body.
func WithoutRedirects(handler http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		handler.ServeHTTP(responsewriter.WrapForHTTP1Or2(&noRedirectWriter{ResponseWriter: w}), req)
	})
}

type noRedirectWriter struct {
	http.ResponseWriter
	wroteHeader bool
	refused     bool
}

var _ responsewriter.UserProvidedDecorator = &noRedirectWriter{}

func (w *noRedirectWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *noRedirectWriter) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	w.wroteHeader = true
	if isRedirect(code) {
		w.refused = true
		h := w.ResponseWriter.Header()
		for k := range h {
			delete(h, k)
		}
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("X-Content-Type-Options", "nosniff")
		w.ResponseWriter.WriteHeader(http.StatusNotFound)
		_, _ = w.ResponseWriter.Write([]byte("404 page not found\n"))
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

// isRedirect: every 3xx but 304 Not Modified, which the aggregator's OpenAPI downloader relies on
// (it sends If-None-Match) and which points nowhere.
func isRedirect(code int) bool {
	return code >= 300 && code < 400 && code != http.StatusNotModified
}

func (w *noRedirectWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.refused {
		// The redirect's body names where it pointed: drop it.
		return len(p), nil
	}
	return w.ResponseWriter.Write(p)
}
