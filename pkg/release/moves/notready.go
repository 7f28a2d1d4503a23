package moves

import (
	"encoding/json"

	appspub "github.com/openkruise/kruise-api/apps/pub"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

// Blue/green takes blue out of traffic without deleting it, so that a cancel can switch back at once. Blue
// pods were made before the release, most without triton's readiness gate; but kruise gives every pod of a
// CloneSet its own gate, KruisePodReady, which is False while any not-ready key is listed in the
// condition's message (a JSON list of {userAgent, key}), as kruise's lifecycle hooks do. triton adds its own
// key to take a blue pod out, and removes only that key to bring it back.

// tritonKey is triton's not-ready key in a pod's KruisePodReady condition (v1alpha1.NotReadyKey): on blue
// pods after a blue/green switch, and on a release's pods made without the pull-in gate (ungated.go).
var tritonKey = notReadyKey{UserAgent: "triton", Key: v1alpha1.NotReadyKey}

type notReadyKey struct {
	UserAgent string `json:"userAgent"`
	Key       string `json:"key"`
}

// BluePods are a BlueGreen release's blue pods: at the CloneSet's revision from before the release, not on
// their way out.
func BluePods(r *releases.Release, pods []corev1.Pod) []corev1.Pod {
	if r.Status.CloneSet == nil || r.Status.CloneSet.RevisionBeforeRelease == "" {
		return nil
	}
	var out []corev1.Pod
	for _, p := range pods {
		if p.DeletionTimestamp == nil && p.Labels[appsv1.ControllerRevisionHashLabelKey] == r.Status.CloneSet.RevisionBeforeRelease {
			out = append(out, p)
		}
	}
	return out
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

// HasNotReadyKey reports whether a pod carries triton's not-ready key.
func HasNotReadyKey(p *corev1.Pod) bool {
	c := kruisePodReady(p)
	if c == nil {
		return false
	}
	for _, k := range notReadyKeys(c.Message) {
		if k == tritonKey {
			return true
		}
	}
	return false
}

// keyedOut reports whether triton's key holds a pod out of traffic: the key is there and the condition is
// False. kruise's pod readiness controller writes the condition True, without a message and without a
// resourceVersion, when its cache shows none yet: a key written a moment before stays in the message, and
// the pod is Ready all the same. Such a pod is written again.
func keyedOut(p *corev1.Pod) bool {
	c := kruisePodReady(p)
	return c != nil && c.Status == corev1.ConditionFalse && HasNotReadyKey(p)
}

func kruisePodReady(p *corev1.Pod) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == appspub.KruisePodReadyConditionType {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

func notReadyKeys(message string) []notReadyKey {
	var keys []notReadyKey
	if message != "" {
		_ = json.Unmarshal([]byte(message), &keys)
	}
	return keys
}

// WithNotReadyKey returns the KruisePodReady condition of p with triton's key added (out) or removed, and
// whether that changes it: what a write that takes the pod out or brings it back puts in its status.
func WithNotReadyKey(p *corev1.Pod, out bool) (corev1.PodCondition, bool) {
	c := corev1.PodCondition{Type: appspub.KruisePodReadyConditionType, Status: corev1.ConditionTrue}
	if have := kruisePodReady(p); have != nil {
		c = *have
	}
	keys := notReadyKeys(c.Message)
	kept := []notReadyKey{}
	for _, k := range keys {
		if k != tritonKey {
			kept = append(kept, k)
		}
	}
	if out {
		kept = append(kept, tritonKey)
	}
	if len(kept) == len(keys) && out == HasNotReadyKey(p) && (!out || c.Status == corev1.ConditionFalse) {
		return c, false
	}
	// "[]" rather than empty: a patch leaves out an empty message, and the old one would stay.
	b, _ := json.Marshal(kept)
	c.Message = string(b)
	c.Status = corev1.ConditionTrue
	if len(kept) > 0 {
		c.Status = corev1.ConditionFalse
	}
	c.LastTransitionTime = metav1.Now()
	return c, true
}

// HasKruiseGate reports whether kruise gave the pod its readiness gate, without which the key does nothing.
func HasKruiseGate(p *corev1.Pod) bool {
	for _, g := range p.Spec.ReadinessGates {
		if g.ConditionType == appspub.KruisePodReadyConditionType {
			return true
		}
	}
	return false
}
