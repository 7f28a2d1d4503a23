package app

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

// CompleteName is the executable kubectl (1.26 and later) runs from the PATH to complete
// `kubectl release <TAB>`, with the words after `release`; it must answer as `kubectl-release __complete`.
const CompleteName = "kubectl_complete-release"

// Args are the command line of a process started as argv: the arguments after the program's name, or,
// when the program is called kubectl_complete-release (a symlink or a copy of kubectl-release), the
// completion request `__complete` and those arguments.
func Args(argv []string) []string {
	if len(argv) == 0 {
		return nil
	}
	name := argv[0]
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.TrimSuffix(name, ".exe")
	if name == CompleteName {
		return append([]string{cobra.ShellCompRequestCmd}, argv[1:]...)
	}
	return argv[1:]
}

// completionTimeout bounds what a completion may ask the cluster: a shell waits for it.
var completionTimeout = 5 * time.Second

const noFiles = cobra.ShellCompDirectiveNoFileComp

func completionContext(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	return context.WithTimeout(ctx, completionTimeout)
}

// completeRelease completes a command's one argument with the names of the releases in the namespace
// of -n (or the kubeconfig's context).
func completeRelease(o *options) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, noFiles
		}
		return releaseNames(cmd, o, toComplete), noFiles
	}
}

// completeReleaseOrCloneSet completes status's argument: release names, and after cloneset/ (or
// clonesets/, cs/) CloneSet names.
func completeReleaseOrCloneSet(o *options) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, noFiles
		}
		if kind, name, ok := strings.Cut(toComplete, "/"); ok && isCloneSetKind(kind) {
			var out []cobra.Completion
			for _, c := range cloneSetNames(cmd, o, name) {
				out = append(out, kind+"/"+c)
			}
			return out, noFiles
		}
		return releaseNames(cmd, o, toComplete), noFiles
	}
}

// completeCloneSet completes a shortcut's one argument with the names of the CloneSets in the namespace.
func completeCloneSet(o *options) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, noFiles
		}
		return cloneSetNames(cmd, o, toComplete), noFiles
	}
}

// releaseNames are the releases whose names start with prefix, each with its CloneSet and phase as the
// description shells that show one (zsh, fish) print. Errors complete nothing.
func releaseNames(cmd *cobra.Command, o *options, prefix string) []cobra.Completion {
	ctx, cancel := completionContext(cmd)
	defer cancel()
	releases, _, err := o.releases()
	if err != nil {
		cobra.CompDebugln(err.Error(), false)
		return nil
	}
	list, err := releases.List(ctx, metav1.ListOptions{})
	if err != nil {
		cobra.CompDebugln(err.Error(), false)
		return nil
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	var out []cobra.Completion
	for _, r := range list.Items {
		if !strings.HasPrefix(r.Name, prefix) {
			continue
		}
		phase := string(r.Status.Phase)
		if phase == "" {
			phase = "Pending"
		}
		out = append(out, cobra.CompletionWithDesc(r.Name, fmt.Sprintf("%s of CloneSet %s, %s", r.Spec.Action, r.Spec.CloneSetName, phase)))
	}
	return out
}

// cloneSetNames are the CloneSets whose names start with prefix, each described by its replicas and the
// release running on it, if one does.
func cloneSetNames(cmd *cobra.Command, o *options, prefix string) []cobra.Completion {
	ctx, cancel := completionContext(cmd)
	defer cancel()
	ns, err := o.namespace()
	if err != nil {
		cobra.CompDebugln(err.Error(), false)
		return nil
	}
	kruise, err := o.kruise()
	if err != nil {
		cobra.CompDebugln(err.Error(), false)
		return nil
	}
	list, err := kruise.AppsV1alpha1().CloneSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		cobra.CompDebugln(err.Error(), false)
		return nil
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	var out []cobra.Completion
	for _, cs := range list.Items {
		if !strings.HasPrefix(cs.Name, prefix) {
			continue
		}
		desc := fmt.Sprintf("%d replicas", cs.Status.Replicas)
		if owner := cs.Annotations[v1alpha1.OwnerAnnotation]; owner != "" {
			desc += ", release " + owner + " running"
		}
		out = append(out, cobra.CompletionWithDesc(cs.Name, desc))
	}
	return out
}

var shells = []string{"bash", "zsh", "fish", "powershell"}

// newCompletionCommand is `completion SHELL`: cobra's completion scripts for the kubectl-release command,
// and how to complete `kubectl release` through kubectl.
func newCompletionCommand(o *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "Print the shell completion script for kubectl-release; see --help for kubectl release <TAB>",
		Long: `Print the completion script of kubectl-release, for bash, zsh, fish or PowerShell. It completes the
plugin run by its own name: kubectl-release status <TAB>.

kubectl release <TAB> is completed by kubectl's own completion (kubectl 1.26 and later, with
kubectl completion set up), which runs the executable kubectl_complete-release from the PATH. Give the
plugin that name too, with a symlink beside it:

  ln -s kubectl-release "$(dirname "$(command -v kubectl-release)")/kubectl_complete-release"

or with a script named kubectl_complete-release on the PATH:

  #!/bin/sh
  exec kubectl-release __complete "$@"

Either way, release names complete from the namespace of -n (or the context's), under the
--kubeconfig and --context given; CloneSet names complete for update, scale, restart, rollback and
status cloneset/. A completion gives up after 5 seconds and completes nothing.`,
		Example: `  # bash: this shell, then every new one
  source <(kubectl-release completion bash)
  kubectl-release completion bash > ~/.local/share/bash-completion/completions/kubectl-release

  # zsh: a directory on $fpath, before compinit runs
  kubectl-release completion zsh > ~/.zsh/completions/_kubectl-release

  # fish
  kubectl-release completion fish > ~/.config/fish/completions/kubectl-release.fish

  # kubectl release <TAB>, through kubectl's completion
  ln -s kubectl-release "$(dirname "$(command -v kubectl-release)")/kubectl_complete-release"`,
		ValidArgs: shells,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError("completion needs one shell: %s", strings.Join(shells, ", "))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			// The scripts complete the command called kubectl-release, whatever the root's display name.
			script := &cobra.Command{Use: "kubectl-release"}
			out := o.streams.Out
			switch args[0] {
			case "bash":
				return script.GenBashCompletionV2(out, true)
			case "zsh":
				return script.GenZshCompletion(out)
			case "fish":
				return script.GenFishCompletion(out, true)
			case "powershell":
				return script.GenPowerShellCompletionWithDesc(out)
			}
			return usageError("completion: unknown shell %q (one of %s)", args[0], strings.Join(shells, ", "))
		},
	}
	return cmd
}
