package embeddedetcd

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestNext(t *testing.T) {
	const mib = int64(1 << 20)
	p := policy{Quota: 1000 * mib, DefragInterval: time.Hour, DefragMinFree: 64 * mib} // disarms below 800 MiB
	cases := []struct {
		name string
		s    space
		p    policy
		want action
	}{
		// No alarm: the periodic defragmentation only.
		{"empty member", space{Size: 1 * mib, InUse: 1 * mib, SinceDefrag: 2 * time.Hour}, p, none},
		{"mostly free, interval passed", space{Size: 500 * mib, InUse: 100 * mib, SinceDefrag: time.Hour}, p, defrag},
		{"mostly free, interval not passed", space{Size: 500 * mib, InUse: 100 * mib, SinceDefrag: 59 * time.Minute}, p, none},
		{"exactly half free", space{Size: 400 * mib, InUse: 200 * mib, SinceDefrag: 2 * time.Hour}, p, none},
		{"just over half free", space{Size: 400 * mib, InUse: 199 * mib, SinceDefrag: 2 * time.Hour}, p, defrag},
		{"over half free but only 64 MiB", space{Size: 100 * mib, InUse: 36 * mib, SinceDefrag: 2 * time.Hour}, p, none},
		{"over half free and over 64 MiB", space{Size: 100 * mib, InUse: 35 * mib, SinceDefrag: 2 * time.Hour}, p, defrag},
		{"periodic defragmentation off", space{Size: 500 * mib, InUse: 100 * mib, SinceDefrag: 100 * time.Hour},
			policy{Quota: p.Quota, DefragMinFree: p.DefragMinFree}, none},
		{"no alarm, never compacts", space{Size: 990 * mib, InUse: 990 * mib, Revision: 100}, p, none},
		{"no alarm, never disarms", space{Size: 10 * mib, InUse: 10 * mib}, p, none},

		// NOSPACE: compact, defragment, disarm, whatever the interval.
		{"alarm, uncompacted revisions", space{NoSpace: true, Size: 1000 * mib, InUse: 990 * mib, Revision: 7, CompactedTo: 5}, p, compact},
		{"alarm, never compacted", space{NoSpace: true, Size: 1000 * mib, InUse: 990 * mib, Revision: 7}, p, compact},
		{"alarm, compacted, space freed", space{NoSpace: true, Size: 1000 * mib, InUse: 300 * mib, Revision: 7, CompactedTo: 7, DefraggedAt: 5}, p, defrag},
		{"alarm, compacted, space freed, defragmented before", space{NoSpace: true, Size: 1000 * mib, InUse: 300 * mib, Revision: 7, CompactedTo: 7, DefraggedAt: 7}, p, defrag},
		{"alarm, defragmentation ignores the interval", space{NoSpace: true, Size: 1000 * mib, InUse: 300 * mib, Revision: 7, CompactedTo: 7},
			policy{Quota: p.Quota, DefragMinFree: p.DefragMinFree}, defrag},
		{"alarm, defragmentation ignores the 64 MiB", space{NoSpace: true, Size: 100 * mib, InUse: 70 * mib, Revision: 7, CompactedTo: 7},
			policy{Quota: 100 * mib, DefragInterval: time.Hour, DefragMinFree: 64 * mib}, defrag},
		{"alarm, compacted, in use not counted yet", space{NoSpace: true, Size: 1000 * mib, InUse: 990 * mib, Revision: 7, CompactedTo: 7, DefraggedAt: 5}, p, defrag},
		{"alarm, compacted and defragmented, live data too large", space{NoSpace: true, Size: 1000 * mib, InUse: 800 * mib, Revision: 7, CompactedTo: 7, DefraggedAt: 7}, p, none},
		{"alarm, defragmented but still above", space{NoSpace: true, Size: 805 * mib, InUse: 799 * mib, Revision: 7, CompactedTo: 7, DefraggedAt: 7}, p, none},
		{"alarm, defragmented below 80%", space{NoSpace: true, Size: 301 * mib, InUse: 300 * mib, Revision: 7, CompactedTo: 7}, p, disarm},
		{"alarm, just at 80%", space{NoSpace: true, Size: 800 * mib, InUse: 100 * mib, Revision: 7, CompactedTo: 7}, p, defrag},
		{"alarm, quota raised since", space{NoSpace: true, Size: 1000 * mib, InUse: 1000 * mib, Revision: 7},
			policy{Quota: 2000 * mib}, disarm},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want.String(), next(c.s, c.p).String())
		})
	}
}

func TestConfigValidate(t *testing.T) {
	assert.NoError(t, NewConfig("/data").Validate())
	d := NewConfig("/data")
	assert.Equal(t, int64(2<<30), d.QuotaBackendBytes)
	assert.Equal(t, time.Hour, d.DefragInterval)
	assert.Zero(t, d.AutoCompactionRetention, "the API server compacts; etcd's own compactor is off")

	for name, change := range map[string]func(*Config){
		"no data dir":          func(c *Config) { c.DataDir = " " },
		"quota 0":              func(c *Config) { c.QuotaBackendBytes = 0 },
		"negative quota":       func(c *Config) { c.QuotaBackendBytes = -1 },
		"quota under 16 MiB":   func(c *Config) { c.QuotaBackendBytes = MinQuotaBackendBytes - 1 },
		"quota over 8 GiB":     func(c *Config) { c.QuotaBackendBytes = MaxQuotaBackendBytes + 1 },
		"negative defrag":      func(c *Config) { c.DefragInterval = -time.Second },
		"negative retention":   func(c *Config) { c.AutoCompactionRetention = -time.Second },
		"no check interval":    func(c *Config) { c.CheckInterval = 0 },
		"negative check every": func(c *Config) { c.CheckInterval = -time.Second },
	} {
		t.Run(name, func(t *testing.T) {
			c := NewConfig("/data")
			change(&c)
			assert.Error(t, c.Validate())
		})
	}
	for name, change := range map[string]func(*Config){
		"quota 16 MiB":       func(c *Config) { c.QuotaBackendBytes = MinQuotaBackendBytes },
		"quota 8 GiB":        func(c *Config) { c.QuotaBackendBytes = MaxQuotaBackendBytes },
		"no periodic defrag": func(c *Config) { c.DefragInterval = 0 },
		"auto-compaction":    func(c *Config) { c.AutoCompactionRetention = 5 * time.Minute },
	} {
		t.Run(name, func(t *testing.T) {
			c := NewConfig("/data")
			change(&c)
			assert.NoError(t, c.Validate())
		})
	}
}
