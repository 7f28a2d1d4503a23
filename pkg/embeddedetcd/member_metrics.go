package embeddedetcd

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
)

// etcd's own metrics (etcd_server_has_leader, etcd_mvcc_db_total_size_in_bytes,
// etcd_disk_wal_fsync_duration_seconds, ...) are registered by etcd's packages into prometheus' default
// registry, which the server's /metrics does not serve: it serves component-base's legacyregistry. The
// bridge below re-exports them from there, while a member runs in this process: with --etcd-servers they
// belong to the external etcd, which serves them itself.

// memberMetricPrefixes are the families of the member's: etcd's server, storage, disk, network and
// snapshot metrics. Not etcd_request_*, etcd_bookmark_* and the like, which are the API server's own (its
// etcd client's), in legacyregistry already.
var memberMetricPrefixes = []string{
	"etcd_server_", "etcd_mvcc_", "etcd_disk_", "etcd_network_", "etcd_snap_", "etcd_debugging_",
	"etcd_cluster_",
}

// memberMetrics is registered once into legacyregistry (registerMetrics) and reports only while
// spaceMetrics has a member.
var memberMetrics = &memberCollector{gatherer: prometheus.DefaultGatherer}

// memberCollector re-exports the member's families gathered from etcd's registry. It is unchecked (it
// describes nothing): which families there are is etcd's business.
type memberCollector struct {
	gatherer prometheus.Gatherer
}

// Describe implements prometheus.Collector.
func (c *memberCollector) Describe(chan<- *prometheus.Desc) {}

// Collect implements prometheus.Collector.
func (c *memberCollector) Collect(ch chan<- prometheus.Metric) {
	spaceMetrics.mu.Lock()
	running := spaceMetrics.server != nil
	spaceMetrics.mu.Unlock()
	if !running {
		return
	}
	// Gather reports what it could gather along with any error: take what there is.
	families, _ := c.gatherer.Gather()
	for _, f := range families {
		if !isMemberMetric(f.GetName()) {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := make([]string, 0, len(m.GetLabel()))
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName())
			}
			ch <- &gathered{desc: prometheus.NewDesc(f.GetName(), f.GetHelp(), labels, nil), metric: m}
		}
	}
}

func isMemberMetric(name string) bool {
	for _, p := range memberMetricPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// gathered is one metric as gathered, written out again as it was.
type gathered struct {
	desc   *prometheus.Desc
	metric *dto.Metric
}

func (g *gathered) Desc() *prometheus.Desc { return g.desc }

func (g *gathered) Write(out *dto.Metric) error {
	proto.Merge(out, g.metric)
	return nil
}
