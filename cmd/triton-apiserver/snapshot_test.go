package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/triton-io/triton/pkg/embeddedetcd"
)

// runIO runs the binary with args, stdin as its standard input, and returns its exit code, standard
// output (bytes: a snapshot) and standard error.
func runIO(t *testing.T, bin string, stdin []byte, args ...string) (int, []byte, string) {
	t.Helper()
	return runEnv(t, bin, nil, stdin, args...)
}

// runEnv is runIO with more variables in the environment.
func runEnv(t *testing.T, bin string, env []string, stdin []byte, args ...string) (int, []byte, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = t.TempDir()
	cmd.Env = append([]string{"HOME=" + t.TempDir(), "PATH=/usr/bin:/bin"}, env...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	require.NoError(t, ctx.Err(), "triton-apiserver %q did not exit; stderr:\n%s", args, stderr.String())
	code := 0
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		code = exitErr.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return code, stdout.Bytes(), stderr.String()
}

func keysOf(t *testing.T, ctx context.Context, url string) map[string]string {
	t.Helper()
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{url}, DialTimeout: 10 * time.Second})
	require.NoError(t, err)
	defer c.Close()
	resp, err := c.Get(ctx, "/registry/", clientv3.WithPrefix())
	require.NoError(t, err)
	kv := map[string]string{}
	for _, x := range resp.Kvs {
		kv[string(x.Key)] = string(x.Value)
	}
	return kv
}

// The commands a user runs from outside a shell-less image, on a member that runs in another process
// (this test's), as `kubectl exec` runs them in the server's container: `snapshot save -` streams the
// member's keyspace to standard output, `snapshot restore -` makes a new data dir from standard input,
// and a member started there serves the same keys. Restoring over the running member's data dir, or
// saving from a data dir no server runs on, is refused.
func TestSnapshotCommands(t *testing.T) {
	bin := buildBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := filepath.Join(t.TempDir(), "etcd")
	member, err := embeddedetcd.Start(ctx, dir)
	require.NoError(t, err)
	defer member.Stop()
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{member.ClientURL}, DialTimeout: 10 * time.Second})
	require.NoError(t, err)
	defer c.Close()
	for i := range 20 {
		_, err := c.Put(ctx, fmt.Sprintf("/registry/releases.triton.io/releases/default/r%d", i), fmt.Sprintf("release %d", i))
		require.NoError(t, err)
	}
	want := keysOf(t, ctx, member.ClientURL)

	code, snapshot, stderr := runIO(t, bin, nil, "snapshot", "save", "-", "--etcd-data-dir", dir)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "Saved a snapshot of etcd revision")
	require.NotEmpty(t, snapshot)

	// In the server's container, the data dir is the server's: its TRITON_ETCD_DATA_DIR.
	code, fromEnv, stderr := runEnv(t, bin, []string{"TRITON_ETCD_DATA_DIR=" + dir}, nil, "snapshot", "save", "-")
	require.Equal(t, 0, code, stderr)
	require.NotEmpty(t, fromEnv)

	file := filepath.Join(t.TempDir(), "backup.db")
	code, out, stderr := runIO(t, bin, nil, "snapshot", "save", file, "--etcd-data-dir", dir)
	require.Equal(t, 0, code, stderr)
	assert.Empty(t, out, "a save to a file writes nothing to standard output")
	info, err := os.Stat(file)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	// Over the running member's data dir: refused, and the member goes on.
	code, _, stderr = runIO(t, bin, snapshot, "snapshot", "restore", "-", "--etcd-data-dir", dir)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "in use by a running triton-apiserver")
	require.Equal(t, want, keysOf(t, ctx, member.ClientURL))

	restored := filepath.Join(t.TempDir(), "etcd")
	code, out, stderr = runIO(t, bin, snapshot, "snapshot", "restore", "-", "--etcd-data-dir", restored)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, string(out), "Restored the snapshot from standard input")
	// Into it again: it is not empty any more.
	code, _, stderr = runIO(t, bin, nil, "snapshot", "restore", file, "--etcd-data-dir", restored)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "not empty")

	m2, err := embeddedetcd.Start(ctx, restored)
	require.NoError(t, err)
	require.Equal(t, want, keysOf(t, ctx, m2.ClientURL))
	m2.Stop()

	// No server on the data dir any more: save says so rather than reaching whatever now has the port.
	code, _, stderr = runIO(t, bin, nil, "snapshot", "save", "-", "--etcd-data-dir", restored)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "no triton-apiserver is running on this data dir")

	// A snapshot to a terminal (kubectl exec -t) would be binary on the screen, or mangled into a file.
	tty := exec.Command(bin, "snapshot", "save", "-", "--etcd-data-dir", dir)
	ptmx, err := pty.Start(tty)
	require.NoError(t, err)
	screen, _ := io.ReadAll(ptmx) // until the command exits (EIO then)
	require.NoError(t, ptmx.Close())
	err = tty.Wait()
	var exitErr *exec.ExitError
	require.ErrorAs(t, err, &exitErr, "%s", screen)
	assert.Equal(t, 2, exitErr.ExitCode(), "%s", screen)
	assert.Contains(t, string(screen), "standard output is a terminal")

	// Bad command lines: exit code 2.
	for _, args := range [][]string{
		{"snapshot", "restore", file},
		{"snapshot", "save"},
		{"snapshot", "save", "a", "b"},
		{"snapshot", "save", "-", "--etcd-cafile", "ca.crt"},
		{"snapshot", "restore", file, "--etcd-data-dir", restored, "--name", "x"},
		{"snapshot"},
	} {
		code, _, stderr := runIO(t, bin, nil, args...)
		assert.Equal(t, 2, code, "%q: %s", args, stderr)
	}
}
