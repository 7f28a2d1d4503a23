package controller

import (
	"sync"

	corev1 "k8s.io/api/core/v1"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

// ownPodWrites tells the pod events of the controller's own pod writes (a readiness gate, a hold, release
// or batch label: cloneset.Driver.OnPodWrite) from everyone else's. Such an event wakes no reconcile: the
// reconcile that wrote it decided on the pod as it wrote it, and what follows from it (the pod turning
// Ready, kruise going on with it) comes as events of others. An event is the controller's own only when
// both hold: it carries the resourceVersion a write of the controller's was answered with, and nothing
// else a release reads changed since the version cached before it (a relist that folds someone else's
// change into the same event wakes the release, as does a tenant's write of the same labels).
type ownPodWrites struct {
	mu sync.Mutex
	// written maps each pod (namespace/name) to the resourceVersions of the controller's writes of it
	// whose events have not come yet.
	written map[string]map[string]struct{}
}

// maxPendingPods bounds the pods whose writes wait for their events (a pod deleted before its event
// came would otherwise keep its entry); past it the record starts again, and a late event simply wakes.
const maxPendingPods = 4096

func (o *ownPodWrites) wrote(p *corev1.Pod) {
	if p.ResourceVersion == "" {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	key := p.Namespace + "/" + p.Name
	if o.written == nil || (len(o.written) >= maxPendingPods && o.written[key] == nil) {
		o.written = map[string]map[string]struct{}{}
	}
	rvs := o.written[key]
	if rvs == nil || len(rvs) >= maxPending {
		rvs = map[string]struct{}{}
		o.written[key] = rvs
	}
	rvs[p.ResourceVersion] = struct{}{}
}

// own reports whether the update from old to cur (both as cached) is only a write of the controller's.
// Each write counts once.
func (o *ownPodWrites) own(old, cur *corev1.Pod) bool {
	key := cur.Namespace + "/" + cur.Name
	o.mu.Lock()
	rvs := o.written[key]
	_, ours := rvs[cur.ResourceVersion]
	if ours {
		delete(rvs, cur.ResourceVersion)
		if len(rvs) == 0 {
			delete(o.written, key)
		}
	}
	o.mu.Unlock()
	return ours && !readChanged(withOwnFields(old, cur), cur)
}

// forget drops what is kept of a deleted pod.
func (o *ownPodWrites) forget(p *corev1.Pod) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.written, p.Namespace+"/"+p.Name)
}

// ownPodLabels are the pod labels the controller writes.
var ownPodLabels = []string{v1alpha1.HoldLabel, v1alpha1.ReleaseLabel, v1alpha1.BatchLabel}

// withOwnFields is a copy of old with what the controller writes taken from cur: those labels and the
// readiness gate's condition (kept in its place). readChanged compares with equality.Semantic, for which a
// nil and an empty map or slice are equal.
func withOwnFields(old, cur *corev1.Pod) *corev1.Pod {
	out := old.DeepCopy()
	for _, k := range ownPodLabels {
		v, ok := cur.Labels[k]
		switch {
		case ok:
			if out.Labels == nil {
				out.Labels = map[string]string{}
			}
			out.Labels[k] = v
		default:
			delete(out.Labels, k)
		}
	}
	var gate *corev1.PodCondition
	for i := range cur.Status.Conditions {
		if cur.Status.Conditions[i].Type == v1alpha1.ReadinessGate {
			gate = &cur.Status.Conditions[i]
		}
	}
	kept := out.Status.Conditions[:0]
	placed := false
	for _, c := range out.Status.Conditions {
		if c.Type != v1alpha1.ReadinessGate {
			kept = append(kept, c)
			continue
		}
		if gate != nil && !placed {
			kept = append(kept, *gate)
			placed = true
		}
	}
	if gate != nil && !placed {
		kept = append(kept, *gate)
	}
	out.Status.Conditions = kept
	return out
}
