package controller

import (
	"sync"
	"time"
)

// cues are, per release key, the time the first pod or CloneSet event woke the release since its last
// reconcile began: the start of the controller's reaction to what changed.
type cues struct {
	mu sync.Mutex
	at map[string]time.Time
}

// note records an event at time at for key, unless an earlier one waits already.
func (c *cues) note(key string, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.at == nil {
		c.at = map[string]time.Time{}
	}
	if _, ok := c.at[key]; !ok {
		c.at[key] = at
	}
}

// take returns and forgets key's waiting event, if any: the reconcile about to start answers it.
func (c *cues) take(key string) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	at, ok := c.at[key]
	delete(c.at, key)
	return at, ok
}
