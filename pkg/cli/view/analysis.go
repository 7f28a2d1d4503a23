package view

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

// The analysis section of the status view: the checks of the current batch, one a row, each followed by
// a line of what it waits for or why it failed, as the controller wrote it.

// analysisWidth is the width the section is made to read in when the view is not cut to a terminal: its
// rows are kept short and the checks' messages are wrapped to it.
const analysisWidth = 100

// maxValueWidth is how much of a measured value the table shows (a vector's list of numbers can be long);
// a longer one is cut with "…".
const maxValueWidth = 20

// maxMessageLines is how many lines a check's message is wrapped to; the last of them ends in "…" when
// it had more to say.
const maxMessageLines = 3

// defaultErrorLimit is a check's errorLimit when the check does not say (the API's default).
const defaultErrorLimit = 3

// analysisLines is the section for the release's current batch: a title, a table of its checks and, with
// messages, each check's message wrapped to width (0: analysisWidth) under its row. None for a release
// without checks.
func analysisLines(r *v1alpha1.Release, now time.Time, width int, messages bool) []line {
	checks := r.Status.AnalysisChecks
	b := Current(r)
	var statuses []v1alpha1.AnalysisStatus
	if b != nil {
		statuses = b.Analysis
	}
	if len(checks) == 0 && len(statuses) == 0 {
		return nil
	}
	if width <= 0 {
		width = analysisWidth
	}
	marks := false
	for _, c := range checks {
		marks = marks || c.DryRun || c.Background
	}
	header := []span{plain("  CHECK"), plain("KIND"), plain("PHASE"), plain("LAST VALUE"), plain("MEASURED"), plain("FAILURES"), plain("ERRORS")}
	if marks {
		header = append(header, plain("MODE"))
	}
	rows := [][]span{header}
	var notes []string
	seen := map[string]bool{}
	for i := range checks {
		c := &checks[i]
		seen[c.Name] = true
		st := analysisStatusOf(statuses, c.Name)
		row, note := checkRow(r, c, st, b, now)
		if marks {
			row = append(row, plain(checkMarks(c)))
		}
		rows = append(rows, row)
		notes = append(notes, note)
	}
	// A check the batch shows that the release no longer lists (it should not happen): shown all the same.
	for i := range statuses {
		if st := &statuses[i]; !seen[st.Name] {
			row, note := checkRow(r, nil, st, b, now)
			if marks {
				row = append(row, plain("-"))
			}
			rows = append(rows, row)
			notes = append(notes, note)
		}
	}
	lines := []line{textLine(analysisTitle(r, b))}
	for i, l := range table(rows) {
		lines = append(lines, l)
		if i == 0 || !messages || notes[i-1] == "" {
			continue
		}
		for _, text := range wrap(notes[i-1], width-6, maxMessageLines) {
			lines = append(lines, textLine("      "+text))
		}
	}
	return lines
}

// analysisTitle names the batch the checks are of, and how they are measured.
func analysisTitle(r *v1alpha1.Release, b *v1alpha1.ReleaseBatch) string {
	interval, bake := int32(10), int32(0)
	if a := r.Spec.Strategy.Analysis; a != nil {
		if a.IntervalSeconds != nil && *a.IntervalSeconds > 0 {
			interval = *a.IntervalSeconds
		}
		bake = a.BakeSeconds
	}
	how := fmt.Sprintf("a measurement every %s", Duration(time.Duration(interval)*time.Second))
	if bake > 0 {
		how += fmt.Sprintf(", each to pass for %s", Duration(time.Duration(bake)*time.Second))
	}
	if b == nil {
		return fmt.Sprintf("Analysis, before the first batch (%s):", how)
	}
	return fmt.Sprintf("Analysis of batch %d (%s):", b.Index, how)
}

