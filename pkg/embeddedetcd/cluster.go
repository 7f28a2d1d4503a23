package embeddedetcd

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/storage/wal"
	"k8s.io/klog/v2"
)

// DefaultClusterToken is the initial cluster token of a cluster of embedded members: part of each
// founding member's identity, so it never changes.
const DefaultClusterToken = "triton-embedded-cluster"

// DefaultListenPeerAddress is where a member of a cluster listens for its peers.
const DefaultListenPeerAddress = "0.0.0.0:2380"

// Member is one member of a cluster as it was founded: its name and the URL its peers reach it at.
type Member struct {
	Name    string
	PeerURL string
}

// PeerCA returns the CAs the members trust (newest first) and the key of the first, which signs this
// member's peer certificate. Every member must get the same CAs: they are kept in one place (a Secret).
type PeerCA func(ctx context.Context) (cas []*x509.Certificate, key crypto.Signer, err error)

// Cluster makes the member one of several that form one etcd cluster. Peers talk over TLS only: each
// member issues its own peer certificate from PeerCA, for the host of its peer URL, and accepts only
// peers whose certificate that CA signed (client certificate authentication on the peer listener).
// Clients still reach a member on 127.0.0.1 only.
//
// How a member starts depends on its data dir and on what its peers answer:
//   - with data: it rejoins with the identity it has, whatever the flags say;
//   - without data, while no peer has served clients yet (a new cluster, or one whose members are all
//     starting): it founds the cluster with the others, from Members;
//   - without data, while the cluster runs and still counts it as a member that has served (its data
//     dir was lost) or not at all (it was removed): it asks to be added again and waits. The members
//     that run remove its old identity and add it anew (etcd's member API), then it joins and receives
//     the data from the leader. See Server.keepMembers.
type Cluster struct {
	// Name is this member's name, one of Members.
	Name string
	// Members is every member the cluster was founded with.
	Members []Member
	// ListenPeerAddress is host:port of the peer listener.
	ListenPeerAddress string
	// Token is the initial cluster token (DefaultClusterToken).
	Token string
	// PeerCA signs the member's peer certificate and tells the CAs to trust.
	PeerCA PeerCA
	// PeerHosts are more names for the member's peer certificate, besides its peer URL's host.
	PeerHosts []string

	// peerCertValidity overrides defaultPeerCertValidity (tests); keepEvery overrides keepInterval.
	peerCertValidity time.Duration
	keepEvery        time.Duration
}

// ParseInitialCluster reads name=peerURL,name=peerURL,... as etcd's --initial-cluster.
func ParseInitialCluster(s string) ([]Member, error) {
	var members []Member
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, peer, ok := strings.Cut(part, "=")
		if !ok || name == "" || peer == "" {
			return nil, fmt.Errorf("%q is not name=peerURL", part)
		}
		members = append(members, Member{Name: name, PeerURL: peer})
	}
	return members, nil
}

// Validate reports a cluster the member cannot be part of.
func (c *Cluster) Validate() error {
	var errs []error
	names, peers := map[string]bool{}, map[string]bool{}
	for _, m := range c.Members {
		if names[m.Name] {
			errs = append(errs, fmt.Errorf("member %s is listed twice", m.Name))
		}
		names[m.Name] = true
		u, err := url.Parse(m.PeerURL)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("member %s: %w", m.Name, err))
		case u.Scheme != "https" || u.Host == "" || u.Port() == "" || (u.Path != "" && u.Path != "/"):
			errs = append(errs, fmt.Errorf("member %s: peer URL %q is not https://host:port", m.Name, m.PeerURL))
		case peers[u.Host]:
			errs = append(errs, fmt.Errorf("member %s: peer URL %q is another member's", m.Name, m.PeerURL))
		}
		if u != nil {
			peers[u.Host] = true
		}
	}
	if len(c.Members) < 2 {
		errs = append(errs, fmt.Errorf("a cluster needs at least two members (three to survive the loss of one), got %d", len(c.Members)))
	}
	if c.Name == "" || !names[c.Name] {
		errs = append(errs, fmt.Errorf("this member's name %q is not one of the cluster's members", c.Name))
	}
	if _, port, err := net.SplitHostPort(c.ListenPeerAddress); err != nil || port == "" || port == "0" {
		errs = append(errs, fmt.Errorf("peer listen address %q is not host:port", c.ListenPeerAddress))
	}
	if c.PeerCA == nil {
		errs = append(errs, errors.New("no peer CA"))
	}
	if c.Token == "" {
		errs = append(errs, errors.New("no initial cluster token"))
	}
	return errors.Join(errs...)
}

// self is this member.
func (c *Cluster) self() Member {
	for _, m := range c.Members {
		if m.Name == c.Name {
			return m
		}
	}
	return Member{}
}

