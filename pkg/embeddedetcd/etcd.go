package embeddedetcd

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"k8s.io/klog/v2"
)

// startTimeout bounds how long a member may take to replay its WAL and elect itself.
const startTimeout = 2 * time.Minute

const (
	// DefaultQuotaBackendBytes is the member's backend quota: once its database reaches it, etcd raises a
	// NOSPACE alarm and refuses every write until the alarm is disarmed (see Config.QuotaBackendBytes).
	DefaultQuotaBackendBytes int64 = 2 << 30 // 2 GiB, etcd's own default, set explicitly
	// singleMemberCatchUpEntries is the raft log entries a member with no peers keeps in memory past its
	// last snapshot (etcd's --snapshot-catchup-entries; a cluster's members keep etcd's default).
	singleMemberCatchUpEntries uint64 = 100
	// MinQuotaBackendBytes and MaxQuotaBackendBytes bound the quota: below 16 MiB the member cannot hold
	// a useful number of releases, above 8 GiB is beyond etcd's suggested maximum.
	MinQuotaBackendBytes int64 = 16 << 20
	MaxQuotaBackendBytes int64 = 8 << 30
	// DefaultDefragInterval is how often, at most, the member is defragmented when much of its database
	// is free (see Config.DefragInterval).
	DefaultDefragInterval = time.Hour
	// DefaultCheckInterval is how often the member's space and alarms are looked at.
	DefaultCheckInterval = 10 * time.Second
)

// Config is how a member runs.
type Config struct {
	// DataDir is where the member keeps its data (created if missing).
	DataDir string
	// QuotaBackendBytes is the backend quota (etcd's --quota-backend-bytes): a write that would take the
	// database (its allocated size, free pages included) past it raises the NOSPACE alarm, after which the
	// member refuses every write (reads and deletes still work) until the alarm is disarmed. The member
	// disarms it by itself once compaction and defragmentation have brought the database below
	// disarmBelow of the quota (see maintain). Between MinQuotaBackendBytes and MaxQuotaBackendBytes.
	QuotaBackendBytes int64
	// DefragInterval is how often, at most, the member is defragmented: when at least that long has passed
	// since the last defragmentation and more than half of the database, and more than 64 MiB, is free
	// pages. Defragmentation blocks the member's reads and writes while it copies the live data, hence the
	// interval. 0: no periodic defragmentation; the recovery from a NOSPACE alarm still defragments.
	DefragInterval time.Duration
	// AutoCompactionRetention turns on etcd's own periodic compaction, keeping that much history. 0 (the
	// default): off, because k8s.io/apiserver already compacts its etcd every --etcd-compaction-interval
	// (5 minutes by default; its compactor keeps the last interval's revisions), and a second compactor
	// would only compact the same revisions twice. Only when the API server's compaction is off
	// (--etcd-compaction-interval=0) does the member need its own, else its history would grow for ever.
	// Neither compactor can help under a NOSPACE alarm: the API server's compacts through a transaction
	// that writes its compact_rev_key, which the alarm refuses; the recovery compacts by itself instead.
	AutoCompactionRetention time.Duration
	// CheckInterval is how often the member's space and alarms are looked at; a NOSPACE alarm is
	// recovered from at most this long after space became free.
	CheckInterval time.Duration
	// Cluster, when set, makes the member one of a cluster of several (see Cluster); nil: a single member
	// that has no peers.
	Cluster *Cluster

	// defragMinFree overrides the 64 MiB of free pages a periodic defragmentation needs (tests).
	defragMinFree int64
}

// NewConfig returns the defaults for a member that keeps its data in dataDir.
func NewConfig(dataDir string) Config {
	return Config{DataDir: dataDir, QuotaBackendBytes: DefaultQuotaBackendBytes, DefragInterval: DefaultDefragInterval,
		CheckInterval: DefaultCheckInterval}
}

