package app

import (
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/cli/view"
)

// statusView is which text view `status` draws, and whether in colour: its flags --pods and --no-color.
type statusView struct {
	pods    bool
	noColor bool
}

const statusViewHelp = `The batch table says, for each batch, when it started (AGE), how long it took from its start to Baked
(DURATION; so far, for the batch that runs) and how long the release waited for a person's next while it
was the current batch (WAITED): from Smoked to the pull-in (a canary, a blue/green preview) and from
Baked to the next batch or the end (Manual mode, the canary). Pauses, failures and an Auto release's
interval are not waits for a person. Every time comes from the release's status and history. With
--watch on a terminal the times go on counting; piped, a view is printed again only when the release
changed in it, not when only its times did.

A release with analysis checks shows those of its current batch under the batches, one a row: its
KIND (prometheus, http, podHealth), PHASE (Running, Passed, Failed, Error; - before it is measured),
its LAST VALUE and when it was MEASURED, its FAILURES (failed measurements / failureLimit: one more
than the limit fails it) and ERRORS (errors in a row / errorLimit), and in MODE dryRun (measured and
shown, never holds or fails a batch) or background (measured in every phase). Under each, what it waits
for or why it failed, as the controller says.

--pods lists the pods of the release's batches instead: batch, name, the version they run, Ready, in
traffic (the readiness gate apps.triton.io/ready), and failing, with why when the release's failure
says. It reads only the release (and does not go with -o, which prints the release itself).

On a terminal, phases and what waits for you are in colour; not when piped, with --no-color, with the
environment variable NO_COLOR set (to anything but empty), or with TERM=dumb.`

func (v *statusView) addFlags(flags *pflag.FlagSet) {
	flags.BoolVar(&v.pods, "pods", false, "list the pods of the release's batches: batch, version, Ready, in traffic, failing")
	flags.BoolVar(&v.noColor, "no-color", false, "no colour, even on a terminal (as the environment variable NO_COLOR does)")
}

// check refuses flags that do not go together: --pods is a text view, -o prints the release itself.
func (v *statusView) check(printObject printFunc) error {
	if v.pods && printObject != nil {
		return usageError("--pods is a text view: it does not go with -o")
	}
	return nil
}

// color says whether the view written to out is drawn in colour.
func (v *statusView) color(o *options, out io.Writer) bool {
	terminal, _, _ := o.terminal(out)
	return view.UseColor(terminal, v.noColor, os.Getenv)
}

// draw writes r's view as of now, cut to width and height (0: no limit).
func (v *statusView) draw(w io.Writer, r *v1alpha1.Release, color bool, now time.Time, width, height int) error {
	opts := view.Options{Now: now, Color: color, Width: width, Height: height}
	if v.pods {
		return view.Pods(w, r, opts)
	}
	return view.StatusWith(w, r, opts)
}

// print writes r's view once to the command's output.
func (v *statusView) print(o *options, r *v1alpha1.Release) error {
	return v.draw(o.streams.Out, r, v.color(o, o.streams.Out), statusClock(), 0, 0)
}

// statusClock is the time the views count their ages and durations to (replaced in tests).
var statusClock = time.Now

// stopped is the clock of a view drawn only to be compared: every age and duration 0s.
var stopped = time.Unix(0, 0)

// renderer is how a screen on out draws a release with this view. On a terminal, as of now: redrawn in
// place, its times go on. Piped, each view is printed after the last, and only when the release changed
// in it: a view whose only change is that its times went on is the last one again (the screen then prints
// nothing).
func (v *statusView) renderer(o *options, out io.Writer) func(io.Writer, *v1alpha1.Release, int, int) error {
	color := v.color(o, out)
	if terminal, _, _ := o.terminal(out); terminal {
		return func(w io.Writer, r *v1alpha1.Release, width, height int) error {
			return v.draw(w, r, color, statusClock(), width, height)
		}
	}
	var lastKey, lastText string
	return func(w io.Writer, r *v1alpha1.Release, width, height int) error {
		var key, text strings.Builder
		if err := v.draw(&key, r, false, stopped, width, height); err != nil {
			return err
		}
		if key.String() != lastKey {
			if err := v.draw(&text, r, color, statusClock(), width, height); err != nil {
				return err
			}
			lastKey, lastText = key.String(), text.String()
		}
		_, err := io.WriteString(w, lastText)
		return err
	}
}

// keepTime redraws a screen on a terminal every second until done, so that the ages and durations of
// the view go on counting between changes of the release (a redraw that changes nothing writes nothing).
func keepTime(s *screen, done <-chan struct{}) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			_ = s.redraw()
		case <-done:
			return
		}
	}
}
