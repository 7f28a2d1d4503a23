package cloneset

import (
	"context"
	"testing"
	"time"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/release/moves"
)

// webPod is a gated pod of CloneSet web at revision rev, made created seconds after a fixed time, Ready,
// in traffic when pulledIn.
func webPod(name, rev string, created int, pulledIn bool) *corev1.Pod {
	gate := corev1.ConditionFalse
	if pulledIn {
		gate = corev1.ConditionTrue
	}
	yes := true
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default",
			Labels:            map[string]string{"app": "web", appsv1.ControllerRevisionHashLabelKey: rev},
			CreationTimestamp: metav1.NewTime(time.Date(2024, 5, 1, 12, 0, created, 0, time.UTC)),
			OwnerReferences: []metav1.OwnerReference{{APIVersion: kruiseappsv1alpha1.SchemeGroupVersion.String(),
				Kind: "CloneSet", Name: "web", UID: "uid-cloneset-web", Controller: &yes}}},
		Spec: corev1.PodSpec{ReadinessGates: []corev1.PodReadinessGate{{ConditionType: v1alpha1.ReadinessGate}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0." + name, Conditions: []corev1.PodCondition{
			{Type: corev1.PodReady, Status: corev1.ConditionTrue}, {Type: v1alpha1.ReadinessGate, Status: gate}}},
	}
}

// following is CloneSet web with batch 1 of release web-update Baked (2 pods approved) and kruise at the
// release's revision: three pods at web-v4 out of traffic, one more than approved (a scale-out kruise
// acted on first), and three at web-v3 in traffic.
func following(t *testing.T) (*apiServer, *releases.Release, []corev1.Pod) {
	s, r := driven(t, nil)
	s.edit(func(cs *kruiseappsv1alpha1.CloneSet) {
		cs.Status.UpdateRevision = "web-v4"
		cs.Status.ObservedGeneration = cs.Generation
	})
	var pods []corev1.Pod
	for i, name := range []string{"a", "b", "c"} {
		pods = append(pods, *webPod(name, "web-v4", 10+i, false))
	}
	for i, name := range []string{"d", "e", "f"} {
		pods = append(pods, *webPod(name, "web-v3", i, true))
	}
	return s, r, pods
}

func objects(pods []corev1.Pod) []runtime.Object {
	out := make([]runtime.Object, 0, len(pods))
	for i := range pods {
		out = append(out, &pods[i])
	}
	return out
}

// gateOf is each pod's readiness gate status and whether it is held, as stored.
func gateOf(t *testing.T, d *Driver) map[string]string {
	t.Helper()
	list, err := d.Kube.CoreV1().Pods("default").List(context.Background(), metav1.ListOptions{})
	require.NoError(t, err)
	out := map[string]string{}
	for i := range list.Items {
		p := &list.Items[i]
		s := "out"
		if moves.PulledIn(p) {
			s = "in"
		}
		if p.Labels[v1alpha1.HoldLabel] == "true" {
			s += ",held"
		}
		out[p.Name] = s
	}
	return out
}

// A verb and the controller make the pods follow the release through Follow: the approved pods of a batch
// in traffic are pulled in at once (the oldest two), the one beyond them is replaced, and every pod is
// held for the hook protocol.
func TestFollowPullsInTheApprovedAndReplacesTheExcess(t *testing.T) {
	s, r, pods := following(t)
	d := s.driver(objects(pods)...)
	obs := moves.ObservationOf(r, s.get(), pods)
	f, err := d.Follow(context.Background(), r, pods, obs, false)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"a": "in,held", "b": "in,held", "c": "out,held", "d": "in,held", "e": "in,held", "f": "in,held"}, gateOf(t, d))
	assert.Equal(t, []string{"c"}, s.get().Spec.ScaleStrategy.PodsToDelete, "the pod beyond the approved is replaced")
	assert.True(t, f.Again, "look again: a pod is being replaced")
	assert.False(t, f.Draining)
	assert.Equal(t, int32(4), partitionOf(f.CloneSet))
}

