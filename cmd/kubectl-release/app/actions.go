package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/cli/verbs"
	"github.com/triton-io/triton/pkg/cli/view"
	releasesv1alpha1 "github.com/triton-io/triton/pkg/generated/clientset/versioned/typed/releases/v1alpha1"
)

// dryRunFlag is kubectl's --dry-run: none or server (client makes no sense for a call that only the
// server can compute).
func dryRunOptions(value string) ([]string, error) {
	switch value {
	case "", "none":
		return nil, nil
	case "server":
		return []string{metav1.DryRunAll}, nil
	}
	return nil, usageError("--dry-run must be none or server, not %q", value)
}

// actionFlags are the flags every action command shares.
type actionFlags struct {
	expectedBatch int32
	expectedPhase string
	reason        string
	dryRun        string
	wait          bool
	timeout       time.Duration
	print         *genericclioptions.PrintFlags
}

func (f *actionFlags) add(cmd *cobra.Command, waits bool) {
	cmd.Flags().Int32Var(&f.expectedBatch, "expected-batch", 0, "refuse (exit 3) unless the release is at this batch: makes the call exactly-once")
	cmd.Flags().StringVar(&f.expectedPhase, "expected-phase", "", "refuse (exit 3) unless the current batch is in this phase (Smoked, Baked, ...)")
	cmd.Flags().StringVar(&f.reason, "reason", "", "why, recorded in the release's history")
	cmd.Flags().StringVar(&f.dryRun, "dry-run", "none", `"server": compute the answer, change nothing`)
	if waits {
		cmd.Flags().BoolVar(&f.wait, "wait", false, "then wait until the release needs the next call or ends (exit 1 if it Failed or was Canceled)")
		cmd.Flags().DurationVar(&f.timeout, "timeout", 0, "with --wait: "+timeoutUsage)
	}
	f.print = genericclioptions.NewPrintFlags("").WithTypeSetter(scheme)
	addPrintFlags(cmd, f.print)
	output := cmd.Flag("output")
	output.Usage = strings.TrimSuffix(output.Usage, ".") + ": prints the Release the server answered (with --wait: the Release when the wait ends)"
}

// request is the call's body from the flags.
func (f *actionFlags) request(cmd *cobra.Command) *v1alpha1.ReleaseRequest {
	req := &v1alpha1.ReleaseRequest{Reason: f.reason, ExpectedPhase: v1alpha1.BatchPhase(f.expectedPhase)}
	if cmd.Flags().Changed("expected-batch") {
		req.ExpectedBatch = &f.expectedBatch
	}
	return req
}

// actionExamples are the examples of each verb.
var actionExamples = map[string]string{
	"next": `  # The canary (batch 1) is Smoked: pull it into traffic, only if it is still at batch 1
  kubectl release next nginx-update --expected-batch 1 --reason "canary looks good"

  # Start the next batch and wait until the release needs you again
  kubectl release next nginx-update --expected-batch 1 --wait --timeout 10m

  # Skip to batch 3; print the release as the server answered, in YAML
  kubectl release next nginx-update --to-batch 3 -o yaml

  # Batch 2's pods are Ready but its analysis checks have not passed: go past them (operators only)
  kubectl release next nginx-update --expected-batch 2 --override-analysis --reason "errors come from a load test"`,
	"pause": `  # Hold the release and its CloneSet where they are
  kubectl release pause nginx-update --reason "checking the dashboards"

  # What would pausing answer? Nothing changes
  kubectl release pause nginx-update --dry-run=server -o json`,
	"resume": `  # Go on after a pause
  kubectl release resume nginx-update

  # Retry the current batch of a Failed release and wait for it
  kubectl release resume nginx-update --reason "image pull fixed" --wait`,
	"cancel": `  # Pull the release's pods out of traffic and put the CloneSet nginx back as it was
  kubectl release cancel nginx-update --reason "1.28 canary shows errors"

  # Print only the release's phase afterwards
  kubectl release cancel nginx-update -o jsonpath='{.status.phase}'`,
}

