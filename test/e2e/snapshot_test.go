//go:build e2e

package e2e

// Backups, restores and the move from the embedded etcd to an external one, with the commands that
// docs/backup-and-restore.md gives: `triton-apiserver snapshot save` and `snapshot restore`, run with the
// server's own binary (in a cluster, through kubectl exec in its shell-less container).

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/generated/clientset/versioned"
	"github.com/triton-io/triton/test/e2e/framework"
	"github.com/triton-io/triton/test/ports"
)

// tritonBinary is the binary the local server and the replicas run.
func tritonBinary(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(framework.Local, "triton-apiserver.args"))
	require.NoError(t, err)
	return strings.SplitN(string(raw), "\n", 2)[0]
}

// runTriton runs `triton-apiserver args...` with stdin and stdout (nil: none), as `kubectl exec [-i]`
// would in the server's container, and returns its exit code and standard error. dataDir, if not empty, is
// in its environment as the container's TRITON_ETCD_DATA_DIR.
func runTriton(t *testing.T, ctx context.Context, dataDir string, stdin io.Reader, stdout io.Writer, args ...string) (int, string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, tritonBinary(t), args...)
	cmd.Stdin, cmd.Stdout = stdin, stdout
	cmd.Env = os.Environ()
	if dataDir != "" {
		cmd.Env = append(cmd.Env, "TRITON_ETCD_DATA_DIR="+dataDir)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if exit, ok := err.(*exec.ExitError); ok {
		return exit.ExitCode(), stderr.String()
	}
	require.NoError(t, err, "triton-apiserver %q", args)
	return 0, stderr.String()
}

// plainEtcd starts the test bed's etcd binary on dataDir (restored for member name with peer URL peer),
// serving clients on a port of its own.
func plainEtcd(t *testing.T, name, dataDir, peer string) *etcdMember {
	t.Helper()
	m := &etcdMember{url: fmt.Sprintf("http://127.0.0.1:%d", ports.Free(t))}
	m.name = name
	m.log = filepath.Join(framework.Local, "logs", name+".log")
	m.args = []string{filepath.Join(framework.Root, "_output", "bin", "etcd"), "--name", name, "--data-dir", dataDir,
		"--listen-client-urls", m.url, "--advertise-client-urls", m.url,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", name + "=" + peer}
	m.restart(t)
	t.Cleanup(func() { m.signal(t, syscall.SIGTERM) })
	return m
}

// releasesOf lists ns's releases without what the store gives them (resourceVersion), by name.
func releasesOf(t *testing.T, ctx context.Context, client versioned.Interface, ns string) []v1alpha1.Release {
	t.Helper()
	list, err := client.ReleasesV1alpha1().Releases(ns).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	items := list.Items
	for i := range items {
		items[i].ResourceVersion = ""
	}
	sort.Slice(items, func(i, j int) bool { return items[i].Name < items[j].Name })
	return items
}

// settledReleases waits until no release of ns has changed for two seconds (the controller writes a
// release's status a little after each change of its CloneSet) and returns them (releasesOf).
func settledReleases(t *testing.T, ctx context.Context, client versioned.Interface, ns string) []v1alpha1.Release {
	t.Helper()
	versions := func() (map[string]string, []v1alpha1.Release) {
		list, err := client.ReleasesV1alpha1().Releases(ns).List(ctx, metav1.ListOptions{})
		require.NoError(t, err)
		rvs := map[string]string{}
		for _, r := range list.Items {
			rvs[r.Name] = r.ResourceVersion
		}
		return rvs, list.Items
	}
	last, _ := versions()
	since := time.Now()
	framework.WaitUntil(t, ctx, "the releases to settle", func(context.Context) (struct{}, bool, string) {
		now, _ := versions()
		if !reflect.DeepEqual(now, last) {
			last, since = now, time.Now()
		}
		return struct{}{}, time.Since(since) >= 2*time.Second, fmt.Sprintf("resource versions %v", now)
	}, framework.Every(250*time.Millisecond), framework.Within(time.Minute))
	return releasesOf(t, ctx, client, ns)
}

// etcdMetricsOn reports which of etcd's own metrics of an embedded member the replica's /metrics has.
func etcdMetricsOn(t *testing.T, ctx context.Context, r *replica) []string {
	t.Helper()
	raw, err := r.client().Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	require.NoError(t, err)
	var found []string
	for _, name := range []string{"etcd_server_has_leader", "etcd_mvcc_db_total_size_in_bytes",
		"etcd_disk_wal_fsync_duration_seconds_bucket"} {
		if bytes.Contains(raw, []byte("\n"+name+" ")) || bytes.Contains(raw, []byte("\n"+name+"{")) {
			found = append(found, name)
		}
	}
	return found
}

// releasesAtRest makes releases of the fleet's CloneSets that then wait, each in another state: the
// first finished (Succeeded, its whole history), the second paused at its canary, the others with their
// canary Smoked, waiting for next. It returns the names of those waiting.
func releasesAtRest(t *testing.T, ctx context.Context, client versioned.Interface, ns string, names []string) []string {
	t.Helper()
	releases := client.ReleasesV1alpha1().Releases(ns)
	_, err := releases.Create(ctx, autoUpdate(names[0], "app:v2", 1), metav1.CreateOptions{})
	require.NoError(t, err)
	for _, name := range names[1:] {
		_, err := releases.Create(ctx, manualUpdate(name, "app:v2"), metav1.CreateOptions{})
		require.NoError(t, err)
	}
	passCanaries(t, ctx, client, ns, names[:1])
	finished := waitAllFinished(t, ctx, client, ns, names[:1], 3*time.Minute)
	require.Equal(t, v1alpha1.ReleaseSucceeded, finished[0].Status.Phase)
	c := &framework.Cluster{Releases: client}
	for _, name := range names[1:] {
		framework.WaitRelease(t, ctx, c, ns, name, "canary Smoked", framework.BatchIs(1, v1alpha1.BatchSmoked))
	}
	_, err = releases.Pause(ctx, names[1], &v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(1), Reason: "before the backup"},
		metav1.CreateOptions{})
	require.NoError(t, err)
	framework.WaitRelease(t, ctx, c, ns, names[1], "paused", func(r *v1alpha1.Release) bool { return r.Status.Phase == v1alpha1.ReleasePaused })
	return names[2:]
}

