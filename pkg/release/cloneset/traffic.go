package cloneset

// The traffic gate: every write by which a release takes a pod into traffic or out of it. A pod of a
// release is in traffic only when its readiness gate (v1alpha1.ReadinessGate) is True; a pod without that gate (blue
// pods of a blue/green release, pods made without the gate) is kept out through kruise's KruisePodReady
// condition with triton's not-ready key; and v1alpha1.HoldLabel makes kruise wait (its lifecycle hooks) before it
// deletes or updates a pod, until the pod has left traffic. Which pods go in or out is decided by pure
// functions (Approved, StableStrays, UngatedTraffic, BluePods); when, by Follow.

import (
	"context"
	"encoding/json"

	kruiseappspub "github.com/openkruise/kruise-api/apps/pub"
	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"k8s.io/klog/v2"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/release/plan"
)

// SetGate sets the readiness gate of a pod: True pulls it into traffic, False pulls it out.
func (d *Driver) SetGate(ctx context.Context, pod *corev1.Pod, in bool, dryRun bool) error {
	status := corev1.ConditionFalse
	if in {
		status = corev1.ConditionTrue
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == v1alpha1.ReadinessGate && c.Status == status {
			return nil
		}
	}
	patch, err := json.Marshal(map[string]interface{}{
		"status": map[string]interface{}{
			"conditions": []corev1.PodCondition{{
				Type: v1alpha1.ReadinessGate, Status: status, LastTransitionTime: metav1.Now(), Reason: "Triton",
			}},
		},
	})
	if err != nil {
		return err
	}
	opts := metav1.PatchOptions{FieldManager: "triton-apiserver"}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	_, err = d.Kube.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, opts, "status")
	return err
}

// PullOut sets the readiness gate of every pod False that has the gate True: traffic drains from them.
func (d *Driver) PullOut(ctx context.Context, pods []corev1.Pod, dryRun bool) error {
	var in []*corev1.Pod
	for i := range pods {
		if PulledIn(&pods[i]) {
			in = append(in, &pods[i])
		}
	}
	return eachPod(ctx, in, "pulling out", func(ctx context.Context, i int) error {
		return d.SetGate(ctx, in[i], false, dryRun)
	})
}

// SetHold puts v1alpha1.HoldLabel on a pod (on) or takes it off, letting kruise go on with it.
func (d *Driver) SetHold(ctx context.Context, pod *corev1.Pod, on bool) error {
	if _, has := pod.Labels[v1alpha1.HoldLabel]; has == on {
		return nil
	}
	var value interface{}
	if on {
		value = "true"
	}
	patch, err := json.Marshal(map[string]interface{}{"metadata": map[string]interface{}{"labels": map[string]interface{}{v1alpha1.HoldLabel: value}}})
	if err != nil {
		return err
	}
	_, err = d.Kube.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "triton-apiserver"})
	return err
}

// SetNotReadyKey takes a pod out of traffic (out) or brings it back, through its KruisePodReady
// condition. The condition is kruise's too, so the write is a patch of the status as read with its
// resourceVersion as a precondition, read again and retried on a conflict.
func (d *Driver) SetNotReadyKey(ctx context.Context, pod *corev1.Pod, out, dryRun bool) error {
	if !hasKruiseGate(pod) {
		return nil
	}
	if _, changed := withNotReadyKey(pod, out); !changed {
		return nil
	}
	opts := metav1.PatchOptions{FieldManager: "triton-apiserver"}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	current := pod
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if current.DeletionTimestamp != nil {
			return nil // on its way out: kruise deletes it (a recreate), nothing to take out or bring back
		}
		c, changed := withNotReadyKey(current, out)
		if !changed {
			return nil
		}
		patch, err := json.Marshal(map[string]interface{}{
			"metadata": map[string]interface{}{"resourceVersion": current.ResourceVersion},
			"status":   map[string]interface{}{"conditions": []corev1.PodCondition{c}},
		})
		if err != nil {
			return err
		}
		_, err = d.Kube.CoreV1().Pods(current.Namespace).Patch(ctx, current.Name, types.StrategicMergePatchType, patch, opts, "status")
		if apierrors.IsConflict(err) {
			fresh, getErr := d.Kube.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
			switch {
			case apierrors.IsNotFound(getErr):
				return nil
			case getErr == nil:
				current = fresh
			}
		}
		return err
	})
}

