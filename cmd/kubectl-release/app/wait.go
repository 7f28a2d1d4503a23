package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/triton-io/triton/pkg/cli/view"
)

// timeoutUsage is the help of --timeout wherever the plugin waits: no limit unless given, as with
// kubectl rollout status.
const timeoutUsage = "give up waiting after this long (e.g. 10m) with exit 8, leaving the release as it is; 0 waits without limit"

// checkTimeout refuses a negative --timeout, and a --timeout without the wait it limits (waitFlag names it).
func checkTimeout(timeout time.Duration, waiting bool, waitFlag string) error {
	if timeout < 0 {
		return usageError("--timeout must not be negative, not %s", timeout)
	}
	if timeout > 0 && !waiting {
		return usageError("--timeout limits a wait: give %s too", waitFlag)
	}
	return nil
}

// withTimeout runs wait with a deadline timeout from now (none when timeout is 0). When the deadline
// passes before wait ends, the answer is ExitTimeout, saying that the release (name in namespace ns) goes
// on as it was, and how to see it; until says what the wait was for. A wait that ctx itself ends (Ctrl-C)
// answers as wait does.
func withTimeout(ctx context.Context, timeout time.Duration, ns, name, until string, wait func(context.Context) error) error {
	if timeout <= 0 {
		return wait(ctx)
	}
	limited, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := wait(limited)
	if err != nil && ctx.Err() == nil && errors.Is(limited.Err(), context.DeadlineExceeded) {
		name, ns := view.Printable(name), view.Printable(ns)
		return &exitError{code: ExitTimeout, err: fmt.Errorf(
			"timed out after %s waiting for release %s %s; the release goes on as it is, nothing was canceled: see it with kubectl release status %s -n %s",
			timeout, name, until, name, ns)}
	}
	return err
}