// The move from the embedded etcd to an external one, as docs/backup-and-restore.md gives it: a server on
// its embedded etcd with releases finished, paused and waiting; `snapshot save -` to a file; the server
// stopped; `snapshot restore` into a data dir for a plain etcd named etcd-0; etcd started there; the
// server started with --etcd-servers. Every release is there as it was (spec, status, history), a verb
// works and the controller drives the release on. etcd's own metrics are on the embedded server's
// /metrics, and not on the external one's.
func TestMoveEmbeddedEtcdToExternal(t *testing.T) {
	s := framework.Setup(t, framework.Timeout(10*time.Minute))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	allowLeaderElection(t, ctx, admin, ns)
	dataDir := filepath.Join(t.TempDir(), "etcd")
	embedded := startReplica(t, "triton-move-embedded", ns, "--etcd-data-dir", dataDir)
	client := embedded.client()
	names := fleet(t, ctx, admin, ns, 3, 2)
	waiting := releasesAtRest(t, ctx, client, ns, names)
	require.ElementsMatch(t, []string{"etcd_server_has_leader", "etcd_mvcc_db_total_size_in_bytes",
		"etcd_disk_wal_fsync_duration_seconds_bucket"}, etcdMetricsOn(t, ctx, embedded),
		"etcd's own metrics of the embedded member on /metrics")
	before := settledReleases(t, ctx, client, ns)
	require.Len(t, before, 3)

	// kubectl exec deploy/triton-apiserver -- triton-apiserver snapshot save - > backup.db
	backup := filepath.Join(t.TempDir(), "backup.db")
	f, err := os.Create(backup)
	require.NoError(t, err)
	code, stderr := runTriton(t, ctx, dataDir, nil, f, "snapshot", "save", "-")
	require.NoError(t, f.Close())
	require.Equal(t, 0, code, stderr)
	require.Equal(t, before, releasesOf(t, ctx, client, ns), "the releases moved while the backup was taken")
	embedded.signal(t, syscall.SIGTERM)

	// triton-apiserver snapshot restore backup.db --etcd-data-dir ... --name etcd-0 ...
	peer := fmt.Sprintf("http://127.0.0.1:%d", ports.Free(t))
	etcdDir := filepath.Join(t.TempDir(), "etcd-0")
	code, stderr = runTriton(t, ctx, "", nil, io.Discard, "snapshot", "restore", backup, "--etcd-data-dir", etcdDir,
		"--name", "etcd-0", "--initial-advertise-peer-urls", peer, "--initial-cluster", "etcd-0="+peer)
	require.Equal(t, 0, code, stderr)
	store := plainEtcd(t, "etcd-0", etcdDir, peer)
	external := startReplica(t, "triton-move-external", ns, "--etcd-servers", store.url)
	client = external.client()
	require.Equal(t, before, releasesOf(t, ctx, client, ns), "the releases on the external etcd")
	assert.Empty(t, etcdMetricsOn(t, ctx, external), "etcd's metrics with --etcd-servers are the external etcd's own")

	_, err = client.ReleasesV1alpha1().Releases(ns).Next(ctx, waiting[0],
		&v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(1), ExpectedPhase: v1alpha1.BatchSmoked}, metav1.CreateOptions{})
	require.NoError(t, err)
	framework.WaitRelease(t, ctx, &framework.Cluster{Releases: client}, ns, waiting[0], "canary Baked, driven by the server on the external etcd",
		framework.BatchIs(1, v1alpha1.BatchBaked))

	// Backups go on the same way: in the container, TRITON_ETCD_SERVERS says where the store is now.
	var again bytes.Buffer
	cmd := exec.CommandContext(ctx, tritonBinary(t), "snapshot", "save", "-")
	cmd.Env = append(os.Environ(), "TRITON_ETCD_SERVERS="+store.url)
	var saveErr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &again, &saveErr
	require.NoError(t, cmd.Run(), "snapshot save with TRITON_ETCD_SERVERS: %s", saveErr.String())
	assert.Contains(t, saveErr.String(), "from "+store.url)
	restored := filepath.Join(t.TempDir(), "etcd")
	code, stderr = runTriton(t, ctx, "", &again, io.Discard, "snapshot", "restore", "-", "--etcd-data-dir", restored)
	require.Equal(t, 0, code, "a snapshot of the external etcd restores: %s", stderr)
}

