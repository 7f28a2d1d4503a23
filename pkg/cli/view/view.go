package view

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

// Printable is s as a terminal may show it: every rune that is not printable (C0 and C1 control
// characters such as ESC, CR, BEL and NEL, DEL, tab and newline, the Unicode bidi controls and other
// format characters, separators other than the space, invalid UTF-8) is replaced by a visible escape:
// \x1b, \r, \n, \t, \x7f, \u009b, \u202e, \xff for a byte that is not UTF-8. Printable text, non-ASCII
// letters, marks and symbols included, is left as it is, and so are the zero-width joiner and non-joiner
// that some scripts and emoji need. Like kubectl's escaping of terminal characters since CVE-2021-25743,
// it is for reading, not reversible (a backslash is left as it is); unlike it, it escapes every
// non-printable rune, not only ESC and CR. Every string of the server's that the text views print goes
// through it; -o json and yaml are encoded already and do not.
func Printable(s string) string {
	// (Ranging over a byte that is not UTF-8 gives a U+FFFD, which is printable: hence ValidString.)
	if utf8.ValidString(s) && strings.IndexFunc(s, func(r rune) bool { return !printable(r) }) < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case printable(r):
			b.WriteString(s[i : i+size])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r <= 0xFFFF:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
		i += size
	}
	return b.String()
}

// printable: a graphic rune or the ASCII space (unicode.IsPrint), or a zero-width (non-)joiner. A valid
// U+FFFD is printable; a byte that is not UTF-8 decodes to it too, and is told apart by its size.
func printable(r rune) bool {
	return unicode.IsPrint(r) || r == 0x200C || r == 0x200D
}

// BarWidth is the number of cells in a progress bar.
const BarWidth = 10

// Bar draws done out of total as `[####......] 2/5`.
func Bar(done, total int32) string {
	if total < 0 {
		total = 0
	}
	if done > total {
		done = total
	}
	if done < 0 {
		done = 0
	}
	filled := 0
	if total > 0 {
		filled = int(int64(done) * BarWidth / int64(total))
	}
	return fmt.Sprintf("[%s%s] %d/%d", strings.Repeat("#", filled), strings.Repeat(".", BarWidth-filled), done, total)
}

// Progress is how far a batch's pods are.
type Progress struct {
	// Pods the batch has brought so far (its new, updated or removed pods).
	Updated int32
	// Of those, Ready.
	Ready int32
	// Of those, in traffic (readiness gate True). -1: the release does not pull pods in.
	PulledIn int32
}

// BatchProgress counts a batch's pods. The phase knows more than the pod list, which the controller
// writes a moment later: a Smoked or Baking batch has all its pods updated, a Baked one is complete
// (a scale-in's pods are gone; pods listed may have been replaced since).
func BatchProgress(r *v1alpha1.Release, b *v1alpha1.ReleaseBatch) Progress {
	p := Progress{}
	noPullIn := r.Spec.Strategy.NoPullIn
	if b.Phase == v1alpha1.BatchBaked {
		p = Progress{Updated: b.Replicas, Ready: b.Replicas, PulledIn: b.Replicas}
	} else {
		for _, pod := range b.Pods {
			p.Updated++
			if pod.Ready {
				p.Ready++
			}
			if pod.PulledIn {
				p.PulledIn++
			}
		}
		if b.Phase == v1alpha1.BatchSmoked || b.Phase == v1alpha1.BatchBaking {
			p.Updated = max(p.Updated, b.Replicas)
		}
	}
	if noPullIn {
		p.PulledIn = -1
	}
	return p
}

// Summary is the release's one-line description: what it does to which CloneSet, and how.
func Summary(r *v1alpha1.Release) string {
	what := Printable(string(r.Spec.Action))
	switch r.Spec.Action {
	case v1alpha1.ActionCreate, v1alpha1.ActionUpdate:
		if r.Spec.Template != nil {
			var images []string
			for _, c := range r.Spec.Template.Spec.Containers {
				images = append(images, Printable(c.Name)+"="+Printable(c.Image))
			}
			what += " to " + strings.Join(images, ",")
		}
	case v1alpha1.ActionScale:
		if r.Spec.Replicas != nil {
			what += fmt.Sprintf(" to %d replicas", *r.Spec.Replicas)
		}
	case v1alpha1.ActionRollback:
		if r.Spec.ToRevision != "" {
			what += " to " + Printable(r.Spec.ToRevision)
		}
	case v1alpha1.ActionRestart:
		if n := len(r.Spec.PodsToDelete); n > 0 {
			names := r.Spec.PodsToDelete[:min(n, 3)]
			printable := make([]string, 0, len(names))
			for _, name := range names {
				printable = append(printable, Printable(name))
			}
			what += " of pods " + strings.Join(printable, ",")
			if n > len(names) {
				what += fmt.Sprintf(" and %d more", n-len(names))
			}
		}
	}
	mode := string(r.Spec.Strategy.Mode)
	if mode == "" {
		mode = string(v1alpha1.ModeManual)
	}
	return fmt.Sprintf("Release %s/%s: %s of CloneSet %s, %s", Printable(r.Namespace), Printable(r.Name), what,
		Printable(r.Spec.CloneSetName), Printable(mode))
}

