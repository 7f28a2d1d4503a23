package embeddedetcd

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"k8s.io/klog/v2"
)

const (
	// defragMinFree is how much of the database must be free pages, besides more than half of it, before a
	// periodic defragmentation is worth blocking the member for.
	defragMinFree int64 = 64 << 20
	// disarmBelow is the share of the quota the database must be below before a NOSPACE alarm is disarmed,
	// so that the member does not raise it again with the next few writes.
	disarmBelow = 0.8
	// opTimeout bounds one maintenance call; a defragmentation of a large database takes a while.
	opTimeout = 5 * time.Minute
)

// space is what the maintenance loop knows of the member at one moment.
type space struct {
	// Size is the database's allocated size, free pages included: what the quota is checked against.
	// InUse is the part live data takes.
	Size, InUse int64
	// NoSpace: a NOSPACE alarm is active.
	NoSpace bool
	// Revision is the store's current revision; CompactedTo the revision the loop last compacted to, and
	// DefraggedAt what CompactedTo was at its last defragmentation.
	Revision, CompactedTo, DefraggedAt int64
	// SinceDefrag is how long ago the loop last defragmented (or the member started).
	SinceDefrag time.Duration
}

// policy is when the loop acts.
type policy struct {
	Quota int64
	// DefragInterval: 0, no periodic defragmentation.
	DefragInterval time.Duration
	DefragMinFree  int64
}

// disarmAt is the database size below which a NOSPACE alarm is disarmed.
func (p policy) disarmAt() int64 { return int64(float64(p.Quota) * disarmBelow) }

// action is one thing the loop does to the member.
type action int

const (
	none action = iota
	// compact compacts the store to its current revision.
	compact
	// defrag defragments the database, giving its free pages back to the file system.
	defrag
	// disarm disarms the NOSPACE alarm.
	disarm
)

func (a action) String() string {
	return [...]string{"none", "compact", "defrag", "disarm"}[a]
}

// next is what the loop does next with a member in state s; it acts, looks again, and asks again until
// the answer is none.
//
// Without an alarm the only action is the periodic defragmentation: at most once per DefragInterval, and
// only when free pages are more than half the database and more than DefragMinFree.
//
// Under a NOSPACE alarm: disarm as soon as the database is below disarmAt (space was freed, or the quota
// was raised since the alarm); else compact the store to its current revision, once per new revision (only
// deletes can make new revisions now, and the API server's own compactor is refused under the alarm); else
// defragment when that would take the database below disarmAt and frees at least a tenth of it (so that a
// defragmentation that could not help is not repeated), or once after each compaction whatever the in-use
// size says: that size is counted at the backend's commits, and the pages a compaction frees count as
// free only from a later commit, which, with writes refused, may not come. Otherwise nothing can be done:
// objects must be deleted, or the quota raised.
func next(s space, p policy) action {
	free := s.Size - s.InUse
	if s.NoSpace {
		switch {
		case s.Size < p.disarmAt():
			return disarm
		case s.Revision > s.CompactedTo:
			return compact
		case s.InUse < p.disarmAt() && free >= s.Size/10:
			return defrag
		case s.CompactedTo > s.DefraggedAt:
			return defrag
		}
		return none
	}
	if p.DefragInterval > 0 && s.SinceDefrag >= p.DefragInterval && free > s.Size/2 && free > p.DefragMinFree {
		return defrag
	}
	return none
}

// maintainer keeps one member in shape: it defragments it now and then and recovers it from NOSPACE.
type maintainer struct {
	client   *clientv3.Client
	endpoint string
	policy   policy
	every    time.Duration
	// compactedTo, defraggedAt, lastDefrag and the episode flags live only in the loop's goroutine.
	compactedTo, defraggedAt int64
	lastDefrag               time.Time
	// alarmed: a NOSPACE alarm was seen and not yet disarmed; stuck: the loop said it cannot recover by
	// itself (said once per state).
	alarmed, stuck bool
}

func newMaintainer(s *Server, c Config) (*maintainer, error) {
	client, err := clientv3.New(clientv3.Config{Endpoints: []string{s.ClientURL}, DialTimeout: 10 * time.Second,
		Logger: zap.NewNop()})
	if err != nil {
		return nil, fmt.Errorf("maintenance client: %w", err)
	}
	minFree := c.defragMinFree
	if minFree == 0 {
		minFree = defragMinFree
	}
	return &maintainer{client: client, endpoint: s.ClientURL, every: c.CheckInterval, lastDefrag: time.Now(),
		policy: policy{Quota: c.QuotaBackendBytes, DefragInterval: c.DefragInterval, DefragMinFree: minFree}}, nil
}

