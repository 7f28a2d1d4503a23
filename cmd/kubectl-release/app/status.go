package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/cli/view"
	releasesv1alpha1 "github.com/triton-io/triton/pkg/generated/clientset/versioned/typed/releases/v1alpha1"
)

func newStatusCommand(o *options) *cobra.Command {
	var watchFlag bool
	var timeout time.Duration
	views := &statusView{}
	printFlags := genericclioptions.NewPrintFlags("").WithTypeSetter(scheme)
	cmd := &cobra.Command{
		Use:   "status NAME|cloneset/CLONESET [-w] [--pods]",
		Short: "Show a release's batches with their progress, what it waits for, and the command that moves it on",
		Long: `Show a release's plan as a table of batches, each with bars for its pods updated, ready and pulled into
traffic; what the release waits for; and the command that moves it on.

` + statusViewHelp + `

cloneset/CLONESET (or clonesets/, cs/) shows the release running on that CloneSet (the one its
releases.triton.io/release annotation names) or, when none runs, its newest release.

With --watch the view follows the release: redrawn in place on a terminal, cut to the terminal's width
and height (a line says how many batches are not shown), and printed again on each change when piped.
It ends when the release does: exit 0 on Succeeded, 1 on Failed or Canceled. Ctrl-C (or SIGTERM) stops
watching with exit 130, the release going on as it is. --timeout stops it after that long with exit 8, the release going on as it is
(without --timeout it watches without limit).`,
		Example: `  # Where nginx-update stands
  kubectl release status nginx-update

  # Follow it until it ends
  kubectl release status nginx-update -n shop -w

  # Follow it for at most 10 minutes (exit 8 if it has not ended by then)
  kubectl release status nginx-update -w --timeout 10m

  # Its pods: batch, version, Ready, in traffic, failing
  kubectl release status nginx-update --pods

  # The release running on the CloneSet nginx, or its last one
  kubectl release status cloneset/nginx

  # Only the phase, for a script
  kubectl release status nginx-update -o jsonpath='{.status.phase}'`,
		ValidArgsFunction: completeReleaseOrCloneSet(o),
		Args:              cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			printObject, err := objectPrinter(printFlags, o.streams.Out)
			if err != nil {
				return err
			}
			releases, ns, err := o.releases()
			if err != nil {
				return err
			}
			if err := checkTimeout(timeout, watchFlag, "-w"); err != nil {
				return err
			}
			if err := views.check(printObject); err != nil {
				return err
			}
			if watchFlag {
				return withTimeout(cmd.Context(), timeout, ns, args[0], "to end", func(ctx context.Context) error {
					return watchStatus(ctx, o, releases, ns, args[0], printObject, views)
				})
			}
			name, err := o.resolve(cmd.Context(), releases, ns, args[0])
			if err != nil {
				return err
			}
			r, err := releases.Get(cmd.Context(), name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if printObject != nil {
				return printObject(r)
			}
			return views.print(o, r)
		},
	}
	cmd.Flags().BoolVarP(&watchFlag, "watch", "w", false, "follow the release until it ends (exit 0 Succeeded, 1 Failed or Canceled)")
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "with -w: "+timeoutUsage)
	views.addFlags(cmd.Flags())
	addPrintFlags(cmd, printFlags)
	return cmd
}

func isCloneSetKind(kind string) bool {
	switch strings.ToLower(kind) {
	case "cloneset", "clonesets", "cs", "cloneset.apps.kruise.io", "clonesets.apps.kruise.io":
		return true
	}
	return false
}

func isReleaseKind(kind string) bool {
	switch strings.ToLower(kind) {
	case "release", "releases", "release.releases.triton.io", "releases.releases.triton.io":
		return true
	}
	return false
}

// resolve is the release an argument names: NAME or release/NAME is that release; cloneset/NAME is the
// release running on the CloneSet NAME or, when none runs, the newest release of that CloneSet.
func (o *options) resolve(ctx context.Context, releases releasesv1alpha1.ReleaseInterface, ns, arg string) (string, error) {
	kind, name, ok := strings.Cut(arg, "/")
	if !ok {
		return arg, nil
	}
	switch {
	case name == "":
		return "", usageError("%q names no object: want NAME, release/NAME or cloneset/NAME", arg)
	case isReleaseKind(kind):
		return name, nil
	case isCloneSetKind(kind):
		return o.releaseOfCloneSet(ctx, releases, ns, name)
	}
	return "", usageError("%q: want NAME, release/NAME or cloneset/NAME", arg)
}

