package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	kruiseclient "github.com/openkruise/kruise-api/client/clientset/versioned"
	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"

	"github.com/triton-io/triton/pkg/apis/releases/install"
	releasesv1alpha1api "github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/cli/view"
	"github.com/triton-io/triton/pkg/generated/clientset/versioned"
	releasesv1alpha1 "github.com/triton-io/triton/pkg/generated/clientset/versioned/typed/releases/v1alpha1"
)

// Exit codes, documented in `kubectl release --help` and the README.
const (
	ExitOK = 0
	// ExitReleaseFailed: a watched or awaited release ended Failed or Canceled.
	ExitReleaseFailed = 1
	// ExitUsage: bad arguments or flags.
	ExitUsage = 2
	// ExitRefused: the server refused the call as the release stands (409: wrong batch or phase, paused,
	// finished, still Smoking or Baking, another release running).
	ExitRefused = 3
	// ExitNotAllowed: 401 or 403.
	ExitNotAllowed = 4
	// ExitNotFound: no such release or CloneSet (404).
	ExitNotFound = 5
	// ExitInvalid: the server found the input invalid (400, 422).
	ExitInvalid = 6
	// ExitError: anything else (unreachable server, 5xx, a request that timed out).
	ExitError = 7
	// ExitTimeout: --timeout passed before the awaited release ended (or, for next --wait, needed the next
	// call); the release itself goes on as it is.
	ExitTimeout = 8
	// ExitInterrupted: a wait or watch was interrupted (Ctrl-C, SIGTERM) before the release ended, as a shell
	// reports a command ended by SIGINT: a pipeline whose step is stopped must not read it as done.
	ExitInterrupted = 130
)

const exitCodesHelp = `Exit codes:
  0  done
  1  the release ended Failed or Canceled (status --watch, --wait)
  2  bad arguments or flags
  3  refused as the release stands (409): wrong batch or phase, paused, finished, pods not ready yet
  4  not allowed (401, 403)
  5  not found (404)
  6  invalid input (400, 422)
  7  any other error (server unreachable, 5xx, a request timed out)
  8  --timeout passed while waiting (--wait, status --watch): the release goes on as it is
  130  interrupted (Ctrl-C, SIGTERM) while waiting or watching: the release goes on as it is`

var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	install.Install(s)
	return s
}()

// options are what every command shares: kubectl's connection flags, the streams, and how to reach the
// clients and the terminal (replaced in tests).
type options struct {
	flags   *genericclioptions.ConfigFlags
	streams genericiooptions.IOStreams

	// releaseClient and kruiseClient are the clientsets for the flags' cluster.
	releaseClient func() (versioned.Interface, error)
	kruiseClient  func() (kruiseclient.Interface, error)
	// kubeClient is the core clientset (the dashboard's pod maps).
	kubeClient func() (kubernetes.Interface, error)
	// terminal says whether w is a terminal and its size in cells (0 when it cannot tell).
	terminal func(w io.Writer) (ok bool, width, height int)
}

func newOptions(streams genericiooptions.IOStreams) *options {
	o := &options{flags: genericclioptions.NewConfigFlags(true), streams: streams, terminal: terminalSize}
	o.releaseClient = func() (versioned.Interface, error) {
		config, err := o.flags.ToRESTConfig()
		if err != nil {
			return nil, err
		}
		return versioned.NewForConfig(config)
	}
	o.kruiseClient = func() (kruiseclient.Interface, error) {
		config, err := o.flags.ToRESTConfig()
		if err != nil {
			return nil, err
		}
		return kruiseclient.NewForConfig(config)
	}
	o.kubeClient = func() (kubernetes.Interface, error) {
		config, err := o.flags.ToRESTConfig()
		if err != nil {
			return nil, err
		}
		return kubernetes.NewForConfig(config)
	}
	return o
}

func (o *options) namespace() (string, error) {
	ns, _, err := o.flags.ToRawKubeConfigLoader().Namespace()
	return ns, err
}

// releases is the releases client for the namespace of -n or the kubeconfig's context.
func (o *options) releases() (releasesv1alpha1.ReleaseInterface, string, error) {
	ns, err := o.namespace()
	if err != nil {
		return nil, "", err
	}
	return o.releasesIn(ns)
}

// release reads the release name of the namespace of -n or the kubeconfig's context.
func (o *options) release(ctx context.Context, name string) (*releasesv1alpha1api.Release, error) {
	releases, _, err := o.releases()
	if err != nil {
		return nil, err
	}
	return releases.Get(ctx, name, metav1.GetOptions{})
}

func (o *options) releasesIn(ns string) (releasesv1alpha1.ReleaseInterface, string, error) {
	client, err := o.releaseClient()
	if err != nil {
		return nil, "", err
	}
	return client.ReleasesV1alpha1().Releases(ns), ns, nil
}

func (o *options) kruise() (kruiseclient.Interface, error) {
	return o.kruiseClient()
}

// exitError carries an exit code.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// errQuiet is an error that only sets the exit code: nothing is printed (an interrupted watch on a
// terminal, whose screen already says all).
var errQuiet = errors.New("interrupted")

func usageError(format string, args ...interface{}) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, args...)}
}

