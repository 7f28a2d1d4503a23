package main

import (
	"errors"
	"fmt"
	"os"

	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/klog/v2"

	"github.com/triton-io/triton/cmd/triton-apiserver/app"
)

func main() {
	ctx := genericapiserver.SetupSignalContext()
	cmd := app.NewCommand(ctx)
	err := cmd.Execute()
	klog.Flush()
	if err == nil {
		return
	}
	fmt.Fprintf(os.Stderr, "triton-apiserver: %v\n", err)
	var usage app.UsageError
	if errors.As(err, &usage) {
		fmt.Fprintln(os.Stderr, "Run 'triton-apiserver --help' for usage.")
		os.Exit(2)
	}
	os.Exit(1)
}