// PodsLine describes the pods of a blue/green or surging release as last observed: blue and green, or
// the pods surging beside the CloneSet's replicas; empty for the others.
func PodsLine(r *v1alpha1.Release) string {
	st := r.Spec.Strategy
	cs := r.Status.CloneSet
	switch {
	case st.Type == v1alpha1.StrategyBlueGreen:
		if cs == nil {
			return "Blue/green: not started"
		}
		green := cs.UpdatedReplicas
		blue := max(cs.Replicas-green, 0)
		traffic := "traffic on blue"
		if b := Current(r); b != nil && b.Index == 2 {
			switch b.Phase {
			case v1alpha1.BatchBaking:
				traffic = "switching traffic to green"
			case v1alpha1.BatchBaked:
				traffic = "traffic on green; blue waits out of traffic, then goes"
			}
		}
		if r.Status.Phase == v1alpha1.ReleaseSucceeded {
			traffic = "traffic on green"
		}
		return fmt.Sprintf("Blue/green: blue %d pods, green %d pods (%d Ready); %s", blue, green, cs.UpdatedReadyReplicas, traffic)
	case st.MaxSurge != nil && st.MaxSurge.String() != "0" && st.MaxSurge.String() != "0%":
		if cs == nil {
			return fmt.Sprintf("Surge: maxSurge %s of each batch", Printable(st.MaxSurge.String()))
		}
		return fmt.Sprintf("Surge: maxSurge %s of each batch: new pods come up beside the %d replicas; %d new (%d Ready)",
			Printable(st.MaxSurge.String()), cs.Replicas, cs.UpdatedReplicas, cs.UpdatedReadyReplicas)
	}
	return ""
}

// Current is the batch in progress, or nil before the first one.
func Current(r *v1alpha1.Release) *v1alpha1.ReleaseBatch {
	if s := r.Status; s.CurrentBatch > 0 && int(s.CurrentBatch) <= len(s.Batches) {
		return &r.Status.Batches[s.CurrentBatch-1]
	}
	return nil
}

// Finished says whether a release has ended: Succeeded or Canceled. A Failed release has not: it waits for
// a resume (a retry) or a cancel.
func Finished(r *v1alpha1.Release) bool {
	switch r.Status.Phase {
	case v1alpha1.ReleaseSucceeded, v1alpha1.ReleaseCanceled:
		return true
	}
	return false
}

// Command is how the plugin is called, for the hints.
var Command = "kubectl release"

