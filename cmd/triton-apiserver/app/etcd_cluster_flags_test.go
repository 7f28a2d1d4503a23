package app_test

// The flags that make the embedded etcd one member of a cluster.

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triton-io/triton/pkg/embeddedetcd"
)

const threeMembers = "a=https://a.peers.ns.svc:2380,b=https://b.peers.ns.svc:2380,c=https://c.peers.ns.svc:2380"

func TestEtcdClusterFlags(t *testing.T) {
	// Without --etcd-initial-cluster: the single member, as before.
	o := parse(t)
	require.NoError(t, o.Validate())
	assert.Nil(t, o.EmbeddedEtcdConfig().Cluster)

	o = parse(t, "--etcd-initial-cluster="+threeMembers, "--etcd-name=b", "--etcd-listen-peer-address=127.0.0.1:2390",
		"--etcd-peer-ca-secret=ns/peer-ca")
	require.NoError(t, o.Validate())
	c := o.EmbeddedEtcdConfig()
	require.NotNil(t, c.Cluster)
	assert.Equal(t, "b", c.Cluster.Name)
	assert.Equal(t, []embeddedetcd.Member{{Name: "a", PeerURL: "https://a.peers.ns.svc:2380"},
		{Name: "b", PeerURL: "https://b.peers.ns.svc:2380"}, {Name: "c", PeerURL: "https://c.peers.ns.svc:2380"}}, c.Cluster.Members)
	assert.Equal(t, "127.0.0.1:2390", c.Cluster.ListenPeerAddress)
	assert.NotNil(t, c.Cluster.PeerCA)
	require.NoError(t, c.Validate())

	// The name defaults to the pod's, and the peer listener to every address.
	t.Setenv("POD_NAME", "c")
	c = parse(t, "--etcd-initial-cluster="+threeMembers).EmbeddedEtcdConfig()
	assert.Equal(t, "c", c.Cluster.Name)
	assert.Equal(t, "0.0.0.0:2380", c.Cluster.ListenPeerAddress)
}

func TestEtcdClusterFlagsValidate(t *testing.T) {
	for what, args := range map[string][]string{
		"not a member":      {"--etcd-initial-cluster=" + threeMembers, "--etcd-name=d"},
		"no name":           {"--etcd-initial-cluster=" + threeMembers},
		"not name=url":      {"--etcd-initial-cluster=a", "--etcd-name=a"},
		"plain http":        {"--etcd-initial-cluster=a=http://a:2380,b=http://b:2380", "--etcd-name=a"},
		"one member":        {"--etcd-initial-cluster=a=https://a:2380", "--etcd-name=a"},
		"no port to listen": {"--etcd-initial-cluster=" + threeMembers, "--etcd-name=a", "--etcd-listen-peer-address=0.0.0.0"},
		"a bad Secret name": {"--etcd-initial-cluster=" + threeMembers, "--etcd-name=a", "--etcd-peer-ca-secret=ns/Peer_CA"},
	} {
		t.Run(what, func(t *testing.T) {
			t.Setenv("POD_NAME", "")
			err := parse(t, args...).Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), "--etcd-")
		})
	}
	// With an external etcd the cluster flags are not looked at.
	assert.NoError(t, parse(t, "--etcd-servers=https://etcd-0:2379", "--etcd-initial-cluster=a").Validate())
}
