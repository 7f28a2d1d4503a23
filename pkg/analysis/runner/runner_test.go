package runner

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases"
)

// measurerFunc adapts a function to Measurer.
type measurerFunc func(ctx context.Context, r *releases.Release, d Due) releases.Measurement

func (f measurerFunc) Measure(ctx context.Context, r *releases.Release, d Due) releases.Measurement {
	return f(ctx, r, d)
}

// gated is a measurer whose measurements wait for the gate (or their context) and count how many run at
// once.
type gated struct {
	gate      chan struct{}
	running   atomic.Int32
	most      atomic.Int32
	calls     atomic.Int32
	canceled  atomic.Int32
	startedCh chan string
}

func newGated() *gated {
	return &gated{gate: make(chan struct{}), startedCh: make(chan string, 100)}
}

func (g *gated) Measure(ctx context.Context, _ *releases.Release, d Due) releases.Measurement {
	g.calls.Add(1)
	n := g.running.Add(1)
	defer g.running.Add(-1)
	for {
		most := g.most.Load()
		if n <= most || g.most.CompareAndSwap(most, n) {
			break
		}
	}
	g.startedCh <- d.Check.Name
	select {
	case <-g.gate:
		return releases.Measurement{Phase: releases.AnalysisPassed, Value: "1"}
	case <-ctx.Done():
		g.canceled.Add(1)
		return releases.Measurement{Phase: releases.AnalysisError, Message: ctx.Err().Error()}
	}
}

func release(name string) *releases.Release {
	return &releases.Release{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name}}
}

func due(batch int32, names ...string) []Due {
	out := make([]Due, len(names))
	for i, n := range names {
		out[i] = Due{Batch: batch, Check: releases.AnalysisCheck{Name: n, PodHealth: &releases.PodHealthCheck{}}}
	}
	return out
}

// wakes records the keys woken.
type wakes struct {
	mu   sync.Mutex
	keys []string
	ch   chan string
}

func newWakes() *wakes { return &wakes{ch: make(chan string, 100)} }

func (w *wakes) wake(key string) {
	w.mu.Lock()
	w.keys = append(w.keys, key)
	w.mu.Unlock()
	w.ch <- key
}

