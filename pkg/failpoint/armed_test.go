//go:build failpoints

package failpoint

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// Built with the tag failpoints (go test -tags failpoints): TRITON_FAILPOINTS arms the failpoints it names.
func TestWithTheTagTheEnvVarArmsAFailpoint(t *testing.T) {
	assert.True(t, Enabled)
	assert.True(t, crashes(t, ActionAfterReleaseWrite, ActionAfterReleaseWrite), "armed: SIGKILL")
	assert.True(t, crashes(t, " other , "+ActionAfterReleaseWrite+" ", ActionAfterReleaseWrite), "one of a list")
	assert.False(t, crashes(t, "other", ActionAfterReleaseWrite), "another failpoint armed")
	assert.False(t, crashes(t, "", ActionAfterReleaseWrite), "nothing armed")
}

func TestParse(t *testing.T) {
	assert.Equal(t, map[string]bool{}, parse(""))
	assert.Equal(t, map[string]bool{}, parse(" , ,"))
	assert.Equal(t, map[string]bool{"a": true, "b": true}, parse("a, b ,,a"))
}
