package app

import (
	"fmt"
	"net"
	"os/exec"
	"runtime"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/triton-io/triton/pkg/cli/dashboard"
)

// newDashboardCommand is `dashboard [--port N] [--open] [-A]`: a web page of the releases served on the
// loopback address, acting with the user's own credentials, until the command is stopped.
func newDashboardCommand(o *options) *cobra.Command {
	var (
		port          int
		open          bool
		allNamespaces bool
	)
	cmd := &cobra.Command{
		Use:   "dashboard",
		Short: "Serve a web page of the releases on 127.0.0.1, acting with your own credentials",
		Long: `dashboard serves a web page of the releases of the namespace (every namespace you may list with -A) on
127.0.0.1 only, and prints its address once, with a random token that every request must carry. Every read
and every action on the page is yours, made with your kubeconfig: what RBAC lets you do is what the page
can do. It runs until it is stopped (Ctrl-C). The page and its script are in the plugin; nothing is fetched
from elsewhere.`,
		Example: `  # The releases of the current namespace, on a free port
  kubectl release dashboard

  # Every namespace, on port 3100, and open it in a browser
  kubectl release dashboard -A --port 3100 --open`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if port < 0 || port > 65535 {
				return usageError("--port must be from 0 (a free port) to 65535")
			}
			client, err := o.releaseClient()
			if err != nil {
				return err
			}
			namespace, where := "", "every namespace"
			if !allNamespaces {
				if namespace, err = o.namespace(); err != nil {
					return err
				}
				where = "namespace " + namespace
			}
			kube, err := o.kubeClient()
			if err != nil {
				return err
			}
			srv, err := dashboard.New(dashboard.Config{Client: client, Pods: kube.CoreV1(), Namespace: namespace})
			if err != nil {
				return err
			}
			listener, url, err := srv.Listen(net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
			if err != nil {
				return err
			}
			_, _ = fmt.Fprintf(o.streams.Out, "Dashboard of the releases of %s: %s\n", where, url)
			_, _ = fmt.Fprintln(o.streams.Out, "Anyone with this address acts as you; stop it with Ctrl-C.")
			if open {
				if err := openBrowser(url); err != nil {
					_, _ = fmt.Fprintf(o.streams.ErrOut, "could not start a browser (%v): open the address above\n", err)
				}
			}
			return srv.Serve(cmd.Context(), listener)
		},
	}
	cmd.Flags().IntVar(&port, "port", 0, "the port on 127.0.0.1 (0: a free one)")
	cmd.Flags().BoolVar(&open, "open", false, "open the page in the desktop's browser")
	cmd.Flags().BoolVarP(&allNamespaces, "all-namespaces", "A", false, "every namespace you may list releases in")
	return cmd
}

// openBrowser asks the desktop to open url, without waiting for the browser.
func openBrowser(url string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", url)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", url)
	default:
		cmd = exec.Command("xdg-open", url)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() { _ = cmd.Wait() }()
	return nil
}
