package claim

import (
	"context"
	"crypto/tls"
	"fmt"
	"sync"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.uber.org/zap"
	"k8s.io/apiserver/pkg/storage/storagebackend"
)

// SessionTTL is how long a lock outlives a server that died holding it.
const SessionTTL = 10

// Locks hands out the per-CloneSet locks.
type Locks struct {
	client *clientv3.Client
	prefix string

	mu      sync.Mutex
	session *concurrency.Session
	turns   map[string]*turn
}

// New returns locks kept under prefix in the etcd client talks to. The client is Locks' to close.
func New(client *clientv3.Client, prefix string) *Locks {
	return &Locks{client: client, prefix: prefix}
}

// Lock takes the lock of CloneSet namespace/name, waiting while another admission holds it, until ctx is
// done. The returned function lets it go. The revision is etcd's once the lock was taken: whatever an
// earlier holder stored before it let go lies at or below it, so a read at that revision sees it.
func (l *Locks) Lock(ctx context.Context, namespace, name string) (func(), int64, error) {
	key := fmt.Sprintf("%s/%s/%s", l.prefix, namespace, name)
	// Within this server first: an etcd mutex is one key per session, so two holders in one session
	// would be one.
	local, err := l.local(ctx, key)
	if err != nil {
		return nil, 0, err
	}
	session, err := l.currentSession(ctx)
	if err != nil {
		local()
		return nil, 0, err
	}
	m := concurrency.NewMutex(session, key)
	if err := m.Lock(ctx); err != nil {
		local()
		return nil, 0, err
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		// Should this fail, the lock goes with the session's lease (SessionTTL) or the next Lock's.
		_ = m.Unlock(ctx)
		local()
	}, m.Header().GetRevision(), nil
}

// local takes the in-process turn of key, waiting until ctx is done.
func (l *Locks) local(ctx context.Context, key string) (func(), error) {
	l.mu.Lock()
	if l.turns == nil {
		l.turns = map[string]*turn{}
	}
	t := l.turns[key]
	if t == nil {
		t = &turn{ch: make(chan struct{}, 1)}
		l.turns[key] = t
	}
	t.users++
	l.mu.Unlock()
	done := func() {
		l.mu.Lock()
		if t.users--; t.users == 0 {
			delete(l.turns, key)
		}
		l.mu.Unlock()
	}
	select {
	case t.ch <- struct{}{}:
		return func() { <-t.ch; done() }, nil
	case <-ctx.Done():
		done()
		return nil, ctx.Err()
	}
}

// turn is one key's in-process lock; users counts those holding or waiting for it.
type turn struct {
	ch    chan struct{}
	users int
}

// currentSession is the server's etcd session (one lease kept alive for all its locks), made anew once
// the last one expired (etcd was away longer than its TTL).
func (l *Locks) currentSession(ctx context.Context) (*concurrency.Session, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.session != nil {
		select {
		case <-l.session.Done():
			l.session = nil
		default:
			return l.session, nil
		}
	}
	// The lease is granted within the caller's deadline; kept alive for as long as the server runs.
	lease, err := l.client.Grant(ctx, SessionTTL)
	if err != nil {
		return nil, err
	}
	s, err := concurrency.NewSession(l.client, concurrency.WithLease(lease.ID), concurrency.WithContext(context.WithoutCancel(ctx)))
	if err != nil {
		return nil, err
	}
	l.session = s
	return s, nil
}

// Close ends the session (its locks go with it) and the client.
func (l *Locks) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.session != nil {
		_ = l.session.Close()
		l.session = nil
	}
	return l.client.Close()
}

// Dial connects to the etcd of a storage transport (its servers and TLS files), as the storage does.
func Dial(t storagebackend.TransportConfig) (*clientv3.Client, error) {
	var tlsConfig *tls.Config
	if t.CertFile != "" || t.KeyFile != "" || t.TrustedCAFile != "" {
		info := transport.TLSInfo{CertFile: t.CertFile, KeyFile: t.KeyFile, TrustedCAFile: t.TrustedCAFile}
		c, err := info.ClientConfig()
		if err != nil {
			return nil, err
		}
		tlsConfig = c
	}
	return clientv3.New(clientv3.Config{
		Endpoints:   t.ServerList,
		TLS:         tlsConfig,
		DialTimeout: 20 * time.Second,
		Logger:      zap.NewNop(),
	})
}
