package app

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
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

func newActionCommand(o *options, verb, short string) *cobra.Command {
	var (
		expectedBatch int32
		expectedPhase string
		reason        string
		dryRun        string
		waitFlag      bool
		timeout       time.Duration
	)
	cmd := &cobra.Command{
		Use:   verb + " NAME",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dry, err := dryRunOptions(dryRun)
			if err != nil {
				return err
			}
			releases, _, err := o.releases()
			if err != nil {
				return err
			}
			req := &v1alpha1.ReleaseRequest{Reason: reason, ExpectedPhase: v1alpha1.BatchPhase(expectedPhase)}
			if cmd.Flags().Changed("expected-batch") {
				req.ExpectedBatch = &expectedBatch
			}
			r, err := call(cmd.Context(), releases, verb, args[0], req, metav1.CreateOptions{DryRun: dry})
			if err != nil {
				return err
			}
			suffix := ""
			if dry != nil {
				suffix = " (server dry run)"
			}
			fmt.Fprintf(o.streams.Out, "release.releases.triton.io/%s %s: %s%s\n", r.Name, verb, where(r), suffix)
			if !waitFlag || dry != nil {
				return nil
			}
			ctx := cmd.Context()
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			return waitForTurn(ctx, o, releases, r.Name)
		},
	}
	cmd.Flags().Int32Var(&expectedBatch, "expected-batch", 0, "refuse (exit 3) unless the release is at this batch: makes the call exactly-once")
	cmd.Flags().StringVar(&expectedPhase, "expected-phase", "", "refuse (exit 3) unless the current batch is in this phase (Smoked, Baked, ...)")
	cmd.Flags().StringVar(&reason, "reason", "", "why, recorded in the release's history")
	cmd.Flags().StringVar(&dryRun, "dry-run", "none", `"server": compute the answer, change nothing`)
	if verb == "next" || verb == "resume" {
		cmd.Flags().BoolVar(&waitFlag, "wait", false, "then wait until the release needs the next call or ends (exit 1 if it Failed or was Canceled)")
		cmd.Flags().DurationVar(&timeout, "timeout", 0, "with --wait: give up after this long (exit 7); 0 waits for ever")
	}
	return cmd
}

// call performs verb on the release.
func call(ctx context.Context, releases releasesv1alpha1.ReleaseInterface, verb, name string, req *v1alpha1.ReleaseRequest, opts metav1.CreateOptions) (*v1alpha1.Release, error) {
	switch verb {
	case "next":
		return releases.Next(ctx, name, req, opts)
	case "pause":
		return releases.Pause(ctx, name, req, opts)
	case "resume":
		return releases.Resume(ctx, name, req, opts)
	case "cancel":
		return releases.Cancel(ctx, name, req, opts)
	}
	return nil, usageError("unknown verb %q", verb)
}

// where is a release's position in one line: phase, batch and its phase, and the CloneSet's partition
// or replicas as the answer showed them.
func where(r *v1alpha1.Release) string {
	s := r.Status
	out := string(s.Phase)
	if s.CurrentBatch > 0 && int(s.CurrentBatch) <= len(s.Batches) {
		b := s.Batches[s.CurrentBatch-1]
		out += fmt.Sprintf(", batch %d of %d %s", b.Index, len(s.Batches), b.Phase)
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
func waitForTurn(ctx context.Context, o *options, releases releasesv1alpha1.ReleaseInterface, name string) error {
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
	if err := view.Status(o.streams.Out, last); err != nil {
		return err
	}
	if code, done := finishedCode(last); done && code != ExitOK {
		return &exitError{code: code, err: fmt.Errorf("release %s is %s", name, last.Status.Phase)}
	}
	return nil
}
