package dashboard

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
)

// static holds the page: its markup, its style and its script.
//
//go:embed static/index.html static/app.js static/app.css
var static embed.FS

// index is static/index.html, a template for one value: the token, which the page's script tag carries
// because a browser fetches a script without the page's headers.
var index = template.Must(template.ParseFS(static, "static/index.html"))

// appJS is the page's script; appCSS its style.
var (
	appJS  = must(static.ReadFile("static/app.js"))
	appCSS = must(static.ReadFile("static/app.css"))
)

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// serveIndex answers the page.
func (s *Server) serveIndex(w http.ResponseWriter, _ *http.Request) {
	var b bytes.Buffer
	if err := index.Execute(&b, struct{ Token string }{s.token}); err != nil {
		writeMessage(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(b.Bytes())
}

// serveAppJS answers the page's script.
func serveAppJS(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	_, _ = w.Write(appJS)
}

// serveAppCSS answers the page's style.
func serveAppCSS(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	_, _ = w.Write(appCSS)
}
