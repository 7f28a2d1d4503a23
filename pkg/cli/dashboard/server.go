package dashboard

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/triton-io/triton/pkg/generated/clientset/versioned"
)

// Config is what a dashboard serves and how it is reached.
type Config struct {
	// Client reads and moves the releases, with the user's own credentials.
	Client versioned.Interface
	// Namespace is the only namespace shown; "" shows every namespace the user may list.
	Namespace string
	// Pods reads the pods of a release's CloneSet for its pod map, with the user's own credentials; nil
	// leaves the map to the batches' pods in the release's status.
	Pods corev1client.PodsGetter
	// Token is the secret every request must carry; "" makes New generate one.
	Token string
}

// Server is the dashboard's HTTP server core: the guard, the JSON API, the event stream and the page.
type Server struct {
	client    versioned.Interface
	pods      corev1client.PodsGetter
	namespace string
	// now is the clock of the timelines.
	now   func() time.Time
	token string
	// pingEvery is how often the event stream sends a comment, so that proxies and the browser keep it open.
	pingEvery time.Duration

	mu sync.RWMutex
	// allowedHosts are the Host headers accepted: the loopback names with the port Listen bound. Empty
	// until then, so that nothing is accepted.
	allowedHosts map[string]bool
}

// tokenBytes is the token's entropy: 256 bits, out of reach of guessing.
const tokenBytes = 32

// New makes a dashboard server; without a token, it generates a random one.
func New(c Config) (*Server, error) {
	if c.Client == nil {
		return nil, errors.New("dashboard: no clientset")
	}
	token := c.Token
	if token == "" {
		var err error
		if token, err = newToken(); err != nil {
			return nil, err
		}
	}
	return &Server{client: c.Client, pods: c.Pods, namespace: c.Namespace, token: token, now: time.Now,
		pingEvery: 15 * time.Second}, nil
}

// newToken is 32 random bytes, URL-safe so that it goes into a URL as it is.
func newToken() (string, error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Handler is the whole dashboard: every request goes through the guard first.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.serveIndex)
	mux.HandleFunc("GET /app.js", serveAppJS)
	mux.HandleFunc("GET /app.css", serveAppCSS)
	mux.HandleFunc("GET /api/releases", s.listReleases)
	mux.HandleFunc("GET /api/releases/{namespace}/{name}", s.getRelease)
	mux.HandleFunc("GET /api/releases/{namespace}/{name}/view", s.viewRelease)
	mux.HandleFunc("POST /api/releases/{namespace}/{name}/{verb}", s.act)
	mux.HandleFunc("GET /api/events", s.events)
	// Anything else under /api/ is a JSON 404, whatever the method, so the page sees one kind of error.
	mux.HandleFunc("/api/", func(w http.ResponseWriter, _ *http.Request) {
		writeMessage(w, http.StatusNotFound, "no such API")
	})
	return s.guard(mux)
}

// Serve answers on l until ctx ends. The requests' contexts derive from ctx, so that open event streams
// end with it and the shutdown does not wait for them.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		// No WriteTimeout: the event stream stays open as long as the page does.
		BaseContext: func(net.Listener) context.Context { return ctx },
	}
	served := make(chan struct{})
	shutDown := make(chan struct{})
	go func() {
		defer close(shutDown)
		select {
		case <-ctx.Done():
		case <-served:
			return
		}
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	err := srv.Serve(l)
	close(served)
	<-shutDown
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
