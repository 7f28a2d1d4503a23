// Package podhealth judges a batch's pods against the pods of the same CloneSet that are not in the
// release: their restarts and readiness losses in traffic (Tracker), and their CPU and memory where the
// metrics API serves them (ReadUsage), weighed by Judge.
package podhealth

import (
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Counts is what one pod did in traffic: since a Tracker first saw it in a window.
type Counts struct {
	// Pod is the pod's name.
	Pod string
	// Restarts is its container restarts (init containers' included).
	Restarts int32
	// ReadinessLosses is how many times it was seen to lose ContainersReady: Ready at one look and not at
	// the next, or a transition of the condition between two looks that left it as it was (lost and
	// back, or back and lost again).
	ReadinessLosses int32
}

// DefaultMaxPods bounds the pods a Tracker remembers when its MaxPods is 0.
const DefaultMaxPods = 100_000

// forgetAfter is how long a pod not looked at is remembered once a Tracker is full.
const forgetAfter = time.Hour

// Tracker remembers what each pod looked like when first seen in a window (a batch of a release: the
// caller's key), so that it counts only what happened since. It is kept in memory: after a restart of the
// server, counting starts again from the first look. Safe for concurrent use.
type Tracker struct {
	// MaxPods bounds the pods remembered (DefaultMaxPods when 0); past it, those not looked at for an
	// hour are forgotten.
	MaxPods int

	mu   sync.Mutex
	pods map[podKey]*podState
}

// podKey is a pod in a window.
type podKey struct{ window, pod string }

type podState struct {
	restarts int32
	// ready and since are ContainersReady and its last transition at the last look.
	ready  bool
	since  time.Time
	losses int32
	seen   time.Time
}

// Observe looks at pod for window at now and returns what it did since the window's first look at it.
func (t *Tracker) Observe(window string, pod *corev1.Pod, now time.Time) Counts {
	id := string(pod.UID)
	if id == "" {
		id = pod.Namespace + "/" + pod.Name
	}
	key := podKey{window: window, pod: id}
	restarts := restartsOf(pod)
	ready, since := containersReady(pod)

	t.mu.Lock()
	defer t.mu.Unlock()
	if t.pods == nil {
		t.pods = map[podKey]*podState{}
	}
	st, ok := t.pods[key]
	if !ok {
		t.makeRoom(now)
		st = &podState{restarts: restarts, ready: ready, since: since}
		t.pods[key] = st
	} else if (st.ready && !ready) || (st.ready == ready && !since.Equal(st.since)) {
		st.losses++
	}
	st.ready, st.since, st.seen = ready, since, now
	return Counts{Pod: pod.Name, Restarts: max(restarts-st.restarts, 0), ReadinessLosses: st.losses}
}

// Len is how many pods the Tracker remembers.
func (t *Tracker) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.pods)
}

func (t *Tracker) makeRoom(now time.Time) {
	limit := t.MaxPods
	if limit <= 0 {
		limit = DefaultMaxPods
	}
	if len(t.pods) < limit {
		return
	}
	for key, st := range t.pods {
		if now.Sub(st.seen) > forgetAfter {
			delete(t.pods, key)
		}
	}
}

// restartsOf is a pod's container restarts: those of its containers and its init containers.
func restartsOf(pod *corev1.Pod) int32 {
	var n int32
	for _, s := range pod.Status.InitContainerStatuses {
		n += s.RestartCount
	}
	for _, s := range pod.Status.ContainerStatuses {
		n += s.RestartCount
	}
	return n
}

// containersReady is whether pod's containers are ready (ContainersReady, not Ready: a readiness gate
// such as the pull-in's is the release's doing, not the pod's) and when that last changed.
func containersReady(pod *corev1.Pod) (bool, time.Time) {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.ContainersReady {
			return c.Status == corev1.ConditionTrue, c.LastTransitionTime.Time
		}
	}
	return false, time.Time{}
}
