package app

import (
	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/cli/view"
)

func newHistoryCommand(o *options) *cobra.Command {
	printFlags := genericclioptions.NewPrintFlags("").WithTypeSetter(scheme)
	cmd := &cobra.Command{
		Use:   "history NAME",
		Short: "Show every action taken on a release: when, who, from where to where, and why",
		Long: `Show every action taken on a release: when, who, from where to where, and why.

With -o json, yaml, jsonpath or go-template the history (status.history) is printed as a List whose items
are its entries, oldest first; -o name prints the release's name.`,
		Example: `  # Every action on nginx-update
  kubectl release history nginx-update

  # The history as JSON, or only who did what
  kubectl release history nginx-update -o json
  kubectl release history nginx-update -o jsonpath='{range .items[*]}{.user}{"\t"}{.action}{"\n"}{end}'`,
		ValidArgsFunction: completeRelease(o),
		Args:              cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			printObject, err := objectPrinter(printFlags, o.streams.Out)
			if err != nil {
				return err
			}
			r, err := o.release(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			switch {
			case printObject == nil:
				return view.History(o.streams.Out, r)
			case *printFlags.OutputFormat == "name":
				return printObject(r)
			}
			list, err := historyList(r)
			if err != nil {
				return err
			}
			return printObject(list)
		},
	}
	addPrintFlags(cmd, printFlags)
	return cmd
}

// historyList is a release's status.history as a v1 List, one item an entry.
func historyList(r *v1alpha1.Release) (*unstructured.UnstructuredList, error) {
	list := &unstructured.UnstructuredList{Object: map[string]interface{}{}}
	list.SetAPIVersion("v1")
	list.SetKind("List")
	list.Items = []unstructured.Unstructured{}
	for i := range r.Status.History {
		entry, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&r.Status.History[i])
		if err != nil {
			return nil, err
		}
		list.Items = append(list.Items, unstructured.Unstructured{Object: entry})
	}
	return list, nil
}