// Validate reports a configuration the member cannot run with.
func (c Config) Validate() error {
	var errs []error
	if strings.TrimSpace(c.DataDir) == "" {
		errs = append(errs, errors.New("no data dir"))
	}
	// A quota of 0 would be etcd's default and a negative one none at all: neither may slip through.
	if c.QuotaBackendBytes < MinQuotaBackendBytes || c.QuotaBackendBytes > MaxQuotaBackendBytes {
		errs = append(errs, fmt.Errorf("quota %d bytes is not between %d (16 MiB) and %d (8 GiB)",
			c.QuotaBackendBytes, MinQuotaBackendBytes, MaxQuotaBackendBytes))
	}
	if c.DefragInterval < 0 {
		errs = append(errs, fmt.Errorf("negative defragmentation interval %s", c.DefragInterval))
	}
	if c.AutoCompactionRetention < 0 {
		errs = append(errs, fmt.Errorf("negative auto-compaction retention %s", c.AutoCompactionRetention))
	}
	if c.CheckInterval <= 0 {
		errs = append(errs, fmt.Errorf("check interval %s is not positive", c.CheckInterval))
	}
	if c.Cluster != nil {
		if err := c.Cluster.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("cluster: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Server is a running embedded etcd member.
type Server struct {
	etcd  *embed.Etcd
	quota int64
	lock  *os.File
	// stopMaintenance ends the maintenance loop; maintained is closed once it has ended.
	stopMaintenance context.CancelFunc
	maintained      chan struct{}
	stopOnce        sync.Once
	// ClientURL is where the member serves its clients: a loopback address with a port the kernel chose.
	ClientURL string
}

// Start starts a member with the defaults (NewConfig) that keeps its data in dataDir.
func Start(ctx context.Context, dataDir string) (*Server, error) {
	return StartWithConfig(ctx, NewConfig(dataDir))
}

// StartWithConfig starts a member that keeps its data in c.DataDir (created if missing) and serves clients
// on 127.0.0.1 only. It returns once the member can serve requests. Until ctx is done or Stop, the member
// is kept in shape (see maintain) and its space is on /metrics.
func StartWithConfig(ctx context.Context, c Config) (*Server, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("embedded etcd: %w", err)
	}
	dataDir := c.DataDir
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("embedded etcd: data dir: %w", err)
	}
	// etcd itself would wait forever for a data dir held by another process; refuse at once instead.
	lock, err := lockDataDir(dataDir)
	if err != nil {
		return nil, err
	}
	started := false
	defer func() {
		if !started {
			_ = lock.Close() // the error that stopped the start is the one returned
		}
	}()
	cfg := embed.NewConfig()
	cfg.Name = "triton"
	cfg.Dir = dataDir
	cfg.LogLevel = "warn"
	// Port 0: the kernel picks a free port; nothing outside this process needs to know it.
	client := url.URL{Scheme: "http", Host: "127.0.0.1:0"}
	cfg.ListenClientUrls = []url.URL{client}
	cfg.AdvertiseClientUrls = []url.URL{client}
	// A single member never talks to peers: no peer listener. The advertised peer URL is only the
	// member's identity in its (one-member) cluster and must stay the same across restarts.
	cfg.ListenPeerUrls = nil
	peer := url.URL{Scheme: "http", Host: "localhost:2380"}
	cfg.AdvertisePeerUrls = []url.URL{peer}
	cfg.InitialCluster = cfg.Name + "=" + peer.String()
	cfg.InitialClusterToken = "triton-embedded"
	var peers *peerTLS
	if c.Cluster != nil {
		// The member's own peer certificate, then how it starts: founding, joining, or asking to be added
		// again (which waits for the running members).
		peers = newPeerTLS(dataDir, c.Cluster)
		if err := peers.issue(ctx, true); err != nil {
			return nil, fmt.Errorf("embedded etcd: %w", err)
		}
		if err := c.Cluster.configure(ctx, cfg, peers); err != nil {
			return nil, fmt.Errorf("embedded etcd: %w", err)
		}
	}
	cfg.QuotaBackendBytes = c.QuotaBackendBytes
	if c.Cluster == nil {
		// etcd keeps the newest entries of its raft log in memory for slow followers to catch up from
		// (5,000 by default: every write of a release, whole). A single member has no follower: keeping
		// a few is enough, and saves the server tens of MiB under a steady stream of status writes.
		cfg.SnapshotCatchUpEntries = singleMemberCatchUpEntries
	}
	if c.AutoCompactionRetention > 0 {
		cfg.AutoCompactionMode = embed.CompactorModePeriodic
		cfg.AutoCompactionRetention = c.AutoCompactionRetention.String()
	} else {
		cfg.AutoCompactionRetention = "0" // off: see Config.AutoCompactionRetention
	}

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("embedded etcd in %s: %w", dataDir, err)
	}
	// A member of a cluster is ready once a quorum of members runs, which may take as long as the others
	// take to start: it waits for them (the caller's ctx, or a kubelet's startup probe, bounds it).
	var timeout <-chan time.Time
	if c.Cluster == nil {
		timer := time.NewTimer(startTimeout)
		defer timer.Stop()
		timeout = timer.C
	}
	waiting := time.NewTicker(30 * time.Second)
	defer waiting.Stop()
wait:
	for {
		select {
		case <-e.Server.ReadyNotify():
			break wait
		case err := <-e.Err():
			e.Close()
			return nil, fmt.Errorf("embedded etcd in %s: %w", dataDir, err)
		case <-timeout:
			e.Close()
			return nil, fmt.Errorf("embedded etcd in %s: not ready after %s", dataDir, startTimeout)
		case <-waiting.C:
			klog.InfoS("Embedded etcd: waiting for a quorum of the cluster's members", "member", cfg.Name,
				"cluster", cfg.InitialCluster)
		case <-ctx.Done():
			e.Close()
			return nil, ctx.Err()
		}
	}
	if len(e.Clients) == 0 {
		e.Close()
		return nil, errors.New("embedded etcd: no client listener")
	}
	s := &Server{etcd: e, quota: c.QuotaBackendBytes, lock: lock,
		ClientURL: "http://" + e.Clients[0].Addr().String()}
	// `triton-apiserver snapshot save`, run next to the server, finds the member there.
	if err := writeClientURL(dataDir, s.ClientURL); err != nil {
		e.Close()
		return nil, fmt.Errorf("embedded etcd: %w", err)
	}
	m, err := newMaintainer(s, c)
	if err != nil {
		e.Close()
		return nil, fmt.Errorf("embedded etcd: %w", err)
	}
	mctx, cancel := context.WithCancel(ctx)
	s.stopMaintenance, s.maintained = cancel, make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { m.run(mctx) })
	if peers != nil {
		wg.Go(func() { peers.renewals(mctx) })
		wg.Go(func() { s.keepMembers(mctx, c.Cluster, peers) })
	}
	go func() {
		defer close(s.maintained)
		wg.Wait()
	}()
	registerMetrics()
	setMetricsSource(s)
	started = true
	return s, nil
}

func lockDataDir(dataDir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dataDir, "triton.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("embedded etcd: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return nil, errors.Join(fmt.Errorf("embedded etcd: data dir %s is in use by another process: %w", dataDir, err), f.Close())
	}
	return f, nil
}

// Err reports a fatal error of the running member.
func (s *Server) Err() <-chan error { return s.etcd.Err() }

// Stop stops the member gracefully; its data stays in the data dir. It may be called more than once.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		s.stopMaintenance()
		<-s.maintained
		unsetMetricsSource(s)
		s.etcd.Close()
		// Closing the file releases the lock.
		if err := s.lock.Close(); err != nil {
			klog.ErrorS(err, "Embedded etcd: releasing the data dir's lock", "file", s.lock.Name())
		}
	})
}
