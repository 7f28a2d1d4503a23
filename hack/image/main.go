package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/triton-io/triton/hack/image/build"
)

func main() {
	var err error
	switch {
	case len(os.Args) > 1 && os.Args[1] == "index":
		err = index(os.Args[2:])
	case len(os.Args) > 1 && os.Args[1] == "push":
		err = push(os.Args[2:])
	default:
		err = tarball(os.Args[1:])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

// usageError is a command line that says too little: usage, exit status 2.
func usageError(fs *flag.FlagSet, usage string) error {
	fmt.Fprintln(os.Stderr, "usage: image "+usage)
	fs.PrintDefaults()
	os.Exit(2)
	return nil
}

// tarball: one platform's image as a `docker save` tarball (make image).
func tarball(args []string) error {
	fs := flag.NewFlagSet("image", flag.ExitOnError)
	var opts build.Options
	fs.StringVar(&opts.Binary, "binary", "", "the static triton-apiserver binary (CGO_ENABLED=0)")
	fs.StringVar(&opts.Tag, "tag", "", "the image's name and tag, as registry/name:tag")
	fs.StringVar(&opts.Version, "version", "", "the version, for the image's labels")
	fs.StringVar(&opts.Revision, "revision", "", "the commit, for the image's labels")
	fs.StringVar(&opts.Licenses, "licenses", "", "the SPDX license expression, for the image's labels")
	out := fs.String("o", "", "the tarball to write")
	_ = fs.Parse(args)
	if opts.Binary == "" || opts.Tag == "" || *out == "" {
		return usageError(fs, "-binary FILE -tag NAME:TAG [-version V] -o FILE.tar")
	}
	if err := build.WriteTarball(opts, *out); err != nil {
		return err
	}
	fmt.Printf("image %s written to %s\n", opts.Tag, *out)
	return nil
}

// platformBinaries is -binary OS/ARCH=FILE, repeated.
type platformBinaries map[string]string

func (p platformBinaries) String() string { return fmt.Sprint(map[string]string(p)) }
func (p platformBinaries) Set(v string) error {
	platform, file, ok := strings.Cut(v, "=")
	if !ok || platform == "" || file == "" {
		return fmt.Errorf("%q: want OS/ARCH=FILE", v)
	}
	p[platform] = file
	return nil
}

// index: the multi-platform image index, as an OCI layout directory (make release).
func index(args []string) error {
	fs := flag.NewFlagSet("image index", flag.ExitOnError)
	binaries := platformBinaries{}
	var opts build.Options
	fs.Var(binaries, "binary", "OS/ARCH=FILE: a platform and its static binary (repeat for each platform)")
	fs.StringVar(&opts.Version, "version", "", "the version: the index's tag in the layout, and the images' labels")
	fs.StringVar(&opts.Revision, "revision", "", "the commit, for the labels")
	fs.StringVar(&opts.Licenses, "licenses", "", "the SPDX license expression, for the labels")
	dir := fs.String("layout", "", "the OCI layout directory to write (emptied first)")
	digestFile := fs.String("digest-file", "", "a file to write the index's digest to (sha256:...)")
	_ = fs.Parse(args)
	if len(binaries) == 0 || opts.Version == "" || *dir == "" {
		return usageError(fs, "index -binary linux/amd64=FILE [-binary linux/arm64=FILE ...] -version V -layout DIR [-digest-file FILE]")
	}
	idx, err := build.Index(binaries, opts)
	if err != nil {
		return err
	}
	digest, err := build.WriteLayout(*dir, idx, opts.Version)
	if err != nil {
		return err
	}
	if *digestFile != "" {
		if err := os.WriteFile(*digestFile, []byte(digest.String()+"\n"), 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "image index %s (%d platforms) written to %s as %s\n", digest, len(binaries), *dir, opts.Version)
	fmt.Println(digest)
	return nil
}

// push: the layout's index to a registry (make release-push); prints REPOSITORY@DIGEST.
func push(args []string) error {
	fs := flag.NewFlagSet("image push", flag.ExitOnError)
	dir := fs.String("layout", "", "the OCI layout directory image index wrote")
	version := fs.String("version", "", "the index's tag in the layout, and in the registry")
	repository := fs.String("repository", "", "the repository to push to, as registry/path/name")
	_ = fs.Parse(args)
	if *dir == "" || *version == "" || *repository == "" {
		return usageError(fs, "push -layout DIR -version V -repository REGISTRY/NAME")
	}
	idx, err := build.ReadLayout(*dir, *version)
	if err != nil {
		return err
	}
	pinned, err := build.Push(context.Background(), idx, *repository+":"+*version)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "pushed %s:%s\n", *repository, *version)
	// As given, not normalized (docker.io/x stays docker.io/x, not index.docker.io/x).
	fmt.Println(*repository + "@" + pinned.DigestStr())
	return nil
}