// A release read from a cache behind a newer state of it (the CloneSet carries the newer state's intent
// stamp) moves no pod: its limit would take out of traffic a pod the newer state approved.
func TestFollowOfAStaleReleaseMovesNoPod(t *testing.T) {
	s, r, pods := following(t)
	pods[2] = *webPod("c", "web-v4", 12, true) // in traffic: the newer state approved it
	s.edit(func(cs *kruiseappsv1alpha1.CloneSet) {
		cs.Annotations[v1alpha1.IntentAnnotation] = string(r.UID) + "/999999"
	})
	d := s.driver(objects(pods)...)
	before := gateOf(t, d)
	f, err := d.Follow(context.Background(), r, pods, moves.ObservationOf(r, s.get(), pods), false)
	require.NoError(t, err)
	assert.Equal(t, before, gateOf(t, d), "no pod pulled in or out, none held")
	assert.Empty(t, s.get().Spec.ScaleStrategy.PodsToDelete, "no pod replaced")
	assert.True(t, f.Again)
}

// A dry run (of a cancel here) writes the CloneSet and the pods only as dry runs, and holds no pod.
func TestFollowOnADryRunWritesOnlyDryRuns(t *testing.T) {
	s, r, pods := following(t)
	r.Status.Phase = releases.ReleaseCanceled // pulls a out of traffic
	pods[0] = *webPod("a", "web-v4", 10, true)
	d := s.driver(append(objects(pods), revisionV3(t))...)
	kube := d.Kube.(*kubefake.Clientset)
	before := len(s.opts)
	_, err := d.Follow(context.Background(), r, pods, moves.ObservationOf(r, s.get(), pods), true)
	require.NoError(t, err)
	patched := 0
	for _, a := range kube.Actions() {
		if p, ok := a.(k8stesting.PatchActionImpl); ok {
			patched++
			assert.Equal(t, []string{metav1.DryRunAll}, p.PatchOptions.DryRun, "pod %s", p.Name)
		}
	}
	assert.Equal(t, 1, patched, "only a's gate, as a dry run; no hold")
	require.Greater(t, len(s.opts), before)
	for _, o := range s.opts[before:] {
		assert.Equal(t, []string{metav1.DryRunAll}, o.DryRun, "every CloneSet write a dry run")
	}
}

// A canceled release takes its pods out of traffic; the pods from before keep serving.
func TestFollowPullsACanceledReleasesPodsOut(t *testing.T) {
	s, r, pods := following(t)
	pods[0] = *webPod("a", "web-v4", 10, true)
	pods[1] = *webPod("b", "web-v4", 11, true)
	d := s.driver(append(objects(pods), revisionV3(t))...)
	r.Status.Phase = releases.ReleaseCanceled
	_, err := d.Follow(context.Background(), r, pods, moves.ObservationOf(r, s.get(), pods), false)
	require.NoError(t, err)
	got := gateOf(t, d)
	for _, name := range []string{"a", "b", "c"} {
		assert.Contains(t, got[name], "out", name)
	}
	for _, name := range []string{"d", "e", "f"} {
		assert.Contains(t, got[name], "in", name)
	}
}

// A pod kruise is deleting (a recreate) needs no not-ready key: nothing is written, and no error reaches
// the verb that asked (a cancel answered 500 when kruise kept changing such a pod).
func TestNoNotReadyKeyForAPodOnItsWayOut(t *testing.T) {
	gone := metav1.Now()
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-x", Namespace: "default", ResourceVersion: "7",
		DeletionTimestamp: &gone, Finalizers: []string{"kruise"}},
		Spec: corev1.PodSpec{ReadinessGates: []corev1.PodReadinessGate{{ConditionType: "KruisePodReady"}}}}
	kube := kubefake.NewClientset(p)
	d := &Driver{Kube: kube}
	kube.ClearActions()
	require.NoError(t, d.SetNotReadyKey(context.Background(), p, true, false))
	for _, a := range kube.Actions() {
		assert.NotEqual(t, "patch", a.GetVerb(), "no write for a pod on its way out")
	}
	p.DeletionTimestamp = nil
	require.NoError(t, d.SetNotReadyKey(context.Background(), p, true, false))
	patched := false
	for _, a := range kube.Actions() {
		patched = patched || a.GetVerb() == "patch"
	}
	assert.True(t, patched, "a live pod is taken out")
}
