package build

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// smallBinary builds a small static Go program for GOOS/GOARCH of platform.
func smallBinary(t *testing.T, platform string) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/small\n\ngo 1.22\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644))
	binary := filepath.Join(dir, "small")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", binary, ".")
	cmd.Dir = dir
	goos, goarch, _ := strings.Cut(platform, "/")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=", "GOWORK=off", "GOOS="+goos, "GOARCH="+goarch)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	return binary
}

// A release's image: an OCI index of one image per platform, written as an OCI layout, pushed to a
// registry and pulled back by digest, each platform's image with its own binary, user 65532 and the
// labels; the digest does not change on the way.
func TestTheIndexHasEveryPlatformAndKeepsItsDigestThroughALayoutAndARegistry(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the compiler")
	}
	opts := Options{Version: "v9.9.9", Revision: "0123abcd", Licenses: "Apache-2.0"}
	binaries := map[string]string{"linux/amd64": smallBinary(t, "linux/amd64"), "linux/arm64": smallBinary(t, "linux/arm64")}
	idx, err := Index(binaries, opts)
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "layout")
	digest, err := WriteLayout(dir, idx, "v9.9.9")
	require.NoError(t, err)

	// The same binaries make the same index: a release can be rebuilt and checked.
	again, err := Index(binaries, opts)
	require.NoError(t, err)
	againDigest, err := again.Digest()
	require.NoError(t, err)
	assert.Equal(t, digest, againDigest, "the index is reproducible")

	fromLayout, err := ReadLayout(dir, "v9.9.9")
	require.NoError(t, err)
	_, err = ReadLayout(dir, "v1.0.0")
	assert.ErrorContains(t, err, `no image index tagged "v1.0.0"`)

	server := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(server.Close)
	repository := strings.TrimPrefix(server.URL, "http://") + "/triton-io/triton-apiserver"
	pinned, err := Push(context.Background(), fromLayout, repository+":v9.9.9")
	require.NoError(t, err)
	assert.Equal(t, repository+"@"+digest.String(), pinned.String())

	ref, err := name.NewDigest(pinned.String())
	require.NoError(t, err)
	pulled, err := remote.Index(ref)
	require.NoError(t, err)
	manifest, err := pulled.IndexManifest()
	require.NoError(t, err)
	assert.Equal(t, types.OCIImageIndex, manifest.MediaType)
	assert.Equal(t, "v9.9.9", manifest.Annotations["org.opencontainers.image.version"])
	var platforms []string
	for _, d := range manifest.Manifests {
		require.NotNil(t, d.Platform)
		platforms = append(platforms, d.Platform.String())
		img, err := pulled.Image(d.Digest)
		require.NoError(t, err)
		cfg, err := img.ConfigFile()
		require.NoError(t, err)
		assert.Equal(t, d.Platform.OS, cfg.OS)
		assert.Equal(t, d.Platform.Architecture, cfg.Architecture)
		assert.Equal(t, "65532:65532", cfg.Config.User)
		assert.Equal(t, map[string]string{
			"org.opencontainers.image.title":       "triton-apiserver",
			"org.opencontainers.image.description": "The releases.triton.io aggregated API server: releases of OpenKruise CloneSets",
			"org.opencontainers.image.version":     "v9.9.9",
			"org.opencontainers.image.source":      "https://github.com/triton-io/triton",
			"org.opencontainers.image.url":         "https://github.com/triton-io/triton",
			"org.opencontainers.image.revision":    "0123abcd",
			"org.opencontainers.image.licenses":    "Apache-2.0",
		}, cfg.Config.Labels)
	}
	assert.ElementsMatch(t, []string{"linux/amd64", "linux/arm64"}, platforms)
}

// A binary goes only into the image of the platform it was built for.
func TestTheIndexRefusesABinaryOfAnotherPlatform(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the compiler")
	}
	_, err := Index(map[string]string{"linux/arm64": smallBinary(t, "linux/amd64")}, Options{Version: "v9.9.9"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "built for GOARCH=amd64, not for the platform linux/arm64")
	_, err = Index(map[string]string{"linux/amd64": smallBinary(t, "linux/amd64")}, Options{Version: "v9.9.9", Platform: &v1.Platform{OS: "windows"}})
	require.NoError(t, err, "Index sets each image's platform itself")
}
