package view

import (
	"fmt"
	"io"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

// Options say how a view is drawn.
type Options struct {
	// Now is the time ages and durations count to; zero is the time of the call.
	Now time.Time
	// Color draws phases, and what waits for you, in colour (see UseColor).
	Color bool
	// Width and Height cut the view to a terminal of that many columns and rows, so that it can be
	// redrawn in place; 0 is no limit.
	Width, Height int
}

func (o Options) now() time.Time {
	if o.Now.IsZero() {
		return time.Now()
	}
	return o.Now
}

// Status writes the whole status view: summary, phase, the batch table, what it waits for, and the
// command that moves it on; in no colour, its ages as of now.
func Status(w io.Writer, r *v1alpha1.Release) error {
	return StatusWith(w, r, Options{})
}

// StatusFit writes the status view cut to fit a terminal of width columns and height rows (see
// StatusWith).
func StatusFit(w io.Writer, r *v1alpha1.Release, width, height int) error {
	return StatusWith(w, r, Options{Width: width, Height: height})
}

// StatusWith writes the status view as o says. A release with analysis checks has a section of the current
// batch's checks between the batches and what the release waits for (see analysisLines). Cut to a terminal (o.Width, o.Height), every line shows at
// most Width characters (a cut line ends in "…"), and there are at most Height-1 lines, the cursor's
// line below them. When the batches do not all fit, the table keeps the current batch, the one before it
// and as many after it as fit, and a line says how many were left out.
func StatusWith(w io.Writer, r *v1alpha1.Release, o Options) error {
	head := []line{textLine(Summary(r)), phaseLine(r)}
	if pods := PodsLine(r); pods != "" {
		head = append(head, textLine(pods))
	}
	head = append(head, nil)
	rows := table(batchRows(r, BatchTimes(r, o.now()), true))
	wait, next := Waiting(r)
	ending := []line{nil, {plain("Waiting for: "), styled(wait, waitingStyle(r))}}
	if next != "" {
		ending = append(ending, textLine("Next: "+next))
	}
	var tail []line
	if analysis := analysisLines(r, o.now(), o.Width, true); len(analysis) > 0 {
		// Cut to a terminal that cannot show it all, the checks' messages go first.
		if o.Height > 0 && len(head)+len(rows)+1+len(analysis)+len(ending) > o.Height-1 {
			analysis = analysisLines(r, o.now(), o.Width, false)
		}
		tail = append(append(tail, nil), analysis...)
	}
	tail = append(tail, ending...)
	lines := fit(head, rows[0], rows[1:], tail, int(r.Status.CurrentBatch)-1, "batches", o.Height)
	return write(w, lines, o)
}

// phaseLine is the release's phase and where it is.
func phaseLine(r *v1alpha1.Release) line {
	s := r.Status
	phase := s.Phase
	if phase == "" {
		phase = v1alpha1.ReleasePending
	}
	l := line{plain("Phase: "), styled(Printable(string(phase)), releasePhaseStyle(phase))}
	if b := Current(r); b != nil {
		return append(l, plain(fmt.Sprintf(", batch %d of %d (", s.CurrentBatch, len(s.Batches))),
			styled(Printable(string(b.Phase)), batchPhaseStyle(b.Phase)), plain(")"))
	}
	return append(l, plain(fmt.Sprintf(", %d batches", len(s.Batches))))
}

// waitingStyle is the style of what the release waits for: you (a `next`, or a resume of a paused
// release) in bold yellow, you after a failure in red, the controller or the pods in none.
func waitingStyle(r *v1alpha1.Release) Style {
	switch r.Status.Phase {
	case v1alpha1.ReleaseFailed:
		return StyleFailed
	case v1alpha1.ReleasePaused:
		return StyleYou
	case v1alpha1.ReleaseProgressing:
		if meta.IsStatusConditionTrue(r.Status.Conditions, v1alpha1.ConditionAwaitingNext) {
			return StyleYou
		}
	}
	return StylePlain
}

// Batches writes the plan as a table, one batch a line, with progress bars, in no colour.
func Batches(w io.Writer, r *v1alpha1.Release) error {
	return write(w, table(batchRows(r, nil, false)), Options{})
}

// batchRows are the header and a row for each batch; with times, each batch's age, duration and time
// waited for you.
func batchRows(r *v1alpha1.Release, times []BatchTime, withTimes bool) [][]span {
	header := []span{plain("BATCH"), plain("PODS"), plain("TARGET"), plain("PHASE")}
	if withTimes {
		header = append(header, plain("AGE"), plain("DURATION"), plain("WAITED"))
	}
	rows := [][]span{append(header, plain("UPDATED"), plain("READY"), plain("PULLED IN"))}
	for i := range r.Status.Batches {
		b := &r.Status.Batches[i]
		p := BatchProgress(r, b)
		name := batchName(r, b)
		if b.Index == r.Status.CurrentBatch && !Finished(r) {
			name = "> " + name
		} else {
			name = "  " + name
		}
		phase := b.Phase
		if phase == "" {
			phase = v1alpha1.BatchPending
		}
		pulledIn := "n/a (noPullIn)"
		if p.PulledIn >= 0 {
			pulledIn = Bar(p.PulledIn, b.Replicas)
		}
		row := []span{plain(name), plain(fmt.Sprint(b.Replicas)), plain(fmt.Sprint(b.Target)),
			styled(Printable(string(phase)), batchPhaseStyle(phase))}
		if withTimes {
			row = append(row, timeCells(times[i])...)
		}
		rows = append(rows, append(row, plain(Bar(p.Updated, b.Replicas)), plain(Bar(p.Ready, b.Replicas)), plain(pulledIn)))
	}
	return rows
}

// batchName is how the tables name a batch: its index, and what it is for.
func batchName(r *v1alpha1.Release, b *v1alpha1.ReleaseBatch) string {
	name := fmt.Sprint(b.Index)
	switch {
	case b.Canary:
		name += " (canary)"
	case r.Spec.Strategy.Type == v1alpha1.StrategyBlueGreen && b.Index == 1:
		name += " (preview)"
	case r.Spec.Strategy.Type == v1alpha1.StrategyBlueGreen:
		name += " (switch)"
	}
	return name
}

// timeCells are a batch's AGE, DURATION and WAITED: "-" for a batch that has not started.
func timeCells(t BatchTime) []span {
	if t.Started.IsZero() {
		return []span{plain("-"), plain("-"), plain("-")}
	}
	took := "-"
	if t.TookKnown {
		took = Duration(t.Took)
	}
	return []span{plain(Duration(t.Age)), plain(took), plain(Duration(t.Waited))}
}

// fit is head, the table's header and rows, and tail, cut to height rows (0: no limit): when the rows do
// not all fit, it keeps the row at focus, the one before it and as many after it as fit, and a line says
// how many rows (of what) are not shown.
func fit(head []line, header line, rows, tail []line, focus int, what string, height int) []line {
	lines := concat(head, []line{header}, rows, tail)
	limit := height - 1
	if height <= 0 || len(lines) <= limit {
		return lines
	}
	// Room for the rows and the line that says how many are not shown.
	room := max(limit-len(head)-1-len(tail)-1, 1)
	if room < len(rows) {
		focus = min(focus, len(rows)-1)
		start := max(min(focus-1, len(rows)-room), 0)
		note := textLine(fmt.Sprintf("  ... %d of %d %s not shown (%d before, %d after); the terminal has %d lines",
			len(rows)-room, len(rows), what, start, len(rows)-start-room, height))
		lines = concat(head, []line{header}, rows[start:start+room], []line{note}, tail)
	}
	if len(lines) > limit {
		lines = lines[:max(limit, 0)]
	}
	return lines
}

func concat(parts ...[]line) []line {
	var out []line
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// write writes lines, each cut to o.Width, in colour when o.Color.
func write(w io.Writer, lines []line, o Options) error {
	var b strings.Builder
	for _, l := range lines {
		l.cut(o.Width).write(&b, o.Color)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
