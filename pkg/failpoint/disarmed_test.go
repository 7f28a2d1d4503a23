//go:build !failpoints

package failpoint

import (
	"os/exec"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Built without the tag (make build, make image, make dist): TRITON_FAILPOINTS arms nothing.
func TestWithoutTheTagTheEnvVarDoesNothing(t *testing.T) {
	assert.False(t, Enabled)
	assert.False(t, crashes(t, ActionAfterReleaseWrite, ActionAfterReleaseWrite), "TRITON_FAILPOINTS is ignored")
	assert.False(t, crashes(t, "", ActionAfterReleaseWrite))
}

// Crash is a function the compiler inlines (to nothing) at every call site.
func TestWithoutTheTagCrashIsInlined(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the compiler")
	}
	out, err := exec.Command("go", "build", "-gcflags=-m", ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Regexp(t, regexp.MustCompile(`(?m)disarmed\.go:\d+:\d+: can inline Crash$`), string(out))
}
