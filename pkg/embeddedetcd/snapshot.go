package embeddedetcd

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	etcdutlsnapshot "go.etcd.io/etcd/etcdutl/v3/snapshot"
	"go.uber.org/zap"
)

// ClientURLFile is the file in the data dir where a running member writes the URL it serves clients on
// (a loopback address with a port the kernel chose), so that `triton-apiserver snapshot save` run next to
// the server (kubectl exec) can reach it.
const ClientURLFile = "client-url"

// The embedded member's identity in its one-member cluster, as StartWithConfig gives it: a data dir
// restored for the embedded member must carry the same.
const (
	SingleMemberName    = "triton"
	SingleMemberPeerURL = "http://localhost:2380"
	SingleMemberToken   = "triton-embedded"
)

// restoreTemp is where Restore builds the data in the data dir before moving it in place: left over only
// by a restore that was interrupted, and removed by the next one.
const restoreTemp = ".triton-restore"

// writeClientURL writes url to dataDir/ClientURLFile, readable by the server's user only, replacing it
// whole (a reader never sees half a URL).
func writeClientURL(dataDir, url string) error {
	tmp, err := os.CreateTemp(dataDir, ClientURLFile+".*")
	if err != nil {
		return fmt.Errorf("writing the client URL: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(url + "\n"); err != nil {
		return fmt.Errorf("writing the client URL: %w", errors.Join(err, tmp.Close()))
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing the client URL: %w", err)
	}
	// CreateTemp makes it 0600 already; say so.
	if err := os.Chmod(tmp.Name(), 0o600); err != nil {
		return fmt.Errorf("writing the client URL: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dataDir, ClientURLFile)); err != nil {
		return fmt.Errorf("writing the client URL: %w", err)
	}
	return nil
}

// ErrNotRunning is returned by ClientURL when no server runs on the data dir.
var ErrNotRunning = errors.New("no triton-apiserver is running on this data dir")

// ClientURL is the client URL of the member that a server running on dataDir serves, read from its
// ClientURLFile. It is ErrNotRunning when no server holds the data dir: a URL left behind by a server that
// stopped could by now be another process's.
func ClientURL(dataDir string) (string, error) {
	running, err := inUse(dataDir)
	if err != nil {
		return "", err
	}
	if !running {
		return "", fmt.Errorf("%s: %w", dataDir, ErrNotRunning)
	}
	raw, err := os.ReadFile(filepath.Join(dataDir, ClientURLFile))
	if err != nil {
		return "", fmt.Errorf("the embedded etcd's client URL: %w", err)
	}
	url := strings.TrimSpace(string(raw))
	if url == "" {
		return "", fmt.Errorf("the embedded etcd's client URL: %s is empty", filepath.Join(dataDir, ClientURLFile))
	}
	return url, nil
}

// inUse reports whether a server holds dataDir's lock. It only looks: a shared lock, taken and let go at
// once, never keeps a server from taking the exclusive one for long.
func inUse(dataDir string) (bool, error) {
	f, err := os.Open(filepath.Join(dataDir, "triton.lock"))
	if errors.Is(err, os.ErrNotExist) {
		if _, err := os.Stat(dataDir); err != nil {
			return false, fmt.Errorf("embedded etcd data dir: %w", err)
		}
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("embedded etcd data dir: %w", err)
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("embedded etcd data dir: %w", err)
	}
	return false, syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
}

// SnapshotInfo describes a saved snapshot.
type SnapshotInfo struct {
	// Endpoint is the member the snapshot was taken from.
	Endpoint string
	// Revision is the store's revision when the snapshot was taken.
	Revision int64
	// Size is the snapshot's size in bytes.
	Size int64
	// Version is the member's storage version, when it says.
	Version string
}

// Save writes a snapshot of a member's whole keyspace to w: etcd's own snapshot, the database as it is
// followed by its SHA-256, which Restore checks. cfg names the members to ask: the first that answers
// gives the snapshot (a snapshot is of one member). It fails when the stream breaks off; w may then have
// received part of it.
func Save(ctx context.Context, cfg clientv3.Config, w io.Writer) (SnapshotInfo, error) {
	if len(cfg.Endpoints) == 0 {
		return SnapshotInfo{}, errors.New("no etcd endpoint")
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = 5 * time.Second
	}
	var errs []error
	for _, endpoint := range cfg.Endpoints {
		one := cfg
		one.Endpoints = []string{endpoint}
		info, started, err := saveFrom(ctx, one, w)
		if err == nil {
			return info, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", endpoint, err))
		if started || ctx.Err() != nil {
			break
		}
	}
	return SnapshotInfo{}, fmt.Errorf("etcd snapshot: %w", errors.Join(errs...))
}

// saveFrom takes the snapshot from cfg's one endpoint; started says whether anything was written to w.
func saveFrom(ctx context.Context, cfg clientv3.Config, w io.Writer) (SnapshotInfo, bool, error) {
	client, err := clientv3.New(cfg)
	if err != nil {
		return SnapshotInfo{}, false, err
	}
	defer client.Close()
	endpoint := cfg.Endpoints[0]
	// The snapshot call itself would wait for a member that does not answer until ctx ends: ask its
	// status first, within the dial timeout.
	sctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	status, err := client.Status(sctx, endpoint)
	cancel()
	if err != nil {
		return SnapshotInfo{}, false, err
	}
	resp, err := client.SnapshotWithVersion(ctx)
	if err != nil {
		return SnapshotInfo{}, false, err
	}
	defer resp.Snapshot.Close()
	counted := &countingWriter{w: w}
	if _, err := io.Copy(counted, resp.Snapshot); err != nil {
		return SnapshotInfo{}, counted.n > 0, fmt.Errorf("the snapshot broke off after %d bytes: %w", counted.n, err)
	}
	// A whole snapshot ends with the SHA-256 of what precedes it, after a multiple of 512 bytes.
	if counted.n%512 != sha256.Size {
		return SnapshotInfo{}, true, fmt.Errorf("the snapshot is incomplete: %d bytes, with no checksum at the end", counted.n)
	}
	return SnapshotInfo{Endpoint: endpoint, Revision: status.Header.GetRevision(), Size: counted.n,
		Version: resp.Version}, true, nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// SaveFile saves a snapshot (Save) to path: written to path.part, synced, then renamed, so that path is
// only ever a whole snapshot. The file is readable by its owner only.
func SaveFile(ctx context.Context, cfg clientv3.Config, path string) (SnapshotInfo, error) {
	part := path + ".part"
	f, err := os.OpenFile(part, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return SnapshotInfo{}, err
	}
	defer os.Remove(part)
	info, err := Save(ctx, cfg, f)
	if err != nil {
		return SnapshotInfo{}, errors.Join(err, f.Close())
	}
	if err := f.Sync(); err != nil {
		return SnapshotInfo{}, errors.Join(err, f.Close())
	}
	if err := f.Close(); err != nil {
		return SnapshotInfo{}, err
	}
	return info, os.Rename(part, path)
}

// RestoreConfig is how a data dir is restored from a snapshot.
type RestoreConfig struct {
	// Snapshot is the snapshot's file (Save), or nil to read it from Reader.
	Snapshot string
	// Reader gives the snapshot when Snapshot is empty (standard input): it is copied into the data dir
	// first, then removed.
	Reader io.Reader
	// DataDir is the data dir to restore into: missing or empty.
	DataDir string
	// Name, PeerURLs, InitialCluster and ClusterToken are the restored member's identity and cluster
	// (etcd's --name, --initial-advertise-peer-urls, --initial-cluster, --initial-cluster-token); empty:
	// the embedded member's (SingleMemberName, SingleMemberPeerURL, ClusterToken). A plain etcd started on the data dir
	// must be given the same.
	Name           string
	PeerURLs       []string
	InitialCluster string
	ClusterToken   string
	// RevisionBump raises the restored store's revision by that much and marks every older revision
	// compacted, so that a client that watched the store before (an informer behind kube-apiserver) is
	// told to list again instead of waiting for revisions that now mean something else. 0: the revisions
	// stay as in the snapshot.
	RevisionBump uint64
	// SkipHashCheck restores a database copied from a member's data dir (member/snap/db), which has no
	// checksum; a snapshot from Save always has one and is checked.
	SkipHashCheck bool
}

// RestoreResult describes a restored data dir.
type RestoreResult struct {
	// Revision is the snapshot's revision and Keys how many keys it holds.
	Revision int64
	Keys     int
}

// ErrDataDirNotEmpty is returned by Restore when the data dir holds data.
var ErrDataDirNotEmpty = errors.New("data dir is not empty")

// ErrDataDirInUse is returned by Restore when a server runs on the data dir.
var ErrDataDirInUse = errors.New("data dir is in use by a running triton-apiserver")

// Restore makes c.DataDir a member's data dir holding the snapshot's keyspace, with etcd's own restore: a
// server started on it (or a plain etcd given the same name and cluster) serves every object the snapshot
// had. It refuses a data dir that a server holds or that holds anything but what an interrupted restore
// left, and holds the data dir's lock meanwhile so that no server starts on it half restored.
func Restore(c RestoreConfig) (RestoreResult, error) {
	if strings.TrimSpace(c.DataDir) == "" {
		return RestoreResult{}, errors.New("restore: no data dir")
	}
	if c.Snapshot == "" && c.Reader == nil {
		return RestoreResult{}, errors.New("restore: no snapshot")
	}
	if c.Name == "" {
		c.Name = SingleMemberName
	}
	if len(c.PeerURLs) == 0 {
		c.PeerURLs = []string{SingleMemberPeerURL}
	}
	if c.InitialCluster == "" {
		c.InitialCluster = c.Name + "=" + strings.Join(c.PeerURLs, ","+c.Name+"=")
	}
	if c.ClusterToken == "" {
		c.ClusterToken = SingleMemberToken
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return RestoreResult{}, fmt.Errorf("restore: %w", err)
	}
	lockPath := filepath.Join(c.DataDir, "triton.lock")
	_, statErr := os.Stat(lockPath)
	hadLock := statErr == nil
	lock, err := lockDataDir(c.DataDir)
	if err != nil {
		return RestoreResult{}, fmt.Errorf("restore into %s: %w (%v)", c.DataDir, ErrDataDirInUse, err)
	}
	restored := false
	defer func() {
		// The lock file is the embedded server's, which makes it again; a plain etcd has no use for it. A
		// refused restore leaves the data dir as it found it. Neither error changes the restore's outcome:
		// a lock file left behind is harmless to both.
		if restored || !hadLock {
			_ = os.Remove(lockPath)
		}
		_ = lock.Close()
	}()
	entries, err := os.ReadDir(c.DataDir)
	if err != nil {
		return RestoreResult{}, fmt.Errorf("restore: %w", err)
	}
	var held []string
	for _, e := range entries {
		switch e.Name() {
		case "triton.lock", restoreTemp, "lost+found":
		default:
			held = append(held, e.Name())
		}
	}
	if len(held) > 0 {
		return RestoreResult{}, fmt.Errorf("restore into %s, which holds %s: %w (restore only into a new or empty directory)",
			c.DataDir, strings.Join(held, ", "), ErrDataDirNotEmpty)
	}
	temp := filepath.Join(c.DataDir, restoreTemp)
	if err := os.RemoveAll(temp); err != nil {
		return RestoreResult{}, fmt.Errorf("restore: %w", err)
	}
	if err := os.Mkdir(temp, 0o700); err != nil {
		return RestoreResult{}, fmt.Errorf("restore: %w", err)
	}
	defer os.RemoveAll(temp)

	path := c.Snapshot
	if path == "" {
		path = filepath.Join(temp, "snapshot.db")
		if err := copyToFile(path, c.Reader); err != nil {
			return RestoreResult{}, fmt.Errorf("restore: reading the snapshot: %w", err)
		}
	}
	manager := etcdutlsnapshot.NewV3(zap.NewNop())
	status, err := manager.Status(path)
	if err != nil {
		return RestoreResult{}, fmt.Errorf("restore: not an etcd snapshot: %w", err)
	}
	out := filepath.Join(temp, "data")
	err = manager.Restore(etcdutlsnapshot.RestoreConfig{
		SnapshotPath:        path,
		Name:                c.Name,
		OutputDataDir:       out,
		PeerURLs:            c.PeerURLs,
		InitialCluster:      c.InitialCluster,
		InitialClusterToken: c.ClusterToken,
		SkipHashCheck:       c.SkipHashCheck,
		RevisionBump:        c.RevisionBump,
		MarkCompacted:       c.RevisionBump > 0,
	})
	if err != nil {
		return RestoreResult{}, fmt.Errorf("restore: %w", err)
	}
	// Everything is in place under the temporary dir: one rename puts it where a member looks.
	if err := os.Rename(filepath.Join(out, "member"), filepath.Join(c.DataDir, "member")); err != nil {
		return RestoreResult{}, fmt.Errorf("restore: %w", err)
	}
	if err := syncDir(c.DataDir); err != nil {
		return RestoreResult{}, fmt.Errorf("restore: %w", err)
	}
	restored = true
	return RestoreResult{Revision: status.Revision, Keys: status.TotalKey}, nil
}

func copyToFile(path string, r io.Reader) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		return errors.Join(err, f.Close())
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
