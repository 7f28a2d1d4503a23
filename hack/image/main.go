package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/triton-io/triton/hack/image/build"
)

func main() {
	var opts build.Options
	flag.StringVar(&opts.Binary, "binary", "", "the static triton-apiserver binary (CGO_ENABLED=0)")
	flag.StringVar(&opts.Tag, "tag", "", "the image's name and tag, as registry/name:tag")
	flag.StringVar(&opts.Version, "version", "", "the version, for the image's labels")
	out := flag.String("o", "", "the tarball to write")
	flag.Parse()
	if opts.Binary == "" || opts.Tag == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "usage: image -binary FILE -tag NAME:TAG [-version V] -o FILE.tar")
		os.Exit(2)
	}
	if err := build.WriteTarball(opts, *out); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
	fmt.Printf("image %s written to %s\n", opts.Tag, *out)
}
