package filters

import (
	"net/http"

	"k8s.io/apiserver/pkg/endpoints/responsewriter"
)

// WithVersionHeader sets the response header name to value on every answer of handler: before handler
// runs, and again when it writes its status, in case an inner filter cleared the headers (WithoutRedirects
// does, for a redirect it refuses). It is meant as the chain's outermost filter, so that every answer
// carries it, errors and unauthenticated answers included. kube-apiserver's aggregator copies an
// aggregated server's response headers to its own answer, so a client reads the header through it.
func WithVersionHeader(handler http.Handler, name, value string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set(name, value)
		handler.ServeHTTP(responsewriter.WrapForHTTP1Or2(&headerWriter{ResponseWriter: w, name: name, value: value}), req)
	})
}

type headerWriter struct {
	http.ResponseWriter
	name, value string
	wroteHeader bool
}

var _ responsewriter.UserProvidedDecorator = &headerWriter{}

func (w *headerWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *headerWriter) WriteHeader(code int) {
	w.wroteHeader = true
	w.ResponseWriter.Header().Set(w.name, w.value)
	w.ResponseWriter.WriteHeader(code)
}

func (w *headerWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}
