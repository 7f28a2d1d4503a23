package app

import (
	"io"

	"github.com/spf13/cobra"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
)

// printFunc prints an object as -o asked.
type printFunc func(runtime.Object) error

// objectPrinter is the printer of -o (json, yaml, name, jsonpath=..., go-template=...), or nil when -o
// was not given and the command prints its own view. A bad -o is a usage error (exit 2).
func objectPrinter(flags *genericclioptions.PrintFlags, out io.Writer) (printFunc, error) {
	if flags.OutputFormat == nil || *flags.OutputFormat == "" {
		return nil, nil
	}
	printer, err := flags.ToPrinter()
	if err != nil {
		return nil, usageError("%v", err)
	}
	// The printer sets the object's kind while it prints: it prints a copy, so that an object others still
	// read (a watch's, a cache's) is never written.
	return func(obj runtime.Object) error { return printer.PrintObj(obj.DeepCopyObject(), out) }, nil
}

// addPrintFlags adds -o and its companions (--template, ...) to cmd, and completes -o with its formats.
func addPrintFlags(cmd *cobra.Command, flags *genericclioptions.PrintFlags) {
	flags.AddFlags(cmd)
	_ = cmd.RegisterFlagCompletionFunc("output", func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return flags.AllowedFormats(), noFiles
	})
}
