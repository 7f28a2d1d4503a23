package app

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestWithTimeout(t *testing.T) {
	never := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	err := withTimeout(context.Background(), 50*time.Millisecond, "shop", "web", "to end", never)
	code, message := describe(err)
	assert.Equal(t, ExitTimeout, code)
	assert.Equal(t, "timed out after 50ms waiting for release web to end; the release goes on as it is, nothing was canceled: see it with kubectl release status web -n shop", message)

	// Interrupted (Ctrl-C) before the deadline: as the wait answers, not a timeout.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = withTimeout(ctx, time.Minute, "shop", "web", "to end", never)
	assert.ErrorIs(t, err, context.Canceled)

	// Done in time, or failed for another reason: as the wait answers.
	assert.NoError(t, withTimeout(context.Background(), time.Minute, "shop", "web", "to end", func(context.Context) error { return nil }))
	failed := &exitError{code: ExitReleaseFailed, err: errors.New("release web is Failed")}
	assert.Equal(t, failed, withTimeout(context.Background(), time.Minute, "shop", "web", "to end", func(context.Context) error { return failed }))

	// No timeout: no deadline.
	assert.NoError(t, withTimeout(context.Background(), 0, "shop", "web", "to end", func(ctx context.Context) error {
		_, ok := ctx.Deadline()
		assert.False(t, ok)
		return nil
	}))

	// Names from the server are escaped.
	_, message = describe(withTimeout(context.Background(), time.Millisecond, "shop", "web\x1b[2J", "to end", never))
	assert.NotContains(t, message, "\x1b")
}

func TestNextWaitTimesOut(t *testing.T) {
	p := newPlugin(t, release("shop", "nginx-update", "nginx", t0))
	var called []string
	answer(p, moved("nginx-update"), &called)
	assert.Equal(t, ExitTimeout, p.run("next", "nginx-update", "--wait", "--timeout", "200ms"))
	assert.Contains(t, p.errOut.String(), "timed out after 200ms waiting for release nginx-update to need the next call or end; the release goes on as it is")
	assert.Equal(t, []string{"next"}, called, "next once, nothing else")
}
