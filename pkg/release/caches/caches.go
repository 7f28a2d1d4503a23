package caches

import (
	"context"
	"sort"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	kruiseclient "github.com/openkruise/kruise-api/client/clientset/versioned"
	kruiseinformers "github.com/openkruise/kruise-api/client/informers/externalversions"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	kubeinformers "k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/triton-io/triton/pkg/release/cloneset"
)

// ControllerIndex indexes pods and ControllerRevisions by the UID of their controller.
const ControllerIndex = "controller"

// Caches are the server's informers of CloneSets, their pods and their ControllerRevisions: built once,
// started with the server, and shared by the verbs and the controller (every term of leadership). They
// answer cloneset.Reader; until they have synced, a read goes to kube-apiserver.
type Caches struct {
	CloneSetInformer cache.SharedIndexInformer
	PodInformer      cache.SharedIndexInformer
	RevisionInformer cache.SharedIndexInformer
	// EndpointSliceInformer: see endpointslices.go.
	EndpointSliceInformer cache.SharedIndexInformer

	live  cloneset.Live
	start []func(stop <-chan struct{})
}

var _ cloneset.Reader = (*Caches)(nil)

// New builds the informers (not started: see Start) on the given clients.
func New(kruise kruiseclient.Interface, kube kubernetes.Interface) *Caches {
	kruiseFactory := kruiseinformers.NewSharedInformerFactory(kruise, 0)
	kubeFactory := kubeinformers.NewSharedInformerFactory(kube, 0)
	c := &Caches{
		CloneSetInformer: kruiseFactory.Apps().V1alpha1().CloneSets().Informer(),
		// No label selector: see stubs.go.
		PodInformer:           kubeFactory.Core().V1().Pods().Informer(),
		RevisionInformer:      kubeFactory.Apps().V1().ControllerRevisions().Informer(),
		EndpointSliceInformer: kubeFactory.Discovery().V1().EndpointSlices().Informer(),
		live:                  cloneset.Live{Kruise: kruise, Kube: kube},
	}
	// Pods (and revisions) once the CloneSets have synced: the pod transform reads which CloneSets a release
	// drives, and a pod classified on a CloneSet not cached yet would be a stub until its next event.
	c.start = []func(<-chan struct{}){kruiseFactory.Start, func(stop <-chan struct{}) {
		go func() {
			if cache.WaitForCacheSync(stop, c.CloneSetInformer.HasSynced) {
				kubeFactory.Start(stop)
			}
		}()
	}}
	utilruntime.Must(c.CloneSetInformer.SetTransform(TrimCloneSet))
	utilruntime.Must(c.PodInformer.SetTransform(func(obj interface{}) (interface{}, error) {
		return trimOrStub(obj, c.cloneSetOf)
	}))
	utilruntime.Must(c.RevisionInformer.SetTransform(TrimRevision))
	utilruntime.Must(c.EndpointSliceInformer.SetTransform(TrimEndpointSlice))
	utilruntime.Must(c.PodInformer.AddIndexers(byController))
	utilruntime.Must(c.RevisionInformer.AddIndexers(byController))
	return c
}

// byController indexes objects (pods, stubs and revisions alike) by their controller's UID.
var byController = cache.Indexers{ControllerIndex: func(obj interface{}) ([]string, error) {
	o, ok := obj.(metav1.Object)
	if !ok {
		return nil, nil
	}
	if ref := metav1.GetControllerOf(o); ref != nil {
		return []string{string(ref.UID)}, nil
	}
	return nil, nil
}}

// Start starts the informers; they run until stop is closed.
func (c *Caches) Start(stop <-chan struct{}) {
	for _, start := range c.start {
		start(stop)
	}
}

// HasSynced reports whether every informer has listed what there is.
func (c *Caches) HasSynced() bool {
	return c.CloneSetInformer.HasSynced() && c.PodInformer.HasSynced() && c.RevisionInformer.HasSynced()
}

