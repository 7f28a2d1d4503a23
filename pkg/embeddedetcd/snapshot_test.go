package embeddedetcd

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/component-base/metrics/legacyregistry"
)

func dial(t *testing.T, url string) *clientv3.Client {
	t.Helper()
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{url}, DialTimeout: 10 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, c.Close()) })
	return c
}

// keyspace is every key and value under /registry.
func keyspace(t *testing.T, ctx context.Context, c *clientv3.Client) map[string]string {
	t.Helper()
	resp, err := c.Get(ctx, "/registry/", clientv3.WithPrefix())
	require.NoError(t, err)
	kv := map[string]string{}
	for _, x := range resp.Kvs {
		kv[string(x.Key)] = string(x.Value)
	}
	return kv
}

// A member's keyspace saved from its client URL file and restored into a new data dir is the keyspace a
// member started on that dir serves, from a file and from a stream alike; the restored store is ahead of
// the old revisions and takes writes.
func TestSnapshotSaveRestoreRoundTrip(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	s, err := Start(ctx, dir)
	require.NoError(t, err)
	defer s.Stop()

	info, err := os.Stat(filepath.Join(dir, ClientURLFile))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "the client URL file is the server's user's only")
	url, err := ClientURL(dir)
	require.NoError(t, err)
	require.Equal(t, s.ClientURL, url)

	c := dial(t, url)
	for i := range 50 {
		_, err := c.Put(ctx, fmt.Sprintf("/registry/releases.triton.io/releases/ns/r%02d", i), strings.Repeat("v", i*100))
		require.NoError(t, err)
	}
	_, err = c.Put(ctx, "/registry/releases.triton.io/releases/ns/r00", "changed") // a key with history
	require.NoError(t, err)
	want := keyspace(t, ctx, c)
	head, err := c.Get(ctx, "/registry/nothing")
	require.NoError(t, err)

	file := filepath.Join(t.TempDir(), "backup.db")
	saved, err := SaveFile(ctx, clientv3.Config{Endpoints: []string{url}}, file)
	require.NoError(t, err)
	require.Equal(t, head.Header.Revision, saved.Revision)
	_, err = os.Stat(file + ".part")
	require.ErrorIs(t, err, os.ErrNotExist, "no partial file is left behind")
	var stream bytes.Buffer
	_, err = Save(ctx, clientv3.Config{Endpoints: []string{url}}, &stream)
	require.NoError(t, err)
	// Writes after the snapshot are not in it.
	_, err = c.Put(ctx, "/registry/after", "x")
	require.NoError(t, err)

	for name, cfg := range map[string]RestoreConfig{
		"file":   {Snapshot: file, RevisionBump: 1000},
		"stream": {Reader: &stream},
	} {
		t.Run(name, func(t *testing.T) {
			restored := filepath.Join(t.TempDir(), "etcd")
			cfg.DataDir = restored
			res, err := Restore(cfg)
			require.NoError(t, err)
			assert.Equal(t, saved.Revision, res.Revision)
			entries, err := os.ReadDir(restored)
			require.NoError(t, err)
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			assert.Equal(t, []string{"member"}, names, "a restored data dir holds the member's data only")

			m, err := Start(ctx, restored)
			require.NoError(t, err)
			defer m.Stop()
			rc := dial(t, m.ClientURL)
			require.Equal(t, want, keyspace(t, ctx, rc))
			resp, err := rc.Put(ctx, "/registry/new", "x")
			require.NoError(t, err)
			assert.Greater(t, resp.Header.Revision, saved.Revision+int64(cfg.RevisionBump))
			if cfg.RevisionBump > 0 {
				_, err := rc.Get(ctx, "/registry/new", clientv3.WithRev(saved.Revision))
				require.Error(t, err, "older revisions are compacted: a watcher from before lists again")
			}
		})
	}
}

