package embeddedetcd

import (
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/triton-io/triton/pkg/servingcert"
	"github.com/triton-io/triton/test/ports"
)

// testCA is a peer CA as the Secret would hold it, counting how often members read it.
func testCA(t *testing.T) PeerCA {
	t.Helper()
	b, _, err := servingcert.Renew(nil, servingcert.Policy{CAValidity: time.Hour, CertValidity: time.Hour}, time.Now(), nil)
	require.NoError(t, err)
	return func(context.Context) ([]*x509.Certificate, crypto.Signer, error) { return b.CAs, b.CAKey, nil }
}

type testCluster struct {
	members []Member
	dirs    map[string]string
	ca      PeerCA
}

func newTestCluster(t *testing.T, n int) *testCluster {
	c := &testCluster{dirs: map[string]string{}, ca: testCA(t)}
	for i := range n {
		name := fmt.Sprintf("m%d", i)
		c.members = append(c.members, Member{Name: name, PeerURL: fmt.Sprintf("https://127.0.0.1:%d", ports.Free(t))})
		c.dirs[name] = t.TempDir()
	}
	return c
}

func (c *testCluster) config(name string) Config {
	cfg := NewConfig(c.dirs[name])
	for _, m := range c.members {
		if m.Name == name {
			cfg.Cluster = &Cluster{Name: name, Members: c.members, ListenPeerAddress: m.PeerURL[len("https://"):],
				Token: DefaultClusterToken, PeerCA: c.ca, keepEvery: 500 * time.Millisecond}
		}
	}
	return cfg
}

func (c *testCluster) startAll(t *testing.T, ctx context.Context) map[string]*Server {
	servers := map[string]*Server{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, m := range c.members {
		wg.Go(func() {
			s, err := StartWithConfig(ctx, c.config(m.Name))
			assert.NoError(t, err, m.Name)
			mu.Lock()
			servers[m.Name] = s
			mu.Unlock()
		})
	}
	wg.Wait()
	require.Len(t, servers, len(c.members))
	for _, s := range servers {
		require.NotNil(t, s)
		t.Cleanup(s.Stop)
	}
	return servers
}

func client(t *testing.T, s *Server) *clientv3.Client {
	t.Helper()
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{s.ClientURL}, DialTimeout: 10 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, c.Close()) })
	return c
}

// healthyMembers is how many members the cluster lists as started whose server answers with the
// cluster's leader. (The members advertise no client URL others could reach: clients are local.)
func healthyMembers(t *testing.T, ctx context.Context, servers map[string]*Server) int {
	list, err := client(t, servers["m0"]).MemberList(ctx)
	require.NoError(t, err)
	n := 0
	for _, m := range list.Members {
		s := servers[m.Name]
		if s == nil {
			continue
		}
		st, err := client(t, s).Status(ctx, s.ClientURL)
		if err == nil && st.Leader != 0 && st.Header.MemberId == m.ID {
			n++
		}
	}
	return n
}

// Three members found one cluster; what one writes the others read; a member restarted with its data
// rejoins; a member whose data dir was lost is added again by the running members and gets the data.
func TestClusterOfThree(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tc := newTestCluster(t, 3)
	servers := tc.startAll(t, ctx)

	_, err := client(t, servers["m0"]).Put(ctx, "/registry/k", "v")
	require.NoError(t, err)
	for name, s := range servers {
		resp, err := client(t, s).Get(ctx, "/registry/k")
		require.NoError(t, err, name)
		require.Len(t, resp.Kvs, 1, name)
	}
	require.Equal(t, 3, healthyMembers(t, ctx, servers))

	// Restarted with its data: the same member, whatever the others do meanwhile.
	servers["m1"].Stop()
	_, err = client(t, servers["m0"]).Put(ctx, "/registry/k2", "written while m1 was down")
	require.NoError(t, err)
	s, err := StartWithConfig(ctx, tc.config("m1"))
	require.NoError(t, err)
	t.Cleanup(s.Stop)
	servers["m1"] = s
	resp, err := client(t, s).Get(ctx, "/registry/k2")
	require.NoError(t, err)
	require.Len(t, resp.Kvs, 1)

	// Its data dir lost: added again, with a new identity, and in sync.
	before, err := client(t, servers["m0"]).MemberList(ctx)
	require.NoError(t, err)
	servers["m2"].Stop()
	require.NoError(t, os.RemoveAll(filepath.Join(tc.dirs["m2"], "member")))
	s, err = StartWithConfig(ctx, tc.config("m2"))
	require.NoError(t, err)
	t.Cleanup(s.Stop)
	servers["m2"] = s
	resp, err = client(t, s).Get(ctx, "/registry/k2")
	require.NoError(t, err)
	require.Len(t, resp.Kvs, 1, "the re-added member has the cluster's data")
	after, err := client(t, servers["m0"]).MemberList(ctx)
	require.NoError(t, err)
	require.Len(t, after.Members, 3)
	require.NotEqual(t, idOf(before, "m2"), idOf(after, "m2"), "the lost member was removed and added anew")
	require.Eventually(t, func() bool { return healthyMembers(t, ctx, servers) == 3 },
		30*time.Second, 200*time.Millisecond)
}

