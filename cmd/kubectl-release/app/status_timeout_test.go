package app

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

func TestStatusWatchTimesOut(t *testing.T) {
	p := newPlugin(t, release("shop", "nginx-update", "nginx", t0))
	assert.Equal(t, ExitTimeout, p.run("status", "nginx-update", "-w", "--timeout", "200ms"))
	assert.Contains(t, p.errOut.String(), "timed out after 200ms waiting for release nginx-update to end; the release goes on as it is")
	assert.Contains(t, p.errOut.String(), "see it with kubectl release status nginx-update -n shop")

	// Ended before the deadline: as without --timeout.
	done := release("shop", "nginx-v2", "nginx", t0)
	done.Status.Phase = v1alpha1.ReleaseSucceeded
	p = newPlugin(t, done)
	assert.Equal(t, ExitOK, p.run("status", "nginx-v2", "-w", "--timeout", "1m"), p.errOut.String())

	p = newPlugin(t, release("shop", "nginx-update", "nginx", t0))
	assert.Equal(t, ExitUsage, p.run("status", "nginx-update", "--timeout", "1m"))
	assert.Contains(t, p.errOut.String(), "--timeout limits a wait: give -w too")
}
