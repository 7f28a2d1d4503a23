// Package runner takes the measurements of releases' analysis checks off the controller's reconcile path:
// a reconcile says which measurements it wants (Want) and collects those that have finished (Take) on a
// later pass, woken by Wake; a measurement that waits on Prometheus or a Service never holds a reconcile.
// Checks is the Measurer the server uses: Prometheus queries, GETs to Services and the batch's pods.
package runner

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	"github.com/triton-io/triton/pkg/apis/releases"
)

// DefaultConcurrency is how many measurements a Runner takes at once when Concurrency is 0.
const DefaultConcurrency = 8

// DefaultTimeout bounds one measurement when Timeout is 0.
const DefaultTimeout = 30 * time.Second

// Due is one measurement a release wants now.
type Due struct {
	// Batch is the index (from 1) of the batch the measurement is for.
	Batch int32
	// Check is the check to measure, one of the release's status.analysisChecks.
	Check releases.AnalysisCheck
}

// Result is a measurement taken.
type Result struct {
	Batch int32
	// Check is the check's name.
	Check       string
	Measurement releases.Measurement
}

// Measurer takes one measurement. It must return once ctx is done (with an Error measurement), and must not
// change r, which other measurements of the same release read at the same time.
type Measurer interface {
	Measure(ctx context.Context, r *releases.Release, d Due) releases.Measurement
}

// Runner takes measurements on goroutines of its own, at most Concurrency at once, and keeps their results
// per key (a release's namespace/name) until they are taken. Its fields are set before its first use; its
// methods may then be called from any goroutine.
type Runner struct {
	// Measurer takes each measurement.
	Measurer Measurer
	// Concurrency is how many measurements run at once, over every key; DefaultConcurrency when 0.
	Concurrency int
	// Timeout bounds one measurement, from when it starts running (not while it waits its turn);
	// DefaultTimeout when 0.
	Timeout time.Duration
	// Wake, when set, is called with a key once a result of it is ready to be taken (for example: the
	// controller queues the release again). It is called on the measurement's goroutine, never with the
	// runner's lock held.
	Wake func(key string)

	once  sync.Once
	slots chan struct{}

	mu   sync.Mutex
	keys map[string]*keyState
}

// id names a measurement of a key.
type id struct {
	batch int32
	check string
}

// keyState is what the runner holds for one key.
type keyState struct {
	// running holds the measurements started and not finished (waiting their turn or running), each with
	// what cancels it; a finishing measurement records its result only while it is still listed here.
	running map[id]*measurement
	// results are the finished measurements not taken yet, oldest first, at most one per id.
	results []Result
}

type measurement struct {
	cancel context.CancelFunc
}

func (x *Runner) init() {
	x.once.Do(func() {
		n := x.Concurrency
		if n <= 0 {
			n = DefaultConcurrency
		}
		x.slots = make(chan struct{}, n)
		x.mu.Lock()
		if x.keys == nil {
			x.keys = map[string]*keyState{}
		}
		x.mu.Unlock()
	})
}

func (x *Runner) timeout() time.Duration {
	if x.Timeout <= 0 {
		return DefaultTimeout
	}
	return x.Timeout
}

// Want starts each measurement of due that is not already running for key (the same batch and check
// name). It never blocks: a measurement beyond Concurrency waits its turn on its own goroutine, and at most
// one measurement of a key, batch and check is running or waiting at any time, so the goroutines are
// bounded by the checks the releases want measured. r is copied: the caller may change it afterwards.
func (x *Runner) Want(key string, r *releases.Release, due []Due) {
	if len(due) == 0 {
		return
	}
	x.init()
	var copied *releases.Release
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, d := range due {
		i := id{batch: d.Batch, check: d.Check.Name}
		k := x.keys[key]
		if k != nil && k.running[i] != nil {
			continue
		}
		if k == nil {
			k = &keyState{}
			x.keys[key] = k
		}
		if k.running == nil {
			k.running = map[id]*measurement{}
		}
		if copied == nil {
			copied = r.DeepCopy()
		}
		ctx, cancel := context.WithCancel(context.Background())
		m := &measurement{cancel: cancel}
		k.running[i] = m
		go x.run(ctx, key, copied, Due{Batch: d.Batch, Check: *d.Check.DeepCopy()}, i, m)
	}
}

