package build

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// goBinary builds a small Go program with the given build flags.
func goBinary(t *testing.T, flags ...string) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/small\n\ngo 1.22\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644))
	binary := filepath.Join(dir, "small")
	cmd := exec.Command("go", append(append([]string{"build", "-trimpath", "-o", binary}, flags...), ".")...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=", "GOWORK=off")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	return binary
}

// The image never ships a binary built for tests: one with failpoints compiled in is refused.
func TestTheImageRefusesABinaryBuiltWithFailpoints(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the compiler")
	}
	out := filepath.Join(t.TempDir(), "image.tar")
	opts := Options{Tag: "registry.example/small:test", Version: "test"}

	opts.Binary = goBinary(t, "-tags", "netgo,failpoints", "-ldflags", "-s -w")
	err := WriteTarball(opts, out)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `test-only build tag "failpoints"`)
	assert.NoFileExists(t, out)

	opts.Binary = goBinary(t, "-tags", "netgo", "-ldflags", "-s -w")
	require.NoError(t, WriteTarball(opts, out))

	// Not a Go binary: nothing to tell from it, as before.
	opts.Binary = filepath.Join(t.TempDir(), "script")
	require.NoError(t, os.WriteFile(opts.Binary, []byte("#!/bin/sh\n"), 0o755))
	require.NoError(t, WriteTarball(opts, out))
}
