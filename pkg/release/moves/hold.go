package moves

import (
	kruiseappspub "github.com/openkruise/kruise-api/apps/pub"
	corev1 "k8s.io/api/core/v1"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/release/plan"
)

// The hold protocol, while a release holds its CloneSet: the CloneSet's lifecycle hooks make kruise wait
// before it deletes or updates in place a pod that carries the hold label (v1alpha1.HoldLabel), so every
// pod is held; a held pod kruise is about to take (PreparingDelete, PreparingUpdate) is pulled out of
// traffic, and let go (the label off, kruise goes on) once it is no longer Ready and no Service lists it as
// a ready endpoint: letting go of a pod a Service still sends traffic to would fail requests. Once the
// release lets go of the CloneSet, nothing of it stays on the pods.

// holdProtocol adds the hold protocol's moves to m: Hold, Drain, LetGo, LetGoUnlisted and Draining.
// readyEndpoints (may be nil) are the cached ready endpoints; a leaving pod they list waits without a live
// read (the slice's change wakes the release), the others need one (LetGoUnlisted).
func holdProtocol(m *Moves, r *releases.Release, intent plan.Intent, pods []corev1.Pod, readyEndpoints func() (map[string]bool, bool)) {
	if !plan.NeedsPullIn(r) {
		return
	}
	if !intent.Owned {
		m.LetGo = Held(pods)
		return
	}
	var leaving []corev1.Pod
	for i := range pods {
		p := &pods[i]
		if p.DeletionTimestamp != nil {
			continue
		}
		_, held := p.Labels[v1alpha1.HoldLabel]
		switch kruiseappspub.LifecycleStateType(p.Labels[kruiseappspub.LifecycleStateKey]) {
		case kruiseappspub.LifecycleStatePreparingDelete, kruiseappspub.LifecycleStatePreparingUpdate:
			switch {
			case !held:
			case PulledIn(p):
				m.Draining = true
				m.Drain = append(m.Drain, *p)
			case Condition(p, corev1.PodReady):
				m.Draining = true // out of traffic once it is not Ready
			default:
				leaving = append(leaving, *p) // not Ready: let go once no Service lists it
			}
		case kruiseappspub.LifecycleStateUpdating:
		default:
			if !held {
				m.Hold = append(m.Hold, *p)
			}
		}
	}
	if len(leaving) == 0 {
		return
	}
	var cached map[string]bool
	known := false
	if readyEndpoints != nil {
		cached, known = readyEndpoints()
	}
	for _, p := range leaving {
		if known && p.Status.PodIP != "" && cached[p.Status.PodIP] {
			// Not Ready, but a Service still lists it: the endpointslice controller has not caught up. Its
			// EndpointSlice's next change wakes the release.
			m.Draining = true
			continue
		}
		m.LetGoUnlisted = append(m.LetGoUnlisted, p)
	}
}
