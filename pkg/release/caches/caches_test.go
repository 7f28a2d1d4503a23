package caches

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	kruisefake "github.com/openkruise/kruise-api/client/clientset/versioned/fake"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"
)

var yes = true

func controlledBy(kind, apiVersion, name string, uid types.UID) []metav1.OwnerReference {
	return []metav1.OwnerReference{{Kind: "Node", Name: "n"}, {Kind: kind, APIVersion: apiVersion, Name: name, UID: uid, Controller: &yes}}
}

func pod(ns, name string, owners []metav1.OwnerReference) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, UID: types.UID("uid-" + name), ResourceVersion: "7",
			Labels:      map[string]string{"app": "nginx", "apps.triton.io/hold": "true"},
			Annotations: map[string]string{"big": strings.Repeat("x", 4096)}, OwnerReferences: owners,
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubelet"}}},
		Spec: corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "nginx", Image: "nginx:1.28"}},
			ReadinessGates: []corev1.PodReadinessGate{{ConditionType: "apps.triton.io/ready"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.1",
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue},
				{Type: "KruisePodReady", Status: corev1.ConditionFalse, Message: `{"userNotReadyKeys":["triton"]}`}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "nginx", Ready: true, RestartCount: 2, Image: "nginx:1.28",
				ImageID: "sha256:abc", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}},
	}
}

// A CloneSet's pod keeps what a release reads; any other pod only what wakes one.
func TestTrimPodKeepsWhatAReleaseReads(t *testing.T) {
	p := pod("shop", "nginx-1", controlledBy("CloneSet", "apps.kruise.io/v1alpha1", "nginx", "cs-uid"))
	obj, err := TrimPod(p.DeepCopy())
	require.NoError(t, err)
	kept := obj.(*corev1.Pod)
	assert.Equal(t, p.Labels, kept.Labels)
	assert.Equal(t, p.Status.Conditions, kept.Status.Conditions, "KruisePodReady's message is written back: kept whole")
	assert.Equal(t, p.Spec.ReadinessGates, kept.Spec.ReadinessGates)
	assert.Equal(t, "10.0.0.1", kept.Status.PodIP)
	assert.Equal(t, corev1.PodRunning, kept.Status.Phase)
	assert.Equal(t, []corev1.ContainerStatus{{Name: "nginx", Ready: true, RestartCount: 2,
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}, kept.Status.ContainerStatuses)
	assert.Equal(t, "cs-uid", string(metav1.GetControllerOf(kept).UID))
	assert.Len(t, kept.OwnerReferences, 1, "only the controller reference")
	assert.Nil(t, kept.Annotations)
	assert.Nil(t, kept.ManagedFields)
	assert.Nil(t, kept.Spec.Containers)

	// A Deployment's pod, and a CloneSet of another group: identity and controller alone.
	for _, owners := range [][]metav1.OwnerReference{
		controlledBy("ReplicaSet", "apps/v1", "web-1", "rs-uid"),
		controlledBy("CloneSet", "example.com/v1", "lookalike", "other-uid"),
	} {
		obj, err = TrimPod(pod("shop", "web-1", owners))
		require.NoError(t, err)
		assert.Equal(t, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "shop", UID: "uid-web-1",
			ResourceVersion: "7", OwnerReferences: owners[1:]}}, obj)
	}

	tomb := cache.DeletedFinalStateUnknown{Key: "shop/nginx-1", Obj: kept}
	same, err := TrimPod(tomb)
	require.NoError(t, err)
	assert.Equal(t, tomb, same)
}

func TestTrimRevisionKeepsACloneSetsRevisionsOnly(t *testing.T) {
	rev := &appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: "nginx-abc", Namespace: "shop",
		OwnerReferences: controlledBy("CloneSet", "apps.kruise.io/v1alpha1", "nginx", "cs-uid"),
		ManagedFields:   []metav1.ManagedFieldsEntry{{Manager: "kruise"}}}, Revision: 3}
	rev.Data.Raw = []byte(`{"spec":{"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:1.28"}]}}}}`)
	obj, err := TrimRevision(rev.DeepCopy())
	require.NoError(t, err)
	kept := obj.(*appsv1.ControllerRevision)
	assert.Nil(t, kept.ManagedFields)
	assert.Equal(t, rev.Data.Raw, kept.Data.Raw)
	assert.Equal(t, int64(3), kept.Revision)

	sts := rev.DeepCopy()
	sts.OwnerReferences = controlledBy("StatefulSet", "apps/v1", "db", "sts-uid")
	obj, err = TrimRevision(sts)
	require.NoError(t, err)
	assert.Nil(t, obj.(*appsv1.ControllerRevision).Data.Raw)
}

