package embeddedetcd

import (
	"sync"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"
)

// The member's space on the server's /metrics, read from the member at scrape time. Nothing is reported
// while no member runs (an external etcd).
var (
	dbSizeDesc = metrics.NewDesc("triton_embedded_etcd_db_size_bytes",
		"Allocated size of the embedded etcd's database, free pages included: what its quota is checked against.",
		nil, nil, metrics.ALPHA, "")
	dbSizeInUseDesc = metrics.NewDesc("triton_embedded_etcd_db_size_in_use_bytes",
		"Part of the embedded etcd's database that live data takes; the rest is freed by defragmentation.",
		nil, nil, metrics.ALPHA, "")
	quotaDesc = metrics.NewDesc("triton_embedded_etcd_quota_bytes",
		"Backend quota of the embedded etcd (--etcd-quota-backend-bytes): past it, writes are refused (NOSPACE).",
		nil, nil, metrics.ALPHA, "")
	noSpaceDesc = metrics.NewDesc("triton_embedded_etcd_nospace_alarm",
		"1 while the embedded etcd's NOSPACE alarm is active (every write is refused), else 0.",
		nil, nil, metrics.ALPHA, "")

	spaceMetrics = &spaceCollector{}

	registerOnce sync.Once
)

// registerMetrics registers the member's gauges, and etcd's own metrics of the member (memberMetrics),
// into legacyregistry, which the generic API server serves on /metrics. It is safe to call more than once.
func registerMetrics() {
	registerOnce.Do(func() {
		legacyregistry.CustomMustRegister(spaceMetrics)
		legacyregistry.RawMustRegister(memberMetrics)
	})
}

func setMetricsSource(s *Server) {
	spaceMetrics.mu.Lock()
	defer spaceMetrics.mu.Unlock()
	spaceMetrics.server = s
}

// unsetMetricsSource stops reporting s; a no-op once another member has replaced it.
func unsetMetricsSource(s *Server) {
	spaceMetrics.mu.Lock()
	defer spaceMetrics.mu.Unlock()
	if spaceMetrics.server == s {
		spaceMetrics.server = nil
	}
}

// spaceCollector reports the running member's space.
type spaceCollector struct {
	metrics.BaseStableCollector
	mu     sync.Mutex
	server *Server
}

// DescribeWithStability implements metrics.StableCollector.
func (c *spaceCollector) DescribeWithStability(ch chan<- *metrics.Desc) {
	ch <- dbSizeDesc
	ch <- dbSizeInUseDesc
	ch <- quotaDesc
	ch <- noSpaceDesc
}

// CollectWithStability implements metrics.StableCollector.
func (c *spaceCollector) CollectWithStability(ch chan<- metrics.Metric) {
	c.mu.Lock()
	s := c.server
	c.mu.Unlock()
	if s == nil {
		return
	}
	noSpace := 0.0
	for _, a := range s.etcd.Server.Alarms() {
		if a.Alarm == etcdserverpb.AlarmType_NOSPACE {
			noSpace = 1
		}
	}
	// The member's backend: a member of a cluster gets a new one when it receives a snapshot from the
	// leader. Its sizes are atomic reads, so a scrape does not wait for a defragmentation to end.
	be := s.etcd.Server.Backend()
	ch <- metrics.NewLazyConstMetric(dbSizeDesc, metrics.GaugeValue, float64(be.Size()))
	ch <- metrics.NewLazyConstMetric(dbSizeInUseDesc, metrics.GaugeValue, float64(be.SizeInUse()))
	ch <- metrics.NewLazyConstMetric(quotaDesc, metrics.GaugeValue, float64(s.quota))
	ch <- metrics.NewLazyConstMetric(noSpaceDesc, metrics.GaugeValue, noSpace)
}