// CloneSet implements cloneset.Reader.
func (c *Caches) CloneSet(ctx context.Context, namespace, name string) (*kruiseappsv1alpha1.CloneSet, error) {
	if !c.CloneSetInformer.HasSynced() {
		return c.live.CloneSet(ctx, namespace, name)
	}
	obj, exists, err := c.CloneSetInformer.GetIndexer().GetByKey(namespace + "/" + name)
	if err != nil || !exists {
		return nil, err
	}
	cs, ok := obj.(*kruiseappsv1alpha1.CloneSet)
	if !ok {
		return nil, nil
	}
	return cs.DeepCopy(), nil
}

// Pods implements cloneset.Reader: the pods indexed under the CloneSet's UID (so it controls them) that its
// selector matches, sorted by name (as a list from kube-apiserver is). When one of them is cached as a stub
// (a CloneSet no release drives, or one a release has just taken hold of: stubs.go), the answer is
// kube-apiserver's: a caller never gets a stub for a pod.
func (c *Caches) Pods(ctx context.Context, cs *kruiseappsv1alpha1.CloneSet) ([]corev1.Pod, error) {
	if !c.PodInformer.HasSynced() {
		return c.live.Pods(ctx, cs)
	}
	selector, err := metav1.LabelSelectorAsSelector(cs.Spec.Selector)
	if err != nil {
		return nil, err
	}
	objs, err := c.PodInformer.GetIndexer().ByIndex(ControllerIndex, string(cs.UID))
	if err != nil {
		return nil, err
	}
	for _, obj := range objs {
		if isStub(obj) {
			return c.live.Pods(ctx, cs)
		}
	}
	pods := make([]corev1.Pod, 0, len(objs))
	for _, obj := range objs {
		p, ok := obj.(*corev1.Pod)
		if !ok || p.Namespace != cs.Namespace || !selector.Matches(labels.Set(p.Labels)) {
			continue
		}
		pods = append(pods, *p.DeepCopy())
	}
	sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	return pods, nil
}

// cloneSetOf returns the cached CloneSet a pod's controller reference names, or nil when the cache holds
// none of that UID.
func (c *Caches) cloneSetOf(namespace string, ref *metav1.OwnerReference) *kruiseappsv1alpha1.CloneSet {
	obj, exists, err := c.CloneSetInformer.GetIndexer().GetByKey(namespace + "/" + ref.Name)
	if err != nil || !exists {
		return nil
	}
	if cs, ok := obj.(*kruiseappsv1alpha1.CloneSet); ok && cs.UID == ref.UID {
		return cs
	}
	return nil
}

// Revisions implements cloneset.Reader.
func (c *Caches) Revisions(ctx context.Context, cs *kruiseappsv1alpha1.CloneSet) ([]appsv1.ControllerRevision, error) {
	if !c.RevisionInformer.HasSynced() {
		return c.live.Revisions(ctx, cs)
	}
	objs, err := c.RevisionInformer.GetIndexer().ByIndex(ControllerIndex, string(cs.UID))
	if err != nil {
		return nil, err
	}
	revs := make([]appsv1.ControllerRevision, 0, len(objs))
	for _, obj := range objs {
		if rev, ok := obj.(*appsv1.ControllerRevision); ok && rev.Namespace == cs.Namespace {
			revs = append(revs, *rev.DeepCopy())
		}
	}
	return cloneset.OwnedRevisions(cs, revs), nil
}

// Revision implements cloneset.Reader. One the cache does not hold (made a moment ago, or never) is read
// from kube-apiserver.
func (c *Caches) Revision(ctx context.Context, namespace, name string) (*appsv1.ControllerRevision, error) {
	if c.RevisionInformer.HasSynced() {
		obj, exists, err := c.RevisionInformer.GetIndexer().GetByKey(namespace + "/" + name)
		if err != nil {
			return nil, err
		}
		if rev, ok := obj.(*appsv1.ControllerRevision); exists && ok && len(rev.Data.Raw) > 0 {
			return rev.DeepCopy(), nil
		}
	}
	return c.live.Revision(ctx, namespace, name)
}
