package cloneset

import (
	"context"
	"sync"
	"time"
)

// A cue is the event that woke the controller for a release (a pod turning Ready, a CloneSet's status):
// the first CloneSet write sent while acting on it reports how long after the event it went out. That
// is the controller's reaction as the server sees it, apart from kube-apiserver's and kruise's time.
type cue struct {
	at      time.Time
	once    sync.Once
	observe func(time.Duration)
}

type cueKey struct{}

// WithCue returns ctx carrying the cue at time at: observe is called once, with the time since at, when
// the first CloneSet write made under ctx is sent.
func WithCue(ctx context.Context, at time.Time, observe func(time.Duration)) context.Context {
	return context.WithValue(ctx, cueKey{}, &cue{at: at, observe: observe})
}

// answerCue reports the write about to be sent under ctx, if ctx carries a cue not yet answered.
func answerCue(ctx context.Context) {
	if c, ok := ctx.Value(cueKey{}).(*cue); ok {
		c.once.Do(func() { c.observe(time.Since(c.at)) })
	}
}
