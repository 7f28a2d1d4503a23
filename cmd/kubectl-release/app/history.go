package app

import (
	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/cli/view"
)

func newHistoryCommand(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "history NAME",
		Short: "Show every action taken on a release: when, who, from where to where, and why",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			releases, _, err := o.releases()
			if err != nil {
				return err
			}
			r, err := releases.Get(cmd.Context(), args[0], metav1.GetOptions{})
			if err != nil {
				return err
			}
			return view.History(o.streams.Out, r)
		},
	}
}
