package dashboard

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

// pod is a pod of CloneSet cloneSet in ns, ContainersReady and Ready as given; a batch other than "" labels
// it with release web's batch.
func pod(ns, name, cloneSet, batch string, containersReady, ready bool) *corev1.Pod {
	yes := true
	status := func(ok bool) corev1.ConditionStatus {
		if ok {
			return corev1.ConditionTrue
		}
		return corev1.ConditionFalse
	}
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"controller-revision-hash": "web-new"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps.kruise.io/v1alpha1", Kind: "CloneSet", Name: cloneSet, Controller: &yes}}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx:1.27"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{
			{Type: corev1.ContainersReady, Status: status(containersReady)},
			{Type: corev1.PodReady, Status: status(ready)},
		}},
	}
	if batch != "" {
		p.Labels[v1alpha1.ReleaseLabel] = "web"
		p.Labels[v1alpha1.BatchLabel] = batch
	}
	return p
}

func TestPodMapShowsTheCloneSetsPodsAsTheyAre(t *testing.T) {
	crashing := pod("ns", "web-c", "web", "1", false, false)
	crashing.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", RestartCount: 4,
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}}}
	old := pod("ns", "web-old", "web", "", true, true)
	old.Labels["controller-revision-hash"] = "web-old"
	old.Spec.Containers[0].Image = "nginx:1.26\x1b]0;owned\x07"
	other := pod("ns", "api-1", "api", "", true, true)
	otherNS := pod("elsewhere", "web-x", "web", "", true, true)
	kube := kubefake.NewClientset(
		pod("ns", "web-a", "web", "1", true, true),  // in traffic
		pod("ns", "web-b", "web", "1", true, false), // Smoked: up, not pulled in
		crashing, old, other, otherNS)
	r := release("ns", "web", v1alpha1.ReleaseProgressing, 1, v1alpha1.BatchSmoked)
	r.Status.Batches[0].Pods = []v1alpha1.BatchPod{{Name: "web-a"}, {Name: "web-b"}, {Name: "web-c"}}
	m := podMap(t.Context(), kube.CoreV1(), r)
	require.Empty(t, m.Error)
	byName := map[string]PodView{}
	for _, p := range m.Pods {
		byName[p.Name] = p
	}
	require.Len(t, byName, 4, "the pods of the release's CloneSet in its namespace only: %v", m.Pods)
	assert.Equal(t, PodView{Name: "web-a", Batch: "1", Revision: "web-new", Image: "nginx:1.27", Phase: "Running", Ready: true, InTraffic: true}, byName["web-a"])
	assert.False(t, byName["web-b"].InTraffic, "ready but not pulled in is out of traffic")
	assert.True(t, byName["web-b"].Ready)
	assert.Equal(t, PodView{Name: "web-c", Batch: "1", Revision: "web-new", Image: "nginx:1.27", Phase: "Running", Failing: true,
		Why: "container app: CrashLoopBackOff", Restarts: 4}, byName["web-c"])
	assert.Equal(t, "", byName["web-old"].Batch, "a pod the release did not bring is the old version")
	assert.Equal(t, "nginx:1.26\\x1b]0;owned\\x07", byName["web-old"].Image, "an image's escapes are made visible")
}

func TestPodMapSaysWhyItHasNoPods(t *testing.T) {
	kube := kubefake.NewClientset()
	kube.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "", errors.New("alice may not list pods"))
	})
	m := podMap(t.Context(), kube.CoreV1(), release("ns", "web", v1alpha1.ReleaseProgressing, 1, v1alpha1.BatchSmoked))
	assert.Empty(t, m.Pods)
	assert.Contains(t, m.Error, "alice may not list pods")
}

func TestTheViewAnswersTheReleaseItsTimelineAndItsPods(t *testing.T) {
	r := manualCanary()
	s, _ := newTestServer(t, r)
	s.pods = kubefake.NewClientset(pod("ns", "web-a", "web", "1", true, true)).CoreV1()
	s.now = func() time.Time { return at(200) }
	rec := serve(t, s, request{target: "/api/releases/ns/web/view"})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var v releaseView
	decode(t, rec.Body, &v)
	assert.Equal(t, "web", v.Release.Name)
	assert.Equal(t, "Release", v.Release.Kind)
	assert.Equal(t, timeline(r, at(200)), v.Timeline)
	require.Len(t, v.Pods.Pods, 1)
	assert.True(t, v.Pods.Pods[0].InTraffic)

	rec = serve(t, s, request{target: "/api/releases/ns/nothing/view"})
	assert.Equal(t, http.StatusNotFound, rec.Code)
}