// run looks at the member every CheckInterval and acts, until ctx is done.
func (m *maintainer) run(ctx context.Context) {
	defer m.client.Close()
	t := time.NewTicker(m.every)
	defer t.Stop()
	for {
		m.check(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// check acts on the member until there is nothing left to do (at most one of each action).
func (m *maintainer) check(ctx context.Context) {
	for range 4 {
		s, err := m.observe(ctx)
		if err != nil {
			if ctx.Err() == nil {
				klog.ErrorS(err, "Embedded etcd: cannot read the member's space")
			}
			return
		}
		a := next(s, m.policy)
		m.report(s, a)
		if a == none {
			return
		}
		if err := m.do(ctx, a, s); err != nil {
			if ctx.Err() == nil {
				klog.ErrorS(err, "Embedded etcd: maintenance failed", "action", a.String())
			}
			return
		}
	}
}

func (m *maintainer) observe(ctx context.Context) (space, error) {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	st, err := m.client.Status(ctx, m.endpoint)
	if err != nil {
		return space{}, err
	}
	alarms, err := m.client.AlarmList(ctx)
	if err != nil {
		return space{}, err
	}
	s := space{Size: st.DbSize, InUse: st.DbSizeInUse, CompactedTo: m.compactedTo, DefraggedAt: m.defraggedAt,
		SinceDefrag: time.Since(m.lastDefrag)}
	if st.Header != nil {
		s.Revision = st.Header.Revision
	}
	for _, a := range alarms.Alarms {
		if a.Alarm == etcdserverpb.AlarmType_NOSPACE {
			s.NoSpace = true
		}
	}
	return s, nil
}

// report logs the alarm's start, and once when the loop cannot recover by itself (next is none).
func (m *maintainer) report(s space, next action) {
	if s.NoSpace && !m.alarmed {
		klog.ErrorS(nil, "Embedded etcd is out of space (NOSPACE alarm): it refuses every write until space is freed",
			"dbSizeBytes", s.Size, "dbSizeInUseBytes", s.InUse, "quotaBytes", m.policy.Quota)
	}
	m.alarmed = s.NoSpace
	stuck := s.NoSpace && next == none
	if stuck && !m.stuck {
		klog.ErrorS(nil, "Embedded etcd cannot leave NOSPACE by itself: its live data needs more than the share of the quota "+
			"it disarms below; delete objects, or raise --etcd-quota-backend-bytes and restart",
			"dbSizeInUseBytes", s.InUse, "disarmBelowBytes", m.policy.disarmAt(), "quotaBytes", m.policy.Quota)
	}
	m.stuck = stuck
}

func (m *maintainer) do(ctx context.Context, a action, s space) error {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	switch a {
	case compact:
		// Physical: the compaction has freed its pages in the backend when this returns, for the
		// defragmentation that follows.
		_, err := m.client.Compact(ctx, s.Revision, clientv3.WithCompactPhysical())
		if err != nil && !errors.Is(err, rpctypes.ErrCompacted) {
			return err
		}
		m.compactedTo = s.Revision
		klog.InfoS("Embedded etcd: compacted under NOSPACE", "revision", s.Revision)
	case defrag:
		start := time.Now()
		if _, err := m.client.Defragment(ctx, m.endpoint); err != nil {
			return err
		}
		m.lastDefrag, m.defraggedAt = time.Now(), m.compactedTo
		after, err := m.client.Status(ctx, m.endpoint)
		if err != nil {
			return err
		}
		klog.InfoS("Embedded etcd: defragmented", "noSpace", s.NoSpace, "took", time.Since(start),
			"dbSizeBytesBefore", s.Size, "dbSizeBytesAfter", after.DbSize, "dbSizeInUseBytes", after.DbSizeInUse)
	case disarm:
		alarms, err := m.client.AlarmList(ctx)
		if err != nil {
			return err
		}
		for _, am := range alarms.Alarms {
			if am.Alarm != etcdserverpb.AlarmType_NOSPACE {
				continue
			}
			if _, err := m.client.AlarmDisarm(ctx, (*clientv3.AlarmMember)(am)); err != nil {
				return err
			}
		}
		m.alarmed, m.stuck = false, false
		klog.InfoS("Embedded etcd: disarmed the NOSPACE alarm, writes are accepted again",
			"dbSizeBytes", s.Size, "dbSizeInUseBytes", s.InUse, "quotaBytes", m.policy.Quota,
			"disarmBelowBytes", m.policy.disarmAt())
	}
	return nil
}
