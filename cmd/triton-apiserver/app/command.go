package app

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	logsapi "k8s.io/component-base/logs/api/v1"
	// The json logging format (--logging-format=json).
	_ "k8s.io/component-base/logs/json/register"
	"k8s.io/klog/v2"

	"github.com/triton-io/triton/pkg/version"
)

// UsageError is a bad command line: the process exits with code 2.
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() }
func (e UsageError) Unwrap() error { return e.Err }

func init() {
	// The command may run more than once in a process (tests): the same logging configuration applies again
	// without error.
	logsapi.ReapplyHandling = logsapi.ReapplyHandlingIgnoreUnchanged
}

// NewCommand returns the triton-apiserver command.
func NewCommand(ctx context.Context) *cobra.Command {
	o := NewOptions()
	logging := logsapi.NewLoggingConfiguration()
	cmd := &cobra.Command{
		Use:   "triton-apiserver",
		Short: "Serves the releases.triton.io API: Releases that move OpenKruise CloneSets batch by batch",
		Long: "triton-apiserver is a Kubernetes aggregated API server. It stores Releases in etcd (an embedded " +
			"single-member etcd in --etcd-data-dir unless --etcd-servers is given) and serves them under " +
			"/apis/releases.triton.io/v1alpha1 behind kube-apiserver through an APIService.",
		SilenceUsage:  true,
		SilenceErrors: true,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return UsageError{fmt.Errorf("unexpected arguments %q: triton-apiserver takes only flags", args)}
			}
			return nil
		},
		// A flag the command line does not set may come from its environment variable (ApplyEnv).
		PreRunE: func(cmd *cobra.Command, args []string) error {
			unknown, err := ApplyEnv(cmd.Flags(), os.LookupEnv, os.Environ())
			if err != nil {
				return UsageError{err}
			}
			if len(unknown) > 0 {
				klog.Warningf("Ignoring environment variables that name no flag: %s", strings.Join(unknown, ", "))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := logsapi.ValidateAndApply(logging, nil); err != nil {
				return UsageError{err}
			}
			if err := o.Validate(); err != nil {
				return UsageError{err}
			}
			setMemoryLimit()
			return Run(cmd.Context(), o)
		},
	}
	// --version prints "triton-apiserver <version>" (pkg/version: stamped from git by make build and make image).
	cmd.Version = version.Get()
	cmd.SetVersionTemplate("{{.Name}} {{.Version}}\n")
	cmd.SetContext(ctx)
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return UsageError{err} })
	// Backups of the etcd, from inside the server's image (it has no shell, and no etcdctl).
	cmd.AddCommand(newSnapshotCommand())
	fs := cmd.Flags()
	o.AddFlags(fs)
	// Logging through k8s.io/component-base's logs API: --logging-format (text, or json: one JSON object a
	// line), -v, --vmodule and --log-flush-frequency, without the rest of klog's global Go flag set.
	logsapi.AddFlags(logging, fs)
	return cmd
}
