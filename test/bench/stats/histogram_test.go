package stats

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A scrape of two label sets of one histogram and another metric, as /metrics has them.
var scraped = map[string]float64{
	`triton_reaction_seconds_bucket{verb="a",le="0.005"}`: 2,
	`triton_reaction_seconds_bucket{verb="a",le="0.01"}`:  6,
	`triton_reaction_seconds_bucket{verb="a",le="0.1"}`:   9,
	`triton_reaction_seconds_bucket{verb="a",le="+Inf"}`:  10,
	`triton_reaction_seconds_bucket{verb="b",le="0.005"}`: 0,
	`triton_reaction_seconds_bucket{verb="b",le="0.01"}`:  4,
	`triton_reaction_seconds_bucket{verb="b",le="0.1"}`:   10,
	`triton_reaction_seconds_bucket{verb="b",le="+Inf"}`:  10,
	`triton_reaction_seconds_sum{verb="a"}`:               0.3,
	`triton_reaction_seconds_count{verb="a"}`:             10,
	`triton_reaction_seconds_total_bucket{le="1"}`:        99, // another metric that starts with the same name
}

func TestHistogramOf(t *testing.T) {
	h, ok := HistogramOf(scraped, "triton_reaction_seconds")
	require.True(t, ok)
	assert.Equal(t, []Bucket{{0.005, 2}, {0.01, 10}, {0.1, 19}, {math.Inf(1), 20}}, h.Buckets, "label sets added up, bucket by bucket, in order")
	assert.Equal(t, 20.0, h.Count())

	a, ok := HistogramOf(scraped, "triton_reaction_seconds", `verb="a"`)
	require.True(t, ok)
	assert.Equal(t, 10.0, a.Count())

	_, ok = HistogramOf(scraped, "triton_release_controller_reaction_seconds")
	assert.False(t, ok, "a metric the server does not serve")
	assert.Equal(t, 0.0, Histogram{}.Count())
}

func TestHistogramSub(t *testing.T) {
	before := Histogram{Buckets: []Bucket{{0.01, 1}, {math.Inf(1), 3}}}
	after := Histogram{Buckets: []Bucket{{0.005, 4}, {0.01, 5}, {math.Inf(1), 9}}}
	assert.Equal(t, []Bucket{{0.005, 4}, {0.01, 4}, {math.Inf(1), 6}}, after.Sub(before).Buckets,
		"a bucket the earlier scrape did not have counts from 0")
}

// Quantile gives what Prometheus' histogram_quantile gives for the same buckets.
func TestHistogramQuantileAsPrometheus(t *testing.T) {
	h := Histogram{Buckets: []Bucket{{0.005, 2}, {0.01, 10}, {0.1, 19}, {math.Inf(1), 20}}}
	// rank 10 of 20: the 0.01 bucket is the first with ≥ 10; inside it (0.005, 0.01] 8 of 8 up to rank 10.
	assert.InDelta(t, 0.01, h.Quantile(0.5), 1e-12)
	// rank 5: the second bucket, 3 of its 8: 0.005 + 0.005 × 3/8.
	assert.InDelta(t, 0.005+0.005*3.0/8, h.Quantile(0.25), 1e-12)
	// rank 1: the first bucket, interpolated from 0: 0.005 × 1/2.
	assert.InDelta(t, 0.0025, h.Quantile(0.05), 1e-12)
	// rank 19.8 is in the +Inf bucket: the highest finite bound.
	assert.Equal(t, 0.1, h.Quantile(0.99))
	// rank 19: the 0.1 bucket, all 9 of it.
	assert.InDelta(t, 0.1, h.Quantile(0.95), 1e-12)

	assert.True(t, math.IsInf(h.Quantile(-0.1), -1))
	assert.True(t, math.IsInf(h.Quantile(1.1), 1))
	assert.True(t, math.IsNaN(Histogram{Buckets: []Bucket{{0.01, 0}, {math.Inf(1), 0}}}.Quantile(0.5)), "no observations")
	assert.True(t, math.IsNaN(Histogram{Buckets: []Bucket{{0.01, 3}}}.Quantile(0.5)), "no +Inf bucket")

	// Counts that go down (a scrape not taken at one instant) are evened out, as Prometheus does.
	uneven := Histogram{Buckets: []Bucket{{1, 4}, {2, 3}, {4, 8}, {math.Inf(1), 8}}}
	assert.InDelta(t, 3.0, uneven.Quantile(0.75), 1e-12, "rank 6 is 2 of the 4 in (2, 4]")
}

func TestHistogramRowAndJSON(t *testing.T) {
	h := Histogram{Buckets: []Bucket{{0.005, 2}, {0.01, 10}, {0.1, 19}, {math.Inf(1), 20}}}
	row := Row{Measured: Series{Name: "reaction inside the server"}, Histogram: &h}
	var b strings.Builder
	require.NoError(t, Markdown(&b, []Row{row, {Measured: Series{Name: "not served"}, Note: "not served"}}))
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	require.Len(t, lines, 4)
	assert.Equal(t, "| reaction inside the server | 20 | 10ms | 100ms |  |  |  |  |  |  |", lines[2])
	assert.Equal(t, "| not served | 0 |  |  |  |  |  |  |  | not served |", lines[3])

	raw, err := json.Marshal(row)
	require.NoError(t, err, "+Inf is written as Prometheus writes it")
	assert.Contains(t, string(raw), `{"le":"+Inf","count":20}`)
	assert.Contains(t, string(raw), `{"le":"0.005","count":2}`)
}
