package app

import (
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/cli/view"
)

// strategyFlags are how every shortcut paces its release.
type strategyFlags struct {
	name      string
	canary    int32
	batchSize string
	mode      string
	interval  int32
	noPullIn  bool
	dryRun    string
	print     *genericclioptions.PrintFlags
}

func (f *strategyFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.name, "name", "", "the release's name (default: CLONESET-ACTION- and a random suffix)")
	cmd.Flags().Int32Var(&f.canary, "canary", 0, "pods in the canary batch, which waits for next twice (0: no canary)")
	cmd.Flags().StringVar(&f.batchSize, "batch-size", "", "pods per later batch: a number or a percentage of the pods the release changes (default 100%)")
	cmd.Flags().StringVar(&f.mode, "mode", "", "Manual (each batch waits for next) or Auto (default Manual)")
	cmd.Flags().Int32Var(&f.interval, "interval", 0, "Auto: seconds to wait after a batch is Baked")
	cmd.Flags().BoolVar(&f.noPullIn, "no-pull-in", false, "give pods traffic as soon as they are ready, without the readiness gate")
	cmd.Flags().StringVar(&f.dryRun, "dry-run", "none", `"server": show the plan the server computes, create nothing`)
	f.print = genericclioptions.NewPrintFlags("created").WithTypeSetter(scheme)
	addPrintFlags(cmd, f.print)
}

// release is a Release of action on cloneSet with the flags' strategy. Bad flags are refused here,
// before anything is sent.
func (f *strategyFlags) release(cloneSet string, action v1alpha1.ReleaseAction) (*v1alpha1.Release, error) {
	if _, err := dryRunOptions(f.dryRun); err != nil {
		return nil, err
	}
	r := &v1alpha1.Release{Spec: v1alpha1.ReleaseSpec{CloneSetName: cloneSet, Action: action}}
	if f.name != "" {
		r.Name = f.name
	} else {
		r.GenerateName = fmt.Sprintf("%s-%s-", cloneSet, strings.ToLower(string(action)))
	}
	s := &r.Spec.Strategy
	s.Canary = f.canary
	if f.batchSize != "" {
		size := intstr.Parse(f.batchSize)
		s.BatchSize = &size
	}
	switch strings.ToLower(f.mode) {
	case "":
	case "manual":
		s.Mode = v1alpha1.ModeManual
	case "auto":
		s.Mode = v1alpha1.ModeAuto
	default:
		return nil, usageError("--mode must be Manual or Auto, not %q", f.mode)
	}
	s.BatchIntervalSeconds = f.interval
	s.NoPullIn = f.noPullIn
	return r, nil
}

// create sends the release (or its dry run) and says what happened.
func (f *strategyFlags) create(cmd *cobra.Command, o *options, r *v1alpha1.Release) error {
	dry, err := dryRunOptions(f.dryRun)
	if err != nil {
		return err
	}
	releases, ns, err := o.releases()
	if err != nil {
		return err
	}
	created, err := releases.Create(cmd.Context(), r, metav1.CreateOptions{DryRun: dry})
	if err != nil {
		return err
	}
	if created.Namespace == "" {
		created.Namespace = ns
	}
	if *f.print.OutputFormat != "" {
		printer, err := f.print.ToPrinter()
		if err != nil {
			return usageError("%v", err)
		}
		return printer.PrintObj(created, o.streams.Out)
	}
	if dry != nil {
		fmt.Fprintln(o.streams.Out, view.Summary(created))
		fmt.Fprintln(o.streams.Out, "Nothing was created: this is the server's plan (dry run).")
		fmt.Fprintln(o.streams.Out)
		return view.Batches(o.streams.Out, created)
	}
	name, namespace := view.Printable(created.Name), view.Printable(created.Namespace)
	fmt.Fprintf(o.streams.Out, "release.releases.triton.io/%s created\n", name)
	fmt.Fprintf(o.streams.Out, "Follow it: kubectl release status %s -n %s -w\n", name, namespace)
	return nil
}

func newUpdateCommand(o *options) *cobra.Command {
	var images []string
	f := &strategyFlags{}
	cmd := &cobra.Command{
		Use:   "update CLONESET --image CONTAINER=IMAGE...",
		Short: "Release new images to a CloneSet: canary first, then batch after batch",
		Example: `  # nginx:1.28 to the CloneSet nginx: one canary pod, then half the pods at a time
  kubectl release update nginx --image nginx=nginx:1.28 --canary 1 --batch-size 50% --name nginx-update

  # Two containers, every batch on its own after a minute, no canary
  kubectl release update nginx --image nginx=nginx:1.28 --image sidecar=envoy:v1.34 --batch-size 2 --mode Auto --interval 60

  # The batches the server would run, without creating the release
  kubectl release update nginx --image nginx=nginx:1.28 --canary 1 --dry-run=server`,
		ValidArgsFunction: completeCloneSet(o),
		Args:              cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(images) == 0 {
				return usageError("update needs at least one --image CONTAINER=IMAGE")
			}
			r, err := f.release(args[0], v1alpha1.ActionUpdate)
			if err != nil {
				return err
			}
			kruise, err := o.kruise()
			if err != nil {
				return err
			}
			ns, err := o.namespace()
			if err != nil {
				return err
			}
			cs, err := kruise.AppsV1alpha1().CloneSets(ns).Get(cmd.Context(), args[0], metav1.GetOptions{})
			if err != nil {
				return err
			}
			template := cs.Spec.Template.DeepCopy()
			if err := setImages(template, images, args[0]); err != nil {
				return err
			}
			r.Spec.Template = template
			return f.create(cmd, o, r)
		},
	}
	cmd.Flags().StringSliceVar(&images, "image", nil, "CONTAINER=IMAGE, once per container to change")
	f.add(cmd)
	return cmd
}

