package build

import (
	"archive/tar"
	"bytes"
	"debug/buildinfo"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Path is where the binary is in the image, and its entrypoint.
const Path = "/triton-apiserver"

// User is the image's user and group: non-root, and numeric, so that Pod Security's runAsNonRoot can check
// it without a passwd file.
const User = "65532:65532"

// Source is the repository the image is built from, for its labels.
const Source = "https://github.com/triton-io/triton"

// Options say what goes into the image.
type Options struct {
	Binary  string // the binary to put at Path
	Tag     string // registry/name:tag (WriteTarball only)
	Version string // for the labels
	// Platform is the binary's: nil for GOOS and GOARCH from the environment, else this machine's.
	Platform *v1.Platform
	// Revision is the VCS commit the binary was built from, and Licenses the SPDX expression of its
	// license; the labels org.opencontainers.image.revision and .licenses, when set.
	Revision, Licenses string
}

// Image builds the image.
func Image(opts Options) (v1.Image, error) {
	binary, err := os.ReadFile(opts.Binary)
	if err != nil {
		return nil, err
	}
	platform := opts.platform()
	if err := refuseTestBuild(binary); err != nil {
		return nil, fmt.Errorf("%s: %w", opts.Binary, err)
	}
	if err := refuseOtherPlatform(binary, platform); err != nil {
		return nil, fmt.Errorf("%s: %w", opts.Binary, err)
	}
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	// A fixed time keeps the image the same for the same binary.
	epoch := time.Unix(0, 0).UTC()
	if err := tw.WriteHeader(&tar.Header{
		Name: Path[1:], Mode: 0o555, Size: int64(len(binary)), Uid: 65532, Gid: 65532,
		Typeflag: tar.TypeReg, ModTime: epoch, Format: tar.FormatPAX,
	}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(binary); err != nil {
		return nil, err
	}
	// A writable /tmp for what the server writes by default (its self-signed serving certificate).
	if err := tw.WriteHeader(&tar.Header{Name: "tmp/", Mode: 0o1777, Typeflag: tar.TypeDir, ModTime: epoch, Format: tar.FormatPAX}); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := layer.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
		tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), l)
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture, cfg.Variant = platform.OS, platform.Architecture, platform.Variant
	cfg.Created = v1.Time{Time: epoch}
	cfg.Config.Entrypoint = []string{Path}
	cfg.Config.User = User
	// Relative paths the server writes by default (its self-signed certificate's directory) land in /tmp.
	cfg.Config.WorkingDir = "/tmp"
	cfg.Config.Labels = opts.labels()
	return mutate.ConfigFile(img, cfg)
}

// platform is the platform of the binary: opts.Platform, else GOOS and GOARCH from the environment (make
// image passes them on), else this machine's.
func (opts Options) platform() v1.Platform {
	if opts.Platform != nil {
		return *opts.Platform
	}
	p := v1.Platform{OS: runtime.GOOS, Architecture: runtime.GOARCH}
	if v := os.Getenv("GOOS"); v != "" {
		p.OS = v
	}
	if v := os.Getenv("GOARCH"); v != "" {
		p.Architecture = v
	}
	return p
}

// labels are the OCI annotations (https://specs.opencontainers.org/image-spec/annotations/) of the image's
// config, and of the index.
func (opts Options) labels() map[string]string {
	labels := map[string]string{
		"org.opencontainers.image.title":       "triton-apiserver",
		"org.opencontainers.image.description": "The releases.triton.io aggregated API server: releases of OpenKruise CloneSets",
		"org.opencontainers.image.version":     opts.Version,
		"org.opencontainers.image.source":      Source,
		"org.opencontainers.image.url":         Source,
	}
	if opts.Revision != "" {
		labels["org.opencontainers.image.revision"] = opts.Revision
	}
	if opts.Licenses != "" {
		labels["org.opencontainers.image.licenses"] = opts.Licenses
	}
	return labels
}

// TestOnlyTags are build tags that make a binary for tests only: failpoints compiles in pkg/failpoint's
// crash points (make build GOTAGS=failpoints).
var TestOnlyTags = []string{"failpoints"}

// refuseTestBuild fails for a Go binary built with a tag of TestOnlyTags (the image must never ship one).
func refuseTestBuild(binary []byte) error {
	info, err := buildinfo.Read(bytes.NewReader(binary))
	if err != nil {
		return nil // not a Go binary with build information: nothing to tell
	}
	for _, s := range info.Settings {
		if s.Key != "-tags" {
			continue
		}
		for _, tag := range strings.Split(s.Value, ",") {
			if slices.Contains(TestOnlyTags, strings.TrimSpace(tag)) {
				return fmt.Errorf("built with the test-only build tag %q (-tags=%s): build it with make image", tag, s.Value)
			}
		}
	}
	return nil
}

// refuseOtherPlatform fails for a Go binary built for another platform than p, or with cgo (the image has
// no C library to link against).
func refuseOtherPlatform(binary []byte, p v1.Platform) error {
	info, err := buildinfo.Read(bytes.NewReader(binary))
	if err != nil {
		return nil // not a Go binary with build information: nothing to tell
	}
	for _, s := range info.Settings {
		switch {
		case s.Key == "GOOS" && s.Value != p.OS, s.Key == "GOARCH" && s.Value != p.Architecture:
			return fmt.Errorf("built for %s=%s, not for the platform %s", s.Key, s.Value, p.String())
		case s.Key == "CGO_ENABLED" && s.Value != "0":
			return fmt.Errorf("built with cgo (CGO_ENABLED=%s): the image has no C library; build it with CGO_ENABLED=0", s.Value)
		}
	}
	return nil
}

// WriteTarball builds the image and writes it, tagged, to path.
func WriteTarball(opts Options, path string) error {
	tag, err := name.NewTag(opts.Tag)
	if err != nil {
		return fmt.Errorf("tag %q: %w", opts.Tag, err)
	}
	img, err := Image(opts)
	if err != nil {
		return err
	}
	return tarball.WriteToFile(path, tag, img)
}
