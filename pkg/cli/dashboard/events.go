package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

// releaseEvent is the data of one "release" event of GET /api/events.
type releaseEvent struct {
	// Type is ADDED, MODIFIED or DELETED.
	Type    string  `json:"type"`
	Release Summary `json:"release"`
}

// events streams the releases' changes as server-sent events until the page goes away: first an ADDED
// for every release, then each change. It is an informer behind a watch.Interface: a watch the API server
// drops, or that expired, resumes by itself (with a list again, whose differences come as events).
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	releases := s.client.ReleasesV1alpha1().Releases(s.namespace)
	// A user who may not list releases gets the server's 403 now: the informer would only retry, and the
	// stream stay silent.
	if _, err := releases.List(ctx, metav1.ListOptions{Limit: 1}); err != nil {
		writeError(w, err)
		return
	}
	lw := cache.ToListWatcherWithWatchListSemantics(&cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			return releases.List(ctx, opts)
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			return releases.Watch(ctx, opts)
		},
	}, s.client)
	_, _, watcher, done := watchtools.NewIndexerInformerWatcher(lw, &v1alpha1.Release{})
	defer func() {
		watcher.Stop()
		<-done
	}()

	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	// The first comment tells the page the stream is open before any release changes.
	if !send(w, rc, ": open\n\n") {
		return
	}
	ping := time.NewTicker(s.pingEvery)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ping.C:
			if !send(w, rc, ": ping\n\n") {
				return
			}
		case ev, ok := <-watcher.ResultChan():
			if !ok {
				return
			}
			rel, isRelease := ev.Object.(*v1alpha1.Release)
			if !isRelease {
				continue
			}
			data, err := json.Marshal(releaseEvent{Type: string(ev.Type), Release: summarize(rel)})
			if err != nil {
				continue
			}
			if !send(w, rc, fmt.Sprintf("event: release\ndata: %s\n\n", data)) {
				return
			}
		}
	}
}

// sendTimeout bounds the write of one message. A page that reads slower than the releases change would
// otherwise leave the events to pile up in the informer's queue; past it the stream ends, and the
// browser's EventSource reconnects and starts again from a list.
const sendTimeout = 10 * time.Second

// send writes one message of the stream and flushes it, within sendTimeout; false once the page is gone
// or too slow.
func send(w http.ResponseWriter, rc *http.ResponseController, msg string) bool {
	// Not every ResponseWriter can take a deadline (a test's recorder cannot): then there is none.
	_ = rc.SetWriteDeadline(time.Now().Add(sendTimeout))
	if _, err := w.Write([]byte(msg)); err != nil {
		return false
	}
	return rc.Flush() == nil
}