// releaseOfCloneSet is the release its owner annotation says runs on the CloneSet; else the newest
// release of that CloneSet (by creationTimestamp). A CloneSet that is gone or that the caller may not
// read still has its releases.
func (o *options) releaseOfCloneSet(ctx context.Context, releases releasesv1alpha1.ReleaseInterface, ns, name string) (string, error) {
	kruise, err := o.kruise()
	if err != nil {
		return "", err
	}
	cs, err := kruise.AppsV1alpha1().CloneSets(ns).Get(ctx, name, metav1.GetOptions{})
	switch {
	case err == nil:
		if owner := cs.Annotations[v1alpha1.OwnerAnnotation]; owner != "" {
			_, err := releases.Get(ctx, owner, metav1.GetOptions{})
			if err == nil {
				return owner, nil
			}
			if !apierrors.IsNotFound(err) {
				return "", err
			}
		}
	case apierrors.IsNotFound(err), apierrors.IsForbidden(err):
	default:
		return "", err
	}
	list, err := releases.List(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("spec.cloneSetName", name).String()})
	if err != nil {
		return "", err
	}
	var newest *v1alpha1.Release
	for i := range list.Items {
		r := &list.Items[i]
		if r.Spec.CloneSetName != name {
			continue
		}
		if newest == nil || newest.CreationTimestamp.Before(&r.CreationTimestamp) ||
			(newest.CreationTimestamp.Equal(&r.CreationTimestamp) && r.Name > newest.Name) {
			newest = r
		}
	}
	if newest == nil {
		return "", &exitError{code: ExitNotFound, err: fmt.Errorf("no release for CloneSet %s in namespace %s", view.Printable(name), view.Printable(ns))}
	}
	return newest.Name, nil
}

// terminalSize says whether w is a terminal, where the view is redrawn in place, and its size (0, 0 when
// the terminal does not say).
func terminalSize(w io.Writer) (bool, int, int) {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return false, 0, 0
	}
	width, height, err := term.GetSize(int(f.Fd()))
	if err != nil || width <= 0 || height <= 0 {
		return true, 0, 0
	}
	return true, width, height
}

// Terminal control.
const (
	hideCursor  = "\x1b[?25l"
	showCursor  = "\x1b[?25h"
	clearLine   = "\r\x1b[K"
	clearScreen = "\x1b[H\x1b[J"
)

// screen draws successive views of a release. On a terminal each replaces the last in place, cut to the
// terminal's size, with the cursor hidden until close. Elsewhere each new one is printed after a blank
// line, and an unchanged one not at all.
type screen struct {
	out      io.Writer
	terminal bool
	// size is the terminal's width and height now (0: unknown).
	size func() (int, int)
	// render draws a release cut to a width and height (0: no limit); nil is the status view, plain.
	render func(w io.Writer, r *v1alpha1.Release, width, height int) error

	mu            sync.Mutex
	release       *v1alpha1.Release
	last          string
	width, height int
	hidden        bool
	// closed: the terminal has its cursor back; nothing is drawn any more.
	closed bool
}

// show draws r.
func (s *screen) show(r *v1alpha1.Release) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.release = r
	return s.draw()
}

// redraw draws the last release again, at the terminal's size now.
func (s *screen) redraw() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.release == nil || s.closed {
		return nil
	}
	return s.draw()
}

func (s *screen) draw() error {
	width, height := 0, 0
	if s.terminal && s.size != nil {
		width, height = s.size()
	}
	render := s.render
	if render == nil {
		render = view.StatusFit
	}
	var text bytes.Buffer
	if err := render(&text, s.release, width, height); err != nil {
		return err
	}
	resized := width != s.width || height != s.height
	if text.String() == s.last && !resized {
		return nil
	}
	var b bytes.Buffer
	switch {
	case s.terminal && !s.hidden:
		b.WriteString(hideCursor)
		s.hidden = true
	}
	switch {
	case s.terminal && s.last != "" && resized:
		// The old view may have been rewrapped: draw from the top of the screen.
		b.WriteString(clearScreen)
	case s.terminal && s.last != "":
		// Up to the first line of the last view, then clear to the end of the screen.
		if n := strings.Count(s.last, "\n"); n > 0 {
			fmt.Fprintf(&b, "\r\x1b[%dA", n)
		}
		b.WriteString("\x1b[J")
	case s.last != "":
		b.WriteString("\n")
	}
	b.Write(text.Bytes())
	s.last, s.width, s.height = text.String(), width, height
	_, err := s.out.Write(b.Bytes())
	return err
}

