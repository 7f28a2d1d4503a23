package embeddedetcd

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/apiserver/pkg/storage/etcd3"
	"k8s.io/component-base/metrics/legacyregistry"
)

// tinyQuota fills in a few seconds.
const tinyQuota = 16 << 20

// startTiny starts a member with a tiny quota that is looked at every checkEvery, and a client of it.
func startTiny(t *testing.T, ctx context.Context, checkEvery time.Duration) (*Server, *clientv3.Client) {
	t.Helper()
	c := NewConfig(t.TempDir())
	c.QuotaBackendBytes = tinyQuota
	c.DefragInterval = 0 // only the recovery defragments
	c.CheckInterval = checkEvery
	s, err := StartWithConfig(ctx, c)
	require.NoError(t, err)
	t.Cleanup(s.Stop)
	client, err := clientv3.New(clientv3.Config{Endpoints: []string{s.ClientURL}, DialTimeout: 10 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, client.Close()) })
	return s, client
}

// fill writes values of 512 KiB under key(i) until the member refuses a write for want of space, which it
// must do before 4 times its quota has been written.
func fill(t *testing.T, ctx context.Context, c *clientv3.Client, key func(i int) string) {
	t.Helper()
	value := strings.Repeat("x", 512<<10)
	for i := range 4 * tinyQuota / len(value) {
		_, err := c.Put(ctx, key(i), value)
		if err == nil {
			continue
		}
		require.ErrorIs(t, err, rpctypes.ErrNoSpace)
		require.Contains(t, err.Error(), "etcdserver: mvcc: database space exceeded")
		return
	}
	t.Fatalf("%d bytes written, and the member with a quota of %d never ran out of space", 4*tinyQuota, tinyQuota)
}

func alarms(t *testing.T, ctx context.Context, c *clientv3.Client) []*etcdserverpb.AlarmMember {
	t.Helper()
	resp, err := c.AlarmList(ctx)
	require.NoError(t, err)
	return resp.Alarms
}

// recovered waits, until the deadline, for the member to accept a write again and have no alarm.
func recovered(t *testing.T, ctx context.Context, c *clientv3.Client, deadline time.Duration) {
	t.Helper()
	require.EventuallyWithT(t, func(collect *assert.CollectT) {
		_, err := c.Put(ctx, "/registry/after", "v")
		assert.NoError(collect, err)
	}, deadline, 50*time.Millisecond, "the member never accepted a write again")
	assert.Empty(t, alarms(t, ctx, c), "no alarm left")
	resp, err := c.Get(ctx, "/registry/after")
	require.NoError(t, err)
	require.Len(t, resp.Kvs, 1)
}

// The security review's case: a tenant fills the member; once the keys are deleted and the store
// compacted, the member defragments and disarms NOSPACE by itself.
func TestRecoversFromNoSpace(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, c := startTiny(t, ctx, 100*time.Millisecond)

	fill(t, ctx, c, func(i int) string { return fmt.Sprintf("/registry/releases.triton.io/releases/tenant/r%d", i) })
	require.NotEmpty(t, alarms(t, ctx, c), "NOSPACE raised")
	_, err := c.Put(ctx, "/registry/other", "v")
	require.ErrorIs(t, err, rpctypes.ErrNoSpace, "every write is refused, other tenants' too")

	del, err := c.Delete(ctx, "/registry/releases.triton.io/releases/tenant/", clientv3.WithPrefix())
	require.NoError(t, err, "deletes still work under NOSPACE")
	require.NotZero(t, del.Deleted)
	_, err = c.Compact(ctx, del.Header.Revision, clientv3.WithCompactPhysical())
	require.NoError(t, err)

	recovered(t, ctx, c, 30*time.Second)
}

// What happens in the server: nobody compacts (the API server's compactor is refused, see
// TestAPIServerCompactionIsRefusedUnderNoSpace) and nothing is deleted, but the space was taken by old
// versions of one key. The member compacts, defragments and disarms by itself.
func TestRecoversFromNoSpaceByItself(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, c := startTiny(t, ctx, 100*time.Millisecond)

	fill(t, ctx, c, func(int) string { return "/registry/releases.triton.io/releases/tenant/r" })
	recovered(t, ctx, c, 30*time.Second)
}

