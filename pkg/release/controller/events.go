package controller

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/release/plan"
)

// NewRecorder records Events on Releases in the cluster, so `kubectl describe release` tells the story.
func NewRecorder(kube kubernetes.Interface) (record.EventRecorder, func()) {
	broadcaster := record.NewBroadcaster()
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: kube.CoreV1().Events("")})
	return broadcaster.NewRecorder(scheme, corev1.EventSource{Component: "triton-controller"}), broadcaster.Shutdown
}

// recordEvents records an Event for every history entry the controller added.
func (c *Controller) recordEvents(obj *v1alpha1.Release, before, after *releases.ReleaseStatus) {
	if c.recorder == nil {
		return
	}
	for _, h := range added(before.History, after.History) {
		kind := corev1.EventTypeNormal
		if h.Action == "fail" || h.Action == plan.ActionLost || h.Action == plan.ActionRevisionGone {
			kind = corev1.EventTypeWarning
		}
		c.recorder.Event(obj, kind, plan.EventReason(h.Action), plan.Describe(h))
	}
}

// added returns the entries of after that follow the last entry of before.
func added(before, after []releases.ReleaseHistoryEntry) []releases.ReleaseHistoryEntry {
	if len(before) == 0 {
		return after
	}
	last := before[len(before)-1]
	for i := len(after) - 1; i >= 0; i-- {
		if equality.Semantic.DeepEqual(after[i], last) {
			return after[i+1:]
		}
	}
	return after
}
