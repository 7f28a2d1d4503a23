package app

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/cli/view"
	releasesv1alpha1 "github.com/triton-io/triton/pkg/generated/clientset/versioned/typed/releases/v1alpha1"
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
	wait      bool
	timeout   time.Duration
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
	cmd.Flags().BoolVarP(&f.wait, "wait", "w", false, "then follow the release until it ends, as status -w does (exit 0 Succeeded, 1 Failed or Canceled); a Manual release ends only if someone calls next")
	cmd.Flags().DurationVar(&f.timeout, "timeout", 0, "with --wait: "+timeoutUsage)
	f.print = genericclioptions.NewPrintFlags("created").WithTypeSetter(scheme)
	addPrintFlags(cmd, f.print)
	output := cmd.Flag("output")
	output.Usage = strings.TrimSuffix(output.Usage, ".") + ": prints the Release the server answered (with --wait: at every change, as status -w -o does)"
}

// release is a Release of action on cloneSet with the flags' strategy. Bad flags are refused here,
// before anything is sent.
func (f *strategyFlags) release(cloneSet string, action v1alpha1.ReleaseAction) (*v1alpha1.Release, error) {
	dry, err := dryRunOptions(f.dryRun)
	if err != nil {
		return nil, err
	}
	if err := checkTimeout(f.timeout, f.wait, "--wait"); err != nil {
		return nil, err
	}
	if f.wait && dry != nil {
		return nil, usageError("--wait and --dry-run=server exclude each other: a dry run creates no release to wait for")
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

// create sends the release (or its dry run) to the namespace of -n (or the kubeconfig's) and says what
// happened; with --wait it then follows the release until it ends.
func (f *strategyFlags) create(cmd *cobra.Command, o *options, r *v1alpha1.Release) error {
	ns, err := o.namespace()
	if err != nil {
		return err
	}
	return f.createIn(cmd, o, ns, r)
}

// createIn is create in the namespace ns.
func (f *strategyFlags) createIn(cmd *cobra.Command, o *options, ns string, r *v1alpha1.Release) error {
	dry, err := dryRunOptions(f.dryRun)
	if err != nil {
		return err
	}
	printObject, err := objectPrinter(f.print, o.streams.Out)
	if err != nil {
		return err
	}
	releases, _, err := o.releasesIn(ns)
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
	if f.wait {
		return f.follow(cmd.Context(), o, releases, created, printObject)
	}
	if printObject != nil {
		return printObject(created)
	}
	if dry != nil {
		return printPlan(o.streams.Out, created)
	}
	name, namespace := view.Printable(created.Name), view.Printable(created.Namespace)
	_, err = fmt.Fprintf(o.streams.Out, "release.releases.triton.io/%s created\nFollow it: kubectl release status %s -n %s -w\n", name, name, namespace)
	return err
}

// follow is --wait: the release just created, followed as status -w follows it until it ends or
// --timeout passes. With -o, the release is printed so at every change; without, its creation is said
// first, then each new state.
func (f *strategyFlags) follow(ctx context.Context, o *options, releases releasesv1alpha1.ReleaseInterface, created *v1alpha1.Release, printObject printFunc) error {
	if printObject == nil {
		if _, err := fmt.Fprintf(o.streams.Out, "release.releases.triton.io/%s created\n", view.Printable(created.Name)); err != nil {
			return err
		}
	}
	return withTimeout(ctx, f.timeout, created.Namespace, created.Name, "to end", func(ctx context.Context) error {
		return watchStatus(ctx, o, releases, created.Namespace, created.Name, printObject, &statusView{})
	})
}

func newUpdateCommand(o *options) *cobra.Command {
	var (
		images []string
		file   string
	)
	f := &strategyFlags{}
	cmd := &cobra.Command{
		Use:   "update CLONESET (--image CONTAINER=IMAGE... | -f CLONESET.yaml)",
		Short: "Release new images, or a new pod template, to a CloneSet: canary first, then batch after batch",
		Long: `Release new images to a CloneSet, or its whole pod template from a manifest: a canary first, then batch
after batch, as the strategy flags say.

--image copies the CloneSet's template as it is in the cluster and changes only the named containers' images.

-f reads a CloneSet manifest (YAML or JSON, - for stdin), as a pipeline renders it, and releases its
spec.template whole: everything else in the manifest (replicas, the update strategy, ...) is left out. Its
kind must be CloneSet of apps.kruise.io; CLONESET may be left out and is then the manifest's metadata.name,
and when both are given they must be the same. The manifest's metadata.namespace, if any, is the namespace,
unless -n names another (refused). -f and --image exclude each other.

--wait follows the release until it ends, printing each change as status -w does (exit 0 Succeeded, 1
Failed or Canceled). A Manual release waits for next at every batch (and an Auto one at its canary): with
--wait, someone else must call next, or use --mode Auto and no --canary. --timeout limits the wait (exit 8,
the release goes on as it is); without it the wait has no limit, as kubectl rollout status.`,
		Example: `  # nginx:1.28 to the CloneSet nginx: one canary pod, then half the pods at a time
  kubectl release update nginx --image nginx=nginx:1.28 --canary 1 --batch-size 50% --name nginx-update

  # Two containers, every batch on its own after a minute, no canary
  kubectl release update nginx --image nginx=nginx:1.28 --image sidecar=envoy:v1.34 --batch-size 2 --mode Auto --interval 60

  # The batches the server would run, without creating the release
  kubectl release update nginx --image nginx=nginx:1.28 --canary 1 --dry-run=server

  # From a pipeline: the template of a rendered manifest, on its own, and wait until the end (at most 15 minutes)
  kubectl release update nginx -f cloneset.yaml --mode Auto --batch-size 25% --wait --timeout 15m

  # The manifest from stdin; the CloneSet is the one it names
  cat cloneset.yaml | kubectl release update -f - --dry-run=server`,
		ValidArgsFunction: completeCloneSet(o),
		Args:              cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if file != "" {
				if len(images) > 0 {
					return usageError("--image and -f exclude each other: -f releases the manifest's template whole")
				}
				return updateFromManifest(cmd, o, f, file, args)
			}
			if len(args) == 0 {
				return usageError("update needs a CLONESET and --image CONTAINER=IMAGE, or -f CLONESET.yaml")
			}
			if len(images) == 0 {
				return usageError("update needs at least one --image CONTAINER=IMAGE, or -f CLONESET.yaml")
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
			return f.createIn(cmd, o, ns, r)
		},
	}
	cmd.Flags().StringSliceVar(&images, "image", nil, "CONTAINER=IMAGE, once per container to change")
	cmd.Flags().StringVarP(&file, "filename", "f", "", "a CloneSet manifest, YAML or JSON (- for stdin), whose spec.template is released whole")
	_ = cmd.MarkFlagFilename("filename", "yaml", "yml", "json")
	f.add(cmd)
	return cmd
}

// updateFromManifest is update -f: an Update release of the manifest's template, to the CloneSet it
// names (which args, if given, must name too), in its namespace unless -n says otherwise. A bad file or
// flag is refused before anything is sent.
func updateFromManifest(cmd *cobra.Command, o *options, f *strategyFlags, file string, args []string) error {
	raw, err := readManifest(file, o.streams.In)
	if err != nil {
		return err
	}
	m, err := decodeCloneSet(raw)
	if err != nil {
		return usageError("%s %v", manifestName(file), err)
	}
	name := m.name
	switch {
	case len(args) == 1 && name != "" && args[0] != name:
		return usageError("CLONESET is %s but %s is CloneSet %s: they must be the same", args[0], manifestName(file), name)
	case len(args) == 1:
		name = args[0]
	case name == "":
		return usageError("%s has no metadata.name: name the CloneSet, update CLONESET -f %s", manifestName(file), file)
	}
	ns, err := o.namespace()
	if err != nil {
		return err
	}
	if m.namespace != "" && m.namespace != ns {
		if explicit := o.flags.Namespace; explicit != nil && *explicit != "" {
			return usageError("%s names namespace %s but -n says %s", manifestName(file), m.namespace, ns)
		}
		ns = m.namespace
	}
	r, err := f.release(name, v1alpha1.ActionUpdate)
	if err != nil {
		return err
	}
	r.Spec.Template = m.template
	return f.createIn(cmd, o, ns, r)
}

// manifestName is how messages name the file -f read.
func manifestName(file string) string {
	if file == "-" {
		return "the manifest on stdin"
	}
	return file
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
	var pods []string
	f := &strategyFlags{}
	cmd := &cobra.Command{
		Use:   "restart CLONESET [--pods POD,...]",
		Short: "Replace every pod of a CloneSet, or only the pods named, batch by batch",
		Example: `  # Replace the pods of the CloneSet nginx, a canary pod first, then a quarter at a time
  kubectl release restart nginx --canary 1 --batch-size 25% --name nginx-restart

  # Restart only two pods, one at a time, each out of traffic before it goes; the others are untouched
  kubectl release restart nginx --pods nginx-abc12,nginx-def34 --batch-size 1 --mode Auto --wait`,
		ValidArgsFunction: completeCloneSet(o),
		Args:              cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := f.release(args[0], v1alpha1.ActionRestart)
			if err != nil {
				return err
			}
			for _, p := range pods {
				if strings.TrimSpace(p) == "" {
					return usageError("--pods: an empty pod name")
				}
			}
			r.Spec.PodsToDelete = pods
			return f.create(cmd, o, r)
		},
	}
	cmd.Flags().StringSliceVar(&pods, "pods", nil, "restart only these pods of the CloneSet, in this order (POD,POD,...); the others are untouched")
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