// Restore refuses a data dir that holds data or that a running server holds, and changes nothing there.
func TestSnapshotRestoreRefusesUsedDataDirs(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	s, err := Start(ctx, dir)
	require.NoError(t, err)
	defer s.Stop()
	file := filepath.Join(t.TempDir(), "backup.db")
	_, err = SaveFile(ctx, clientv3.Config{Endpoints: []string{s.ClientURL}}, file)
	require.NoError(t, err)

	_, err = Restore(RestoreConfig{Snapshot: file, DataDir: dir})
	require.ErrorIs(t, err, ErrDataDirInUse)

	stopped := t.TempDir()
	m, err := Start(ctx, stopped)
	require.NoError(t, err)
	m.Stop()
	_, err = Restore(RestoreConfig{Snapshot: file, DataDir: stopped})
	require.ErrorIs(t, err, ErrDataDirNotEmpty)
	require.Contains(t, err.Error(), "member")
	_, err = ClientURL(stopped)
	require.ErrorIs(t, err, ErrNotRunning, "a stopped server's URL may be another process's by now")
	m, err = Start(ctx, stopped)
	require.NoError(t, err, "the refused restore left the data dir as it was")
	m.Stop()

	other := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(other, "notes"), []byte("mine"), 0o600))
	_, err = Restore(RestoreConfig{Snapshot: file, DataDir: other})
	require.ErrorIs(t, err, ErrDataDirNotEmpty)

	// Not a snapshot, or a truncated one: refused, and the data dir stays empty.
	empty := filepath.Join(t.TempDir(), "etcd")
	_, err = Restore(RestoreConfig{Reader: strings.NewReader("not a snapshot"), DataDir: empty})
	require.Error(t, err)
	raw, err := os.ReadFile(file)
	require.NoError(t, err)
	_, err = Restore(RestoreConfig{Reader: bytes.NewReader(raw[:len(raw)-100]), DataDir: empty})
	require.Error(t, err)
	entries, err := os.ReadDir(empty)
	require.NoError(t, err)
	require.Empty(t, entries)
}

// While a member runs, etcd's own metrics of it are in legacyregistry (the server's /metrics); once it has
// stopped, none are.
func TestMemberMetricsInLegacyRegistry(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	names := func() map[string]bool {
		families, err := legacyregistry.DefaultGatherer.Gather()
		require.NoError(t, err)
		got := map[string]bool{}
		for _, f := range families {
			got[f.GetName()] = true
		}
		return got
	}
	wanted := []string{"etcd_server_has_leader", "etcd_mvcc_db_total_size_in_bytes", "etcd_disk_wal_fsync_duration_seconds"}
	s, err := Start(ctx, t.TempDir())
	require.NoError(t, err)
	got := names()
	for _, name := range wanted {
		assert.True(t, got[name], "%s on /metrics while the member runs", name)
	}
	// Another member in the same process registers nothing twice.
	s2, err := Start(ctx, t.TempDir())
	require.NoError(t, err)
	s2.Stop()
	s.Stop()
	got = names()
	for _, name := range wanted {
		assert.False(t, got[name], "%s on /metrics with no member", name)
	}
	// etcd's registry still has them: the bridge, not etcd, decides.
	families, err := prometheus.DefaultGatherer.Gather()
	require.NoError(t, err)
	var inDefault bool
	for _, f := range families {
		inDefault = inDefault || f.GetName() == "etcd_server_has_leader"
	}
	require.True(t, inDefault)
}

// A snapshot saved from one member of a cluster of embedded members (kubectl exec into one replica)
// restores, with the defaults, into a single member that has every key: the way back from a cluster that
// lost its quorum.
func TestSnapshotOfAClusterMemberRestoresASingleMember(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := newTestCluster(t, 3)
	servers := c.startAll(t, ctx)
	for i := range 20 {
		_, err := client(t, servers["m0"]).Put(ctx, fmt.Sprintf("/registry/releases.triton.io/releases/ns/r%d", i), "v")
		require.NoError(t, err)
	}
	want := keyspace(t, ctx, client(t, servers["m0"]))
	// m1 has applied every write once a linearizable read through it sees them.
	require.Equal(t, want, keyspace(t, ctx, client(t, servers["m1"])))

	url, err := ClientURL(c.dirs["m1"])
	require.NoError(t, err)
	file := filepath.Join(t.TempDir(), "backup.db")
	_, err = SaveFile(ctx, clientv3.Config{Endpoints: []string{url}}, file)
	require.NoError(t, err)

	dir := filepath.Join(t.TempDir(), "etcd")
	_, err = Restore(RestoreConfig{Snapshot: file, DataDir: dir, RevisionBump: 1000})
	require.NoError(t, err)
	s, err := Start(ctx, dir)
	require.NoError(t, err)
	defer s.Stop()
	single := dial(t, s.ClientURL)
	require.Equal(t, want, keyspace(t, ctx, single))
	members, err := single.MemberList(ctx)
	require.NoError(t, err)
	require.Len(t, members.Members, 1, "the restored member is alone: the cluster's other members are not in it")
	_, err = single.Put(ctx, "/registry/after", "x")
	require.NoError(t, err, "a single member takes writes on its own")
}
