package app

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/triton-io/triton/pkg/version"
)

// newVersionCommand is `kubectl release version`: the plugin's version (pkg/version).
func newVersionCommand(o *options) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the plugin's version",
		Example: "  kubectl release version",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprintf(o.streams.Out, "kubectl-release %s\n", version.Get())
			return err
		},
	}
}
