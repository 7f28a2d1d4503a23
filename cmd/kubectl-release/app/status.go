package app

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"
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
	printFlags := genericclioptions.NewPrintFlags("").WithTypeSetter(scheme)
	cmd := &cobra.Command{
		Use:   "status NAME [-w]",
		Short: "Show a release's batches with their progress, what it waits for, and the command that moves it on",
		Long: `Show a release's plan as a table of batches, each with bars for its pods updated, ready and pulled into
traffic; what the release waits for; and the command that moves it on.

With --watch the view follows the release: redrawn in place on a terminal, printed again on each change
when piped. It ends when the release does: exit 0 on Succeeded, 1 on Failed or Canceled.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			releases, _, err := o.releases()
			if err != nil {
				return err
			}
			var printObject func(*v1alpha1.Release) error
			if *printFlags.OutputFormat != "" {
				printer, err := printFlags.ToPrinter()
				if err != nil {
					return usageError("%v", err)
				}
				printObject = func(r *v1alpha1.Release) error { return printer.PrintObj(r, o.streams.Out) }
			}
			if !watchFlag {
				r, err := releases.Get(cmd.Context(), args[0], metav1.GetOptions{})
				if err != nil {
					return err
				}
				if printObject != nil {
					return printObject(r)
				}
				return view.Status(o.streams.Out, r)
			}
			return watchStatus(cmd.Context(), releases, args[0], o.streams.Out, printObject)
		},
	}
	cmd.Flags().BoolVarP(&watchFlag, "watch", "w", false, "follow the release until it ends (exit 0 Succeeded, 1 Failed or Canceled)")
	printFlags.AddFlags(cmd)
	return cmd
}

// isTerminal reports whether w is a terminal, where the view is redrawn in place.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// screen draws successive views: on a terminal each replaces the last in place; elsewhere each new
// one is printed after a blank line, and an unchanged one not at all.
type screen struct {
	out      io.Writer
	terminal bool
	last     string
}

func (s *screen) draw(text string) error {
	if text == s.last {
		return nil
	}
	var b bytes.Buffer
	switch {
	case s.terminal && s.last != "":
		// Up to the first line of the last view, then clear to the end of the screen.
		fmt.Fprintf(&b, "\x1b[%dA\x1b[J", strings.Count(s.last, "\n"))
	case s.last != "":
		b.WriteString("\n")
	}
	b.WriteString(text)
	s.last = text
	_, err := s.out.Write(b.Bytes())
	return err
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

// watchStatus follows a release until stop says so (default: until it ends), drawing each change.
func watchStatus(ctx context.Context, releases releasesv1alpha1.ReleaseInterface, name string, out io.Writer, printObject func(*v1alpha1.Release) error) error {
	s := &screen{out: out, terminal: isTerminal(out)}
	return follow(ctx, releases, name, func(r *v1alpha1.Release) (bool, error) {
		if printObject != nil {
			if err := printObject(r); err != nil {
				return false, err
			}
		} else {
			var b bytes.Buffer
			if err := view.Status(&b, r); err != nil {
				return false, err
			}
			if err := s.draw(b.String()); err != nil {
				return false, err
			}
		}
		if code, done := finishedCode(r); done {
			if code != ExitOK {
				return true, &exitError{code: code, err: fmt.Errorf("release %s is %s", name, r.Status.Phase)}
			}
			return true, nil
		}
		return false, nil
	})
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
	for {
		w, err := releases.Watch(ctx, metav1.ListOptions{
			FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String(), ResourceVersion: rv,
		})
		if err != nil {
			return err
		}
		for event := range w.ResultChan() {
			switch event.Type {
			case watch.Deleted:
				w.Stop()
				return &exitError{code: ExitNotFound, err: fmt.Errorf("release %s was deleted", name)}
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
			return &exitError{code: ExitError, err: fmt.Errorf("stopped watching release %s: %v", name, ctx.Err())}
		}
	}
}
