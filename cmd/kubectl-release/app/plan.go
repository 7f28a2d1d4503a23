package app

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/cli/view"
)

func newPlanCommand(o *options) *cobra.Command {
	var file string
	printFlags := genericclioptions.NewPrintFlags("").WithTypeSetter(scheme)
	cmd := &cobra.Command{
		Use:   "plan -f release.yaml",
		Short: "Show the batches a release would run, computed by the server, without creating anything",
		Example: `  # The plan of the release in nginx-update.yaml
  kubectl release plan -f nginx-update.yaml

  # From stdin, as the server would store it
  cat nginx-update.yaml | kubectl release plan -f - -o yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if file == "" {
				return usageError("plan needs -f FILE (a Release in YAML or JSON; - reads stdin)")
			}
			var raw []byte
			var err error
			if file == "-" {
				raw, err = io.ReadAll(o.streams.In)
			} else {
				raw, err = os.ReadFile(file)
			}
			if err != nil {
				return usageError("reading %s: %v", file, err)
			}
			r, err := decodeRelease(raw)
			if err != nil {
				return &exitError{code: ExitInvalid, err: fmt.Errorf("%s: %v", file, err)}
			}
			releases, ns, err := o.releases()
			if err != nil {
				return err
			}
			if r.Namespace != "" && r.Namespace != ns {
				if explicit := o.flags.Namespace; explicit != nil && *explicit != "" {
					return usageError("the release names namespace %s but -n says %s", r.Namespace, ns)
				}
				releases, ns, err = o.releasesIn(r.Namespace)
				if err != nil {
					return err
				}
			}
			planned, err := releases.Create(cmd.Context(), r, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			if err != nil {
				return err
			}
			if *printFlags.OutputFormat != "" {
				printer, err := printFlags.ToPrinter()
				if err != nil {
					return usageError("%v", err)
				}
				return printer.PrintObj(planned, o.streams.Out)
			}
			if planned.Namespace == "" {
				planned.Namespace = ns
			}
			return printPlan(o.streams.Out, planned)
		},
	}
	cmd.Flags().StringVarP(&file, "filename", "f", "", "the Release, YAML or JSON (- for stdin)")
	addPrintFlags(cmd, printFlags)
	return cmd
}

// decodeRelease reads one Release in YAML or JSON.
func decodeRelease(raw []byte) (*v1alpha1.Release, error) {
	codecs := serializer.NewCodecFactory(scheme, serializer.EnableStrict)
	obj, gvk, err := codecs.UniversalDeserializer().Decode(raw, nil, nil)
	if err != nil {
		return nil, err
	}
	r, ok := obj.(*v1alpha1.Release)
	if !ok {
		return nil, fmt.Errorf("not a releases.triton.io/v1alpha1 Release but %s", gvk)
	}
	return r, nil
}

// printPlan prints a release the server planned in a dry run: its summary and its batches.
func printPlan(out io.Writer, planned *v1alpha1.Release) error {
	if _, err := fmt.Fprintf(out, "%s\nNothing was created: this is the server's plan (dry run).\n\n", view.Summary(planned)); err != nil {
		return err
	}
	return view.Batches(out, planned)
}
