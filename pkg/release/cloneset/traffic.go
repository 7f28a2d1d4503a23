package cloneset

// The traffic gate: every write by which a release takes a pod into traffic or out of it. A pod of a
// release is in traffic only when its readiness gate (v1alpha1.ReadinessGate) is True; a pod without that
// gate (blue pods of a blue/green release, pods made without the gate) is kept out through kruise's
// KruisePodReady condition with triton's not-ready key; and v1alpha1.HoldLabel makes kruise wait (its
// lifecycle hooks) before it deletes or updates a pod, until the pod has left traffic. Which pods go in or
// out, are held or let go, is decided by package moves; carryOut makes those writes, for Follow.

import (
	"context"
	"encoding/json"
	"fmt"

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
	"github.com/triton-io/triton/pkg/release/moves"
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
	written, err := d.Kube.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, opts, "status")
	if dryRun {
		return err
	}
	return d.wrotePod(written, err)
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
	written, err := d.Kube.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "triton-apiserver"})
	return d.wrotePod(written, err)
}

// SetNotReadyKey takes a pod out of traffic (out) or brings it back, through its KruisePodReady
// condition. The condition is kruise's too, so the write is a patch of the status as read with its
// resourceVersion as a precondition, read again and retried on a conflict.
func (d *Driver) SetNotReadyKey(ctx context.Context, pod *corev1.Pod, out, dryRun bool) error {
	if !moves.HasKruiseGate(pod) {
		return nil
	}
	if _, changed := moves.WithNotReadyKey(pod, out); !changed {
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
		c, changed := moves.WithNotReadyKey(current, out)
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
	for _, p := range moves.BluePods(r, pods) {
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

// setHolds puts the hold label on each pod (on) or takes it off; a pod already gone is skipped.
func (d *Driver) setHolds(ctx context.Context, pods []corev1.Pod, on bool, what string) error {
	return eachPod(ctx, pointers(pods), what, func(ctx context.Context, i int) error {
		return d.SetHold(ctx, &pods[i], on)
	})
}

// carryOut makes the pod writes m says (moves.OutFirst, moves.Decide) for release r, in the order of m's
// fields, each step's writes in parallel (eachPod); cs is the CloneSet as written (for Replace). Before it
// lets go of a pod leaving traffic that the cached endpoints do not list (m.LetGoUnlisted), it reads the
// EndpointSlices live: a pod a Service still lists keeps its hold. It reports whether a pod is still being
// drained.
func (d *Driver) carryOut(ctx context.Context, r *releases.Release, cs *kruiseappsv1alpha1.CloneSet, m moves.Moves, dryRun bool) (bool, error) {
	draining := m.Draining
	if err := d.setGates(ctx, m.PullOut, false, dryRun, "pulling out"); err != nil {
		return draining, err
	}
	if len(m.Replace) > 0 {
		names := make([]string, 0, len(m.Replace))
		for _, p := range m.Replace {
			names = append(names, p.Name)
		}
		klog.InfoS("Replacing pods at the release's revision beyond those approved", "release", klog.KObj(r),
			"approved", m.Approved, "pods", names)
		if err := d.Replace(ctx, cs, m.Replace); err != nil && !apierrors.IsConflict(err) {
			return draining, fmt.Errorf("replacing pods beyond the approved: %w", err)
		}
	}
	if err := d.setGates(ctx, m.PullIn, true, dryRun, "pulling in"); err != nil {
		return draining, err
	}
	if err := d.setNotReadyKeys(ctx, m.Blue.In, false, dryRun, "bringing back blue"); err != nil {
		return draining, err
	}
	if err := d.setNotReadyKeys(ctx, m.Blue.Out, true, dryRun, "taking out blue"); err != nil {
		return draining, err
	}
	for _, p := range m.Ungated.Out {
		klog.InfoS("A pod of the release has no readiness gate: out of traffic through KruisePodReady until its batch is pulled in",
			"release", klog.KObj(r), "pod", klog.KObj(&p))
	}
	if err := d.setNotReadyKeys(ctx, m.Ungated.Out, true, dryRun, "taking out ungated"); err != nil {
		return draining, err
	}
	if err := d.setNotReadyKeys(ctx, m.Ungated.In, false, dryRun, "pulling in ungated"); err != nil {
		return draining, err
	}
	if err := d.setGates(ctx, m.StableStrays, true, dryRun, "pulling in"); err != nil {
		return draining, err
	}
	// The hold protocol.
	unlisted, listed, err := d.unlisted(ctx, r.Namespace, m.LetGoUnlisted)
	if err != nil {
		return draining, err
	}
	draining = draining || listed
	if err := d.setGates(ctx, m.Drain, false, dryRun, "draining"); err != nil {
		return draining, err
	}
	if err := d.setHolds(ctx, append(m.LetGo, unlisted...), false, "letting go of"); err != nil {
		return draining, err
	}
	return draining, d.setHolds(ctx, m.Hold, true, "holding")
}

// unlisted returns the pods of leaving that no EndpointSlice of the namespace lists as a ready endpoint,
// read live, and whether any other is still listed (it waits: the slice's change wakes the release).
func (d *Driver) unlisted(ctx context.Context, namespace string, leaving []corev1.Pod) ([]corev1.Pod, bool, error) {
	if len(leaving) == 0 {
		return nil, false, nil
	}
	live, err := d.readyEndpoints(ctx, namespace)
	if err != nil {
		return nil, false, err
	}
	var free []corev1.Pod
	listed := false
	for _, p := range leaving {
		if p.Status.PodIP != "" && live[p.Status.PodIP] {
			listed = true
		} else {
			free = append(free, p)
		}
	}
	return free, listed, nil
}

// cachedEndpoints is the lookup of the namespace's ready endpoints in the driver's cache, for
// moves.Input; nil when the cache keeps no EndpointSlices.
func (d *Driver) cachedEndpoints(namespace string) func() (map[string]bool, bool) {
	c, ok := d.Cache.(EndpointsCache)
	if !ok {
		return nil
	}
	return func() (map[string]bool, bool) { return c.ReadyEndpoints(namespace) }
}

// EndpointsCache is a Reader that caches EndpointSlices too (caches.Caches): ReadyEndpoints returns the
// IPs an EndpointSlice of the namespace lists as ready endpoints, false when it cannot tell (not synced).
type EndpointsCache interface {
	ReadyEndpoints(namespace string) (map[string]bool, bool)
}

// PullInStrays looks after a CloneSet no release runs on: it takes the hold label off its pods (no release
// holds them: a label left from the last release, or from a template that carries it), and sets the
// readiness gate True on the pods that carry it and are ready for traffic but have no release to pull them
// in (see moves.Strays).
func (d *Driver) PullInStrays(ctx context.Context, cs *kruiseappsv1alpha1.CloneSet) error {
	pods, err := d.Pods(ctx, cs)
	if err != nil {
		return err
	}
	if err := d.setHolds(ctx, moves.Held(pods), false, "letting go of"); err != nil {
		return err
	}
	// Pods made while a release held the CloneSet carry the gate (older releases also put it in the
	// template); those that came up after the release ended and are still out of traffic are pulled in.
	strays := moves.Strays(cs, pods)
	if err := d.setGates(ctx, strays, true, false, "pulling in"); err != nil {
		return err
	}
	for i := range strays {
		klog.V(2).InfoS("Pulled in a pod no release was pulling in", "pod", klog.KObj(&strays[i]), "cloneSet", klog.KObj(cs))
	}
	return nil
}
