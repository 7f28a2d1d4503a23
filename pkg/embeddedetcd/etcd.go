package embeddedetcd

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

// startTimeout bounds how long a member may take to replay its WAL and elect itself.
const startTimeout = 2 * time.Minute

// Server is a running embedded etcd member.
type Server struct {
	etcd *embed.Etcd
	lock *os.File
	// ClientURL is where the member serves its clients: a loopback address with a port the kernel chose.
	ClientURL string
}

// Start starts a member that keeps its data in dataDir (created if missing) and serves clients on
// 127.0.0.1 only. It returns once the member can serve requests.
func Start(ctx context.Context, dataDir string) (*Server, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("embedded etcd: data dir: %w", err)
	}
	// etcd itself would wait forever for a data dir held by another process; refuse at once instead.
	lock, err := lockDataDir(dataDir)
	if err != nil {
		return nil, err
	}
	started := false
	defer func() {
		if !started {
			lock.Close()
		}
	}()
	cfg := embed.NewConfig()
	cfg.Name = "triton"
	cfg.Dir = dataDir
	cfg.LogLevel = "warn"
	// Port 0: the kernel picks a free port; nothing outside this process needs to know it.
	client := url.URL{Scheme: "http", Host: "127.0.0.1:0"}
	cfg.ListenClientUrls = []url.URL{client}
	cfg.AdvertiseClientUrls = []url.URL{client}
	// A single member never talks to peers: no peer listener. The advertised peer URL is only the
	// member's identity in its (one-member) cluster and must stay the same across restarts.
	cfg.ListenPeerUrls = nil
	peer := url.URL{Scheme: "http", Host: "localhost:2380"}
	cfg.AdvertisePeerUrls = []url.URL{peer}
	cfg.InitialCluster = cfg.Name + "=" + peer.String()
	cfg.InitialClusterToken = "triton-embedded"

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("embedded etcd in %s: %w", dataDir, err)
	}
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("embedded etcd in %s: %w", dataDir, err)
	case <-timer.C:
		e.Close()
		return nil, fmt.Errorf("embedded etcd in %s: not ready after %s", dataDir, startTimeout)
	case <-ctx.Done():
		e.Close()
		return nil, ctx.Err()
	}
	if len(e.Clients) == 0 {
		e.Close()
		return nil, errors.New("embedded etcd: no client listener")
	}
	started = true
	return &Server{etcd: e, lock: lock, ClientURL: "http://" + e.Clients[0].Addr().String()}, nil
}

func lockDataDir(dataDir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dataDir, "triton.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("embedded etcd: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("embedded etcd: data dir %s is in use by another process: %w", dataDir, err)
	}
	return f, nil
}

// Err reports a fatal error of the running member.
func (s *Server) Err() <-chan error { return s.etcd.Err() }

// Stop stops the member gracefully; its data stays in the data dir.
func (s *Server) Stop() {
	s.etcd.Close()
	s.lock.Close() // closing the file releases the lock
}
