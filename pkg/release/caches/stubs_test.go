package caches

import (
	"context"
	"testing"
	"time"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	kruisefake "github.com/openkruise/kruise-api/client/clientset/versioned/fake"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

// unmarked is pod() without any of Triton's marks: a CloneSet's pod as kruise makes it.
func unmarked(ns, name string, owners []metav1.OwnerReference) *corev1.Pod {
	p := pod(ns, name, owners)
	delete(p.Labels, v1alpha1.HoldLabel)
	p.Spec.ReadinessGates = nil
	return p
}

func nginxCloneSet(annotations, labels map[string]string) *kruiseappsv1alpha1.CloneSet {
	return &kruiseappsv1alpha1.CloneSet{ObjectMeta: metav1.ObjectMeta{Name: "nginx", Namespace: "shop", UID: "cs-uid",
		Annotations: annotations, Labels: labels},
		Spec: kruiseappsv1alpha1.CloneSetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "nginx"}}}}
}

// The transform keeps whole (trimmed) the pods a release can act on, and a stub of any other.
func TestOnlyPodsAReleaseCanActOnAreCachedWhole(t *testing.T) {
	mine := controlledBy("CloneSet", "apps.kruise.io/v1alpha1", "nginx", "cs-uid")
	undriven := nginxCloneSet(nil, nil)
	named := nginxCloneSet(map[string]string{v1alpha1.OwnerAnnotation: "nginx-update"}, nil)
	held := nginxCloneSet(nil, map[string]string{v1alpha1.PullInLabel: "true"})
	namesake := nginxCloneSet(map[string]string{v1alpha1.OwnerAnnotation: "nginx-update"}, nil)
	namesake.UID = "other-uid"
	withLabel := func(key string) func(*corev1.Pod) { return func(p *corev1.Pod) { p.Labels[key] = "x" } }
	for name, c := range map[string]struct {
		edit     func(*corev1.Pod)
		owners   []metav1.OwnerReference
		cloneSet *kruiseappsv1alpha1.CloneSet
		whole    bool
	}{
		"kruise's pod, no release":   {owners: mine, cloneSet: undriven},
		"kruise's pod, not cached":   {owners: mine},
		"the hold label":             {edit: withLabel(v1alpha1.HoldLabel), owners: mine, cloneSet: undriven, whole: true},
		"the release label":          {edit: withLabel(v1alpha1.ReleaseLabel), owners: mine, cloneSet: undriven, whole: true},
		"the batch label":            {edit: withLabel(v1alpha1.BatchLabel), owners: mine, cloneSet: undriven, whole: true},
		"a label of another project": {edit: withLabel("apps.kruise.io/hold"), owners: mine, cloneSet: undriven},
		"the readiness gate": {edit: func(p *corev1.Pod) {
			p.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "KruisePodReady"}, {ConditionType: v1alpha1.ReadinessGate}}
		}, owners: mine, cloneSet: undriven, whole: true},
		"the gate's condition without the gate": {edit: func(p *corev1.Pod) {
			p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: v1alpha1.ReadinessGate, Status: corev1.ConditionFalse})
		}, owners: mine, cloneSet: undriven, whole: true},
		"triton's not-ready key": {edit: func(p *corev1.Pod) {
			p.Status.Conditions[1].Message = `[{"userAgent":"triton","key":"releases.triton.io/blue-green"}]`
		}, owners: mine, cloneSet: undriven, whole: true},
		"another not-ready key": {edit: func(p *corev1.Pod) {
			p.Status.Conditions[1].Message = `[{"userAgent":"other","key":"releases.triton.io/blue-green-lookalike"}]`
		}, owners: mine, cloneSet: undriven},
		"a CloneSet a release names":  {owners: mine, cloneSet: named, whole: true},
		"a CloneSet held for pull-in": {owners: mine, cloneSet: held, whole: true},
		"a namesake a release names":  {owners: mine, cloneSet: namesake},
		"a Deployment's pod, marked": {edit: withLabel(v1alpha1.HoldLabel),
			owners: controlledBy("ReplicaSet", "apps/v1", "web-1", "rs-uid")},
		"a lookalike CloneSet's pod, marked": {edit: withLabel(v1alpha1.HoldLabel),
			owners: controlledBy("CloneSet", "example.com/v1", "nginx", "cs-uid"), cloneSet: named},
		"no controller": {owners: []metav1.OwnerReference{{Kind: "Node", Name: "n"}}},
	} {
		t.Run(name, func(t *testing.T) {
			p := unmarked("shop", "nginx-1", c.owners)
			if c.edit != nil {
				c.edit(p)
			}
			lookups := 0
			obj, err := trimOrStub(p.DeepCopy(), func(namespace string, ref *metav1.OwnerReference) *kruiseappsv1alpha1.CloneSet {
				lookups++
				if c.cloneSet != nil && namespace == c.cloneSet.Namespace && ref.Name == c.cloneSet.Name && ref.UID == c.cloneSet.UID {
					return c.cloneSet
				}
				return nil
			})
			require.NoError(t, err)
			assert.LessOrEqual(t, lookups, 1)
			if c.whole {
				want, err := TrimPod(p.DeepCopy())
				require.NoError(t, err)
				assert.Equal(t, want, obj)
				assert.False(t, isStub(obj))
				return
			}
			require.True(t, isStub(obj), "a stub, not %T", obj)
			want := &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
				ObjectMeta: metav1.ObjectMeta{Name: "nginx-1", Namespace: "shop", UID: "uid-nginx-1", ResourceVersion: "7"}}
			if ref := metav1.GetControllerOf(p); ref != nil {
				want.OwnerReferences = []metav1.OwnerReference{*ref}
			}
			assert.Equal(t, want, obj)
		})
	}
}

