package stats

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Quantile is the q-quantile (0..1) of samples by the nearest-rank method; 0 for no samples.
func Quantile(samples []time.Duration, q float64) time.Duration {
	if len(samples) == 0 {
		return 0
	}
	sorted := append([]time.Duration(nil), samples...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	rank := int(math.Ceil(q*float64(len(sorted)))) - 1
	if rank < 0 {
		rank = 0
	}
	if rank >= len(sorted) {
		rank = len(sorted) - 1
	}
	return sorted[rank]
}

// Series is one measured thing: what, and its samples.
type Series struct {
	Name    string          `json:"name"`
	Samples []time.Duration `json:"samplesNanoseconds"`
}

// Median is the series' median.
func (s Series) Median() time.Duration { return Quantile(s.Samples, 0.5) }

// P99 is the series' 99th percentile.
func (s Series) P99() time.Duration { return Quantile(s.Samples, 0.99) }

// Row compares a series with its baseline, measured in the same run with the pairs interleaved.
type Row struct {
	Scenario string  `json:"scenario"`
	Measured Series  `json:"measured"`
	Baseline *Series `json:"baseline,omitempty"`
	// Note says what the baseline is, or what a value means.
	Note string `json:"note,omitempty"`
	// Values are extra numbers that are not durations (objects/s, bytes).
	Values map[string]float64 `json:"values,omitempty"`
	// Histogram, for a row of a server-side figure, is what the server observed (a Prometheus histogram,
	// in seconds) when the row has no samples of its own: its n, median and p99 are the histogram's.
	Histogram *Histogram `json:"histogram,omitempty"`
	// Goals are the targets the row's figures are held to.
	Goals []Goal `json:"goals,omitempty"`
}

// Goal is a target a figure is held to: Got against Limit, at most (the default) or at least. A figure
// not measured has Got NaN and misses.
type Goal struct {
	Figure  string  `json:"figure"`
	Got     float64 `json:"got"`
	Limit   float64 `json:"limit"`
	AtLeast bool    `json:"atLeast,omitempty"`
	// Why says why a figure was not measured (Got NaN), printed in its place: "not served" when the
	// server has no such metric. Empty: "not measured".
	Why string `json:"why,omitempty"`
}

// MarshalJSON writes a figure not measured (NaN, which JSON cannot hold) as "got": null.
func (g Goal) MarshalJSON() ([]byte, error) {
	type plain Goal
	out := struct {
		plain
		Got *float64 `json:"got"`
	}{plain: plain(g)}
	if !math.IsNaN(g.Got) && !math.IsInf(g.Got, 0) {
		out.Got = &g.Got
	}
	return json.Marshal(out)
}

// Pass reports whether the goal is met.
func (g Goal) Pass() bool {
	if math.IsNaN(g.Got) {
		return false
	}
	if g.AtLeast {
		return g.Got >= g.Limit
	}
	return g.Got <= g.Limit
}

// GoalsMarkdown writes every row's goals as a table: the figure, what was measured, the goal, PASS or MISS.
func GoalsMarkdown(w io.Writer, rows []Row) error {
	var b strings.Builder
	b.WriteString("| figure | got | goal | |\n| --- | --- | --- | --- |\n")
	for _, r := range rows {
		for _, g := range r.Goals {
			got, verdict, op := "not measured", "MISS", "≤"
			if g.Why != "" {
				got = g.Why
			}
			if !math.IsNaN(g.Got) {
				got = fmt.Sprintf("%.2f", g.Got)
			}
			if g.Pass() {
				verdict = "PASS"
			}
			if g.AtLeast {
				op = "≥"
			}
			fmt.Fprintf(&b, "| %s | %s | %s %s | %s |\n", g.Figure, got, op, strconv.FormatFloat(g.Limit, 'f', -1, 64), verdict)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// RatioGoals are the goals that measured ÷ baseline stays at most limit, at the median and the p99.
func (r Row) RatioGoals(limit float64) []Goal {
	m, p := r.Ratio()
	return []Goal{{Figure: r.Measured.Name + " ÷ " + baselineName(r) + ", median", Got: m, Limit: limit},
		{Figure: r.Measured.Name + " ÷ " + baselineName(r) + ", p99", Got: p, Limit: limit}}
}

func baselineName(r Row) string {
	if r.Baseline == nil {
		return "baseline"
	}
	return r.Baseline.Name
}

// Ratio is measured over baseline, for the median and the p99; NaN without a baseline.
func (r Row) Ratio() (median, p99 float64) {
	if r.Baseline == nil || r.Baseline.Median() == 0 || r.Baseline.P99() == 0 {
		return math.NaN(), math.NaN()
	}
	return float64(r.Measured.Median()) / float64(r.Baseline.Median()), float64(r.Measured.P99()) / float64(r.Baseline.P99())
}

// Markdown writes the rows as a table.
func Markdown(w io.Writer, rows []Row) error {
	var b strings.Builder
	b.WriteString("| scenario | n | median | p99 | baseline | baseline median | baseline p99 | ratio median | ratio p99 | notes |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, r := range rows {
		base, bMed, bP99, rMed, rP99 := "", "", "", "", ""
		if r.Baseline != nil {
			m, p := r.Ratio()
			base, bMed, bP99 = r.Baseline.Name, round(r.Baseline.Median()), round(r.Baseline.P99())
			rMed, rP99 = fmt.Sprintf("%.2f", m), fmt.Sprintf("%.2f", p)
		}
		note := r.Note
		var keys []string
		for k := range r.Values {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if note != "" {
				note += "; "
			}
			note += fmt.Sprintf("%s %s", k, number(r.Values[k]))
		}
		n, median, p99 := len(r.Measured.Samples), round(r.Measured.Median()), round(r.Measured.P99())
		if n == 0 {
			median, p99 = "", ""
			if h := r.Histogram; h != nil && h.Count() > 0 {
				n, median, p99 = int(h.Count()), round(seconds(h.Quantile(0.5))), round(seconds(h.Quantile(0.99)))
			}
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s |\n", r.Measured.Name, n,
			median, p99, base, bMed, bP99, rMed, rP99, note)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// seconds is a figure in seconds as a duration.
func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func round(d time.Duration) string {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	}
	return d.String()
}

func number(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

// WriteJSON writes the rows, raw samples included, to dir/name.json.
func WriteJSON(dir, name string, report interface{}) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, name+".json")
	raw, err := json.MarshalIndent(report, "", "  ")
	if err != nil {
		return "", err
	}
	return path, os.WriteFile(path, raw, 0o644)
}
