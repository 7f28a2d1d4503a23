package stats

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func ms(n ...int) []time.Duration {
	out := make([]time.Duration, len(n))
	for i, v := range n {
		out[i] = time.Duration(v) * time.Millisecond
	}
	return out
}

func TestQuantile(t *testing.T) {
	samples := ms(5, 1, 4, 2, 3) // sorted: 1 2 3 4 5
	assert.Equal(t, 3*time.Millisecond, Quantile(samples, 0.5))
	assert.Equal(t, 5*time.Millisecond, Quantile(samples, 0.99))
	assert.Equal(t, 1*time.Millisecond, Quantile(samples, 0))
	assert.Equal(t, time.Duration(0), Quantile(nil, 0.5))
	assert.Equal(t, ms(5, 1, 4, 2, 3), samples, "the samples are left in their order")

	var hundred []time.Duration
	for i := 1; i <= 100; i++ {
		hundred = append(hundred, time.Duration(i)*time.Millisecond)
	}
	assert.Equal(t, 50*time.Millisecond, Quantile(hundred, 0.5))
	assert.Equal(t, 99*time.Millisecond, Quantile(hundred, 0.99))
}

func TestRatioAndMarkdown(t *testing.T) {
	row := Row{
		Measured: Series{Name: "next", Samples: ms(10, 20, 30)},
		Baseline: &Series{Name: "merge-patch", Samples: ms(5, 10, 15)},
		Values:   map[string]float64{"objects/s": 120.5},
	}
	m, p := row.Ratio()
	assert.InDelta(t, 2.0, m, 1e-9)
	assert.InDelta(t, 2.0, p, 1e-9)
	none, _ := Row{Measured: Series{Samples: ms(1)}}.Ratio()
	assert.True(t, math.IsNaN(none))

	var b strings.Builder
	require.NoError(t, Markdown(&b, []Row{row}))
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	require.Len(t, lines, 3)
	assert.Equal(t, "| next | 3 | 20ms | 30ms | merge-patch | 10ms | 15ms | 2.00 | 2.00 | objects/s 120.5 |", lines[2])
}

func TestGoalsPassOrMiss(t *testing.T) {
	row := Row{Measured: Series{Name: "next", Samples: ms(30, 30, 30)}, Baseline: &Series{Name: "floor", Samples: ms(20, 20, 20)}}
	goals := row.RatioGoals(1.5)
	require.Len(t, goals, 2)
	assert.True(t, goals[0].Pass(), "1.5 at most 1.5")
	row.Goals = append(goals,
		Goal{Figure: "objects/s ÷ the CRD's", Got: 0.9, Limit: 1, AtLeast: true},
		Goal{Figure: "untouched pods", Got: math.NaN(), Limit: 32})
	assert.False(t, row.Goals[2].Pass())
	assert.False(t, row.Goals[3].Pass(), "not measured misses")
	var b strings.Builder
	require.NoError(t, GoalsMarkdown(&b, []Row{row}))
	assert.Contains(t, b.String(), "| next ÷ floor, median | 1.50 | ≤ 1.5 | PASS |")
	assert.Contains(t, b.String(), "| objects/s ÷ the CRD's | 0.90 | ≥ 1 | MISS |")
	assert.Contains(t, b.String(), "| untouched pods | not measured | ≤ 32 | MISS |")

	// The JSON report holds a figure not measured as null (encoding/json refuses NaN).
	raw, err := json.Marshal([]Row{row})
	require.NoError(t, err)
	assert.Contains(t, string(raw), `{"figure":"untouched pods","limit":32,"got":null}`)
	assert.Contains(t, string(raw), `"got":0.9`)
}