// Waiting says what the release waits for and, when a person's call moves it on, that command.
func Waiting(r *v1alpha1.Release) (waitingFor, next string) {
	s := r.Status
	ref := fmt.Sprintf("%s -n %s", Printable(r.Name), Printable(r.Namespace))
	var batch *v1alpha1.ReleaseBatch
	if s.CurrentBatch > 0 && int(s.CurrentBatch) <= len(s.Batches) {
		batch = &s.Batches[s.CurrentBatch-1]
	}
	awaitingNext := meta.IsStatusConditionTrue(s.Conditions, v1alpha1.ConditionAwaitingNext)
	switch s.Phase {
	case v1alpha1.ReleaseSucceeded:
		return "nothing: the release Succeeded.", ""
	case v1alpha1.ReleaseCanceled:
		return "nothing: the release was Canceled.", ""
	case v1alpha1.ReleaseFailed:
		why := "it Failed"
		if c := meta.FindStatusCondition(s.Conditions, v1alpha1.ConditionFailed); c != nil && c.Message != "" {
			why = "it Failed: " + Printable(c.Message)
		}
		return "you; " + why + ". Resume retries the batch; cancel returns the CloneSet to where it was.",
			fmt.Sprintf("%s resume %s   (or: %s cancel %s)", Command, ref, Command, ref)
	case v1alpha1.ReleasePaused:
		return "you: the release is paused and its CloneSet held.", fmt.Sprintf("%s resume %s", Command, ref)
	case "", v1alpha1.ReleasePending:
		return "the controller to start the first batch.", ""
	}
	if batch == nil {
		return "the controller to start the first batch.", ""
	}
	p := BatchProgress(r, batch)
	label := fmt.Sprintf("batch %d", batch.Index)
	if batch.Canary {
		label += " (canary)"
	}
	if r.Spec.Strategy.Type == v1alpha1.StrategyBlueGreen {
		switch {
		case awaitingNext:
			return "you: the preview is Smoked: green runs beside blue, out of traffic (a preview Service selecting releases.triton.io/batch=preview reaches it).",
				fmt.Sprintf("%s next %s --expected-batch 1   (switches traffic to green)", Command, ref)
		case batch.Index == 1 && batch.Phase == v1alpha1.BatchSmoked:
			return "the controller to switch traffic to green (autoPromote).", ""
		case batch.Index == 2 && batch.Phase == v1alpha1.BatchBaked:
			return "blue's scale-down delay; then blue is removed and the release Succeeds (cancel before that switches back).",
				fmt.Sprintf("%s cancel %s   (switches back to blue)", Command, ref)
		case batch.Index == 2 && batch.Phase == v1alpha1.BatchBaking:
			return "green to serve, then blue to leave traffic.", ""
		}
	}
	if awaitingNext {
		nextCmd := fmt.Sprintf("%s next %s --expected-batch %d", Command, ref, batch.Index)
		switch {
		case batch.Phase == v1alpha1.BatchSmoked:
			return fmt.Sprintf("you: %s is Smoked, its pods run out of traffic.", label), nextCmd + "   (pulls them into traffic)"
		case int(batch.Index) == len(s.Batches):
			return fmt.Sprintf("you: %s is Baked, the last one.", label), nextCmd + "   (finishes the release)"
		default:
			return fmt.Sprintf("you: %s is Baked.", label), nextCmd + fmt.Sprintf("   (starts batch %d)", batch.Index+1)
		}
	}
	switch batch.Phase {
	case v1alpha1.BatchPending, v1alpha1.BatchSmoking:
		return fmt.Sprintf("%s's pods to run (%d/%d updated).", label, p.Updated, batch.Replicas), ""
	case v1alpha1.BatchSmoked:
		return fmt.Sprintf("the controller to pull %s into traffic.", label), ""
	case v1alpha1.BatchBaking:
		// Its pods Ready, a batch with checks waits for them (the controller's verdict, in the condition).
		if c := meta.FindStatusCondition(s.Conditions, v1alpha1.ConditionAnalysisPassed); c != nil && len(s.AnalysisChecks) > 0 &&
			c.Status == metav1.ConditionFalse && p.Ready >= batch.Replicas && c.Message != "" {
			return fmt.Sprintf("%s's analysis: %s.", label, strings.TrimSuffix(Printable(c.Message), ".")), ""
		}
		return fmt.Sprintf("%s's pods to become Ready (%d/%d).", label, p.Ready, batch.Replicas), ""
	case v1alpha1.BatchBaked:
		if d := r.Spec.Strategy.BatchIntervalSeconds; d > 0 {
			return fmt.Sprintf("the %s interval after %s; the next batch then starts by itself.", time.Duration(d)*time.Second, label), ""
		}
		return "the controller to start the next batch.", ""
	}
	return fmt.Sprintf("%s (%s).", label, Printable(string(batch.Phase))), ""
}

// History writes every action taken: when, who, what, from and to, why.
func History(w io.Writer, r *v1alpha1.Release) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if _, err := fmt.Fprintln(tw, "TIME\tUSER\tACTION\tFROM\tTO\tREASON"); err != nil {
		return err
	}
	for _, h := range r.Status.History {
		if _, err := fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", h.Time.UTC().Format(time.RFC3339), Printable(h.User), Printable(h.Action),
			where(h.FromBatch, h.FromPhase), where(h.ToBatch, h.ToPhase), Printable(h.Reason)); err != nil {
			return err
		}
	}
	return tw.Flush()
}

func where(batch int32, phase string) string {
	if batch == 0 {
		return Printable(phase)
	}
	return fmt.Sprintf("%d %s", batch, Printable(phase))
}