// A pod whose creator copied the release's labels and an ownerReference to its CloneSet is not one of the
// batch's: the release's status, which only the server writes, says which pods a batch brought.
func TestPodMapTakesTheBatchesFromTheStatusNotFromLabels(t *testing.T) {
	r := release("ns", "web", v1alpha1.ReleaseProgressing, 1, v1alpha1.BatchBaked)
	r.Status.Batches[0].Pods = []v1alpha1.BatchPod{{Name: "web-a"}}
	kube := kubefake.NewClientset(pod("ns", "web-a", "web", "1", true, true), pod("ns", "forged", "web", "1", true, true))
	m := podMap(t.Context(), kube.CoreV1(), r)
	batches := map[string]string{}
	for _, p := range m.Pods {
		batches[p.Name] = p.Batch
	}
	assert.Equal(t, map[string]string{"web-a": "1", "forged": ""}, batches)
}

// In a namespace of many pods, a view reads at most podsScanPages pages of them, and says it stopped.
func TestPodMapReadsABoundedNumberOfPages(t *testing.T) {
	kube := kubefake.NewClientset()
	lists := 0
	kube.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		lists++
		page := &corev1.PodList{ListMeta: metav1.ListMeta{Continue: fmt.Sprintf("after-%d", lists)}}
		for i := 0; i < listPage; i++ {
			page.Items = append(page.Items, *pod("ns", fmt.Sprintf("api-%d-%d", lists, i), "api", "", true, true))
		}
		page.Items = append(page.Items, *pod("ns", fmt.Sprintf("web-%d", lists), "web", "", true, true))
		return true, page, nil
	})
	m := podMap(t.Context(), kube.CoreV1(), release("ns", "web", v1alpha1.ReleaseProgressing, 1, v1alpha1.BatchSmoked))
	assert.Equal(t, podsScanPages, lists)
	assert.Len(t, m.Pods, podsScanPages, "the CloneSet's pods found in the pages read")
	assert.True(t, m.Truncated)
}

// A pod is failing on the map exactly when the release's controller counts it failing: an init container
// that cannot start too, and a failed pod with its reason.
func TestPodMapCallsAPodFailingAsTheControllerDoes(t *testing.T) {
	initCrash := pod("ns", "web-i", "web", "", false, false)
	initCrash.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "setup",
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}}}
	evicted := pod("ns", "web-e", "web", "", false, false)
	evicted.Status.Phase, evicted.Status.Reason = corev1.PodFailed, "Evicted"
	m := podMap(t.Context(), kubefake.NewClientset(initCrash, evicted).CoreV1(), release("ns", "web", v1alpha1.ReleaseProgressing, 1, v1alpha1.BatchSmoked))
	why := map[string]string{}
	for _, p := range m.Pods {
		assert.True(t, p.Failing, p.Name)
		why[p.Name] = p.Why
	}
	assert.Equal(t, map[string]string{"web-i": "container setup: CrashLoopBackOff", "web-e": "the pod failed: Evicted"}, why)
}

// Once the release has recorded its CloneSet's UID, the pods of another CloneSet of the same name (the
// first deleted and made again, or an ownerReference a pod's creator made up) are not on its map.
func TestPodMapShowsOnlyThePodsOfTheReleasesCloneSet(t *testing.T) {
	ours := pod("ns", "web-a", "web", "", true, true)
	ours.OwnerReferences[0].UID = "cloneset-1"
	replaced := pod("ns", "web-z", "web", "", true, true)
	replaced.OwnerReferences[0].UID = "cloneset-2"
	r := release("ns", "web", v1alpha1.ReleaseProgressing, 1, v1alpha1.BatchSmoked)
	r.Status.CloneSet = &v1alpha1.CloneSetObservation{UID: "cloneset-1"}
	m := podMap(t.Context(), kubefake.NewClientset(ours, replaced).CoreV1(), r)
	require.Len(t, m.Pods, 1, "%v", m.Pods)
	assert.Equal(t, "web-a", m.Pods[0].Name)
}
