package stats

import (
	"math"
	"strconv"
	"strings"
)

// NotServed is Goal.Why for a figure the server has no metric for.
const NotServed = "not served"

// RateGoal is the goal that a rate (objects/s) is at least factor times its baseline's: Got is rate ÷
// baseline (NaN without a baseline rate).
func RateGoal(figure string, rate, baseline, factor float64) Goal {
	got := math.NaN()
	if baseline > 0 {
		got = rate / baseline
	}
	return Goal{Figure: figure, Got: got, Limit: factor, AtLeast: true}
}

// P99RatioGoal is the goal that measured ÷ baseline stays at most limit at the p99.
func (r Row) P99RatioGoal(limit float64) Goal {
	_, p := r.Ratio()
	return Goal{Figure: r.Measured.Name + " ÷ " + baselineName(r) + ", p99", Got: p, Limit: limit}
}

// MedianRatioGoal is the goal that measured ÷ baseline stays at most limit at the median.
func (r Row) MedianRatioGoal(limit float64) Goal {
	m, _ := r.Ratio()
	return Goal{Figure: r.Measured.Name + " ÷ " + baselineName(r) + ", median", Got: m, Limit: limit}
}

// ServedGoal is the goal that a server-side figure stays at most limit; a figure of a metric the server
// does not serve is NaN and says so.
func ServedGoal(figure string, got float64, served bool, limit float64) Goal {
	if !served {
		return Goal{Figure: figure, Got: math.NaN(), Limit: limit, Why: NotServed}
	}
	return Goal{Figure: figure, Got: got, Limit: limit}
}

// Memory is a process's resident memory, apart: anonymous (its heap and stacks: what it holds) and
// file-backed (mapped files, such as an embedded etcd's database, which the kernel can drop and read
// again), in bytes.
type Memory struct {
	Anon, File int64
}

// MemoryOf reads RssAnon and RssFile from the text of /proc/<pid>/status; ok is false when either is
// missing.
func MemoryOf(status string) (m Memory, ok bool) {
	var anon, file bool
	for _, line := range strings.Split(status, "\n") {
		key, value, found := strings.Cut(line, ":")
		if !found {
			continue
		}
		f := strings.Fields(value)
		if len(f) < 1 {
			continue
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			continue
		}
		switch key {
		case "RssAnon":
			m.Anon, anon = kb*1024, true
		case "RssFile":
			m.File, file = kb*1024, true
		}
	}
	return m, anon && file
}

// MiB is bytes in mebibytes.
func MiB(bytes int64) float64 { return float64(bytes) / (1 << 20) }
