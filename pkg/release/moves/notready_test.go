package moves

import (
	"testing"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases"
)

func TestNotReadyKeyComesAndGoesAlone(t *testing.T) {
	kruiseKey := `{"userAgent":"Lifecycle","key":"preDelete"}`
	pod := func(message string, status corev1.ConditionStatus) *corev1.Pod {
		return &corev1.Pod{Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: "KruisePodReady", Status: status, Message: message}}}}
	}
	c, changed := WithNotReadyKey(pod("", corev1.ConditionTrue), true)
	assert.True(t, changed)
	assert.Equal(t, corev1.ConditionFalse, c.Status)
	assert.JSONEq(t, `[{"userAgent":"triton","key":"releases.triton.io/blue-green"}]`, c.Message)
	assert.True(t, HasNotReadyKey(&corev1.Pod{Status: corev1.PodStatus{Conditions: []corev1.PodCondition{c}}}))

	_, changed = WithNotReadyKey(&corev1.Pod{Status: corev1.PodStatus{Conditions: []corev1.PodCondition{c}}}, true)
	assert.False(t, changed, "already out")
	overwritten := c
	overwritten.Status = corev1.ConditionTrue
	c2, changed := WithNotReadyKey(&corev1.Pod{Status: corev1.PodStatus{Conditions: []corev1.PodCondition{overwritten}}}, true)
	assert.True(t, changed, "the key is there but kruise wrote the condition True: written False again")
	assert.Equal(t, corev1.ConditionFalse, c2.Status)
	assert.JSONEq(t, `[{"userAgent":"triton","key":"releases.triton.io/blue-green"}]`, c2.Message)

	// Back in: only triton's key goes; the message is "[]", not empty, so that a patch clears it.
	c, changed = WithNotReadyKey(&corev1.Pod{Status: corev1.PodStatus{Conditions: []corev1.PodCondition{c}}}, false)
	assert.True(t, changed)
	assert.Equal(t, corev1.ConditionTrue, c.Status)
	assert.Equal(t, "[]", c.Message)

	// kruise's own key stays, and keeps the pod out.
	both := pod(`[`+kruiseKey+`,{"userAgent":"triton","key":"releases.triton.io/blue-green"}]`, corev1.ConditionFalse)
	c, changed = WithNotReadyKey(both, false)
	assert.True(t, changed)
	assert.Equal(t, corev1.ConditionFalse, c.Status)
	assert.JSONEq(t, `[`+kruiseKey+`]`, c.Message)
	_, changed = WithNotReadyKey(pod("["+kruiseKey+"]", corev1.ConditionFalse), false)
	assert.False(t, changed, "nothing of triton's to take off")
}

func TestBluePodsAreThoseAtTheRevisionFromBefore(t *testing.T) {
	r := &releases.Release{Status: releases.ReleaseStatus{CloneSet: &releases.CloneSetObservation{RevisionBeforeRelease: "rev-old"}}}
	now := metav1.Now()
	pod := func(name, rev string) corev1.Pod {
		return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"controller-revision-hash": rev}}}
	}
	going := pod("blue-going", "rev-old")
	going.DeletionTimestamp = &now
	var names []string
	for _, p := range BluePods(r, []corev1.Pod{pod("blue", "rev-old"), pod("green", "rev-new"), going}) {
		names = append(names, p.Name)
	}
	assert.Equal(t, []string{"blue"}, names)
	assert.Empty(t, BluePods(&releases.Release{}, []corev1.Pod{pod("blue", "")}), "no revision recorded: no blue")
}
