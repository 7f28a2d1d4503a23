package filters

import (
	"fmt"
	"net/http"
	"strings"
)

// WithAuthenticationLoaded answers 503 with Retry-After to every request but the health probes while
// loaded reports false. k8s.io/apiserver starts serving before its informer has read kube-apiserver's
// front-proxy CA (configmap kube-system/extension-apiserver-authentication); a request kube-apiserver
// forwards in that moment cannot be verified and was taken for system:anonymous (seen: the first
// request after every restart was a 403 for "system:anonymous"). The caller is told to retry instead, which
// client-go does by itself when it sees Retry-After.
func WithAuthenticationLoaded(handler http.Handler, loaded func() bool, healthPaths ...string) http.Handler {
	health := make(map[string]bool, len(healthPaths))
	for _, p := range healthPaths {
		health[p] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if health[req.URL.Path] || loaded() {
			handler.ServeHTTP(w, req)
			return
		}
		w.Header().Set("Retry-After", "1")
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusServiceUnavailable)
		msg := "triton-apiserver is starting: the front-proxy CA is not loaded yet, so the caller cannot be authenticated; retry"
		// A client gone before its answer is written: nothing more to do.
		_, _ = fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":%q,"reason":"ServiceUnavailable","code":503}`+"\n",
			strings.TrimSpace(msg))
	})
}
