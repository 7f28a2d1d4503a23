package view

import (
	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

// Style is how a span of a view is drawn on a terminal that shows colour. The view picks a span's style
// from what it knows (a phase it recognises, whether the release waits for you), never from the text of
// the span: a phase the server names but this plugin does not know is drawn plain.
type Style uint8

const (
	// StylePlain: no colour.
	StylePlain Style = iota
	// StyleDone: done and well (green): a Succeeded release, a Baked batch, a pod Ready or in traffic.
	StyleDone
	// StyleRunning: on its way, nothing to do (cyan): Progressing, Smoking, Baking.
	StyleRunning
	// StyleWaiting: held or not there yet (yellow): Paused, a Smoked batch, a pod not Ready.
	StyleWaiting
	// StyleYou: waiting for you (bold yellow): the release awaits `next` (AwaitingNext), or a resume.
	StyleYou
	// StyleFailed: failed (red): a Failed or Canceled release, a Failed batch, a failing pod.
	StyleFailed
)

// sgrReset ends a style.
const sgrReset = "\x1b[0m"

// sgr is the escape sequence (ECMA-48 Select Graphic Rendition) that starts the style; "" for plain.
func (s Style) sgr() string {
	switch s {
	case StyleDone:
		return "\x1b[32m"
	case StyleRunning:
		return "\x1b[36m"
	case StyleWaiting:
		return "\x1b[33m"
	case StyleYou:
		return "\x1b[1;33m"
	case StyleFailed:
		return "\x1b[31m"
	}
	return ""
}

// UseColor says whether the text views are drawn in colour: only on a terminal, and not when the user
// said no, with --no-color (noColorFlag) or with the environment variable NO_COLOR set to anything but
// the empty string (https://no-color.org), nor on a terminal that says it shows none (TERM=dumb).
// getenv reads the environment (os.Getenv).
func UseColor(terminal, noColorFlag bool, getenv func(string) string) bool {
	return terminal && !noColorFlag && getenv("NO_COLOR") == "" && getenv("TERM") != "dumb"
}

// releasePhaseStyle is the style of a release's phase.
func releasePhaseStyle(p v1alpha1.ReleasePhase) Style {
	switch p {
	case v1alpha1.ReleaseSucceeded:
		return StyleDone
	case v1alpha1.ReleaseProgressing:
		return StyleRunning
	case v1alpha1.ReleasePaused:
		return StyleWaiting
	case v1alpha1.ReleaseFailed, v1alpha1.ReleaseCanceled:
		return StyleFailed
	}
	return StylePlain
}

// batchPhaseStyle is the style of a batch's phase.
func batchPhaseStyle(p v1alpha1.BatchPhase) Style {
	switch p {
	case v1alpha1.BatchBaked:
		return StyleDone
	case v1alpha1.BatchSmoking, v1alpha1.BatchBaking:
		return StyleRunning
	case v1alpha1.BatchSmoked:
		return StyleWaiting
	case v1alpha1.BatchFailed:
		return StyleFailed
	}
	return StylePlain
}