// readyEndpoints are the IPs that an EndpointSlice in the namespace lists as ready endpoints: where a
// Service still sends traffic. A pod on its way out is let go only once its IP is not among them (the
// endpointslice controller follows a pod's Ready condition, a moment later). Where the server may not list
// EndpointSlices (an RBAC from before it needed to), none are: a pod is let go once it is not Ready.
func (d *Driver) readyEndpoints(ctx context.Context, namespace string) (map[string]bool, error) {
	list, err := d.Kube.DiscoveryV1().EndpointSlices(namespace).List(ctx, metav1.ListOptions{})
	if apierrors.IsForbidden(err) {
		klog.V(2).InfoS("Cannot list EndpointSlices: pods are let go once not Ready", "namespace", namespace)
		return map[string]bool{}, nil
	}
	if err != nil {
		return nil, err
	}
	ready := map[string]bool{}
	for i := range list.Items {
		AddReadyEndpoints(ready, &list.Items[i])
	}
	return ready, nil
}

// AddReadyEndpoints adds to ready the addresses s lists as ready endpoints.
func AddReadyEndpoints(ready map[string]bool, s *discoveryv1.EndpointSlice) {
	for _, e := range s.Endpoints {
		if EndpointReady(e) {
			for _, a := range e.Addresses {
				ready[a] = true
			}
		}
	}
}

// EndpointReady reads an endpoint's ready condition as the API says consumers should: unset means ready.
func EndpointReady(e discoveryv1.Endpoint) bool {
	return e.Conditions.Ready == nil || *e.Conditions.Ready
}

// BlueServing counts the blue pods of a switched blue/green release that an EndpointSlice still lists as
// ready endpoints (plan.Observation.BlueServing). It reads the EndpointSlices only when that can matter:
// the release is switched and no blue pod is Ready.
func (d *Driver) BlueServing(ctx context.Context, r *releases.Release, pods []corev1.Pod, obs plan.Observation) (int32, error) {
	if !plan.BlueOut(r) || obs.BlueReady > 0 || obs.Blue == 0 {
		return 0, nil
	}
	endpoints, err := d.readyEndpoints(ctx, r.Namespace)
	if err != nil {
		return 0, err
	}
	var n int32
	for _, p := range BluePods(r, pods) {
		if p.Status.PodIP != "" && endpoints[p.Status.PodIP] {
			n++
		}
	}
	return n, nil
}

// setGates sets the readiness gate of each pod (in or out); a pod already gone is skipped.
func (d *Driver) setGates(ctx context.Context, pods []corev1.Pod, in bool, dryRun bool, what string) error {
	return eachPod(ctx, pointers(pods), what, func(ctx context.Context, i int) error {
		return d.SetGate(ctx, &pods[i], in, dryRun)
	})
}

// setNotReadyKeys takes each pod out of traffic through KruisePodReady (out) or brings it back; a pod
// already gone is skipped.
func (d *Driver) setNotReadyKeys(ctx context.Context, pods []corev1.Pod, out bool, dryRun bool, what string) error {
	return eachPod(ctx, pointers(pods), what, func(ctx context.Context, i int) error {
		return d.SetNotReadyKey(ctx, &pods[i], out, dryRun)
	})
}

// BlueServes reports whether every blue pod of a canceled blue/green release is back in traffic: none
// carries triton's not-ready key, and each is Ready. Then green may leave traffic.
func BlueServes(r *releases.Release, pods []corev1.Pod) bool {
	for _, p := range BluePods(r, pods) {
		if HasNotReadyKey(&p) || !Condition(&p, corev1.PodReady) {
			return false
		}
	}
	return true
}