func newActionCommand(o *options, verb, short string) *cobra.Command {
	var (
		f                actionFlags
		toBatch          int32
		overrideAnalysis bool
	)
	cmd := &cobra.Command{
		Use:               verb + " NAME",
		Short:             short,
		Long:              actionLong[verb],
		Example:           actionExamples[verb],
		ValidArgsFunction: completeRelease(o),
		Args:              cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := f.request(cmd)
			if cmd.Flags().Changed("to-batch") {
				req.ToBatch = &toBatch
			}
			if overrideAnalysis {
				if err := checkOverride(req); err != nil {
					return err
				}
				req.OverrideAnalysis = true
			}
			return runAction(cmd, o, &f, verb, args[0], req)
		},
	}
	f.add(cmd, verb == "next" || verb == "resume")
	if verb == "next" {
		cmd.Flags().Int32Var(&toBatch, "to-batch", 0, "move straight to this batch, skipping those between (the last batch promotes the release fully)")
		cmd.Flags().BoolVar(&overrideAnalysis, "override-analysis", false,
			"go past analysis checks that have not passed: the current batch's, and with --to-batch those of the batches skipped (needs --reason, and the verb override on releases)")
	}
	return cmd
}

// actionLong are the descriptions of the verbs that say more than their short line.
var actionLong = map[string]string{
	"next": `Pull the current batch into traffic, or start the next batch, or finish the release. It needs the
current batch Smoked or Baked; in Manual mode a batch with analysis checks is Baked only once they have
passed, and next before that is refused (exit 3), naming the check that waits.

--override-analysis goes past the current batch's checks that have not passed: a Baking batch whose
pods are all Ready counts as Baked, and next moves on from it. It needs a reason (--reason, recorded in
the history with you) and a permission of its own, the verb override on releases (the role
triton-release-operator has it; not the approver's next): without it the server answers 403 (exit 4).
It does not go with --to-batch.`,
}

// checkOverride refuses, before anything is sent, a next with --override-analysis that the server would
// refuse as invalid: without a reason, or with --to-batch.
func checkOverride(req *v1alpha1.ReleaseRequest) error {
	if strings.TrimSpace(req.Reason) == "" {
		return usageError(`--override-analysis needs --reason: why the checks are gone past, for the release's history`)
	}
	return nil
}

// newPromoteCommand is `promote NAME [--full]`: `next`, or with --full `next` to the last batch, after which
// the release finishes by itself once that batch is Baked.
func newPromoteCommand(o *options) *cobra.Command {
	var (
		f                actionFlags
		full             bool
		overrideAnalysis bool
	)
	cmd := &cobra.Command{
		Use:   "promote NAME [--full]",
		Short: "Move the release on, as next does; with --full, straight to its last batch and to the end",
		Long: `promote moves the release on, as next does. With --full it moves straight to the last batch (every batch
between is recorded as skipped), which is pulled into traffic once its pods are up; the release then finishes
by itself once that batch is Baked, with no further call. Like next, it needs the current batch Smoked or Baked.
On a release with analysis checks, skipping batches skips their checks: --full is then refused (exit 3)
unless --override-analysis and --reason go with it, which need the verb override on releases.`,
		Example: `  # Move nginx-update on, as next does
  kubectl release promote nginx-update --expected-batch 2

  # Straight to the last batch and on to the end, then wait for the end
  kubectl release promote nginx-update --full --wait`,
		ValidArgsFunction: completeRelease(o),
		Args:              cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := f.request(cmd)
			if full {
				r, err := o.release(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				last := int32(len(r.Status.Batches))
				req.ToBatch = &last
			}
			if overrideAnalysis {
				if err := checkOverride(req); err != nil {
					return err
				}
				req.OverrideAnalysis = true
			}
			return runAction(cmd, o, &f, "next", args[0], req)
		},
	}
	f.add(cmd, true)
	cmd.Flags().BoolVar(&full, "full", false, "go straight to the last batch and finish without another call")
	cmd.Flags().BoolVar(&overrideAnalysis, "override-analysis", false,
		"go past analysis checks that have not passed, as next --override-analysis does (needs --reason, and the verb override on releases)")
	return cmd
}