// close gives the terminal its cursor back; interrupted also clears the line where the terminal echoed ^C.
func (s *screen) close(interrupted bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.terminal {
		return
	}
	s.closed = true
	var b strings.Builder
	if interrupted {
		b.WriteString(clearLine)
	}
	if s.hidden {
		b.WriteString(showCursor)
		s.hidden = false
	}
	_, _ = io.WriteString(s.out, b.String())
}

// finishedCode is the exit code of a release that has ended, and whether it has.
func finishedCode(r *v1alpha1.Release) (int, bool) {
	switch r.Status.Phase {
	case v1alpha1.ReleaseSucceeded:
		return ExitOK, true
	case v1alpha1.ReleaseFailed, v1alpha1.ReleaseCanceled:
		return ExitReleaseFailed, true
	}
	return 0, false
}

// watchStatus follows the release arg names until it ends, drawing each change as views says (the
// status or the pods, in colour or not; on a terminal, again every second, as its times go on). When ctx is canceled
// (Ctrl-C, SIGTERM) it stops with the terminal as it was and ExitInterrupted: on a terminal nothing is
// said, piped one line on stderr says the release goes on.
func watchStatus(ctx context.Context, o *options, releases releasesv1alpha1.ReleaseInterface, ns, arg string, printObject printFunc, views *statusView) error {
	out := o.streams.Out
	terminal, _, _ := o.terminal(out)
	s := &screen{out: out, terminal: terminal, size: func() (int, int) {
		_, w, h := o.terminal(out)
		return w, h
	}, render: views.renderer(o, out)}
	if terminal && printObject == nil {
		resized := make(chan os.Signal, 1)
		notifyResize(resized)
		defer stopResize(resized)
		done := make(chan struct{})
		defer close(done)
		go func() {
			for {
				select {
				case <-resized:
					_ = s.redraw()
				case <-done:
					return
				}
			}
		}()
		go keepTime(s, done)
	}
	err := func() error {
		name, err := o.resolve(ctx, releases, ns, arg)
		if err != nil {
			return err
		}
		return follow(ctx, releases, name, func(r *v1alpha1.Release) (bool, error) {
			if printObject != nil {
				if err := printObject(r); err != nil {
					return false, err
				}
			} else if err := s.show(r); err != nil {
				return false, err
			}
			if code, done := finishedCode(r); done {
				if code != ExitOK {
					return true, &exitError{code: code, err: fmt.Errorf("release %s is %s", view.Printable(name), view.Printable(string(r.Status.Phase)))}
				}
				return true, nil
			}
			return false, nil
		})
	}()
	interrupted := err != nil && errors.Is(ctx.Err(), context.Canceled)
	s.close(interrupted)
	if interrupted {
		if terminal {
			return &exitError{code: ExitInterrupted, err: errQuiet}
		}
		return &exitError{code: ExitInterrupted, err: fmt.Errorf("interrupted while watching release %s; the release goes on as it is, nothing was canceled", view.Printable(arg))}
	}
	return err
}

// follow calls seen with the release now and after every change until seen says it is done, the
// context ends, or the release is deleted. A watch that ends is started again from where it was.
func follow(ctx context.Context, releases releasesv1alpha1.ReleaseInterface, name string, seen func(*v1alpha1.Release) (bool, error)) error {
	r, err := releases.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if done, err := seen(r); done || err != nil {
		return err
	}
	rv := r.ResourceVersion
	stopped := func() error {
		return &exitError{code: ExitError, err: fmt.Errorf("stopped watching release %s: %v", view.Printable(name), ctx.Err())}
	}
	for {
		w, err := releases.Watch(ctx, metav1.ListOptions{
			FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String(), ResourceVersion: rv,
		})
		if err != nil {
			return err
		}
		restart := false
		for !restart {
			var event watch.Event
			var open bool
			select {
			case <-ctx.Done():
				w.Stop()
				return stopped()
			case event, open = <-w.ResultChan():
			}
			if !open {
				break
			}
			switch event.Type {
			case watch.Deleted:
				w.Stop()
				return &exitError{code: ExitNotFound, err: fmt.Errorf("release %s was deleted", view.Printable(name))}
			case watch.Error:
				// Expired: read it again and go on from there.
				w.Stop()
				r, err := releases.Get(ctx, name, metav1.GetOptions{})
				if err != nil {
					return err
				}
				rv = r.ResourceVersion
				if done, err := seen(r); done || err != nil {
					return err
				}
				restart = true
				continue
			}
			r, ok := event.Object.(*v1alpha1.Release)
			if !ok {
				continue
			}
			rv = r.ResourceVersion
			if done, err := seen(r); done || err != nil {
				w.Stop()
				return err
			}
		}
		w.Stop()
		if ctx.Err() != nil {
			return stopped()
		}
	}
}
