package stats

import (
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRateGoal(t *testing.T) {
	creates := RateGoal("release create ×1, objects/s ÷ the bare server's", 90, 100, 0.8)
	assert.InDelta(t, 0.9, creates.Got, 1e-12)
	assert.True(t, creates.Pass(), "0.9 of the bare server's rate is at least 0.8")
	gets := RateGoal("release get ×1, objects/s ÷ the bare server's", 90, 100, 0.95)
	assert.False(t, gets.Pass(), "0.9 is below 0.95")
	var b strings.Builder
	require.NoError(t, GoalsMarkdown(&b, []Row{{Goals: []Goal{creates, gets}}}))
	assert.Contains(t, b.String(), "| release get ×1, objects/s ÷ the bare server's | 0.90 | ≥ 0.95 | MISS |", "the limit as set, not rounded")
	none := RateGoal("no baseline", 90, 0, 0.8)
	assert.True(t, math.IsNaN(none.Got))
	assert.False(t, none.Pass())
}

func TestRatioGoalsApart(t *testing.T) {
	// The p99 within the limit, the median not: each is its own goal.
	row := Row{Measured: Series{Name: "pause, 200 releases running", Samples: ms(30, 30, 40)},
		Baseline: &Series{Name: "pause, idle", Samples: ms(10, 10, 30)}}
	p99 := row.P99RatioGoal(2)
	assert.Equal(t, "pause, 200 releases running ÷ pause, idle, p99", p99.Figure)
	assert.InDelta(t, 40.0/30, p99.Got, 1e-12)
	assert.True(t, p99.Pass())
	median := row.MedianRatioGoal(2)
	assert.InDelta(t, 3.0, median.Got, 1e-12)
	assert.False(t, median.Pass())
}

func TestServedGoal(t *testing.T) {
	served := ServedGoal("reaction inside the server, p99 ms", 8, true, 10)
	assert.True(t, served.Pass())
	missing := ServedGoal("reaction inside the server, p99 ms", 0, false, 10)
	assert.False(t, missing.Pass(), "a figure the server does not serve misses")
	var b strings.Builder
	require.NoError(t, GoalsMarkdown(&b, []Row{{Goals: []Goal{served, missing}}}))
	assert.Contains(t, b.String(), "| reaction inside the server, p99 ms | 8.00 | ≤ 10 | PASS |")
	assert.Contains(t, b.String(), "| reaction inside the server, p99 ms | not served | ≤ 10 | MISS |")
}

func TestMemoryOf(t *testing.T) {
	status := "Name:\ttriton-apiserv\nVmRSS:\t  409600 kB\nRssAnon:\t  204800 kB\nRssFile:\t  200704 kB\nRssShmem:\t    4096 kB\n"
	m, ok := MemoryOf(status)
	require.True(t, ok)
	assert.Equal(t, Memory{Anon: 200 << 20, File: 196 << 20}, m)
	assert.Equal(t, 200.0, MiB(m.Anon))
	_, ok = MemoryOf("Name:\tx\nVmRSS:\t 10 kB\n")
	assert.False(t, ok, "a kernel without RssAnon")
}