// runAction performs verb on the release name and prints where it now is; with --wait, it then waits for
// the release to need a person again.
func runAction(cmd *cobra.Command, o *options, f *actionFlags, verb, name string, req *v1alpha1.ReleaseRequest) error {
	dry, err := dryRunOptions(f.dryRun)
	if err != nil {
		return err
	}
	printObject, err := objectPrinter(f.print, o.streams.Out)
	if err != nil {
		return err
	}
	releases, ns, err := o.releases()
	if err != nil {
		return err
	}
	r, err := call(cmd.Context(), releases, verb, name, req, metav1.CreateOptions{DryRun: dry})
	if err != nil {
		return err
	}
	waits := f.wait && dry == nil
	switch {
	case printObject != nil && !waits:
		return printObject(r)
	case printObject == nil:
		suffix := ""
		if dry != nil {
			suffix = " (server dry run)"
		}
		if _, err := fmt.Fprintf(o.streams.Out, "release.releases.triton.io/%s %s: %s%s\n", view.Printable(r.Name), verb, where(r), suffix); err != nil {
			return err
		}
	}
	if !waits {
		return nil
	}
	return withTimeout(cmd.Context(), f.timeout, ns, r.Name, "to need the next call or end", func(ctx context.Context) error {
		return waitForTurn(ctx, o, releases, r.Name, printObject)
	})
}

// call performs verb on the release.
func call(ctx context.Context, releases releasesv1alpha1.ReleaseInterface, verb, name string, req *v1alpha1.ReleaseRequest, opts metav1.CreateOptions) (*v1alpha1.Release, error) {
	r, err := verbs.Call(ctx, releases, verb, name, req, opts)
	if errors.Is(err, verbs.ErrUnknown) {
		return nil, usageError("unknown verb %q", verb)
	}
	return r, err
}

// where is a release's position in one line: phase, batch and its phase, and the CloneSet's partition
// or replicas as the answer showed them. The server's strings are escaped (view.Printable).
func where(r *v1alpha1.Release) string {
	s := r.Status
	out := view.Printable(string(s.Phase))
	if s.CurrentBatch > 0 && int(s.CurrentBatch) <= len(s.Batches) {
		b := s.Batches[s.CurrentBatch-1]
		out += fmt.Sprintf(", batch %d of %d %s", b.Index, len(s.Batches), view.Printable(string(b.Phase)))
	}
	if cs := s.CloneSet; cs != nil {
		if cs.Partition != nil {
			out += fmt.Sprintf(", CloneSet partition %d", *cs.Partition)
		}
		out += fmt.Sprintf(", replicas %d (%d updated)", cs.Replicas, cs.UpdatedReplicas)
		if cs.Paused {
			out += ", paused"
		}
	}
	return out
}

// waitForTurn waits until the release needs a person again (AwaitingNext, Paused, Failed) or ends,
// then prints its status. Succeeded or waiting: exit 0; Failed or Canceled: exit 1.
// With printObject (-o), the release is printed so instead.
func waitForTurn(ctx context.Context, o *options, releases releasesv1alpha1.ReleaseInterface, name string, printObject printFunc) error {
	var last *v1alpha1.Release
	// follow starts with a read, which is at least as new as the call's own write.
	err := follow(ctx, releases, name, func(r *v1alpha1.Release) (bool, error) {
		last = r
		if _, done := finishedCode(r); done {
			return true, nil
		}
		waiting := meta.IsStatusConditionTrue(r.Status.Conditions, v1alpha1.ConditionAwaitingNext) ||
			r.Status.Phase == v1alpha1.ReleasePaused
		return waiting, nil
	})
	if err != nil {
		return err
	}
	if printObject != nil {
		err = printObject(last)
	} else {
		err = view.Status(o.streams.Out, last)
	}
	if err != nil {
		return err
	}
	if code, done := finishedCode(last); done && code != ExitOK {
		return &exitError{code: code, err: fmt.Errorf("release %s is %s", view.Printable(name), view.Printable(string(last.Status.Phase)))}
	}
	return nil
}
