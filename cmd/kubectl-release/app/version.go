package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"

	"github.com/spf13/cobra"
	"golang.org/x/mod/semver"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/cli/view"
	"github.com/triton-io/triton/pkg/version"
)

// versionInfo is what version prints; with -o json or yaml, as these fields.
type versionInfo struct {
	ClientVersion string `json:"clientVersion"`
	// ServerVersion is triton-apiserver's, empty when it was not asked (--client) or did not say.
	ServerVersion string `json:"serverVersion,omitempty"`
}

// pluginVersion is the plugin's own version (replaced in tests).
var pluginVersion = version.Get

// newVersionCommand is `kubectl release version`: the plugin's version (pkg/version) and triton-apiserver's.
func newVersionCommand(o *options) *cobra.Command {
	var (
		clientOnly bool
		output     string
	)
	cmd := &cobra.Command{
		Use:   "version [--client] [-o json|yaml]",
		Short: "Print the plugin's version and triton-apiserver's, and warn when they are too far apart",
		Long: `Print the version of this plugin (the client) and of triton-apiserver (the server) it reaches through
kube-apiserver. triton-apiserver says its version in the response header Triton-Version of every answer;
the plugin reads it from the discovery document of releases.triton.io/v1alpha1, which every authenticated
user may read.

When both are release versions (vX.Y.Z) and differ in their major or minor version, a warning on stderr
says so: the plugin may then use flags or fields the server does not know, or the other way round. A server
that cannot be reached prints the client's version and the error, and exits non-zero; a server too old to
say its version prints "unknown" and a warning. --client prints only the client's version and asks nothing.`,
		Example: `  # The plugin's and the server's version
  kubectl release version

  # Only the plugin's, without a cluster
  kubectl release version --client

  # For a script
  kubectl release version -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "" && output != "json" && output != "yaml" {
				return usageError("--output must be json or yaml, not %q", output)
			}
			info := versionInfo{ClientVersion: pluginVersion()}
			var serverErr error
			if !clientOnly {
				info.ServerVersion, serverErr = o.serverVersion(cmd.Context())
			}
			if err := printVersion(o.streams.Out, info, output, !clientOnly && serverErr == nil); err != nil {
				return err
			}
			if serverErr != nil {
				return serverErr
			}
			switch {
			case clientOnly:
			case info.ServerVersion == "":
				_, err := fmt.Fprintln(o.streams.ErrOut, "warning: triton-apiserver did not say its version (a server from before the Triton-Version header); it may not know what this plugin sends")
				return err
			default:
				if part := skew(info.ClientVersion, info.ServerVersion); part != "" {
					_, err := fmt.Fprintf(o.streams.ErrOut, "warning: kubectl-release %s and triton-apiserver %s differ in their %s version: the plugin may use what the server does not know, or miss what it adds; use a kubectl-release of %s.x\n",
						view.Printable(info.ClientVersion), view.Printable(info.ServerVersion), part, semver.MajorMinor(info.ServerVersion))
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&clientOnly, "client", false, "only the plugin's version: no cluster is asked")
	cmd.Flags().StringVarP(&output, "output", "o", "", "json or yaml")
	_ = cmd.RegisterFlagCompletionFunc("output", func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return []cobra.Completion{"json", "yaml"}, noFiles
	})
	return cmd
}

// printVersion prints info as output asks; askedServer says whether the server's version is to be shown
// (as "unknown" when it did not say).
func printVersion(out io.Writer, info versionInfo, output string, askedServer bool) error {
	info.ClientVersion = view.Printable(info.ClientVersion)
	info.ServerVersion = view.Printable(info.ServerVersion)
	switch output {
	case "json":
		raw, err := json.MarshalIndent(info, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(out, "%s\n", raw)
		return err
	case "yaml":
		raw, err := yaml.Marshal(info)
		if err != nil {
			return err
		}
		_, err = out.Write(raw)
		return err
	}
	if _, err := fmt.Fprintf(out, "Client Version: %s\n", info.ClientVersion); err != nil {
		return err
	}
	if askedServer {
		server := info.ServerVersion
		if server == "" {
			server = "unknown"
		}
		if _, err := fmt.Fprintf(out, "Server Version: %s\n", server); err != nil {
			return err
		}
	}
	return nil
}

// releaseVersion matches a release's version, vMAJOR.MINOR.PATCH with perhaps a pre-release or build
// suffix (git describe's -N-gHASH): what a development build (a commit's hash, "dev") is not.
var releaseVersion = regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+([-+].*)?$`)

// skew is the part of the version ("major" or "minor") in which client and server differ, or "" when
// they do not, or when either is not a release version and so cannot be compared.
func skew(client, server string) string {
	if !releaseVersion.MatchString(client) || !releaseVersion.MatchString(server) ||
		!semver.IsValid(client) || !semver.IsValid(server) {
		return ""
	}
	switch {
	case semver.Major(client) != semver.Major(server):
		return "major"
	case semver.MajorMinor(client) != semver.MajorMinor(server):
		return "minor"
	}
	return ""
}

// serverVersion is triton-apiserver's version as it says it, in the header version.Header of its answer
// to GET /apis/releases.triton.io/v1alpha1 through kube-apiserver (empty when the answer has none). An
// error says why the server could not be asked, with the exit code describe gives it.
func (o *options) serverVersion(ctx context.Context) (string, error) {
	config, err := o.flags.ToRESTConfig()
	if err != nil {
		return "", err
	}
	config = rest.CopyConfig(config)
	path := "/apis/" + v1alpha1.SchemeGroupVersion.String()
	var said string
	config.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
			resp, err := rt.RoundTrip(req)
			if err == nil && resp.StatusCode == http.StatusOK {
				said = resp.Header.Get(version.Header)
			}
			return resp, err
		})
	})
	client, err := discovery.NewDiscoveryClientForConfig(config)
	if err != nil {
		return "", err
	}
	if err := client.RESTClient().Get().AbsPath(path).Do(ctx).Error(); err != nil {
		if apierrors.IsNotFound(err) {
			return "", &exitError{code: ExitNotFound, err: fmt.Errorf(
				"the cluster does not serve %s: is Triton installed? See kubectl get apiservice v1alpha1.releases.triton.io", v1alpha1.SchemeGroupVersion)}
		}
		code, message := describe(err)
		return "", &exitError{code: code, err: fmt.Errorf("asking triton-apiserver its version: %s", message)}
	}
	return said, nil
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }
