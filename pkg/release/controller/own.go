package controller

import "sync"

// ownWrites tells the release informer's events of the controller's own status writes from everyone
// else's. A reconcile that went the whole way (settled) decided on the release as it wrote it: the events
// of its writes carry nothing it did not know, and wake nothing. A reconcile that stopped short (an error,
// or a path that leaves the rest to the next one, such as marking a release lost) lets its own writes'
// events wake the release, as any other event does, whether an event came before the reconcile ended or
// after.
//
// The workqueue runs one reconcile of a key at a time; events come from the informer's own goroutine.
type ownWrites struct {
	mu sync.Mutex
	// running is the reconcile of each key that runs now.
	running map[string]*run
	// written maps, per key, the resourceVersion of each status write whose event has not come yet to the
	// reconcile that made it.
	written map[string]map[string]*run
}

// run is one reconcile of a release.
type run struct {
	// ended: it returned; settled: it went the whole way.
	ended, settled bool
	// seen: an event of one of its writes came while it ran (held back until it ended).
	seen bool
}

// maxPending bounds the writes of one release kept waiting for their event (an event the informer never
// delivers, as when it relists, would otherwise keep its entry).
const maxPending = 16

// begin starts a reconcile of key.
func (o *ownWrites) begin(key string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.running == nil {
		o.running = map[string]*run{}
	}
	o.running[key] = &run{}
}

// wrote records a status write of the running reconcile of key, stored as resourceVersion.
func (o *ownWrites) wrote(key, resourceVersion string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	r := o.running[key]
	if r == nil || resourceVersion == "" {
		return
	}
	if o.written == nil {
		o.written = map[string]map[string]*run{}
	}
	w := o.written[key]
	if w == nil || len(w) >= maxPending {
		w = map[string]*run{}
		o.written[key] = w
	}
	w[resourceVersion] = r
}

// settle marks the running reconcile of key as one that went the whole way.
func (o *ownWrites) settle(key string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if r := o.running[key]; r != nil {
		r.settled = true
	}
}

// end is called once the reconcile of key returned. It reports whether the release must be woken now: it
// stopped short, and an event of one of its writes came (and was held back) while it ran.
func (o *ownWrites) end(key string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	r := o.running[key]
	if r == nil {
		return false
	}
	delete(o.running, key)
	r.ended = true
	if r.settled {
		return false
	}
	// Stopped short: its writes' events, should they come later, wake the release as any other does.
	for rv, w := range o.written[key] {
		if w == r {
			delete(o.written[key], rv)
		}
	}
	if len(o.written[key]) == 0 {
		delete(o.written, key)
	}
	return r.seen
}

// event reports whether the informer's event of key at resourceVersion wakes the release. The event of a
// write of the controller's does not while the reconcile that made it runs (end decides), nor once that
// reconcile settled; every other event does.
func (o *ownWrites) event(key, resourceVersion string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	r := o.written[key][resourceVersion]
	if r == nil {
		return true
	}
	// Each write's event counts once: a later one at the same version (a relist) wakes as any other.
	delete(o.written[key], resourceVersion)
	if len(o.written[key]) == 0 {
		delete(o.written, key)
	}
	if !r.ended {
		r.seen = true
	}
	// Ended: it settled (end drops the writes of a reconcile that stopped short, whose events then wake).
	return false
}

// forget drops what is kept of a deleted release.
func (o *ownWrites) forget(key string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.written, key)
}