func (c *Cluster) initialCluster() string {
	parts := make([]string, 0, len(c.Members))
	for _, m := range c.Members {
		parts = append(parts, m.Name+"="+m.PeerURL)
	}
	return strings.Join(parts, ",")
}

// peerHosts are the names in this member's peer certificate.
func (c *Cluster) peerHosts() []string {
	u, _ := url.Parse(c.self().PeerURL)
	return append([]string{u.Hostname()}, c.PeerHosts...)
}

// configure sets up cfg for the cluster: peer TLS, peer URLs, and whether it founds the cluster or joins
// it. It may wait (until ctx is done) for the running members to add it again.
func (c *Cluster) configure(ctx context.Context, cfg *embed.Config, tls *peerTLS) error {
	self := c.self()
	peer, err := url.Parse(self.PeerURL)
	if err != nil {
		return err
	}
	cfg.Name = c.Name
	cfg.ListenPeerUrls = []url.URL{{Scheme: "https", Host: c.ListenPeerAddress}}
	cfg.AdvertisePeerUrls = []url.URL{*peer}
	cfg.InitialCluster = c.initialCluster()
	cfg.InitialClusterToken = c.Token
	cfg.PeerTLSInfo = tls.info()
	cfg.StrictReconfigCheck = true
	cfg.ClusterState = embed.ClusterStateFlagNew
	if wal.Exist(filepath.Join(cfg.Dir, "member", "wal")) {
		return nil // etcd goes by its data; the state is not looked at
	}
	members, found := c.remoteMembers(ctx, tls)
	state := joinState(members, found, self.PeerURL)
	switch state {
	case founding:
		klog.InfoS("Embedded etcd: founding the cluster", "member", c.Name, "peers", c.initialCluster())
		return nil
	case joining:
		klog.InfoS("Embedded etcd: joining the running cluster, which already lists this member", "member", c.Name)
	case rejoining:
		klog.InfoS("Embedded etcd: this member has no data but the running cluster knows it as a member that served "+
			"(its data dir was lost), or not at all: asking the running members to add it again", "member", c.Name)
		if err := c.askToBeAdded(ctx, tls); err != nil {
			return err
		}
		klog.InfoS("Embedded etcd: added again, joining the running cluster", "member", c.Name)
	}
	cfg.ClusterState = embed.ClusterStateFlagExisting
	return nil
}

// state is how a member without data starts.
type state int

const (
	// founding: the cluster is new, or its members are all starting; etcd's "new".
	founding state = iota
	// joining: the running cluster lists the member as added but never started; etcd's "existing".
	joining
	// rejoining: the running cluster does not list the member, or lists it as having served; it must be
	// removed and added again before it joins.
	rejoining
)

// remoteMember is a member as a peer's /members lists it.
type remoteMember struct {
	ID         uint64   `json:"id"`
	Name       string   `json:"name"`
	PeerURLs   []string `json:"peerURLs"`
	ClientURLs []string `json:"clientURLs"`
}

// published reports whether the member has served clients: etcd publishes its client URLs once it has
// joined, and a member never started has none.
func (m remoteMember) published() bool { return len(m.ClientURLs) > 0 }

// joinState decides how a member without data starts from what its peers list (found: some peer
// answered, and some member in the list has served).
func joinState(members []remoteMember, found bool, peerURL string) state {
	if !found {
		return founding
	}
	for _, m := range members {
		if slices.Contains(m.PeerURLs, peerURL) {
			if m.published() {
				return rejoining
			}
			if m.Name == "" { // added through the member API, never started
				return joining
			}
			// A founding member that never started, in a cluster the others founded: etcd's "new" lets it in
			// with the identity the others expect.
			return founding
		}
	}
	return rejoining
}

// remoteMembers asks the other members for the cluster's members. found is false when none answered, or
// when no member has served yet (the cluster is being founded).
func (c *Cluster) remoteMembers(ctx context.Context, tls *peerTLS) ([]remoteMember, bool) {
	client, err := tls.client()
	if err != nil {
		klog.ErrorS(err, "Embedded etcd: peer client")
		return nil, false
	}
	defer client.CloseIdleConnections()
	for _, m := range c.Members {
		if m.Name == c.Name {
			continue
		}
		var members []remoteMember
		if err := getJSON(ctx, client, m.PeerURL+"/members", &members); err != nil {
			klog.V(2).InfoS("Embedded etcd: peer did not list the members", "peer", m.Name, "err", err)
			continue
		}
		if slices.ContainsFunc(members, remoteMember.published) {
			return members, true
		}
	}
	return nil, false
}

func getJSON(ctx context.Context, client *http.Client, u string, into any) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return fmt.Errorf("%s: %s", u, resp.Status)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(into)
}
