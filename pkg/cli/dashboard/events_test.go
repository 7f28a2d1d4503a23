package dashboard

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

// sse reads a server-sent event stream one message at a time.
type sse struct{ r *bufio.Reader }

// message is the next message: its event name and data, or a comment's text with event "".
func (s sse) next(t *testing.T) (event, data string) {
	t.Helper()
	for {
		line, err := s.r.ReadString('\n')
		require.NoError(t, err, "the stream ended before the message waited for")
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			return event, data
		case strings.HasPrefix(line, ":"):
			data = strings.TrimSpace(line[1:])
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data += strings.TrimPrefix(line, "data: ")
		}
	}
}

// until reads release events until one satisfies ok, and returns it.
func (s sse) until(t *testing.T, ok func(releaseEvent) bool) releaseEvent {
	t.Helper()
	for {
		event, data := s.next(t)
		if event != "release" {
			continue
		}
		var ev releaseEvent
		require.NoError(t, json.Unmarshal([]byte(data), &ev), data)
		if ok(ev) {
			return ev
		}
	}
}

// openEvents serves s on a real loopback socket and opens its event stream. The stream and the server
// end with ctx.
func openEvents(t *testing.T, ctx context.Context, s *Server) sse {
	t.Helper()
	l, u, err := s.Listen("127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, l) }()
	t.Cleanup(func() { assert.NoError(t, <-served) })

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.Replace(u, "/?", "/api/events?", 1), nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { _ = resp.Body.Close() })
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	stream := sse{r: bufio.NewReader(resp.Body)}
	event, data := stream.next(t)
	require.Equal(t, "", event)
	require.Equal(t, "open", data)
	return stream
}

// TestEventsFollowTheReleases: every release first comes as ADDED, then a change made through the
// clientset as MODIFIED, and a deletion as DELETED.
func TestEventsFollowTheReleases(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, cs := newTestServer(t, release("a", "web", "Progressing", 1, "Smoking", "Pending"), release("b", "api", "Pending", 0))
	stream := openEvents(t, ctx, s)

	seen := map[string]bool{}
	stream.until(t, func(ev releaseEvent) bool {
		assert.Equal(t, "ADDED", ev.Type)
		seen[ev.Release.Namespace+"/"+ev.Release.Name] = true
		return len(seen) == 2
	})
	assert.Equal(t, map[string]bool{"a/web": true, "b/api": true}, seen)

	releases := cs.ReleasesV1alpha1().Releases("a")
	r, err := releases.Get(ctx, "web", metav1.GetOptions{})
	require.NoError(t, err)
	r.Status.Batches[0].Phase = v1alpha1.BatchSmoked
	withCondition(r, v1alpha1.ConditionAwaitingNext, "batch 1 is Smoked")
	_, err = releases.UpdateStatus(ctx, r, metav1.UpdateOptions{})
	require.NoError(t, err)
	ev := stream.until(t, func(ev releaseEvent) bool { return ev.Type == "MODIFIED" })
	assert.Equal(t, "web", ev.Release.Name)
	assert.Equal(t, "Smoked", ev.Release.BatchPhase)
	assert.True(t, ev.Release.AwaitingNext)
	assert.Equal(t, "batch 1 is Smoked", ev.Release.WaitingFor)

	require.NoError(t, releases.Delete(ctx, "web", metav1.DeleteOptions{}))
	ev = stream.until(t, func(ev releaseEvent) bool { return ev.Type == "DELETED" })
	assert.Equal(t, "a", ev.Release.Namespace)
	assert.Equal(t, "web", ev.Release.Name)
}

func TestEventsPing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, _ := newTestServer(t)
	s.pingEvery = time.Millisecond
	stream := openEvents(t, ctx, s)
	for {
		if event, data := stream.next(t); event == "" && data == "ping" {
			return
		}
	}
}
