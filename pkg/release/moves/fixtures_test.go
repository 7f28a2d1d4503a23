package moves

import (
	"time"

	kruiseappspub "github.com/openkruise/kruise-api/apps/pub"
	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

// webCloneSet is CloneSet web of 6 pods, kruise done with its latest spec (generation 3) at update
// revision rev, with partition (none when negative), last written for release web-update at
// resourceVersion 40.
func webCloneSet(rev string, partition int32) *kruiseappsv1alpha1.CloneSet {
	replicas := int32(6)
	cs := &kruiseappsv1alpha1.CloneSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "uid-cloneset-web", Generation: 3,
			Annotations: map[string]string{v1alpha1.OwnerAnnotation: "web-update", v1alpha1.IntentAnnotation: "uid-web-update/40"}},
		Spec: kruiseappsv1alpha1.CloneSetSpec{Replicas: &replicas},
		Status: kruiseappsv1alpha1.CloneSetStatus{ObservedGeneration: 3, Replicas: 6, UpdatedReplicas: 6,
			UpdateRevision: rev, CurrentRevision: rev},
	}
	if partition >= 0 {
		p := intstr.FromInt32(partition)
		cs.Spec.UpdateStrategy.Partition = &p
	}
	return cs
}

// webUpdate is release web-update (resourceVersion 40) of CloneSet web, 6 pods at web-v3 before it, to
// web-v4 in batches of 2 (targets 2, 4, 6), Progressing at batch current in phase, the batches before
// Baked.
func webUpdate(current int32, phase releases.BatchPhase) *releases.Release {
	before := int32(6)
	r := &releases.Release{
		ObjectMeta: metav1.ObjectMeta{Name: "web-update", Namespace: "default", UID: "uid-web-update", ResourceVersion: "40"},
		Spec:       releases.ReleaseSpec{CloneSetName: "web", Action: releases.ActionUpdate},
		Status: releases.ReleaseStatus{Phase: releases.ReleaseProgressing, CurrentBatch: current,
			CloneSet: &releases.CloneSetObservation{UID: "uid-cloneset-web", RevisionBeforeRelease: "web-v3", ReplicasBeforeRelease: &before}},
	}
	r.Status.Batches = []releases.ReleaseBatch{
		{Index: 1, Canary: true, Replicas: 2, Target: 2, Phase: releases.BatchPending},
		{Index: 2, Replicas: 2, Target: 4, Phase: releases.BatchPending},
		{Index: 3, Replicas: 2, Target: 6, Phase: releases.BatchPending},
	}
	for i := int32(1); i < current; i++ {
		r.Status.Batches[i-1].Phase = releases.BatchBaked
	}
	if current > 0 {
		r.Status.Batches[current-1].Phase = phase
	}
	return r
}

// webBlueGreen is release web-update as a blue/green release: a preview of 2 green pods, then the switch
// to 6, Progressing at batch current in phase.
func webBlueGreen(current int32, phase releases.BatchPhase) *releases.Release {
	r := webUpdate(current, phase)
	r.Spec.Strategy.Type = releases.StrategyBlueGreen
	r.Status.Batches = r.Status.Batches[:2]
	r.Status.Batches[1].Replicas, r.Status.Batches[1].Target = 4, 6
	return r
}

// podOption changes a pod made by webPod.
type podOption func(*corev1.Pod)

// webPod is a pod of CloneSet web at revision rev, made created seconds after a fixed time: held, with
// triton's readiness gate (False: out of traffic) and kruise's, running, ContainersReady and Ready, with
// the IP 10.0.0.<name>; opts change it.
func webPod(name, rev string, created int, opts ...podOption) corev1.Pod {
	p := corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default",
			Labels:            map[string]string{"app": "web", "controller-revision-hash": rev, v1alpha1.HoldLabel: "true"},
			CreationTimestamp: metav1.NewTime(time.Date(2024, 5, 1, 12, 0, created, 0, time.UTC))},
		Spec: corev1.PodSpec{ReadinessGates: []corev1.PodReadinessGate{
			{ConditionType: v1alpha1.ReadinessGate}, {ConditionType: kruiseappspub.KruisePodReadyConditionType}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0." + name, Conditions: []corev1.PodCondition{
			{Type: corev1.ContainersReady, Status: corev1.ConditionTrue},
			{Type: corev1.PodReady, Status: corev1.ConditionTrue},
			{Type: v1alpha1.ReadinessGate, Status: corev1.ConditionFalse},
		}},
	}
	for _, o := range opts {
		o(&p)
	}
	return p
}

// setCondition sets condition t of p to status.
func setCondition(p *corev1.Pod, t corev1.PodConditionType, status corev1.ConditionStatus) {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == t {
			p.Status.Conditions[i].Status = status
			return
		}
	}
	p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: t, Status: status})
}

// inTraffic: the readiness gate is True.
func inTraffic(p *corev1.Pod) { setCondition(p, v1alpha1.ReadinessGate, corev1.ConditionTrue) }

// notReady: the pod is not Ready.
func notReady(p *corev1.Pod) { setCondition(p, corev1.PodReady, corev1.ConditionFalse) }

// starting: the pod's containers are not ready yet, nor is it.
func starting(p *corev1.Pod) {
	setCondition(p, corev1.ContainersReady, corev1.ConditionFalse)
	notReady(p)
}

// unheld: the pod has no hold label.
func unheld(p *corev1.Pod) { delete(p.Labels, v1alpha1.HoldLabel) }

// ungated: the pod was made without triton's readiness gate (kruise's is still there).
func ungated(p *corev1.Pod) {
	p.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: kruiseappspub.KruisePodReadyConditionType}}
	kept := p.Status.Conditions[:0]
	for _, c := range p.Status.Conditions {
		if c.Type != v1alpha1.ReadinessGate {
			kept = append(kept, c)
		}
	}
	p.Status.Conditions = kept
}

// keyed: triton's not-ready key holds the pod out of traffic.
func keyed(p *corev1.Pod) {
	c, _ := WithNotReadyKey(p, true)
	p.Status.Conditions = append(p.Status.Conditions, c)
}

// inState: kruise's lifecycle state of the pod.
func inState(state kruiseappspub.LifecycleStateType) podOption {
	return func(p *corev1.Pod) { p.Labels[kruiseappspub.LifecycleStateKey] = string(state) }
}

// deleting: the pod is on its way out.
func deleting(p *corev1.Pod) {
	now := metav1.NewTime(time.Date(2024, 5, 1, 13, 0, 0, 0, time.UTC))
	p.DeletionTimestamp = &now
}
