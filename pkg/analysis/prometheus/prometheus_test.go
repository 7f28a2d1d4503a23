package prometheus

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakePrometheus answers every query with body and records what it was asked.
type fakePrometheus struct {
	mu      sync.Mutex
	queries []string
	tokens  []string
}

func (f *fakePrometheus) serve(t *testing.T, body string) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/query" {
			http.NotFound(w, r)
			return
		}
		require.NoError(t, r.ParseForm())
		f.mu.Lock()
		f.queries = append(f.queries, r.PostForm.Get("query"))
		f.tokens = append(f.tokens, r.Header.Get("Authorization"))
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprint(w, body)
	}))
	t.Cleanup(s.Close)
	return s
}

func vector(values ...string) string {
	var samples []string
	for i, v := range values {
		samples = append(samples, fmt.Sprintf(`{"metric":{"pod":"p%d"},"value":[1700000000.1,%q]}`, len(values)-i, v))
	}
	return `{"status":"success","data":{"resultType":"vector","result":[` + strings.Join(samples, ",") + `]}}`
}

func TestMeasureReadsANumberOrAList(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, body string
		want       interface{}
		shown      string
	}{
		{"a scalar", `{"status":"success","data":{"resultType":"scalar","result":[1700000000.1,"0.25"]}}`, 0.25, "0.25"},
		{"a vector of one sample", vector("0.002"), 0.002, "0.002"},
		{"a vector of several, in the order of their labels", vector("3", "1", "2"), []float64{2, 1, 3}, "[2, 1, 3]"},
		{"+Inf", vector("+Inf"), math.Inf(1), "+Inf"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakePrometheus{}
			c, err := New(Options{Address: f.serve(t, tc.body).URL})
			require.NoError(t, err)
			got, err := c.Measure(ctx, `rate(http_requests_total{code="500"}[1m])`, "shop")
			require.NoError(t, err)
			assert.Equal(t, tc.want, got.Value())
			assert.Equal(t, tc.shown, got.String())
			// What was sent is kept inside the namespace.
			assert.Equal(t, []string{`rate(http_requests_total{code="500",namespace="shop"}[1m])`}, f.queries)
		})
	}
}

// What measures nothing, or cannot be read, is an error: never a number a condition could pass.
func TestMeasureRefusesWhatIsNotAMeasurement(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, body string
		noData     bool
	}{
		{"an empty vector", vector(), true},
		{"NaN", vector("NaN"), true},
		{"a matrix", `{"status":"success","data":{"resultType":"matrix","result":[]}}`, false},
		{"a string", `{"status":"success","data":{"resultType":"string","result":[1,"x"]}}`, false},
		{"an error", `{"status":"error","errorType":"bad_data","error":"parse error"}`, false},
		{"not JSON", `<html>proxy error</html>`, false},
		{"too many samples", vector(strings.Split(strings.Repeat("1,", MaxSamples+1), ",")[:MaxSamples+1]...), false},
		{"too large", `{"status":"success","data":{"resultType":"vector","result":[` + strings.Repeat(" ", MaxAnswer) + `]}}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(Options{Address: (&fakePrometheus{}).serve(t, tc.body).URL})
			require.NoError(t, err)
			_, err = c.Measure(ctx, "up", "shop")
			require.Error(t, err)
			assert.Equal(t, tc.noData, errors.Is(err, ErrNoData), "%v", err)
		})
	}
}

func TestAQueryThatDoesNotParseIsNotSent(t *testing.T) {
	f := &fakePrometheus{}
	c, err := New(Options{Address: f.serve(t, vector("1")).URL})
	require.NoError(t, err)
	_, err = c.Measure(context.Background(), "sum(", "shop")
	require.Error(t, err)
	assert.Empty(t, f.queries)
}

// A redirect is not followed: the query and the token go to Prometheus and nowhere else.
func TestARedirectIsNotFollowed(t *testing.T) {
	elsewhere := &fakePrometheus{}
	target := elsewhere.serve(t, vector("1"))
	redirecting := httptest.NewServer(http.RedirectHandler(target.URL+"/api/v1/query", http.StatusTemporaryRedirect))
	t.Cleanup(redirecting.Close)
	c, err := New(Options{Address: redirecting.URL})
	require.NoError(t, err)
	_, err = c.Measure(context.Background(), "up", "shop")
	require.Error(t, err)
	assert.Empty(t, elsewhere.queries)
}

func TestASlowPrometheusTimesOut(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release); slow.Close() })
	c, err := New(Options{Address: slow.URL, Timeout: 200 * time.Millisecond})
	require.NoError(t, err)
	_, err = c.Measure(context.Background(), "up", "shop")
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

// The bearer token is read from its file (client-go's file token source, which reads it again in time).
func TestTheBearerTokenComesFromItsFile(t *testing.T) {
	f := &fakePrometheus{}
	file := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(file, []byte("first\n"), 0o600))
	c, err := New(Options{Address: f.serve(t, vector("1")).URL, BearerTokenFile: file})
	require.NoError(t, err)
	_, err = c.Measure(context.Background(), "up", "shop")
	require.NoError(t, err)
	assert.Equal(t, []string{"Bearer first"}, f.tokens)
}

func TestAnAddressMustBeHTTP(t *testing.T) {
	for _, address := range []string{"", "prometheus:9090", "ftp://prometheus", "file:///etc/passwd", "http://"} {
		_, err := New(Options{Address: address})
		assert.Error(t, err, address)
	}
}