// Under NOSPACE, k8s.io/apiserver's compactor cannot compact: it compacts through a transaction that
// also writes its compact_rev_key, and the alarm refuses transactions that write. Hence the recovery
// compacts by itself. The gauges show the alarm and the member's sizes.
func TestAPIServerCompactionIsRefusedUnderNoSpace(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, c := startTiny(t, ctx, time.Hour) // the loop looks once, at the start, then not for an hour

	fill(t, ctx, c, func(int) string { return "/registry/releases.triton.io/releases/tenant/r" })
	get, err := c.Get(ctx, "/registry/none")
	require.NoError(t, err)
	_, _, _, err = etcd3.Compact(ctx, c, 0, get.Header.Revision)
	require.ErrorIs(t, err, rpctypes.ErrNoSpace)

	st, err := c.Status(ctx, s.ClientURL)
	require.NoError(t, err)
	g := gauges(t)
	assert.Equal(t, 1.0, g["triton_embedded_etcd_nospace_alarm"])
	assert.Equal(t, float64(st.DbSize), g["triton_embedded_etcd_db_size_bytes"])
	assert.Equal(t, float64(st.DbSizeInUse), g["triton_embedded_etcd_db_size_in_use_bytes"])
	assert.Equal(t, float64(tinyQuota), g["triton_embedded_etcd_quota_bytes"])
	assert.GreaterOrEqual(t, g["triton_embedded_etcd_db_size_bytes"], 0.8*tinyQuota)
}

// The periodic defragmentation gives the free pages of deleted, compacted data back.
func TestDefragmentsPeriodically(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := NewConfig(t.TempDir())
	c.DefragInterval = 200 * time.Millisecond
	c.CheckInterval = 50 * time.Millisecond
	c.defragMinFree = 1 << 20
	s, err := StartWithConfig(ctx, c)
	require.NoError(t, err)
	defer s.Stop()
	client, err := clientv3.New(clientv3.Config{Endpoints: []string{s.ClientURL}, DialTimeout: 10 * time.Second})
	require.NoError(t, err)
	defer client.Close()

	value := strings.Repeat("x", 256<<10)
	for i := range 32 {
		_, err := client.Put(ctx, fmt.Sprintf("/registry/k%d", i), value)
		require.NoError(t, err)
	}
	del, err := client.Delete(ctx, "/registry/k", clientv3.WithPrefix())
	require.NoError(t, err)
	_, err = client.Compact(ctx, del.Header.Revision, clientv3.WithCompactPhysical())
	require.NoError(t, err)
	st, err := client.Status(ctx, s.ClientURL)
	require.NoError(t, err)
	require.Greater(t, st.DbSize, int64(8<<20), "the deleted values still take their pages")

	// A serving member commits now and then (the API server's compactor alone writes every 5 minutes); only
	// a commit counts the compacted pages as free, so write a little while waiting.
	require.Eventually(t, func() bool {
		if _, err := client.Put(ctx, "/registry/tick", "v"); err != nil {
			return false
		}
		st, err := client.Status(ctx, s.ClientURL)
		return err == nil && st.DbSize < 2<<20
	}, 30*time.Second, 50*time.Millisecond, "the member was never defragmented")
}

func TestMetricsReadTheMember(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, c := startTiny(t, ctx, time.Hour)
	_, err := c.Put(ctx, "/registry/k", strings.Repeat("x", 1<<20))
	require.NoError(t, err)
	// The backend commits its batch every 100 ms; wait for the status to settle before comparing.
	var st *clientv3.StatusResponse
	require.Eventually(t, func() bool {
		st, err = c.Status(ctx, s.ClientURL)
		return err == nil && st.DbSizeInUse > 1<<20
	}, 10*time.Second, 20*time.Millisecond)

	g := gauges(t)
	assert.Equal(t, float64(st.DbSize), g["triton_embedded_etcd_db_size_bytes"])
	assert.Equal(t, float64(st.DbSizeInUse), g["triton_embedded_etcd_db_size_in_use_bytes"])
	assert.Equal(t, float64(tinyQuota), g["triton_embedded_etcd_quota_bytes"])
	assert.Equal(t, 0.0, g["triton_embedded_etcd_nospace_alarm"])

	s.Stop()
	assert.Empty(t, gauges(t), "nothing reported once the member stopped")
}

// gauges are the embedded etcd's gauges, as /metrics serves them.
func gauges(t *testing.T) map[string]float64 {
	t.Helper()
	families, err := legacyregistry.DefaultGatherer.Gather()
	require.NoError(t, err)
	got := map[string]float64{}
	for _, f := range families {
		if !strings.HasPrefix(f.GetName(), "triton_embedded_etcd_") {
			continue
		}
		require.Len(t, f.GetMetric(), 1, f.GetName())
		got[f.GetName()] = f.GetMetric()[0].GetGauge().GetValue()
	}
	return got
}

func TestStopEndsMaintenance(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Start(ctx, t.TempDir())
	require.NoError(t, err)
	s.Stop()
	select {
	case <-s.maintained:
	default:
		t.Fatal("the maintenance loop still runs after Stop")
	}
	s.Stop() // twice is fine

	loopCtx, loopCancel := context.WithCancel(ctx)
	s, err = Start(loopCtx, t.TempDir())
	require.NoError(t, err)
	defer s.Stop()
	loopCancel()
	select {
	case <-s.maintained:
	case <-time.After(10 * time.Second):
		t.Fatal("the maintenance loop still runs after its context is done")
	}
}
