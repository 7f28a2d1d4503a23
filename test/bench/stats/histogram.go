package stats

import (
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Histogram is a Prometheus histogram as scraped from /metrics: its cumulative buckets, by upper bound
// (the last one +Inf). Its figures are in the metric's unit (seconds for the *_seconds metrics).
type Histogram struct {
	Buckets []Bucket `json:"buckets"`
}

// Bucket is one cumulative bucket: how many observations were at most UpperBound.
type Bucket struct {
	UpperBound float64
	Count      float64
}

// MarshalJSON writes the bound as Prometheus does ("+Inf" included, which a JSON number cannot hold).
func (b Bucket) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		LE    string  `json:"le"`
		Count float64 `json:"count"`
	}{strconv.FormatFloat(b.UpperBound, 'g', -1, 64), b.Count})
}

// HistogramOf gathers the buckets of the histogram name from scraped series ("name_bucket{labels}" →
// value), adding up every label set whose labels include each of labels (written `key="value"`), bucket
// by bucket. ok is false when no bucket of it was scraped: the server does not serve the metric.
func HistogramOf(series map[string]float64, name string, labels ...string) (h Histogram, ok bool) {
	byBound := map[float64]float64{}
	prefix := name + "_bucket{"
	for s, v := range series {
		if !strings.HasPrefix(s, prefix) || !hasLabels(s, labels) {
			continue
		}
		le, found := labelValue(s, "le")
		if !found {
			continue
		}
		bound, err := strconv.ParseFloat(le, 64) // "+Inf" parses to +Inf
		if err != nil {
			continue
		}
		byBound[bound] += v
		ok = true
	}
	for bound, n := range byBound {
		h.Buckets = append(h.Buckets, Bucket{UpperBound: bound, Count: n})
	}
	sort.Slice(h.Buckets, func(i, j int) bool { return h.Buckets[i].UpperBound < h.Buckets[j].UpperBound })
	return h, ok
}

// hasLabels reports whether a series ("name{k="v",...}") has each of labels.
func hasLabels(series string, labels []string) bool {
	for _, l := range labels {
		if !strings.Contains(series, l) {
			return false
		}
	}
	return true
}

// labelValue is the value of label key in a series written "name{k="v",...}".
func labelValue(series, key string) (string, bool) {
	open := strings.IndexByte(series, '{')
	if open < 0 {
		return "", false
	}
	rest := series[open+1:]
	for rest != "" {
		eq := strings.Index(rest, `="`)
		if eq < 0 {
			return "", false
		}
		k := strings.TrimLeft(rest[:eq], ", ")
		rest = rest[eq+2:]
		end := strings.Index(rest, `"`)
		for end > 0 && rest[end-1] == '\\' {
			next := strings.Index(rest[end+1:], `"`)
			if next < 0 {
				return "", false
			}
			end += next + 1
		}
		if end < 0 {
			return "", false
		}
		if k == key {
			return rest[:end], true
		}
		rest = rest[end+1:]
	}
	return "", false
}

// Sub is what was observed between two scrapes: h minus before, bucket by bucket (a bucket before does
// not have counts 0).
func (h Histogram) Sub(before Histogram) Histogram {
	was := map[float64]float64{}
	for _, b := range before.Buckets {
		was[b.UpperBound] = b.Count
	}
	out := Histogram{Buckets: make([]Bucket, len(h.Buckets))}
	for i, b := range h.Buckets {
		out.Buckets[i] = Bucket{UpperBound: b.UpperBound, Count: b.Count - was[b.UpperBound]}
	}
	return out
}

// Count is how many observations the histogram holds (its +Inf bucket).
func (h Histogram) Count() float64 {
	if len(h.Buckets) == 0 {
		return 0
	}
	return h.Buckets[len(h.Buckets)-1].Count
}

// Quantile estimates the q-quantile (0..1) as Prometheus' histogram_quantile does: it finds the bucket the
// q-th observation falls in and interpolates linearly inside it (from 0 for the first bucket when its
// bound is positive); in the +Inf bucket it answers the highest finite bound. NaN for no observations or
// no +Inf bucket; -Inf and +Inf for q below 0 and above 1.
func (h Histogram) Quantile(q float64) float64 {
	switch {
	case math.IsNaN(q):
		return math.NaN()
	case q < 0:
		return math.Inf(-1)
	case q > 1:
		return math.Inf(1)
	}
	b := h.Buckets
	if len(b) < 2 || !math.IsInf(b[len(b)-1].UpperBound, 1) {
		return math.NaN()
	}
	// Counts that go down from one bucket to the next (scrapes not taken at one instant) are evened out,
	// as Prometheus does.
	counts := make([]float64, len(b))
	for i := range b {
		counts[i] = b[i].Count
		if i > 0 && counts[i] < counts[i-1] {
			counts[i] = counts[i-1]
		}
	}
	total := counts[len(counts)-1]
	if total <= 0 {
		return math.NaN()
	}
	rank := q * total
	i := sort.SearchFloat64s(counts, rank)
	if i >= len(b)-1 {
		return b[len(b)-2].UpperBound
	}
	if i == 0 && b[0].UpperBound <= 0 {
		return b[0].UpperBound
	}
	start, below := 0.0, 0.0
	if i > 0 {
		start, below = b[i-1].UpperBound, counts[i-1]
	}
	in := counts[i] - below
	if in <= 0 {
		return b[i].UpperBound
	}
	return start + (b[i].UpperBound-start)*((rank-below)/in)
}
