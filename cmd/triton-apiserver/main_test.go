package main

import (
	"bytes"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// run runs the binary with args and returns its exit code, stdout and stderr. A run that does not
// end within a minute is killed and fails the test: a bad command line must not start a server.
func run(t *testing.T, bin string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	// Keep the process away from the caller's environment: no in-cluster config, no files written
	// next to the test.
	cmd.Dir = t.TempDir()
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=/usr/bin:/bin"}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		t.Fatalf("triton-apiserver %q did not exit within a minute (then %v); stderr:\n%s", args, <-done, stderr.String())
	}
	code := 0
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		code = exitErr.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return code, stdout.String(), stderr.String()
}

func TestCommandLine(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)

	badFlags := []struct {
		name string
		args []string
		flag string // named on the error line
	}{
		{"unknown flag", []string{"--no-such-flag"}, "--no-such-flag"},
		{"port out of range", []string{"--secure-port=70000"}, "--secure-port"},
		{"empty data dir, embedded etcd", []string{"--etcd-data-dir="}, "--etcd-data-dir"},
	}
	for _, tc := range badFlags {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if tc.flag != "--etcd-data-dir" {
				// Should validation wrongly pass, the embedded etcd stays out of the real default dir.
				args = append([]string{"--etcd-data-dir=" + t.TempDir()}, args...)
			}
			code, stdout, stderr := run(t, bin, args...)
			assert.Equal(t, 2, code, "a bad command line exits with 2; stderr:\n%s", stderr)
			assert.Empty(t, stdout)

			var errLine string
			for _, line := range strings.Split(stderr, "\n") {
				if strings.HasPrefix(line, "triton-apiserver: ") {
					errLine = line
					break
				}
			}
			require.NotEmpty(t, errLine, "no line starting with %q in stderr:\n%s", "triton-apiserver: ", stderr)
			assert.Contains(t, errLine, tc.flag)
			assert.Contains(t, stderr, "Run 'triton-apiserver --help' for usage.")
		})
	}

	t.Run("help", func(t *testing.T) {
		code, stdout, stderr := run(t, bin, "--help")
		assert.Equal(t, 0, code, "stderr:\n%s", stderr)
		assert.Contains(t, stdout, "--etcd-data-dir")
		assert.Contains(t, stdout, "--etcd-servers")
		assert.Contains(t, stdout, "Usage:")
		assert.NotContains(t, stderr, "Run 'triton-apiserver --help' for usage.")
	})
}