// run waits for a slot, takes the measurement and records its result, unless it was forgotten meanwhile.
func (x *Runner) run(ctx context.Context, key string, r *releases.Release, d Due, i id, m *measurement) {
	defer m.cancel()
	select {
	case x.slots <- struct{}{}:
	case <-ctx.Done():
		x.finish(key, i, m, nil)
		return
	}
	if ctx.Err() != nil {
		// Forgotten as its turn came.
		<-x.slots
		x.finish(key, i, m, nil)
		return
	}
	started := time.Now()
	measured := x.measure(ctx, r, d)
	<-x.slots
	if errors.Is(ctx.Err(), context.Canceled) {
		// Forgotten: the release finished or is gone, nobody wants the result.
		x.finish(key, i, m, nil)
		return
	}
	if measured.Time.IsZero() {
		measured.Time = metav1.NewTime(started)
	}
	x.finish(key, i, m, &Result{Batch: d.Batch, Check: d.Check.Name, Measurement: measured})
}

// measure runs the Measurer within Timeout; a measurement that timed out, panicked or said nothing is an
// Error.
func (x *Runner) measure(parent context.Context, r *releases.Release, d Due) (measured releases.Measurement) {
	ctx, cancel := context.WithTimeout(parent, x.timeout())
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			klog.ErrorS(fmt.Errorf("%v", p), "Analysis measurement panicked", "check", d.Check.Name, "batch", d.Batch,
				"release", klog.KObj(r), "stack", string(debug.Stack()))
			measured = releases.Measurement{Phase: releases.AnalysisError, Message: "the measurement failed unexpectedly"}
		}
	}()
	measured = x.Measurer.Measure(ctx, r, d)
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) && parent.Err() == nil && measured.Phase != releases.AnalysisPassed && measured.Phase != releases.AnalysisFailed:
		measured.Phase = releases.AnalysisError
		measured.Message = fmt.Sprintf("no measurement within %s", x.timeout())
	case measured.Phase == "":
		measured.Phase = releases.AnalysisError
		if measured.Message == "" {
			measured.Message = "the measurement said nothing"
		}
	}
	return measured
}

// finish drops a measurement from the running ones and records its result, if it is still wanted, then
// wakes its key.
func (x *Runner) finish(key string, i id, m *measurement, result *Result) {
	x.mu.Lock()
	k := x.keys[key]
	if k == nil || k.running[i] != m {
		// Forgotten meanwhile (and perhaps wanted again: that is another measurement).
		x.mu.Unlock()
		return
	}
	delete(k.running, i)
	if result != nil {
		// The newest result of a batch and check replaces an older one not taken yet.
		kept := k.results[:0]
		for _, old := range k.results {
			if old.Batch != result.Batch || old.Check != result.Check {
				kept = append(kept, old)
			}
		}
		k.results = append(kept, *result)
	}
	if len(k.running) == 0 && len(k.results) == 0 {
		delete(x.keys, key)
	}
	x.mu.Unlock()
	if result != nil && x.Wake != nil {
		x.Wake(key)
	}
}

// Take returns the finished results of key, in the order they finished, and removes them from the runner.
func (x *Runner) Take(key string) []Result {
	x.mu.Lock()
	defer x.mu.Unlock()
	k := x.keys[key]
	if k == nil || len(k.results) == 0 {
		return nil
	}
	out := k.results
	k.results = nil
	if len(k.running) == 0 {
		delete(x.keys, key)
	}
	return out
}

// Forget drops the results of key and cancels its measurements, running or waiting: for a release that
// finished or is gone. A measurement canceled gives no result.
func (x *Runner) Forget(key string) {
	x.mu.Lock()
	k := x.keys[key]
	delete(x.keys, key)
	x.mu.Unlock()
	if k == nil {
		return
	}
	for _, m := range k.running {
		m.cancel()
	}
}

// Running returns how many measurements of key are running or waiting their turn.
func (x *Runner) Running(key string) int {
	x.mu.Lock()
	defer x.mu.Unlock()
	if k := x.keys[key]; k != nil {
		return len(k.running)
	}
	return 0
}
