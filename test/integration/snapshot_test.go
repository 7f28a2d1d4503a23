package integration

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/cmd/triton-apiserver/app"
	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

// etcdMemberMetrics are etcd's own metrics of the embedded member that /metrics must carry.
var etcdMemberMetrics = []string{"etcd_server_has_leader", "etcd_mvcc_db_total_size_in_bytes",
	"etcd_disk_wal_fsync_duration_seconds_bucket"}

// triton runs `triton-apiserver args...` in-process and returns what it printed.
func triton(t *testing.T, ctx context.Context, args ...string) (string, error) {
	t.Helper()
	cmd := app.NewCommand(ctx)
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

// comparableReleases are releases without what a store gives them (their resourceVersion), sorted by name.
func comparableReleases(items []v1alpha1.Release) []v1alpha1.Release {
	out := make([]v1alpha1.Release, len(items))
	for i, r := range items {
		r.ResourceVersion = ""
		out[i] = r
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// A server's etcd saved with `triton-apiserver snapshot save` and restored with `snapshot restore` into a
// new data dir: a server started there has every release, spec, status and history alike, takes writes,
// and its /metrics has etcd's own metrics of its member.
func TestSnapshotRoundTripKeepsEveryRelease(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ns := namespace(t)
	dir := t.TempDir()
	s, err := startServer(dir)
	require.NoError(t, err)
	stopped := false
	defer func() {
		if !stopped {
			s.stop()
		}
	}()
	releases := s.client.ReleasesV1alpha1().Releases(ns)
	for i := range 12 {
		r, err := releases.Create(ctx, updateRelease(fmt.Sprintf("web-%02d", i), fmt.Sprintf("web-%02d", i)), metav1.CreateOptions{})
		require.NoError(t, err)
		if i%3 == 0 {
			continue // pending
		}
		// In progress, with history, as the controller writes it.
		r.Status.Phase = v1alpha1.ReleaseProgressing
		r.Status.CurrentBatch = 1
		r.Status.Batches = []v1alpha1.ReleaseBatch{
			{Index: 1, Canary: true, Replicas: 1, Target: 1, Phase: v1alpha1.BatchSmoked},
			{Index: 2, Replicas: 2, Target: 3, Phase: v1alpha1.BatchPending},
		}
		r.Status.History = []v1alpha1.ReleaseHistoryEntry{
			{Action: "start", User: "system:apiserver", Time: metav1.NewTime(time.Now().Truncate(time.Second)), ToBatch: 1,
				ToPhase: "Progressing/Smoking"},
			{Action: "smoked", User: "system:apiserver", Time: metav1.NewTime(time.Now().Truncate(time.Second)), FromBatch: 1,
				ToBatch: 1, FromPhase: "Progressing/Smoking", ToPhase: "Progressing/Smoked", Reason: "canary ready"},
		}
		_, err = releases.UpdateStatus(ctx, r, metav1.UpdateOptions{})
		require.NoError(t, err)
	}
	before, err := releases.List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	require.Len(t, before.Items, 12)

	file := filepath.Join(t.TempDir(), "backup.db")
	out, err := triton(t, ctx, "snapshot", "save", file, "--etcd-data-dir", filepath.Join(dir, "etcd"))
	require.NoError(t, err, out)
	s.stop()
	stopped = true

	restored := t.TempDir()
	out, err = triton(t, ctx, "snapshot", "restore", file, "--etcd-data-dir", filepath.Join(restored, "etcd"))
	require.NoError(t, err, out)
	r, err := startServer(restored)
	require.NoError(t, err)
	defer r.stop()
	releases = r.client.ReleasesV1alpha1().Releases(ns)
	after, err := releases.List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	require.Equal(t, comparableReleases(before.Items), comparableReleases(after.Items))

	// The restored store takes writes.
	one, err := releases.Get(ctx, "web-01", metav1.GetOptions{})
	require.NoError(t, err)
	one.Labels = map[string]string{"restored": "yes"}
	_, err = releases.Update(ctx, one, metav1.UpdateOptions{})
	require.NoError(t, err)
	require.NoError(t, releases.Delete(ctx, "web-00", metav1.DeleteOptions{}))
	_, err = releases.Create(ctx, updateRelease("web-new", "web-new"), metav1.CreateOptions{})
	require.NoError(t, err)

	raw, err := r.client.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	require.NoError(t, err)
	exported := metricNames(string(raw))
	for _, name := range etcdMemberMetrics {
		assert.True(t, exported[name], "%s on /metrics", name)
	}
}
