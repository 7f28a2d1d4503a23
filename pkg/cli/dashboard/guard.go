package dashboard

import (
	"crypto/subtle"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// TokenHeader is the header the page's script sends the token in.
const TokenHeader = "X-Triton-Token"

// contentSecurityPolicy lets the page run only its own script and style, talk only to this server, and be
// framed by nobody: a name or a reason that slipped into markup still could not run.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; frame-ancestors 'none'"

// guard checks every request before next sees it: the Host (DNS rebinding), the token, and for a call
// that changes something its Origin and Content-Type (cross-site requests). The security headers go on
// every answer, refusals included.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")

		// First the Host: a rebinding page must learn nothing, not even whether its token is right.
		if !s.hostAllowed(r.Host) {
			refuse(w, http.StatusForbidden, "forbidden: the dashboard answers only on its loopback address")
			return
		}
		if !s.tokenOK(r) {
			refuse(w, http.StatusUnauthorized, "unauthorized: open the dashboard with the URL it printed, token included")
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			// A browser always sends Origin on a cross-origin POST, and on a same-origin one too; a request
			// without it is not the page's.
			if r.Header.Get("Origin") != "http://"+r.Host {
				refuse(w, http.StatusForbidden, "forbidden: cross-origin request")
				return
			}
			// A cross-site form can only send form or text bodies; JSON also needs a preflight the
			// server never grants.
			if r.Method == http.MethodPost && !isJSON(r.Header.Get("Content-Type")) {
				refuse(w, http.StatusUnsupportedMediaType, "unsupported media type: send application/json")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// refuse answers a request the guard stops, in a short text: the caller may not be the page.
func refuse(w http.ResponseWriter, code int, text string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(text + "\n"))
}

// tokenOK says whether the request carries the token: in the header, or on a GET or HEAD in the URL (the
// URL printed for the user, and the page's own assets, which a browser fetches without headers). A call
// that changes something must send the header. The comparison takes the same time whatever matches.
func (s *Server) tokenOK(r *http.Request) bool {
	got := r.Header.Get(TokenHeader)
	if got == "" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		got = r.URL.Query().Get("token")
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.token)) == 1
}

// hostAllowed says whether host is one of the loopback names with the port the server listens on.
func (s *Server) hostAllowed(host string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.allowedHosts[strings.ToLower(host)]
}

// allowPort sets the Host headers accepted: the loopback names with port.
func (s *Server) allowPort(port int) {
	p := strconv.Itoa(port)
	hosts := map[string]bool{"127.0.0.1:" + p: true, "localhost:" + p: true, "[::1]:" + p: true}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.allowedHosts = hosts
}

// isJSON says whether a Content-Type is application/json (parameters such as charset aside).
func isJSON(contentType string) bool {
	t, _, err := mime.ParseMediaType(contentType)
	return err == nil && t == "application/json"
}