// setImages sets CONTAINER=IMAGE pairs in a pod template.
func setImages(t *corev1.PodTemplateSpec, pairs []string, cloneSet string) error {
	for _, pair := range pairs {
		name, image, ok := strings.Cut(pair, "=")
		if !ok || name == "" || image == "" {
			return usageError("--image wants CONTAINER=IMAGE, not %q", pair)
		}
		found := false
		for _, list := range [][]corev1.Container{t.Spec.InitContainers, t.Spec.Containers} {
			for i := range list {
				if list[i].Name == name {
					list[i].Image = image
					found = true
				}
			}
		}
		if !found {
			var names []string
			for _, c := range append(append([]corev1.Container{}, t.Spec.InitContainers...), t.Spec.Containers...) {
				names = append(names, view.Printable(c.Name))
			}
			sort.Strings(names)
			return usageError("CloneSet %s has no container %q (it has: %s)", cloneSet, name, strings.Join(names, ", "))
		}
	}
	return nil
}

func newScaleCommand(o *options) *cobra.Command {
	var replicas int32
	var podsToDelete []string
	f := &strategyFlags{}
	cmd := &cobra.Command{
		Use:   "scale CLONESET --replicas N [--delete POD...]",
		Short: "Scale a CloneSet out or in, batch by batch; on the way in, the named pods go first",
		Example: `  # The CloneSet nginx out to 10 pods, 2 at a time, each batch on its own
  kubectl release scale nginx --replicas 10 --batch-size 2 --mode Auto --name nginx-out

  # In to 3 pods, nginx-9vgk9 first; print the new release's name
  kubectl release scale nginx --replicas 3 --delete nginx-9vgk9 -o name`,
		ValidArgsFunction: completeCloneSet(o),
		Args:              cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("replicas") {
				return usageError("scale needs --replicas N")
			}
			r, err := f.release(args[0], v1alpha1.ActionScale)
			if err != nil {
				return err
			}
			r.Spec.Replicas = &replicas
			r.Spec.PodsToDelete = podsToDelete
			return f.create(cmd, o, r)
		},
	}
	cmd.Flags().Int32Var(&replicas, "replicas", 0, "the CloneSet's size at the end")
	cmd.Flags().StringSliceVar(&podsToDelete, "delete", nil, "scale-in: pods to delete first")
	f.add(cmd)
	return cmd
}

func newRestartCommand(o *options) *cobra.Command {
	f := &strategyFlags{}
	cmd := &cobra.Command{
		Use:   "restart CLONESET",
		Short: "Replace every pod of a CloneSet, batch by batch",
		Example: `  # Replace the pods of the CloneSet nginx, a canary pod first, then a quarter at a time
  kubectl release restart nginx --canary 1 --batch-size 25% --name nginx-restart`,
		ValidArgsFunction: completeCloneSet(o),
		Args:              cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := f.release(args[0], v1alpha1.ActionRestart)
			if err != nil {
				return err
			}
			return f.create(cmd, o, r)
		},
	}
	f.add(cmd)
	return cmd
}

func newRollbackCommand(o *options) *cobra.Command {
	var revision string
	f := &strategyFlags{}
	cmd := &cobra.Command{
		Use:   "rollback CLONESET [--to-revision R]",
		Short: "Go back to an earlier revision of a CloneSet (default: the one before the current), batch by batch",
		Example: `  # The CloneSet nginx back to its revision before the current one, in one batch
  kubectl release rollback nginx --name nginx-rollback

  # Back to a given ControllerRevision, two pods at a time
  kubectl release rollback nginx --to-revision nginx-5d4b9c7f8 --batch-size 2`,
		ValidArgsFunction: completeCloneSet(o),
		Args:              cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := f.release(args[0], v1alpha1.ActionRollback)
			if err != nil {
				return err
			}
			r.Spec.ToRevision = revision
			return f.create(cmd, o, r)
		},
	}
	cmd.Flags().StringVar(&revision, "to-revision", "", "a ControllerRevision of the CloneSet (default: the one before the current)")
	f.add(cmd)
	return cmd
}
