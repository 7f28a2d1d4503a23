package moves

import (
	"testing"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func pod(name string, ready bool, statuses ...corev1.ContainerStatus) corev1.Pod {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	return corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Status: corev1.PodStatus{
			Phase:             corev1.PodRunning,
			Conditions:        []corev1.PodCondition{{Type: corev1.PodReady, Status: status}},
			ContainerStatuses: statuses,
		},
	}
}

func waiting(reason string) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: "web", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}}
}

func TestFailure(t *testing.T) {
	tests := []struct {
		name string
		pod  corev1.Pod
		want string
	}{
		{"healthy and ready", pod("a", true, corev1.ContainerStatus{Name: "web", Ready: true}), ""},
		{"starting, not ready yet", pod("a", false, waiting("ContainerCreating")), ""},
		{"crash loop", pod("a", false, waiting("CrashLoopBackOff")), "container web: CrashLoopBackOff"},
		{"image pull back-off", pod("a", false, waiting("ImagePullBackOff")), "container web: ImagePullBackOff"},
		{"image pull error", pod("a", false, waiting("ErrImagePull")), "container web: ErrImagePull"},
		{"bad config", pod("a", false, waiting("CreateContainerConfigError")), "container web: CreateContainerConfigError"},
		{"restarting while not ready", pod("a", false, corev1.ContainerStatus{Name: "web", RestartCount: 2}),
			"container web restarted 2 times and is not ready"},
		{"restarted once but ready again", pod("a", true, corev1.ContainerStatus{Name: "web", RestartCount: 1, Ready: true}), ""},
		{"failed pod", func() corev1.Pod { p := pod("a", false); p.Status.Phase = corev1.PodFailed; return p }(), "the pod failed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, Failure(&tc.pod))
		})
	}
}

func TestFailures(t *testing.T) {
	pods := []corev1.Pod{
		pod("d", false, waiting("CrashLoopBackOff")),
		pod("a", true),
		pod("c", false, waiting("ErrImagePull")),
		pod("b", false, waiting("ImagePullBackOff")),
		pod("e", false, waiting("CrashLoopBackOff")),
	}
	got := Failures(pods)
	assert.Equal(t, []string{
		"b: container web: ImagePullBackOff",
		"c: container web: ErrImagePull",
		"d: container web: CrashLoopBackOff",
		"e: container web: CrashLoopBackOff",
	}, got)
}