// NewCommand is `kubectl release`.
func NewCommand(streams genericiooptions.IOStreams) *cobra.Command {
	return newCommand(newOptions(streams))
}

func newCommand(o *options) *cobra.Command {
	streams := o.streams
	cmd := &cobra.Command{
		Use:         "release",
		Annotations: map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl release"},
		Short:       "Drive releases.triton.io Releases: see them move, step them, hold them, undo them",
		Long: `kubectl release drives Triton releases: a canary first, then batch after batch, each as fast as you allow.
Shell completion, for kubectl-release and for kubectl release: kubectl release completion --help.

` + exitCodesHelp,
		Example: `  # Release nginx:1.28 to the CloneSet nginx: one canary pod, then half the pods at a time
  kubectl release update nginx --image nginx=nginx:1.28 --canary 1 --batch-size 50% --name nginx-update

  # Follow it, and move it on when it waits for you
  kubectl release status nginx-update -w
  kubectl release next nginx-update --expected-batch 1

  # Which release runs on the CloneSet nginx
  kubectl release status cloneset/nginx`,
		SilenceUsage:      true,
		SilenceErrors:     true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	cmd.SetIn(streams.In)
	cmd.SetOut(streams.Out)
	cmd.SetErr(streams.ErrOut)
	o.flags.AddFlags(cmd.PersistentFlags())
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &exitError{code: ExitUsage, err: fmt.Errorf("%v (see '%s --help')", err, c.CommandPath())}
	})
	cmd.AddCommand(
		newStatusCommand(o),
		newActionCommand(o, "next", "Pull the current batch into traffic, or start the next batch, or finish"),
		newActionCommand(o, "pause", "Hold the release and its CloneSet where they are"),
		newActionCommand(o, "resume", "Go on after pause; on a Failed release, retry the current batch"),
		newActionCommand(o, "cancel", "Pull the release's pods out of traffic and put the CloneSet back as it was"),
		newPromoteCommand(o),
		newPlanCommand(o),
		newVersionCommand(o),
		newHistoryCommand(o),
		newUpdateCommand(o), newScaleCommand(o), newRestartCommand(o), newRollbackCommand(o),
		newCompletionCommand(o),
		newDashboardCommand(o),
	)
	// cobra's help command, made now so that it has an example too.
	cmd.InitDefaultHelpCmd()
	if help, _, err := cmd.Find([]string{"help"}); err == nil && help != cmd {
		help.Example = "  # How to use status\n  kubectl release help status"
	}
	return cmd
}

// Main runs the plugin as the process argv (os.Args) asks: as kubectl-release, or, when argv[0] is
// kubectl_complete-release, as kubectl-release __complete.
func Main(ctx context.Context, argv []string, streams genericiooptions.IOStreams) int {
	return Run(ctx, Args(argv), streams)
}

// Run runs the command line and returns the exit code; errors are one line on stderr.
func Run(ctx context.Context, args []string, streams genericiooptions.IOStreams) int {
	return run(ctx, newOptions(streams), args)
}

func run(ctx context.Context, o *options, args []string) int {
	cmd := newCommand(o)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	code, message := describe(err)
	if errors.Is(err, errQuiet) {
		return code
	}
	// The server's message may quote what a caller sent (a name, a reason): never raw to the terminal.
	// Should standard error fail too, the exit code still tells.
	_, _ = fmt.Fprintln(o.streams.ErrOut, "error: "+view.Printable(oneLine(message)))
	return code
}

// describe maps an error to its exit code and a message that says what to do.
func describe(err error) (int, string) {
	var exit *exitError
	if errors.As(err, &exit) {
		if exit.code == ExitUsage && !strings.Contains(exit.err.Error(), "--help") {
			return exit.code, exit.err.Error() + " (see 'kubectl release --help')"
		}
		return exit.code, exit.err.Error()
	}
	if strings.HasPrefix(err.Error(), "unknown command") || strings.HasPrefix(err.Error(), "accepts ") ||
		strings.HasPrefix(err.Error(), "requires ") {
		return ExitUsage, err.Error() + " (see 'kubectl release --help')"
	}
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return ExitError, err.Error()
	}
	s := status.Status()
	msg := s.Message
	switch s.Code {
	case http.StatusConflict:
		return ExitRefused, msg + ". See where it stands: kubectl release status " + nameOf(s)
	case http.StatusUnauthorized:
		return ExitNotAllowed, msg + ". Check your kubeconfig's credentials"
	case http.StatusForbidden:
		if strings.Contains(msg, `"clonesets"`) {
			return ExitNotAllowed, msg + ". Ask for update on the CloneSet"
		}
		if strings.Contains(msg, `cannot override resource "releases"`) {
			return ExitNotAllowed, msg + ". Ask for the role triton-release-operator, or for the checks to pass"
		}
		return ExitNotAllowed, msg + ". Ask for a role: triton-release-viewer, -approver or -operator"
	case http.StatusNotFound:
		return ExitNotFound, msg + ". List them: kubectl get releases"
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		return ExitInvalid, msg
	}
	return ExitError, msg
}

// nameOf is the object a refusal is about.
func nameOf(s metav1.Status) string {
	if s.Details != nil && s.Details.Name != "" {
		return s.Details.Name
	}
	return "NAME"
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
