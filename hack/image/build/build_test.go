package build

import (
	"archive/tar"
	"debug/elf"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The image as `make image` makes it: built from the real binary, read back from the tarball as a loader
// would, and its binary run.
func TestTheImageRunsTheStaticServerAsNonRoot(t *testing.T) {
	if testing.Short() {
		t.Skip("builds triton-apiserver")
	}
	dir := t.TempDir()
	binary := filepath.Join(dir, "triton-apiserver")
	build := exec.Command("go", "build", "-trimpath", "-o", binary,
		"-ldflags", "-s -w -X github.com/triton-io/triton/pkg/version.version=v9.9.9-test", "./cmd/triton-apiserver")
	build.Dir = filepath.Join("..", "..", "..")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	require.NoError(t, err, string(out))

	path := filepath.Join(dir, "image.tar")
	require.NoError(t, WriteTarball(Options{Binary: binary, Tag: "registry.example/triton-apiserver:v9.9.9-test", Version: "v9.9.9-test"}, path))

	// What `docker load` reads first: manifest.json, naming the tag.
	var manifest []struct{ RepoTags []string }
	require.NoError(t, json.Unmarshal(fileInTar(t, path, "manifest.json"), &manifest))
	require.Len(t, manifest, 1)
	assert.Equal(t, []string{"registry.example/triton-apiserver:v9.9.9-test"}, manifest[0].RepoTags)

	tag, err := name.NewTag("registry.example/triton-apiserver:v9.9.9-test")
	require.NoError(t, err)
	img, err := tarball.ImageFromPath(path, &tag)
	require.NoError(t, err)
	cfg, err := img.ConfigFile()
	require.NoError(t, err)
	assert.Equal(t, []string{"/triton-apiserver"}, cfg.Config.Entrypoint)
	assert.Empty(t, cfg.Config.Cmd)
	assert.Equal(t, "65532:65532", cfg.Config.User, "non-root, numeric")
	assert.Equal(t, runtime.GOOS, cfg.OS)
	assert.Equal(t, runtime.GOARCH, cfg.Architecture)
	assert.Equal(t, "v9.9.9-test", cfg.Config.Labels["org.opencontainers.image.version"])

	// One layer: the binary and /tmp, no shell, nothing else.
	layers, err := img.Layers()
	require.NoError(t, err)
	require.Len(t, layers, 1)
	rc, err := layers[0].Uncompressed()
	require.NoError(t, err)
	defer rc.Close()
	var names []string
	extracted := filepath.Join(dir, "from-the-image")
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		names = append(names, h.Name)
		if h.Name == "triton-apiserver" {
			assert.Equal(t, 65532, h.Uid)
			f, err := os.OpenFile(extracted, os.O_CREATE|os.O_WRONLY, 0o755)
			require.NoError(t, err)
			_, err = io.Copy(f, tr)
			require.NoError(t, err)
			require.NoError(t, f.Close())
		}
	}
	assert.Equal(t, []string{"triton-apiserver", "tmp/"}, names)

	// Static: no program interpreter, no shared libraries.
	e, err := elf.Open(extracted)
	require.NoError(t, err)
	defer e.Close()
	for _, p := range e.Progs {
		assert.NotEqual(t, elf.PT_INTERP, p.Type, "a dynamically linked binary")
	}
	libs, err := e.ImportedLibraries()
	require.NoError(t, err)
	assert.Empty(t, libs)

	help, err := exec.Command(extracted, "--help").CombinedOutput()
	require.NoError(t, err, string(help))
	assert.Contains(t, string(help), "--etcd-servers")
	version, err := exec.Command(extracted, "--version").CombinedOutput()
	require.NoError(t, err, string(version))
	assert.Equal(t, "triton-apiserver v9.9.9-test", strings.TrimSpace(string(version)))
}

func fileInTar(t *testing.T, path, name string) []byte {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		require.NoError(t, err, "%s not in %s", name, path)
		if h.Name == name {
			b, err := io.ReadAll(tr)
			require.NoError(t, err)
			return b
		}
	}
}
