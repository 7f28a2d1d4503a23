package storagegate

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/endpoints/handlers/responsewriters"
	"k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/klog/v2"
)

// Probe reads from etcd and reports whether it answered within ctx.
type Probe func(ctx context.Context) error

// Gate knows whether etcd answered its last probe.
type Gate struct {
	// Interval is how often the probe runs; Timeout how long one probe may take.
	Interval, Timeout time.Duration
	// RetryAfter is what a refused request is told to wait.
	RetryAfter time.Duration
	// FailuresToClose is how many probes in a row must fail before the gate closes, so that one slow
	// answer under load does not refuse requests.
	FailuresToClose int

	mu       sync.RWMutex
	failures int       // probes failed in a row
	closedAt time.Time // zero while open
	cause    error
}

// New is a gate that starts open (a server starts only once etcd answered) and closes after two
// failed probes, half a second apart, of a second each.
func New() *Gate {
	return &Gate{Interval: 500 * time.Millisecond, Timeout: time.Second, RetryAfter: time.Second, FailuresToClose: 2}
}

// Run probes until ctx is done. connect makes the probe; it is retried until it succeeds (the gate
// stays open meanwhile: the generic server's own checks govern until a probe exists).
func (g *Gate) Run(ctx context.Context, connect func() (Probe, func(), error)) {
	probe, closeProbe, ok := g.connect(ctx, connect)
	if !ok {
		return
	}
	defer closeProbe()
	ticker := time.NewTicker(g.Interval)
	defer ticker.Stop()
	for {
		probeCtx, cancel := context.WithTimeout(ctx, g.Timeout)
		err := probe(probeCtx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		g.Observe(err, time.Now())
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// connect calls connect every Interval until it makes the probe; false when ctx ends first.
func (g *Gate) connect(ctx context.Context, connect func() (Probe, func(), error)) (Probe, func(), bool) {
	for {
		probe, closeProbe, err := connect()
		if err == nil {
			return probe, closeProbe, true
		}
		klog.ErrorS(err, "Storage gate: cannot reach etcd to probe it; retrying")
		select {
		case <-ctx.Done():
			return nil, nil, false
		case <-time.After(g.Interval):
		}
	}
}

// Observe records the result of one probe made at now.
func (g *Gate) Observe(err error, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err != nil {
		g.failures++
	} else {
		g.failures = 0
	}
	switch {
	case err != nil && g.closedAt.IsZero() && g.failures < g.FailuresToClose:
		klog.V(2).InfoS("Storage gate: a probe of etcd failed", "inARow", g.failures, "err", err)
	case err != nil && g.closedAt.IsZero():
		g.closedAt, g.cause = now, err
		klog.ErrorS(err, "Storage gate closed: etcd does not answer; requests for releases get 503 until it does")
	case err != nil:
		g.cause = err
	case !g.closedAt.IsZero():
		klog.InfoS("Storage gate open: etcd answers again", "closedFor", now.Sub(g.closedAt).Round(time.Millisecond))
		g.closedAt, g.cause = time.Time{}, nil
	}
}

// Closed reports whether etcd failed its last probe, since when, and why.
func (g *Gate) Closed() (bool, time.Time, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return !g.closedAt.IsZero(), g.closedAt, g.cause
}

// Name and Check make the gate a /readyz check.
func (g *Gate) Name() string { return "storage-gate" }

// Check fails while the gate is closed.
func (g *Gate) Check(*http.Request) error {
	if closed, since, cause := g.Closed(); closed {
		return fmt.Errorf("etcd has not answered since %s: %v", since.UTC().Format(time.RFC3339), cause)
	}
	return nil
}

// Filter refuses, with 503 and Retry-After, every request for a resource of group while the gate is
// closed. Discovery, health and metrics need no etcd and pass. It must run after the request info is
// in the context (inside the generic handler chain).
func (g *Gate) Filter(h http.Handler, group string, codecs runtime.NegotiatedSerializer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		info, ok := request.RequestInfoFrom(req.Context())
		if !ok || !info.IsResourceRequest || info.APIGroup != group {
			h.ServeHTTP(w, req)
			return
		}
		closed, since, _ := g.Closed()
		if !closed {
			h.ServeHTTP(w, req)
			return
		}
		seconds := int(g.RetryAfter.Round(time.Second) / time.Second)
		if seconds < 1 {
			seconds = 1
		}
		err := apierrors.NewServiceUnavailable(fmt.Sprintf(
			"the release store (etcd) has not answered since %s; nothing was read or changed, retry later",
			since.UTC().Format(time.RFC3339)))
		w.Header().Set("Retry-After", strconv.Itoa(seconds))
		gv := schema.GroupVersion{Group: info.APIGroup, Version: info.APIVersion}
		responsewriters.ErrorNegotiated(err, codecs, gv, w, req)
	})
}
