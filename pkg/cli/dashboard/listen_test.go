package dashboard

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestListenRefusesAllButLoopback(t *testing.T) {
	s, err := New(Config{Client: fakeClient()})
	require.NoError(t, err)
	for _, addr := range []string{
		"0.0.0.0:0", // every interface
		":0",        // the same, unnamed
		"[::]:0",
		"192.0.2.10:0", // an interface's address
		"10.0.0.1:8080",
		"example.com:0",
		"127.0.0.2:0", // loopback too, but not one a browser's Host check would name
		"127.0.0.1",   // no port
		"127.0.0.1:http",
		"127.0.0.1:70000",
	} {
		t.Run(addr, func(t *testing.T) {
			l, _, err := s.Listen(addr)
			if l != nil {
				_ = l.Close()
			}
			assert.Error(t, err)
		})
	}
}

func TestListenLoopback(t *testing.T) {
	s, err := New(Config{Client: fakeClient()})
	require.NoError(t, err)
	for _, addr := range []string{"127.0.0.1:0", "localhost:0"} {
		t.Run(addr, func(t *testing.T) {
			l, u, err := s.Listen(addr)
			require.NoError(t, err)
			defer l.Close()
			tcp := l.Addr().(*net.TCPAddr)
			assert.True(t, tcp.IP.IsLoopback())
			assert.NotZero(t, tcp.Port)
			assert.Equal(t, fmt.Sprintf("http://127.0.0.1:%d/?token=%s", tcp.Port, s.token), u)
			assert.True(t, s.hostAllowed(fmt.Sprintf("localhost:%d", tcp.Port)), "the real port is recorded")
			assert.False(t, s.hostAllowed("localhost:0"))
		})
	}
}

// TestServe goes through a real socket: the URL Listen returns opens the page, a foreign Host is refused,
// and Serve returns once its context ends.
func TestServe(t *testing.T) {
	s, err := New(Config{Client: fakeClient()})
	require.NoError(t, err)
	l, u, err := s.Listen("127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, l) }()

	resp, err := http.Get(u)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(body), "<table")

	parsed, err := url.Parse(u)
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodGet, u, nil)
	require.NoError(t, err)
	req.Host = "rebound.example:" + parsed.Port()
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)

	cancel()
	assert.NoError(t, <-served)
}
