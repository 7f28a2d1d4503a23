package app

import (
	"github.com/spf13/cobra"

	"github.com/triton-io/triton/pkg/cli/view"
)

func newHistoryCommand(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "history NAME",
		Short: "Show every action taken on a release: when, who, from where to where, and why",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := o.release(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return view.History(o.streams.Out, r)
		},
	}
}
