package embeddedetcd

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"k8s.io/klog/v2"
)

// A member without data that the running cluster must add again says so on its peer address, before
// etcd listens there: GET rejoinPath answers who it is. The running members look there (keepMembers);
// only a holder of a certificate from the peer CA can ask, or read the answer.
const rejoinPath = "/triton/rejoin"

// keepInterval is how often the leader looks for members asking to be added again.
const keepInterval = 10 * time.Second

// rejoinRequest is what a member asking to be added again answers on rejoinPath.
type rejoinRequest struct {
	Name    string `json:"name"`
	PeerURL string `json:"peerURL"`
}

// askToBeAdded serves rejoinPath on the peer address until the running cluster lists this member as
// added and never started, then returns (the caller starts etcd, which joins).
func (c *Cluster) askToBeAdded(ctx context.Context, p *peerTLS) error {
	config, err := p.tlsConfig()
	if err != nil {
		return err
	}
	l, err := tls.Listen("tcp", c.ListenPeerAddress, config)
	if err != nil {
		return err
	}
	self := c.self()
	body, _ := json.Marshal(rejoinRequest{Name: self.Name, PeerURL: self.PeerURL}) //nolint:staticcheck // S1016: the request names what it sends field by field, so that Member may grow without changing it
	mux := http.NewServeMux()
	mux.HandleFunc(rejoinPath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	defer srv.Close()

	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	logged := time.Now()
	for {
		members, found := c.remoteMembers(ctx, p)
		if found && joinState(members, found, self.PeerURL) == joining {
			return nil
		}
		if time.Since(logged) > 30*time.Second {
			klog.InfoS("Embedded etcd: still waiting for the running members to add this member again "+
				"(it takes a running leader and a quorum of healthy members)", "member", c.Name)
			logged = time.Now()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// keepMembers, on the leader, adds again the members that ask to (their data dir was lost, or they were
// removed): their old identity is removed and a new one added for the same peer URL, through etcd's
// member API. It runs until ctx is done.
func (s *Server) keepMembers(ctx context.Context, c *Cluster, p *peerTLS) {
	every := c.keepEvery
	if every == 0 {
		every = keepInterval
	}
	client, err := clientv3.New(clientv3.Config{Endpoints: []string{s.ClientURL}, DialTimeout: 10 * time.Second,
		Logger: zap.NewNop()})
	if err != nil {
		klog.ErrorS(err, "Embedded etcd: membership client")
		return
	}
	defer client.Close()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if s.etcd.Server.Leader() != s.etcd.Server.MemberID() {
			continue
		}
		peers, err := p.client()
		if err != nil {
			klog.ErrorS(err, "Embedded etcd: peer client")
			continue
		}
		for _, m := range c.Members {
			if m.Name == c.Name {
				continue
			}
			var req rejoinRequest
			if err := getJSON(ctx, peers, m.PeerURL+rejoinPath, &req); err != nil {
				continue // a running member answers 404; a stopped one not at all
			}
			if req.Name != m.Name || req.PeerURL != m.PeerURL {
				klog.InfoS("Embedded etcd: a peer asks to be added under another name or URL; ignored",
					"expected", m.Name, "name", req.Name, "peerURL", req.PeerURL)
				continue
			}
			if err := readd(ctx, client, m); err != nil && ctx.Err() == nil {
				klog.ErrorS(err, "Embedded etcd: cannot add the member again", "member", m.Name)
			}
		}
		peers.CloseIdleConnections()
	}
}

// readd removes the member with m's peer URL, if it has started before, and adds it anew.
func readd(ctx context.Context, client *clientv3.Client, m Member) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	list, err := client.MemberList(ctx)
	if err != nil {
		return err
	}
	for _, old := range list.Members {
		if !slices.Contains(old.PeerURLs, m.PeerURL) {
			continue
		}
		if old.Name == "" && len(old.ClientURLs) == 0 {
			return nil // added already, not started yet
		}
		if _, err := client.MemberRemove(ctx, old.ID); err != nil {
			return err
		}
		klog.InfoS("Embedded etcd: removed a member that lost its data, to add it again", "member", m.Name,
			"id", old.ID)
	}
	added, err := client.MemberAdd(ctx, []string{m.PeerURL})
	if err != nil {
		return err
	}
	klog.InfoS("Embedded etcd: added the member again", "member", m.Name, "id", added.Member.ID)
	return nil
}
