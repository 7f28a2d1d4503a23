package apiserver

import (
	"errors"
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"
)

// errPodsNotSynced is the answer of cachedPods before the pod informer has listed the cluster's pods (the
// controller, which asks for measurements, starts only once it has).
var errPodsNotSynced = errors.New("the server's cache of pods has not synced yet")

// cachedPods lists, for podHealth checks, the pods of a namespace that a selector matches from the caches'
// pod informer (pkg/release/caches). A pod a release brought carries its release and batch labels, so the
// informer keeps it trimmed (caches.TrimPod: labels and container restarts kept), never as a stub; a stub,
// which has no labels, is never listed. The pods are the cache's own: only read.
func cachedPods(informer cache.SharedIndexInformer) func(namespace string, selector labels.Selector) ([]*corev1.Pod, error) {
	return func(namespace string, selector labels.Selector) ([]*corev1.Pod, error) {
		if !informer.HasSynced() {
			return nil, errPodsNotSynced
		}
		objs, err := informer.GetIndexer().ByIndex(cache.NamespaceIndex, namespace)
		if err != nil {
			return nil, err
		}
		var pods []*corev1.Pod
		for _, obj := range objs {
			if p, ok := obj.(*corev1.Pod); ok && selector.Matches(labels.Set(p.Labels)) {
				pods = append(pods, p)
			}
		}
		sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
		return pods, nil
	}
}
