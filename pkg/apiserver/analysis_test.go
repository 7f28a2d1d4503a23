package apiserver

import (
	"context"
	"os"
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
	"k8s.io/client-go/tools/cache"

	"github.com/triton-io/triton/pkg/analysis/runner"
	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/release/caches"
	"github.com/triton-io/triton/pkg/release/cloneset"
)

// kruise-api's generated informers do not tell client-go that a fake clientset cannot stream a watch-list
// (kube-apiserver can): without this their fakes never sync.
func TestMain(m *testing.M) {
	_ = os.Setenv("KUBE_FEATURE_WatchListClient", "false")
	os.Exit(m.Run())
}

// pod is a pod of CloneSet web (which no release drives) in namespace ns, with labels and restarts.
func pod(ns, name string, labels map[string]string, restarts int32) *corev1.Pod {
	yes := true
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels, UID: types.UID("uid-" + name),
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps.kruise.io/v1alpha1", Kind: "CloneSet",
				Name: "web", UID: "cs-uid", Controller: &yes}}},
		Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Name: "app", RestartCount: restarts,
			Image: "web:2", ImageID: "sha256:abc"}}},
	}
}

// The pods of a batch, as podHealth reads them from the server's caches: a pod with the release's labels
// is kept trimmed with its labels and restarts, whatever its CloneSet; other pods (stubs) never match.
func TestPodHealthReadsTheCachedPodsOfABatch(t *testing.T) {
	batch1 := map[string]string{v1alpha1.ReleaseLabel: "web-v2", v1alpha1.BatchLabel: "1"}
	cs := &kruiseappsv1alpha1.CloneSet{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", UID: "cs-uid"}}
	kube := kubefake.NewClientset(
		pod("shop", "web-a", batch1, 0),
		pod("shop", "web-b", batch1, 0),
		pod("shop", "web-c", map[string]string{v1alpha1.ReleaseLabel: "web-v2", v1alpha1.BatchLabel: "2"}, 0),
		pod("shop", "web-d", nil, 7), // a stub in the cache
		pod("bank", "web-e", batch1, 8),
	)
	c := caches.New(kruisefake.NewSimpleClientset(cs), kube)
	pods := cachedPods(c.PodInformer)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	checks := &runner.Checks{Pods: pods}
	r := &releases.Release{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-v2"}}
	r.Spec.Action = releases.ActionUpdate
	maxRestarts := int32(2)
	due := runner.Due{Batch: 1, Check: releases.AnalysisCheck{Name: "pods",
		PodHealth: &releases.PodHealthCheck{MaxRestarts: &maxRestarts}}}

	m := checks.Measure(ctx, r, due)
	assert.Equal(t, releases.AnalysisError, m.Phase, "not synced yet")

	c.Start(ctx.Done())
	require.True(t, cache.WaitForCacheSync(ctx.Done(), c.HasSynced))
	// podHealth counts restarts in traffic, from its first measurement of each pod: that first, then the
	// restarts, as the cache sees them.
	for _, batch := range []int32{1, 2} {
		due.Batch = batch
		assert.Equal(t, "0", checks.Measure(ctx, r, due).Value)
	}
	due.Batch = 1
	restarted := map[string]int32{"web-b": 3, "web-c": 9}
	for name, restarts := range restarted {
		p, err := kube.CoreV1().Pods("shop").Get(ctx, name, metav1.GetOptions{})
		require.NoError(t, err)
		p.Status.ContainerStatuses[0].RestartCount = restarts
		_, err = kube.CoreV1().Pods("shop").UpdateStatus(ctx, p, metav1.UpdateOptions{})
		require.NoError(t, err)
	}
	// Every update in the cache (a map's order is random: waiting for one pod is not waiting for both).
	require.Eventually(t, func() bool {
		for name, restarts := range restarted {
			obj, ok, _ := c.PodInformer.GetIndexer().GetByKey("shop/" + name)
			if !ok || obj.(*corev1.Pod).Status.ContainerStatuses[0].RestartCount != restarts {
				return false
			}
		}
		return true
	}, 5*time.Second, 10*time.Millisecond)
	m = checks.Measure(ctx, r, due)
	assert.Equal(t, releases.AnalysisFailed, m.Phase)
	assert.Equal(t, "3", m.Value)
	assert.Equal(t, "pod web-b restarted 3 times in traffic; at most 2 (maxRestarts 2, the others 0 a pod)", m.Message)
	due.Batch = 2
	assert.Equal(t, "9", checks.Measure(ctx, r, due).Value)
	due.Batch = 3
	assert.Equal(t, "no pod of batch 3 yet", checks.Measure(ctx, r, due).Message)
}

// Complete fills in what Analysis leaves unset, in a copy.
func TestCompleteFillsInTheAnalysis(t *testing.T) {
	kube := kubefake.NewClientset()
	c := caches.New(kruisefake.NewSimpleClientset(), kube)
	given := &runner.Checks{NamespaceLabel: "kubernetes_namespace"}
	cfg := &Config{Analysis: given, Caches: c}
	got := cfg.completeAnalysis(&cloneset.Driver{Kube: kube})
	assert.Equal(t, "kubernetes_namespace", got.NamespaceLabel)
	assert.Same(t, kube, got.Kube)
	assert.NotNil(t, got.HTTP)
	assert.NotNil(t, got.Pods)
	assert.Nil(t, got.Prometheus)
	assert.Nil(t, given.Kube, "the config's own is left as it is")

	got = (&Config{}).completeAnalysis(nil)
	require.NotNil(t, got, "never nil")
	assert.Nil(t, got.Pods)
	assert.NotNil(t, got.HTTP)
}
