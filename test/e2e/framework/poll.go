//go:build e2e

package framework

// Waiting, in one place. Every wait of the tests polls through Poll: it reads, and reads again every so
// often, until what it reads is what it waits for, the wait's own limit passes, or the test's context
// ends; no wait sleeps a fixed time. WaitUntil is the wait that must succeed (it fails the test with what
// it waited for and what it saw last), and the named waits (WaitRelease, WaitPods, ...) are WaitUntil
// with a read of their own; Holds polls a property that must stay true for a while.

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// defaultEvery is how often a wait reads again unless told otherwise.
const defaultEvery = 200 * time.Millisecond

// pace is how a wait polls.
type pace struct {
	every  time.Duration // from one read to the next
	within time.Duration // the longest the wait takes; 0: until the test's context ends
}

// PollOption sets how a wait polls.
type PollOption func(*pace)

// Every has a wait read every d (defaultEvery otherwise).
func Every(d time.Duration) PollOption { return func(p *pace) { p.every = d } }

// Within has a wait give up after d, or when the test's context ends if that is sooner.
func Within(d time.Duration) PollOption { return func(p *pace) { p.within = d } }

// Poll calls read until it reports done and returns what read returned last: its value, whether it was
// done, and its description of what it saw. It gives up, not done, when ctx ends or the limit of opts
// passes; the context read gets ends then too. A failed read is read's to describe: it is a "not yet".
func Poll[T any](ctx context.Context, read func(context.Context) (T, bool, string), opts ...PollOption) (value T, done bool, last string) {
	p := pace{every: defaultEvery}
	for _, o := range opts {
		o(&p)
	}
	if p.within > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.within)
		defer cancel()
	}
	tick := time.NewTicker(p.every)
	defer tick.Stop()
	for {
		if value, done, last = read(ctx); done {
			return value, true, last
		}
		select {
		case <-ctx.Done():
			return value, false, last
		case <-tick.C:
		}
	}
}

// WaitUntil waits until read reports done and returns what it read then. When the test's context ends
// or the limit of opts passes first, it fails the test with what it waited for and read's description of
// what it saw last.
func WaitUntil[T any](t *testing.T, ctx context.Context, what string, read func(context.Context) (T, bool, string), opts ...PollOption) T {
	t.Helper()
	start := time.Now()
	value, done, last := Poll(ctx, read, opts...)
	if !done {
		if last != "" {
			last = "; last: " + last
		}
		t.Fatalf("gave up waiting for %s after %s%s", what, time.Since(start).Round(100*time.Millisecond), last)
	}
	return value
}

// WaitFor waits until ok holds, looking every 100 ms, until the test's context ends.
func WaitFor(t *testing.T, ctx context.Context, what string, ok func() bool) {
	t.Helper()
	WaitUntil(t, ctx, what, func(context.Context) (struct{}, bool, string) { return struct{}{}, ok(), "" }, Every(100*time.Millisecond))
}

// Holds checks that ok stays true for the whole window d: what must not change, observed for a while. A
// violation is reported (the test goes on). ok gets the test's context, so it may use the require-based
// helpers.
func Holds(t *testing.T, ctx context.Context, d time.Duration, what string, ok func(ctx context.Context) (bool, string)) bool {
	t.Helper()
	end := time.Now().Add(d)
	broken, over, why := Poll(ctx, func(ctx context.Context) (bool, bool, string) {
		good, why := ok(ctx)
		return !good, !good || time.Now().After(end), why
	})
	if !over {
		require.NoError(t, ctx.Err(), "the test ran out of time while checking that %s", what)
	}
	if broken {
		t.Errorf("%s: %s", what, why)
		return false
	}
	return true
}