// A tombstone (a delete the watch missed) is passed on as it is: its pod was classified when cached.
func TestTombstonesPassThrough(t *testing.T) {
	stub := podStub(unmarked("shop", "nginx-1", controlledBy("CloneSet", "apps.kruise.io/v1alpha1", "nginx", "cs-uid")), nil, nil)
	for _, obj := range []interface{}{stub, pod("shop", "nginx-2", nil)} {
		tomb := cache.DeletedFinalStateUnknown{Key: "shop/x", Obj: obj}
		got, err := trimOrStub(tomb, func(string, *metav1.OwnerReference) *kruiseappsv1alpha1.CloneSet {
			t.Fatal("a tombstone's CloneSet is not looked up")
			return nil
		})
		require.NoError(t, err)
		assert.Equal(t, tomb, got)
	}
}

// podLists counts the lists of pods a fake clientset answered.
func podLists(kube *kubefake.Clientset) int {
	n := 0
	for _, a := range kube.Actions() {
		if a.GetVerb() == "list" && a.GetResource().Resource == "pods" {
			if _, watch := a.(k8stesting.WatchAction); !watch {
				n++
			}
		}
	}
	return n
}

// cachedPod is what the pod cache holds for shop/name, once it satisfies ok.
func cachedPod(t *testing.T, c *Caches, name string, ok func(interface{}) bool) interface{} {
	t.Helper()
	var obj interface{}
	require.Eventually(t, func() bool {
		var exists bool
		obj, exists, _ = c.PodInformer.GetIndexer().GetByKey("shop/" + name)
		return exists && ok(obj)
	}, 10*time.Second, 10*time.Millisecond)
	return obj
}

func started(t *testing.T, kruise *kruisefake.Clientset, kube *kubefake.Clientset) *Caches {
	t.Helper()
	c := New(kruise, kube)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	c.Start(ctx.Done())
	require.True(t, cache.WaitForCacheSync(ctx.Done(), c.HasSynced))
	kube.ClearActions()
	return c
}

// While one of a CloneSet's pods is a stub, Pods answers from kube-apiserver: whole pods, the stub's
// included. Once the pod carries a mark (prepare's hold label), its next event caches it whole and Pods
// answers from the cache again.
func TestPodsOfACloneSetWithAStubAreReadLive(t *testing.T) {
	cs := nginxCloneSet(nil, nil)
	mine := controlledBy("CloneSet", "apps.kruise.io/v1alpha1", "nginx", "cs-uid")
	kube := kubefake.NewClientset(pod("shop", "nginx-a", mine), unmarked("shop", "nginx-b", mine))
	c := started(t, kruisefake.NewSimpleClientset(cs), kube)
	ctx := context.Background()

	require.True(t, isStub(cachedPod(t, c, "nginx-b", func(interface{}) bool { return true })))
	pods, err := c.Pods(ctx, cs)
	require.NoError(t, err)
	require.Len(t, pods, 2)
	assert.Equal(t, []string{"nginx-a", "nginx-b"}, []string{pods[0].Name, pods[1].Name})
	assert.Equal(t, "sha256:abc", pods[1].Status.ContainerStatuses[0].ImageID, "the live pod, not a stub")
	assert.Equal(t, 1, podLists(kube), "read live")

	held := unmarked("shop", "nginx-b", mine)
	held.Labels[v1alpha1.HoldLabel] = "true"
	held.ResourceVersion = "8"
	_, err = kube.CoreV1().Pods("shop").Update(ctx, held, metav1.UpdateOptions{})
	require.NoError(t, err)
	cachedPod(t, c, "nginx-b", func(obj interface{}) bool { return !isStub(obj) })
	kube.ClearActions()
	pods, err = c.Pods(ctx, cs)
	require.NoError(t, err)
	require.Len(t, pods, 2)
	assert.Equal(t, "true", pods[1].Labels[v1alpha1.HoldLabel])
	assert.Empty(t, pods[1].Status.ContainerStatuses[0].ImageID, "trimmed: from the cache")
	assert.Zero(t, podLists(kube), "read from the cache")

	// The mark gone (the release let go and its pods were never its own), the pod is a stub again.
	_, err = kube.CoreV1().Pods("shop").Update(ctx, unmarked("shop", "nginx-b", mine), metav1.UpdateOptions{})
	require.NoError(t, err)
	cachedPod(t, c, "nginx-b", isStub)
	pods, err = c.Pods(ctx, cs)
	require.NoError(t, err)
	assert.Len(t, pods, 2)
	assert.Equal(t, 1, podLists(kube), "read live")
}

// The pods of a CloneSet a release drives are cached whole from the first list, marked or not: the pod
// informer starts once the CloneSets are cached.
func TestPodsOfADrivenCloneSetAreCachedWhole(t *testing.T) {
	cs := nginxCloneSet(map[string]string{v1alpha1.OwnerAnnotation: "nginx-update"}, nil)
	mine := controlledBy("CloneSet", "apps.kruise.io/v1alpha1", "nginx", "cs-uid")
	kube := kubefake.NewClientset(unmarked("shop", "nginx-a", mine), unmarked("shop", "nginx-b", mine),
		unmarked("shop", "other-a", controlledBy("CloneSet", "apps.kruise.io/v1alpha1", "other", types.UID("other-uid"))))
	c := started(t, kruisefake.NewSimpleClientset(cs), kube)

	pods, err := c.Pods(context.Background(), cs)
	require.NoError(t, err)
	assert.Len(t, pods, 2)
	assert.Zero(t, podLists(kube), "read from the cache")
	assert.True(t, isStub(cachedPod(t, c, "other-a", func(interface{}) bool { return true })), "another CloneSet's pod")
}