func idOf(list *clientv3.MemberListResponse, name string) uint64 {
	for _, m := range list.Members {
		if m.Name == name {
			return m.ID
		}
	}
	return 0
}

// A peer listener accepts only peers with a certificate from the cluster's CA.
func TestPeersNeedTheCA(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tc := newTestCluster(t, 2)
	servers := tc.startAll(t, ctx)
	_ = servers

	// A stranger with a certificate of another CA.
	other := newTestCluster(t, 1)
	p := newPeerTLS(t.TempDir(), &Cluster{Name: "stranger", Members: []Member{{Name: "stranger", PeerURL: "https://127.0.0.1:1"}},
		PeerCA: other.ca})
	require.NoError(t, p.issue(ctx, true))
	cfg, err := p.tlsConfig()
	require.NoError(t, err)
	cfg.InsecureSkipVerify = true // it does not matter whom it talks to: it must not get in
	stranger := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 5 * time.Second}
	_, err = stranger.Get(tc.members[0].PeerURL + "/members")
	require.Error(t, err, "a peer with a certificate of another CA got in")

	// No certificate at all.
	bare := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, Timeout: 5 * time.Second}
	_, err = bare.Get(tc.members[0].PeerURL + "/members")
	require.Error(t, err, "a peer without a certificate got in")

	// A member's own certificate gets in.
	own := newPeerTLS(tc.dirs["m1"], tc.config("m1").Cluster)
	c, err := own.client()
	require.NoError(t, err)
	var members []remoteMember
	require.NoError(t, getJSON(ctx, c, tc.members[0].PeerURL+"/members", &members))
	require.Len(t, members, 2)
}

func TestJoinState(t *testing.T) {
	const me = "https://m0:2380"
	founding0 := []remoteMember{{Name: "m0", PeerURLs: []string{me}}, {Name: "m1", PeerURLs: []string{"https://m1:2380"}, ClientURLs: []string{"x"}}}
	assert.Equal(t, founding, joinState(nil, false, me), "nobody answers: a new cluster")
	assert.Equal(t, founding, joinState(founding0, true, me), "a founding member that never started")
	served := []remoteMember{{Name: "m0", PeerURLs: []string{me}, ClientURLs: []string{"x"}}}
	assert.Equal(t, rejoining, joinState(served, true, me), "it served before: its data was lost")
	added := []remoteMember{{PeerURLs: []string{me}}}
	assert.Equal(t, joining, joinState(added, true, me), "added, never started")
	assert.Equal(t, rejoining, joinState([]remoteMember{{Name: "m1", PeerURLs: []string{"https://m1:2380"}}}, true, me),
		"not a member")
}

func TestClusterValidate(t *testing.T) {
	ca := testCA(t)
	ok := Cluster{Name: "a", Members: []Member{{"a", "https://a:2380"}, {"b", "https://b:2380"}, {"c", "https://c:2380"}},
		ListenPeerAddress: "0.0.0.0:2380", Token: DefaultClusterToken, PeerCA: ca}
	require.NoError(t, ok.Validate())
	for what, mutate := range map[string]func(c *Cluster){
		"not a member":   func(c *Cluster) { c.Name = "d" },
		"http":           func(c *Cluster) { c.Members = []Member{{"a", "http://a:2380"}, {"b", "https://b:2380"}} },
		"no port":        func(c *Cluster) { c.Members = []Member{{"a", "https://a"}, {"b", "https://b:2380"}} },
		"same URL twice": func(c *Cluster) { c.Members = []Member{{"a", "https://a:2380"}, {"b", "https://a:2380"}} },
		"alone":          func(c *Cluster) { c.Members = c.Members[:1] },
		"listen":         func(c *Cluster) { c.ListenPeerAddress = "0.0.0.0" },
		"no CA":          func(c *Cluster) { c.PeerCA = nil },
	} {
		c := ok
		mutate(&c)
		assert.Error(t, c.Validate(), what)
	}
	m, err := ParseInitialCluster("a=https://a:2380, b=https://b:2380")
	require.NoError(t, err)
	assert.Equal(t, []Member{{"a", "https://a:2380"}, {"b", "https://b:2380"}}, m)
	_, err = ParseInitialCluster("a")
	assert.Error(t, err)
}
