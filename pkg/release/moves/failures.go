package moves

import (
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
)

// failingReasons are container waiting reasons from which a pod does not come back by itself.
var failingReasons = map[string]bool{
	"CrashLoopBackOff":           true,
	"ImagePullBackOff":           true,
	"ErrImagePull":               true,
	"InvalidImageName":           true,
	"CreateContainerConfigError": true,
	"CreateContainerError":       true,
	"RunContainerError":          true,
}

// Failure says why a pod of a release is failing, or "" when it is not: a crash loop, an image that does
// not pull, a container that cannot start, or containers restarting while the pod is not Ready.
func Failure(p *corev1.Pod) string {
	if p.Status.Phase == corev1.PodFailed {
		return "the pod failed"
	}
	statuses := append(append([]corev1.ContainerStatus(nil), p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...)
	for _, s := range statuses {
		if w := s.State.Waiting; w != nil && failingReasons[w.Reason] {
			return fmt.Sprintf("container %s: %s", s.Name, w.Reason)
		}
	}
	if !Condition(p, corev1.PodReady) {
		for _, s := range p.Status.ContainerStatuses {
			if s.RestartCount > 0 && !s.Ready {
				return fmt.Sprintf("container %s restarted %d times and is not ready", s.Name, s.RestartCount)
			}
		}
	}
	return ""
}

// Failures lists the failing pods among pods, as "pod: why", sorted.
func Failures(pods []corev1.Pod) []string {
	var out []string
	for i := range pods {
		if why := Failure(&pods[i]); why != "" {
			out = append(out, pods[i].Name+": "+why)
		}
	}
	sort.Strings(out)
	return out
}