// The restore of docs/backup-and-restore.md, on the embedded etcd: `snapshot save -` while the server
// runs; later writes; `snapshot restore -` from standard input (kubectl exec -i) into a new data dir next
// to the server's (refused over the server's own: it is in use); the server started again on the
// restored data dir. It serves the releases as they were at the backup, a watcher from before the
// restore sees them so too, and the server drives them on.
func TestRestoreEmbeddedEtcdFromBackup(t *testing.T) {
	s := framework.Setup(t, framework.Timeout(10*time.Minute))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	allowLeaderElection(t, ctx, admin, ns)
	volume := t.TempDir() // the PVC: /var/lib/triton-apiserver
	dataDir := filepath.Join(volume, "etcd")
	server := startReplica(t, "triton-restore-before", ns, "--etcd-data-dir", dataDir)
	client := server.client()
	names := fleet(t, ctx, admin, ns, 3, 2)
	waiting := releasesAtRest(t, ctx, client, ns, names)
	before := settledReleases(t, ctx, client, ns)

	var backup bytes.Buffer
	code, stderr := runTriton(t, ctx, dataDir, nil, &backup, "snapshot", "save", "-")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "Saved a snapshot of etcd revision")
	require.Equal(t, before, releasesOf(t, ctx, client, ns), "the releases moved while the backup was taken")

	// Writes after the backup, which the restore undoes.
	releases := client.ReleasesV1alpha1().Releases(ns)
	require.NoError(t, releases.Delete(ctx, names[0], metav1.DeleteOptions{}))
	r, err := releases.Get(ctx, waiting[0], metav1.GetOptions{})
	require.NoError(t, err)
	r.Labels = map[string]string{"after": "backup"}
	_, err = releases.Update(ctx, r, metav1.UpdateOptions{})
	require.NoError(t, err)
	// A watcher of the server, as kube-apiserver's garbage collector is, up to date with those writes.
	informer := watchReleases(t, ctx, client, ns)

	code, stderr = runTriton(t, ctx, dataDir, bytes.NewReader(backup.Bytes()), io.Discard,
		"snapshot", "restore", "-", "--etcd-data-dir", dataDir)
	require.Equal(t, 1, code, "a restore over the running server's data dir")
	assert.Contains(t, stderr, "in use by a running triton-apiserver")
	restoredDir := filepath.Join(volume, "etcd-restored")
	var out bytes.Buffer
	code, stderr = runTriton(t, ctx, dataDir, bytes.NewReader(backup.Bytes()), &out,
		"snapshot", "restore", "-", "--etcd-data-dir", restoredDir)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out.String(), "Restored the snapshot from standard input")

	// The server started again on the restored data dir, at the same address: the Deployment's
	// TRITON_ETCD_DATA_DIR changed, and its pod replaced.
	server.signal(t, syscall.SIGTERM)
	var args []string
	for i := 0; i < len(server.args); i++ {
		if server.args[i] == "--etcd-data-dir" {
			i++ // the data dir from the environment instead, as the Deployment gives it
			continue
		}
		args = append(args, server.args[i])
	}
	server.args = args
	server.env = append(server.env, "TRITON_ETCD_DATA_DIR="+restoredDir)
	server.restart(t)
	require.Equal(t, before, releasesOf(t, ctx, client, ns), "the releases as they were at the backup")
	assert.Len(t, etcdMetricsOn(t, ctx, server), 3, "etcd's own metrics of the restored member")
	// The watcher sees the backup's releases too (it was told to list again), and what is written next.
	framework.WaitUntil(t, ctx, "the watcher to see the restored releases", func(context.Context) (struct{}, bool, string) {
		var seen []v1alpha1.Release
		for _, obj := range informer.GetStore().List() {
			r := obj.(*v1alpha1.Release).DeepCopy()
			r.ResourceVersion = ""
			seen = append(seen, *r)
		}
		sort.Slice(seen, func(i, j int) bool { return seen[i].Name < seen[j].Name })
		return struct{}{}, reflect.DeepEqual(before, seen), fmt.Sprintf("%d releases", len(seen))
	}, framework.Every(100*time.Millisecond), framework.Within(time.Minute))
	watcherCatchesUp(t, ctx, client, informer, ns, names[1])

	_, err = client.ReleasesV1alpha1().Releases(ns).Next(ctx, waiting[0],
		&v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(1), ExpectedPhase: v1alpha1.BatchSmoked}, metav1.CreateOptions{})
	require.NoError(t, err)
	framework.WaitRelease(t, ctx, &framework.Cluster{Releases: client}, ns, waiting[0], "canary Baked, driven by the restored server",
		framework.BatchIs(1, v1alpha1.BatchBaked))
}
