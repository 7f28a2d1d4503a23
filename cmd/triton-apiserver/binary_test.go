package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// The tests that run triton-apiserver as a user does share one binary, built at the first test that asks
// for it and removed after the last test.
var (
	binaryOnce sync.Once
	binaryDir  string
	binaryPath string
	binaryErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binaryDir != "" {
		if err := os.RemoveAll(binaryDir); err != nil {
			fmt.Fprintf(os.Stderr, "removing the test binary: %v\n", err)
		}
	}
	os.Exit(code)
}

// buildBinary builds triton-apiserver from this package's directory, once per test run.
func buildBinary(t *testing.T) string {
	t.Helper()
	binaryOnce.Do(func() {
		_, file, _, ok := runtime.Caller(0)
		if !ok {
			binaryErr = fmt.Errorf("cannot find the package directory")
			return
		}
		binaryDir, binaryErr = os.MkdirTemp("", "triton-apiserver-test-")
		if binaryErr != nil {
			return
		}
		binaryPath = filepath.Join(binaryDir, "triton-apiserver")
		build := exec.Command("go", append(append([]string{"build"}, buildFlags()...), "-o", binaryPath, ".")...)
		build.Dir = filepath.Dir(file)
		if out, err := build.CombinedOutput(); err != nil {
			binaryErr = fmt.Errorf("go build %v: %w\n%s", build.Args[2:], err, out)
		}
	})
	require.NoError(t, binaryErr)
	return binaryPath
}

// buildFlags are the flags this test binary was built with that change how packages compile (-race,
// -tags, ...). Built the same way, the server's packages are the ones go test compiled already, taken
// from the build cache: with go test -race, a plain go build would compile every dependency again.
// CGO_ENABLED passes to the go command through the environment.
func buildFlags() []string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return nil
	}
	var flags []string
	for _, s := range info.Settings {
		switch s.Key {
		case "-race", "-msan", "-asan", "-trimpath":
			if s.Value == "true" {
				flags = append(flags, s.Key)
			}
		case "-tags", "-gcflags", "-asmflags":
			flags = append(flags, s.Key+"="+s.Value)
		}
	}
	return flags
}
