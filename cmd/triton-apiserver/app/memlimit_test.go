package app

import (
	"math"
	"runtime/debug"
	"testing"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/stretchr/testify/assert"
)

// In a container with a memory limit, the heap's soft limit is 90% of it; a GOMEMLIMIT of the
// operator's wins; with no limit, none is set.
func TestTheHeapsSoftLimitFollowsTheContainers(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	const gib = 1 << 30

	t.Setenv("GOMEMLIMIT", "")
	setMemoryLimitFrom(memlimit.Limit(gib))
	assert.Equal(t, int64(gib*9/10), debug.SetMemoryLimit(-1), "90% of a 1 GiB limit")

	setMemoryLimitFrom(func() (uint64, error) { return 0, memlimit.ErrNoLimit })
	assert.Equal(t, int64(math.MaxInt64), debug.SetMemoryLimit(-1), "no container limit: no soft limit")

	debug.SetMemoryLimit(123 << 20)
	t.Setenv("GOMEMLIMIT", "123MiB")
	setMemoryLimitFrom(memlimit.Limit(gib))
	assert.Equal(t, int64(123<<20), debug.SetMemoryLimit(-1), "the operator's GOMEMLIMIT stays")
}