// holdAndDrain runs the hold protocol while a release owns its CloneSet: it labels pods so kruise holds
// them before taking them away, pulls a held pod out of traffic, and lets kruise go on once it is no
// longer Ready and no Service lists it. It reports whether a pod is still being drained. Once the release
// lets go of the CloneSet, nothing of it stays on the pods.
func (d *Driver) holdAndDrain(ctx context.Context, r *releases.Release, pods []corev1.Pod) (bool, error) {
	if !plan.NeedsPullIn(r) {
		return false, nil
	}
	if !plan.IntentOf(r).Owned {
		return false, d.letGoOfHeld(ctx, pods)
	}
	draining := false
	var hold, leaving, pullOut []*corev1.Pod
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
				draining = true
				pullOut = append(pullOut, p)
			case Condition(p, corev1.PodReady):
				draining = true // out of traffic once it is not Ready
			default:
				leaving = append(leaving, p) // not Ready: let go once no Service lists it
			}
		case kruiseappspub.LifecycleStateUpdating:
		default:
			if !held {
				hold = append(hold, p)
			}
		}
	}
	letGo, listed, err := d.unlisted(ctx, r.Namespace, leaving)
	if err != nil {
		return draining, err
	}
	if listed {
		// Not Ready, but a Service still lists it: the endpointslice controller has not caught up. Its
		// EndpointSlice's next change wakes the release.
		draining = true
	}
	if err := eachPod(ctx, pullOut, "draining", func(ctx context.Context, i int) error {
		return d.SetGate(ctx, pullOut[i], false, false)
	}); err != nil {
		return draining, err
	}
	if err := eachPod(ctx, letGo, "letting go of", func(ctx context.Context, i int) error {
		return d.SetHold(ctx, letGo[i], false)
	}); err != nil {
		return draining, err
	}
	return draining, eachPod(ctx, hold, "holding", func(ctx context.Context, i int) error {
		return d.SetHold(ctx, hold[i], true)
	})
}

// EndpointsCache is a Reader that caches EndpointSlices too (caches.Caches): ReadyEndpoints returns the
// IPs an EndpointSlice of the namespace lists as ready endpoints, false when it cannot tell (not synced).
type EndpointsCache interface {
	ReadyEndpoints(namespace string) (map[string]bool, bool)
}

// unlisted returns the pods of leaving (out of traffic, not Ready) that no EndpointSlice of the namespace
// lists as a ready endpoint, and whether any other is still listed. A pod the cache still lists waits
// without a call (the slice's change wakes the release); the rest are confirmed by one live read, since
// letting go of a pod a Service still sends traffic to would fail requests.
func (d *Driver) unlisted(ctx context.Context, namespace string, leaving []*corev1.Pod) ([]*corev1.Pod, bool, error) {
	if len(leaving) == 0 {
		return nil, false, nil
	}
	listed := false
	maybe := leaving
	if c, ok := d.Cache.(EndpointsCache); ok {
		if cached, synced := c.ReadyEndpoints(namespace); synced {
			maybe = nil
			for _, p := range leaving {
				if p.Status.PodIP != "" && cached[p.Status.PodIP] {
					listed = true
				} else {
					maybe = append(maybe, p)
				}
			}
		}
	}
	if len(maybe) == 0 {
		return nil, listed, nil
	}
	live, err := d.readyEndpoints(ctx, namespace)
	if err != nil {
		return nil, listed, err
	}
	var free []*corev1.Pod
	for _, p := range maybe {
		if p.Status.PodIP != "" && live[p.Status.PodIP] {
			listed = true
		} else {
			free = append(free, p)
		}
	}
	return free, listed, nil
}

// letGoOfHeld takes the hold label off every pod that carries it and is not on its way out.
func (d *Driver) letGoOfHeld(ctx context.Context, pods []corev1.Pod) error {
	var held []*corev1.Pod
	for i := range pods {
		if _, ok := pods[i].Labels[v1alpha1.HoldLabel]; ok && pods[i].DeletionTimestamp == nil {
			held = append(held, &pods[i])
		}
	}
	return eachPod(ctx, held, "letting go of", func(ctx context.Context, i int) error {
		return d.SetHold(ctx, held[i], false)
	})
}

// PullInStrays looks after a CloneSet no release runs on: it takes the hold label off its pods (no release
// holds them: a label left from the last release, or from a template that carries it), and sets the
// readiness gate True on the pods that carry it and are ready for traffic but have no release to pull them
// in (see Strays).
func (d *Driver) PullInStrays(ctx context.Context, cs *kruiseappsv1alpha1.CloneSet) error {
	pods, err := d.Pods(ctx, cs)
	if err != nil {
		return err
	}
	if err := d.letGoOfHeld(ctx, pods); err != nil {
		return err
	}
	// Pods made while a release held the CloneSet carry the gate (older releases also put it in the
	// template); those that came up after the release ended and are still out of traffic are pulled in.
	strays := Strays(cs, pods)
	if err := d.setGates(ctx, strays, true, false, "pulling in"); err != nil {
		return err
	}
	for i := range strays {
		klog.V(2).InfoS("Pulled in a pod no release was pulling in", "pod", klog.KObj(&strays[i]), "cloneSet", klog.KObj(cs))
	}
	return nil
}
