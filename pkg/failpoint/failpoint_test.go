package failpoint

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// helperEnv names the failpoint TestHelperCrash calls Crash with, in a child process.
const helperEnv = "TRITON_FAILPOINT_TEST_HELPER"

// TestHelperCrash is no test of its own: crashes runs it in a child process, where it calls Crash and
// exits 0 if Crash returned.
func TestHelperCrash(t *testing.T) {
	name, ok := os.LookupEnv(helperEnv)
	if !ok {
		t.Skip("run by crashes in a child process")
	}
	Crash(name)
	os.Exit(0)
}

// crashes reports whether Crash(name) kills a process started with TRITON_FAILPOINTS=env (SIGKILL), or
// returns (exit code 0).
func crashes(t *testing.T, env, name string) bool {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperCrash$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+name, EnvVar+"="+env)
	out, err := cmd.CombinedOutput()
	if err == nil {
		return false
	}
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit), "%v: %s", err, out)
	status, ok := exit.Sys().(syscall.WaitStatus)
	require.True(t, ok)
	require.True(t, status.Signaled(), "the child failed without a signal: %v: %s", err, out)
	require.Equal(t, syscall.SIGKILL, status.Signal(), "%s", out)
	return true
}