// The caches answer as kube-apiserver would: a CloneSet's pods (its controller UID and its selector, sorted by
// name), its revisions oldest first, nil for a CloneSet there is not; and what they return is the caller's.
func TestCachesReadLikeKubeAPIServer(t *testing.T) {
	cs := &kruiseappsv1alpha1.CloneSet{ObjectMeta: metav1.ObjectMeta{Name: "nginx", Namespace: "shop", UID: "cs-uid"},
		Spec: kruiseappsv1alpha1.CloneSetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "nginx"}}}}
	mine := controlledBy("CloneSet", "apps.kruise.io/v1alpha1", "nginx", "cs-uid")
	other := controlledBy("CloneSet", "apps.kruise.io/v1alpha1", "nginx", "old-uid") // a deleted namesake's pod
	strayLabels := pod("shop", "nginx-0", mine)
	strayLabels.Labels = map[string]string{"app": "other"}
	revision := func(name string, n int64) *appsv1.ControllerRevision {
		return &appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", OwnerReferences: mine}, Revision: n,
			Data: runtimeRaw(`{"spec":{"template":{"metadata":{"labels":{"app":"nginx"}}}}}`)}
	}
	kube := kubefake.NewClientset(pod("shop", "nginx-c", mine), pod("shop", "nginx-a", mine), pod("shop", "nginx-b", other),
		strayLabels, pod("elsewhere", "nginx-d", mine), revision("nginx-2", 2), revision("nginx-1", 1))
	kruise := kruisefake.NewSimpleClientset(cs)
	c := New(kruise, kube)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c.Start(ctx.Done())
	require.True(t, cache.WaitForCacheSync(ctx.Done(), c.HasSynced))

	got, err := c.CloneSet(ctx, "shop", "nginx")
	require.NoError(t, err)
	require.NotNil(t, got)
	got.Annotations = map[string]string{"changed": "by the caller"}
	again, err := c.CloneSet(ctx, "shop", "nginx")
	require.NoError(t, err)
	assert.Nil(t, again.Annotations, "a caller's change does not reach the cache")
	missing, err := c.CloneSet(ctx, "shop", "absent")
	require.NoError(t, err)
	assert.Nil(t, missing)

	pods, err := c.Pods(ctx, cs)
	require.NoError(t, err)
	var names []string
	for _, p := range pods {
		names = append(names, p.Name)
	}
	assert.Equal(t, []string{"nginx-a", "nginx-c"}, names)
	pods[0].Labels["apps.triton.io/hold"] = "changed"
	pods, err = c.Pods(ctx, cs)
	require.NoError(t, err)
	assert.Equal(t, "true", pods[0].Labels["apps.triton.io/hold"], "a caller's change does not reach the cache")

	revs, err := c.Revisions(ctx, cs)
	require.NoError(t, err)
	require.Len(t, revs, 2)
	assert.Equal(t, []string{"nginx-1", "nginx-2"}, []string{revs[0].Name, revs[1].Name})
	rev, err := c.Revision(ctx, "shop", "nginx-2")
	require.NoError(t, err)
	assert.Equal(t, int64(2), rev.Revision)
	_, err = c.Revision(ctx, "shop", "nginx-9")
	assert.True(t, apierrors.IsNotFound(err), "a revision there is not: %v", err)
}

// Until the caches have synced, every read goes to kube-apiserver.
func TestCachesReadLiveUntilSynced(t *testing.T) {
	cs := &kruiseappsv1alpha1.CloneSet{ObjectMeta: metav1.ObjectMeta{Name: "nginx", Namespace: "shop", UID: "cs-uid"},
		Spec: kruiseappsv1alpha1.CloneSetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "nginx"}}}}
	c := New(kruisefake.NewSimpleClientset(cs), kubefake.NewClientset(pod("shop", "nginx-a",
		controlledBy("CloneSet", "apps.kruise.io/v1alpha1", "nginx", "cs-uid"))))
	ctx := context.Background()
	got, err := c.CloneSet(ctx, "shop", "nginx")
	require.NoError(t, err)
	require.NotNil(t, got, "not started: read live")
	pods, err := c.Pods(ctx, cs)
	require.NoError(t, err)
	require.Len(t, pods, 1)
	assert.Equal(t, "sha256:abc", pods[0].Status.ContainerStatuses[0].ImageID, "the live pod, untrimmed")
}

func runtimeRaw(s string) runtime.RawExtension { return runtime.RawExtension{Raw: []byte(s)} }

// kruise-api's generated informers do not tell client-go that a fake clientset cannot stream a watch-list
// (kube-apiserver can): without this their fakes never sync.
func TestMain(m *testing.M) {
	_ = os.Setenv("KUBE_FEATURE_WatchListClient", "false")
	os.Exit(m.Run())
}
