package controller

import (
	"testing"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

// The events of a reconcile's own status writes wake the release only when that reconcile stopped short;
// every other event wakes it, whenever it comes.
func TestOwnWritesWakeOnlyWhenTheReconcileStoppedShort(t *testing.T) {
	const key = "default/web-update"
	for name, c := range map[string]struct {
		settled     bool
		eventsFirst bool // the events come while the reconcile still runs
		wantEvents  []bool
		wantEnd     bool
	}{
		"settled, its events after it ended": {settled: true, wantEvents: []bool{false, false}},
		"settled, its events while it ran":   {settled: true, eventsFirst: true, wantEvents: []bool{false, false}},
		"stopped short, events after it":     {wantEvents: []bool{true, true}},
		"stopped short, events while it ran": {eventsFirst: true, wantEvents: []bool{false, false}, wantEnd: true},
	} {
		var o ownWrites
		o.begin(key)
		o.wrote(key, "10")
		o.wrote(key, "12")
		var got []bool
		if c.eventsFirst {
			got = append(got, o.event(key, "10"), o.event(key, "12"))
		}
		if c.settled {
			o.settle(key)
		}
		end := o.end(key)
		if !c.eventsFirst {
			got = append(got, o.event(key, "10"), o.event(key, "12"))
		}
		assert.Equal(t, c.wantEvents, got, name)
		assert.Equal(t, c.wantEnd, end, name)
		assert.True(t, o.event(key, "11"), "%s: a write of someone else's wakes it", name)
		assert.True(t, o.event(key, "12"), "%s: a second event at the same version (a relist) wakes it", name)
		assert.Empty(t, o.written, "%s: nothing is kept once the events came", name)
	}
}

// A write outside a reconcile (none runs for the key) is no write of the controller's to hold back.
func TestOwnWritesOutsideAReconcileAreNotTracked(t *testing.T) {
	var o ownWrites
	o.wrote("default/a", "5")
	assert.True(t, o.event("default/a", "5"))
	assert.False(t, o.end("default/a"))
}

// Writes whose events never come (a relist skipped them) are bounded, and go with the release.
func TestOwnWritesAreBounded(t *testing.T) {
	var o ownWrites
	for i := 0; i < 100; i++ {
		o.begin("default/a")
		o.wrote("default/a", string(rune('a'+i%26))+string(rune('a'+i/26)))
		o.settle("default/a")
		o.end("default/a")
	}
	assert.LessOrEqual(t, len(o.written["default/a"]), maxPending)
	o.forget("default/a")
	assert.Empty(t, o.written)
}

// The release informer's handler: the event of a status write of a reconcile that went the whole way
// wakes nothing; a write by anyone else at another version wakes the release.
func TestTheReleaseHandlerHoldsBackOnlyTheControllersOwnSettledWrites(t *testing.T) {
	f := runningWeb(t, func(*corev1.Pod) {})
	drain := func() {
		for f.c.queue.Len() > 0 {
			key, _ := f.c.queue.Get()
			f.c.queue.Done(key)
		}
	}
	const key = "default/web-update"
	before := storedRelease(t, f)
	before.ResourceVersion = "40"
	written := before.DeepCopy()
	written.ResourceVersion = "41"
	written.Status.Phase = v1alpha1.ReleasePaused

	f.c.own.begin(key)
	f.c.own.wrote(key, "41")
	f.c.own.settle(key)
	f.c.own.end(key)
	drain()
	f.c.releaseUpdated(before, written)
	assert.Zero(t, f.c.queue.Len(), "the controller's own settled write woke the release")

	edited := written.DeepCopy()
	edited.ResourceVersion = "42"
	f.c.releaseUpdated(written, edited)
	assert.Equal(t, 1, f.c.queue.Len(), "a change by someone else wakes it")
}