func (w *wakes) wait(t *testing.T) string {
	t.Helper()
	select {
	case k := <-w.ch:
		return k
	case <-time.After(10 * time.Second):
		t.Fatal("no wake")
		return ""
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited in vain for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestWantNeverBlocksOnASlowMeasurer(t *testing.T) {
	g := newGated()
	x := &Runner{Measurer: g, Concurrency: 1}
	defer close(g.gate)
	done := make(chan struct{})
	go func() {
		for i := 0; i < 50; i++ {
			x.Want("shop/r"+strconv.Itoa(i), release("r"), due(1, "a", "b", "c"))
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Want blocked")
	}
	<-g.startedCh
	for i := 0; i < 50; i++ {
		assert.Equal(t, 3, x.Running("shop/r"+strconv.Itoa(i)), "running or waiting their turn")
	}
	time.Sleep(20 * time.Millisecond)
	assert.Equal(t, int32(1), g.running.Load())
}

func TestConcurrencyIsRespected(t *testing.T) {
	g := newGated()
	w := newWakes()
	x := &Runner{Measurer: g, Concurrency: 3, Wake: w.wake}
	for i := 0; i < 10; i++ {
		x.Want("shop/r"+strconv.Itoa(i), release("r"), due(1, "a", "b"))
	}
	waitFor(t, "3 measurements running", func() bool { return g.running.Load() == 3 })
	time.Sleep(20 * time.Millisecond)
	assert.Equal(t, int32(3), g.running.Load(), "no more than Concurrency at once")
	close(g.gate)
	for i := 0; i < 20; i++ {
		w.wait(t)
	}
	assert.Equal(t, int32(3), g.most.Load())
	assert.Equal(t, int32(20), g.calls.Load())
	for i := 0; i < 10; i++ {
		assert.Len(t, x.Take("shop/r"+strconv.Itoa(i)), 2)
	}
}

func TestAMeasurementRunningIsNotStartedAgain(t *testing.T) {
	g := newGated()
	w := newWakes()
	x := &Runner{Measurer: g, Wake: w.wake}
	r := release("r")
	x.Want("shop/r", r, due(1, "a"))
	x.Want("shop/r", r, due(1, "a", "b"))
	x.Want("shop/r", r, due(2, "a"))
	assert.Equal(t, 3, x.Running("shop/r"))
	close(g.gate)
	for i := 0; i < 3; i++ {
		assert.Equal(t, "shop/r", w.wait(t))
	}
	assert.Equal(t, int32(3), g.calls.Load())
	assert.Equal(t, 0, x.Running("shop/r"))
	got := x.Take("shop/r")
	require.Len(t, got, 3)
	for _, res := range got {
		assert.Equal(t, releases.AnalysisPassed, res.Measurement.Phase)
		assert.False(t, res.Measurement.Time.IsZero(), "a measurement has a time")
	}
	assert.Empty(t, x.Take("shop/r"), "taken once")
}

func TestTakeReturnsResultsInTheOrderTheyFinished(t *testing.T) {
	gates := map[string]chan struct{}{"a": make(chan struct{}), "b": make(chan struct{}), "c": make(chan struct{})}
	m := measurerFunc(func(ctx context.Context, _ *releases.Release, d Due) releases.Measurement {
		<-gates[d.Check.Name]
		return releases.Measurement{Phase: releases.AnalysisFailed, Value: d.Check.Name}
	})
	w := newWakes()
	x := &Runner{Measurer: m, Wake: w.wake}
	x.Want("shop/r", release("r"), due(1, "a", "b", "c"))
	for _, name := range []string{"b", "c", "a"} {
		close(gates[name])
		w.wait(t)
	}
	var order []string
	for _, res := range x.Take("shop/r") {
		order = append(order, res.Check)
		assert.Equal(t, int32(1), res.Batch)
		assert.Equal(t, res.Check, res.Measurement.Value)
	}
	assert.Equal(t, []string{"b", "c", "a"}, order)
}

// Results not taken keep only the newest of each batch and check.
func TestOnlyTheNewestResultOfACheckIsKept(t *testing.T) {
	var n atomic.Int32
	m := measurerFunc(func(context.Context, *releases.Release, Due) releases.Measurement {
		return releases.Measurement{Phase: releases.AnalysisPassed, Value: strconv.Itoa(int(n.Add(1)))}
	})
	w := newWakes()
	x := &Runner{Measurer: m, Wake: w.wake}
	for i := 0; i < 5; i++ {
		x.Want("shop/r", release("r"), due(1, "a"))
		w.wait(t)
	}
	x.Want("shop/r", release("r"), due(2, "a"))
	w.wait(t)
	got := x.Take("shop/r")
	require.Len(t, got, 2)
	assert.Equal(t, "5", got[0].Measurement.Value)
	assert.Equal(t, int32(2), got[1].Batch)
}

func TestForgetCancelsAndDropsEverything(t *testing.T) {
	g := newGated()
	w := newWakes()
	x := &Runner{Measurer: g, Concurrency: 1, Wake: w.wake}
	x.Want("shop/r", release("r"), due(1, "a", "b"))
	<-g.startedCh // one of the two runs, the other waits its turn
	x.Want("shop/other", release("other"), due(1, "a"))
	require.Equal(t, 2, x.Running("shop/r"))
	x.Forget("shop/r")
	assert.Equal(t, 0, x.Running("shop/r"))
	// The other release's measurement goes on, and finishes once the gate opens.
	waitFor(t, "the forgotten measurements to end", func() bool {
		return g.canceled.Load() >= 1 && g.running.Load() == 1
	})
	close(g.gate)
	assert.Equal(t, "shop/other", w.wait(t))
	select {
	case k := <-w.ch:
		t.Fatalf("woken for %s", k)
	case <-time.After(50 * time.Millisecond):
	}
	assert.Empty(t, x.Take("shop/r"))
	assert.Len(t, x.Take("shop/other"), 1)
	// Only one of the forgotten release's two measurements ever ran: the other was canceled waiting.
	assert.Equal(t, int32(2), g.calls.Load())
}

// A result finished but not taken is dropped by Forget too; a release wanted again starts afresh.
func TestForgetDropsResults(t *testing.T) {
	m := measurerFunc(func(context.Context, *releases.Release, Due) releases.Measurement {
		return releases.Measurement{Phase: releases.AnalysisPassed}
	})
	w := newWakes()
	x := &Runner{Measurer: m, Wake: w.wake}
	x.Want("shop/r", release("r"), due(1, "a"))
	w.wait(t)
	x.Forget("shop/r")
	assert.Empty(t, x.Take("shop/r"))
	x.Want("shop/r", release("r"), due(1, "a"))
	w.wait(t)
	assert.Len(t, x.Take("shop/r"), 1)
}

func TestAMeasurementIsBoundedByTimeout(t *testing.T) {
	g := newGated()
	defer close(g.gate)
	w := newWakes()
	x := &Runner{Measurer: g, Timeout: 50 * time.Millisecond, Wake: w.wake}
	x.Want("shop/r", release("r"), due(1, "a"))
	w.wait(t)
	got := x.Take("shop/r")
	require.Len(t, got, 1)
	assert.Equal(t, releases.AnalysisError, got[0].Measurement.Phase)
	assert.Equal(t, "no measurement within 50ms", got[0].Measurement.Message)
}

// The time a measurement waits for its turn does not count against its Timeout.
func TestWaitingIsNotTimed(t *testing.T) {
	var calls atomic.Int32
	m := measurerFunc(func(ctx context.Context, _ *releases.Release, _ Due) releases.Measurement {
		if calls.Add(1) == 1 {
			time.Sleep(150 * time.Millisecond)
		}
		if ctx.Err() != nil {
			return releases.Measurement{Phase: releases.AnalysisError, Message: ctx.Err().Error()}
		}
		return releases.Measurement{Phase: releases.AnalysisPassed}
	})
	w := newWakes()
	x := &Runner{Measurer: m, Concurrency: 1, Timeout: 100 * time.Millisecond, Wake: w.wake}
	x.Want("shop/r", release("r"), due(1, "a", "b"))
	w.wait(t)
	w.wait(t)
	got := x.Take("shop/r")
	require.Len(t, got, 2)
	phases := map[releases.AnalysisPhase]int{}
	for _, res := range got {
		phases[res.Measurement.Phase]++
	}
	// The first ran out of time; the second waited for it, then had its full time.
	assert.Equal(t, map[releases.AnalysisPhase]int{releases.AnalysisError: 1, releases.AnalysisPassed: 1}, phases)
}

func TestAPanicOrNothingIsAnError(t *testing.T) {
	m := measurerFunc(func(_ context.Context, _ *releases.Release, d Due) releases.Measurement {
		if d.Check.Name == "panics" {
			panic("boom")
		}
		return releases.Measurement{}
	})
	w := newWakes()
	x := &Runner{Measurer: m, Wake: w.wake}
	x.Want("shop/r", release("r"), due(1, "panics", "silent"))
	w.wait(t)
	w.wait(t)
	got := x.Take("shop/r")
	require.Len(t, got, 2)
	for _, res := range got {
		assert.Equal(t, releases.AnalysisError, res.Measurement.Phase, res.Check)
		assert.NotEmpty(t, res.Measurement.Message)
	}
}

// The measurer reads the release as it was wanted: the caller's later changes do not reach it.
func TestTheReleaseIsCopied(t *testing.T) {
	start := make(chan struct{})
	seen := make(chan string, 1)
	m := measurerFunc(func(_ context.Context, r *releases.Release, d Due) releases.Measurement {
		<-start
		seen <- r.Spec.CloneSetName + " " + strconv.Itoa(int(*d.Check.PodHealth.MaxRestarts))
		return releases.Measurement{Phase: releases.AnalysisPassed}
	})
	x := &Runner{Measurer: m}
	r := release("r")
	r.Spec.CloneSetName = "web"
	limit := int32(2)
	d := due(1, "a")
	d[0].Check.PodHealth.MaxRestarts = &limit
	x.Want("shop/r", r, d)
	r.Spec.CloneSetName = "changed"
	limit = 7
	close(start)
	assert.Equal(t, "web 2", <-seen)
}
