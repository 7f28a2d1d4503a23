package storagegate

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apiserver/pkg/endpoints/request"
)

var codecs = func() serializer.CodecFactory {
	scheme := runtime.NewScheme()
	metav1.AddToGroupVersion(scheme, metav1.SchemeGroupVersion)
	return serializer.NewCodecFactory(scheme)
}()

// serve sends path through the gate's filter behind a request-info resolver, as in the server.
func serve(g *Gate, path string) (*httptest.ResponseRecorder, bool) {
	reached := false
	inner := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { reached = true; w.WriteHeader(http.StatusOK) })
	resolver := &request.RequestInfoFactory{APIPrefixes: sets.NewString("api", "apis"), GrouplessAPIPrefixes: sets.NewString("api")}
	req := httptest.NewRequest(http.MethodGet, path, nil)
	info, err := resolver.NewRequestInfo(req)
	if err != nil {
		panic(err)
	}
	req = req.WithContext(request.WithRequestInfo(req.Context(), info))
	rec := httptest.NewRecorder()
	g.Filter(inner, "releases.triton.io", codecs).ServeHTTP(rec, req)
	return rec, reached
}

const releasesPath = "/apis/releases.triton.io/v1alpha1/namespaces/default/releases/web"

func TestOpenGatePassesEverything(t *testing.T) {
	g := New()
	for _, path := range []string{releasesPath, releasesPath + "/next", "/apis/releases.triton.io/v1alpha1", "/readyz"} {
		rec, reached := serve(g, path)
		assert.True(t, reached, path)
		assert.Equal(t, http.StatusOK, rec.Code, path)
	}
	assert.NoError(t, g.Check(nil))
}

func TestClosedGateRefusesReleasesWith503AndPassesTheRest(t *testing.T) {
	g := New()
	down := time.Date(2026, 11, 26, 2, 0, 0, 0, time.UTC)
	g.Observe(errors.New("context deadline exceeded"), down.Add(-time.Second))
	g.Observe(errors.New("context deadline exceeded"), down)

	for _, path := range []string{releasesPath, releasesPath + "/next", releasesPath + "/status", "/apis/releases.triton.io/v1alpha1/releases?watch=true"} {
		rec, reached := serve(g, path)
		assert.False(t, reached, "%s must not reach storage", path)
		assert.Equal(t, http.StatusServiceUnavailable, rec.Code, path)
		assert.Equal(t, "1", rec.Header().Get("Retry-After"), path)
		assert.Contains(t, rec.Body.String(), `"reason":"ServiceUnavailable"`, path)
		assert.Contains(t, rec.Body.String(), "has not answered since 2026-11-26T02:00:00Z", path)
	}
	// Discovery, probes and other groups need no etcd of ours.
	for _, path := range []string{"/apis/releases.triton.io/v1alpha1", "/apis", "/livez", "/api/v1/namespaces/default/pods"} {
		_, reached := serve(g, path)
		assert.True(t, reached, path)
	}
	require.Error(t, g.Check(nil))
	assert.Contains(t, g.Check(nil).Error(), "context deadline exceeded")

	// One good probe opens it again.
	g.Observe(nil, down.Add(3*time.Second))
	rec, reached := serve(g, releasesPath)
	assert.True(t, reached)
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.NoError(t, g.Check(nil))
}

func TestOneSlowProbeDoesNotCloseTheGate(t *testing.T) {
	g := New()
	start := time.Date(2026, 11, 26, 2, 0, 0, 0, time.UTC)
	g.Observe(errors.New("slow"), start)
	closed, _, _ := g.Closed()
	assert.False(t, closed, "one failed probe")
	g.Observe(nil, start.Add(time.Second))
	g.Observe(errors.New("slow"), start.Add(2*time.Second))
	closed, _, _ = g.Closed()
	assert.False(t, closed, "failures with a success between them are not in a row")
	_, reached := serve(g, releasesPath)
	assert.True(t, reached)
}

func TestAClosedGateKeepsTheMomentItClosed(t *testing.T) {
	g := New()
	first := time.Date(2026, 11, 26, 2, 0, 0, 0, time.UTC)
	g.Observe(errors.New("a"), first.Add(-time.Second))
	g.Observe(errors.New("a"), first)
	g.Observe(errors.New("b"), first.Add(time.Second))
	closed, since, cause := g.Closed()
	assert.True(t, closed)
	assert.Equal(t, first, since)
	assert.EqualError(t, cause, "b")
}

func TestRunFollowsTheProbe(t *testing.T) {
	g := New()
	g.Interval, g.Timeout = 10*time.Millisecond, 50*time.Millisecond
	var failing atomic.Bool
	connects := 0
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		g.Run(ctx, func() (Probe, func(), error) {
			connects++
			if connects < 3 {
				return nil, nil, errors.New("dial tcp: connection refused")
			}
			return func(ctx context.Context) error {
				if failing.Load() {
					<-ctx.Done() // an unreachable etcd answers nothing until the probe times out
					return ctx.Err()
				}
				return nil
			}, func() {}, nil
		})
	}()
	isClosed := func(want bool) func(context.Context) (bool, error) {
		return func(context.Context) (bool, error) { c, _, _ := g.Closed(); return c == want, nil }
	}
	failing.Store(true)
	require.NoError(t, wait.PollUntilContextTimeout(ctx, 5*time.Millisecond, 10*time.Second, true, isClosed(true)))
	failing.Store(false)
	require.NoError(t, wait.PollUntilContextTimeout(ctx, 5*time.Millisecond, 10*time.Second, true, isClosed(false)))
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	assert.Equal(t, 3, connects, "the probe is made again until etcd can be dialled")
}