// checkRow is a check's row (c nil: a check the release does not list) and its message.
func checkRow(r *v1alpha1.Release, c *v1alpha1.AnalysisCheck, st *v1alpha1.AnalysisStatus, b *v1alpha1.ReleaseBatch, now time.Time) ([]span, string) {
	name := ""
	if c != nil {
		name = c.Name
	} else if st != nil {
		name = st.Name
	}
	limits := "-"
	if c != nil {
		limits = fmt.Sprint(c.FailureLimit)
	}
	errorLimit := "-"
	if c != nil {
		errorLimit = fmt.Sprint(defaultErrorLimit)
		if c.ErrorLimit != nil {
			errorLimit = fmt.Sprint(*c.ErrorLimit)
		}
	}
	if st == nil {
		return []span{plain("  " + Printable(name)), plain(checkKind(c)), plain("-"), plain("-"), plain("-"),
			plain("0/" + limits), plain("0/" + errorLimit)}, notMeasured(r, c, b)
	}
	value, measured := "-", "-"
	if n := len(st.Measurements); n > 0 {
		m := st.Measurements[n-1]
		if m.Value != "" {
			value = cutText(Printable(m.Value), maxValueWidth)
		}
		measured = Duration(now.Sub(m.Time.Time)) + " ago"
	}
	phase := st.Phase
	if phase == "" {
		phase = "-"
	}
	note := Printable(st.Message)
	if st.Phase == v1alpha1.AnalysisRunning && st.PassingSince != nil {
		// Passing, for less than bakeSeconds yet: how long so far.
		passing := "passing for " + Duration(now.Sub(st.PassingSince.Time))
		if a := r.Spec.Strategy.Analysis; a != nil && a.BakeSeconds > 0 {
			passing += " of the " + Duration(time.Duration(a.BakeSeconds)*time.Second) + " it must pass for"
		}
		if note != "" {
			passing += " (last: " + note + ")"
		}
		note = passing
	}
	return []span{plain("  " + Printable(name)), plain(checkKind(c)), styled(Printable(string(phase)), analysisPhaseStyle(phase)),
		plain(value), plain(measured), plain(fmt.Sprintf("%d/%s", st.Failures, limits)),
		plain(fmt.Sprintf("%d/%s", st.ConsecutiveErrors, errorLimit))}, note
}

// notMeasured says why a check of the release has nothing for the batch yet.
func notMeasured(r *v1alpha1.Release, c *v1alpha1.AnalysisCheck, b *v1alpha1.ReleaseBatch) string {
	switch {
	case b == nil:
		return "not measured yet"
	case c != nil && c.Background:
		return "not measured yet: measured while the release progresses"
	case Finished(r) || r.Status.Phase == v1alpha1.ReleaseFailed:
		return "not measured for this batch"
	}
	return fmt.Sprintf("not measured yet: measured once batch %d is in traffic (Baking)", b.Index)
}

// checkKind is what a check measures: prometheus, http or podHealth.
func checkKind(c *v1alpha1.AnalysisCheck) string {
	switch {
	case c == nil:
		return "-"
	case c.Prometheus != nil:
		return "prometheus"
	case c.HTTP != nil:
		return "http"
	case c.PodHealth != nil:
		return "podHealth"
	}
	return "-"
}

// checkMarks are a check's dryRun and background, as its MODE.
func checkMarks(c *v1alpha1.AnalysisCheck) string {
	var marks []string
	if c.DryRun {
		marks = append(marks, "dryRun")
	}
	if c.Background {
		marks = append(marks, "background")
	}
	if len(marks) == 0 {
		return "-"
	}
	return strings.Join(marks, ",")
}

func analysisStatusOf(statuses []v1alpha1.AnalysisStatus, name string) *v1alpha1.AnalysisStatus {
	for i := range statuses {
		if statuses[i].Name == name {
			return &statuses[i]
		}
	}
	return nil
}

// analysisPhaseStyle is the style of a check's phase: an Error holds the batch (yellow) until there are
// more in a row than the check tolerates, when the check is Failed (red).
func analysisPhaseStyle(p v1alpha1.AnalysisPhase) Style {
	switch p {
	case v1alpha1.AnalysisPassed:
		return StyleDone
	case v1alpha1.AnalysisRunning:
		return StyleRunning
	case v1alpha1.AnalysisError:
		return StyleWaiting
	case v1alpha1.AnalysisFailed:
		return StyleFailed
	}
	return StylePlain
}

// cutText is s (printable already) cut to n characters, the last of them "…".
func cutText(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// wrap breaks s (printable already) into lines of at most width characters, between words where it can,
// in at most max lines, the last of them ending in "…" when s had more.
func wrap(s string, width, most int) []string {
	width = max(width, 20)
	var lines []string
	words := strings.Fields(s)
	var cur []rune
	for len(words) > 0 {
		w := []rune(words[0])
		switch {
		case len(cur) == 0 && len(w) > width:
			// A word longer than a line: cut it.
			lines = append(lines, string(w[:width]))
			words[0] = string(w[width:])
			continue
		case len(cur) == 0:
			cur = w
		case len(cur)+1+len(w) <= width:
			cur = append(append(cur, ' '), w...)
		default:
			lines = append(lines, string(cur))
			cur = nil
			continue
		}
		words = words[1:]
	}
	if len(cur) > 0 {
		lines = append(lines, string(cur))
	}
	if len(lines) > most {
		lines = lines[:most]
		last := []rune(lines[most-1])
		if len(last) >= width {
			last = last[:width-1]
		}
		lines[most-1] = string(last) + "…"
	}
	return lines
}
