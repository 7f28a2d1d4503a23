package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	"github.com/triton-io/triton/pkg/analysis/runner"
	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/apis/releases/install"
	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/generated/clientset/versioned"
	releaseinformers "github.com/triton-io/triton/pkg/generated/informers/externalversions"
	releaselisters "github.com/triton-io/triton/pkg/generated/listers/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/metrics"
	"github.com/triton-io/triton/pkg/release/caches"
	"github.com/triton-io/triton/pkg/release/cloneset"
	"github.com/triton-io/triton/pkg/release/moves"
	"github.com/triton-io/triton/pkg/release/plan"
)

// cloneSetIndex finds the releases of a CloneSet: "namespace/cloneSetName".
const cloneSetIndex = "cloneSet"

var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	install.Install(s)
	return s
}()

// Controller reconciles releases.
type Controller struct {
	releases versioned.Interface
	driver   *cloneset.Driver
	lister   releaselisters.ReleaseLister
	indexer  cache.Indexer
	queue    workqueue.TypedRateLimitingInterface[string]
	synced   []cache.InformerSynced
	start    func(stop <-chan struct{})
	now      func() metav1.Time
	// cloneSets is the CloneSet cache: which release a CloneSet's owner annotation names.
	cloneSets cache.Indexer
	recorder  record.EventRecorder
	stopRec   func()
	// stopHandlers removes the controller's handlers from the shared informers.
	stopHandlers func()
	// cues holds, per release key, when the first pod or CloneSet event since its last reconcile began
	// woke it (metrics.ObserveReaction).
	cues cues
	// own tells the events of the controller's own status writes, which wake nothing once the reconcile
	// that made them went the whole way.
	own ownWrites
	// ownPods tells the events of its own pod writes, which wake nothing.
	ownPods ownPodWrites
	// status, when set, stores a release's status in-process; nil: through the releases client.
	status StatusWriter
	// analysis takes the measurements of releases' checks; nil: none is taken (WithAnalysis).
	analysis *runner.Runner
}

// StatusWriter stores the status of a release (its resourceVersion a precondition) in the server's own
// storage, in-process.
type StatusWriter interface {
	WriteStatus(ctx context.Context, r *releases.Release) (*releases.Release, error)
}

// statusWriteTimeout bounds an in-process status write: one that waits on an etcd that does not answer
// fails, and the release is tried again, rather than holding a worker.
const statusWriteTimeout = 30 * time.Second

// WithStatusWriter makes the controller write statuses through w rather than through its client.
func (c *Controller) WithStatusWriter(w StatusWriter) *Controller {
	c.status = w
	return c
}

// New wires the informers: of releases (through the server's own loopback client), and the server's caches
// of CloneSets and pods (built once, shared with the verbs, and started by the server; nil: the controller
// builds and starts its own). The driver should read from the same caches (its Cache).
func New(client versioned.Interface, driver *cloneset.Driver, informers *caches.Caches) *Controller {
	relFactory := releaseinformers.NewSharedInformerFactory(client, 0)
	relInformer := relFactory.Releases().V1alpha1().Releases()
	own := informers == nil
	if own {
		informers = caches.New(driver.Kruise, driver.Kube)
	}

	c := &Controller{
		releases: client,
		driver:   driver,
		lister:   relInformer.Lister(),
		indexer:  relInformer.Informer().GetIndexer(),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: QueueName}),
		now: metav1.Now,
	}
	c.cloneSets = informers.CloneSetInformer.GetIndexer()
	c.recorder, c.stopRec = NewRecorder(driver.Kube)
	utilruntime.Must(relInformer.Informer().AddIndexers(cache.Indexers{cloneSetIndex: func(obj interface{}) ([]string, error) {
		r := obj.(*v1alpha1.Release)
		return []string{r.Namespace + "/" + r.Spec.CloneSetName}, nil
	}}))
	_, _ = relInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueueRelease,
		UpdateFunc: c.releaseUpdated,
		DeleteFunc: func(obj interface{}) {
			if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
				c.own.forget(key)
			}
		},
	})
	csHandler, err := informers.CloneSetInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj interface{}) { c.enqueueCloneSet(obj) },
		UpdateFunc: func(old, obj interface{}) {
			if readChanged(old, obj) {
				c.enqueueCloneSet(obj)
			}
		},
		DeleteFunc: func(obj interface{}) { c.enqueueCloneSet(obj) },
	})
	utilruntime.Must(err)
	driver.OnPodWrite = c.ownPods.wrote
	podHandler, err := informers.PodInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.enqueuePod,
		UpdateFunc: func(old, obj interface{}) {
			if !readChanged(old, obj) {
				return
			}
			if o, ok := old.(*corev1.Pod); ok {
				if n, ok := obj.(*corev1.Pod); ok && c.ownPods.own(o, n) {
					return
				}
			}
			c.enqueuePod(obj)
		},
		DeleteFunc: func(obj interface{}) {
			if p, ok := obj.(*corev1.Pod); ok {
				c.ownPods.forget(p)
			}
			c.enqueuePod(obj)
		},
	})
	utilruntime.Must(err)
	// Not waited for (see caches.EndpointSlices): without it, a drain reads EndpointSlices live and is
	// woken by its pods' events and the 1 s look again.
	var slicesHandler cache.ResourceEventHandlerRegistration
	if informers.EndpointSliceInformer != nil {
		slicesHandler, err = informers.EndpointSliceInformer.AddEventHandler(c.endpointsHandler(informers.PodInformer.GetIndexer()))
		utilruntime.Must(err)
	}
	c.synced = []cache.InformerSynced{relInformer.Informer().HasSynced, informers.HasSynced, csHandler.HasSynced, podHandler.HasSynced}
	c.start = func(stop <-chan struct{}) {
		relFactory.Start(stop)
		if own {
			informers.Start(stop)
		}
	}
	// The shared informers outlive this controller (a term of leadership): its handlers go with it.
	c.stopHandlers = func() {
		_ = informers.CloneSetInformer.RemoveEventHandler(csHandler)
		_ = informers.PodInformer.RemoveEventHandler(podHandler)
		if slicesHandler != nil {
			_ = informers.EndpointSliceInformer.RemoveEventHandler(slicesHandler)
		}
	}
	return c
}

// releaseUpdated wakes the release on a change, unless the change is a status write of the controller's
// own that the reconcile which made it had decided on (ownWrites).
func (c *Controller) releaseUpdated(old, obj interface{}) {
	// Every change of a release, by a call or by the controller, passes here: the batch timings.
	if o, ok := old.(*v1alpha1.Release); ok {
		if r, ok := obj.(*v1alpha1.Release); ok {
			metrics.ObserveReleaseUpdate(o, r)
			if key, err := cache.MetaNamespaceKeyFunc(r); err == nil && !c.own.event(key, r.ResourceVersion) {
				return
			}
		}
	}
	c.enqueueRelease(obj)
}

func (c *Controller) enqueueRelease(obj interface{}) {
	if key, err := cache.MetaNamespaceKeyFunc(obj); err == nil {
		c.queue.Add(key)
	}
}

func (c *Controller) enqueueCloneSetKey(namespace, name string) {
	objs, err := c.indexer.ByIndex(cloneSetIndex, namespace+"/"+name)
	if err != nil {
		return
	}
	rels := make([]*v1alpha1.Release, 0, len(objs))
	for _, obj := range objs {
		if r, ok := obj.(*v1alpha1.Release); ok {
			rels = append(rels, r)
		}
	}
	owner := ""
	if c.cloneSets != nil {
		if obj, exists, err := c.cloneSets.GetByKey(namespace + "/" + name); err == nil && exists {
			if cs, ok := obj.(*kruiseappsv1alpha1.CloneSet); ok {
				owner = cs.Annotations[v1alpha1.OwnerAnnotation]
			}
		}
	}
	now := time.Now()
	for _, r := range Woken(rels, owner) {
		if key, err := cache.MetaNamespaceKeyFunc(r); err == nil {
			c.cues.note(key, now)
			c.queue.Add(key)
		}
	}
}

// Woken are the releases of one CloneSet that an event of the CloneSet or of one of its pods concerns:
// those not finished; finished ones that still have work (a canceled one draining its pods, one being
// deleted, the one the CloneSet's owner annotation still names); and, when every release has finished,
// the newest, which looks after the CloneSet's stray pods. The rest (every release the CloneSet ever had)
// sleep through its pods' events.
func Woken(rels []*v1alpha1.Release, owner string) []*v1alpha1.Release {
	var out []*v1alpha1.Release
	var newest *v1alpha1.Release
	running := false
	for _, r := range rels {
		phase := releases.ReleasePhase(r.Status.Phase)
		// A release that lost its CloneSet runs no more, and does not look after the CloneSet there now.
		gone := lostCloneSet(r)
		finished := plan.Finished(phase) || gone
		// plan.Reverting, on the external type: canceled after it started, pulling in, not yet Reverted.
		draining := phase == releases.ReleaseCanceled && r.Status.CurrentBatch > 0 && !r.Spec.Strategy.NoPullIn &&
			!meta.IsStatusConditionTrue(r.Status.Conditions, v1alpha1.ConditionReverted)
		if !finished {
			running = true
		} else if !gone && (newest == nil || r.CreationTimestamp.After(newest.CreationTimestamp.Time) ||
			(r.CreationTimestamp.Equal(&newest.CreationTimestamp) && r.Name > newest.Name)) {
			newest = r
		}
		if !finished || draining || r.DeletionTimestamp != nil || (owner != "" && r.Name == owner) {
			out = append(out, r)
		}
	}
	if !running && newest != nil && !slices.Contains(out, newest) {
		out = append(out, newest)
	}
	return out
}

// lostCloneSet is plan.Lost on the external type: the release lost its CloneSet (replaced or deleted).
func lostCloneSet(r *v1alpha1.Release) bool {
	for _, t := range []string{v1alpha1.ConditionFailed, v1alpha1.ConditionReverted} {
		if c := meta.FindStatusCondition(r.Status.Conditions, t); c != nil && c.Status == metav1.ConditionTrue && plan.IsLostReason(c.Reason) {
			return true
		}
	}
	return false
}

func (c *Controller) enqueueCloneSet(obj interface{}) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	if cs, ok := obj.(*kruiseappsv1alpha1.CloneSet); ok {
		c.enqueueCloneSetKey(cs.Namespace, cs.Name)
	}
}

func (c *Controller) enqueuePod(obj interface{}) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if ref := metav1.GetControllerOf(pod); ref != nil && ref.Kind == "CloneSet" {
		c.enqueueCloneSetKey(pod.Namespace, ref.Name)
	}
}

// Run reconciles until ctx is done. While it runs, triton_releases and the per-release series
// (pkg/metrics) report the releases of its cache.
func (c *Controller) Run(ctx context.Context, workers int) {
	defer utilruntime.HandleCrash()
	defer c.queue.ShutDown()
	defer c.stopRec()
	defer c.stopHandlers()
	defer metrics.SetQueueDepth(0)
	c.start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return
	}
	unset := metrics.SetReleaseSource(c.cached)
	defer unset()
	klog.InfoS("Release controller started", "workers", workers)
	for i := 0; i < workers; i++ {
		go wait.UntilWithContext(ctx, c.work, time.Second)
	}
	<-ctx.Done()
}

func (c *Controller) work(ctx context.Context) {
	for {
		key, quit := c.queue.Get()
		if quit {
			return
		}
		metrics.SetQueueDepth(c.queue.Len())
		start := time.Now()
		rctx := ctx
		if at, ok := c.cues.take(key); ok {
			rctx = cloneset.WithCue(ctx, at, metrics.ObserveReaction)
		}
		requeue, err := c.reconcile(rctx, key)
		metrics.ObserveReconcile(err, time.Since(start))
		switch {
		case apierrors.IsConflict(err):
			// The cache was behind a newer version of the release (often our own last write). Its watch
			// event queues the release again; backing off exponentially, as for other errors, would
			// only add delay (up to seconds after a few conflicts in a row). A late retry is the safety net.
			klog.V(2).InfoS("Release changed while reconciling; waiting for the newer version", "release", key)
			c.queue.Forget(key)
			c.queue.AddAfter(key, time.Second)
		case err != nil:
			klog.ErrorS(err, "Reconciling release", "release", key)
			c.queue.AddRateLimited(key)
		case requeue > 0:
			c.queue.Forget(key)
			c.queue.AddAfter(key, requeue)
		default:
			c.queue.Forget(key)
		}
		c.queue.Done(key)
	}
}

// cached lists the releases of the cache, for the metrics (which only read them).
func (c *Controller) cached() []*v1alpha1.Release {
	rels, err := c.lister.List(labels.Everything())
	if err != nil {
		return nil
	}
	return rels
}

func toInternal(r *v1alpha1.Release) (*releases.Release, error) {
	out := &releases.Release{}
	return out, scheme.Convert(r, out, nil)
}

func toExternal(r *releases.Release) (*v1alpha1.Release, error) {
	out := &v1alpha1.Release{}
	return out, scheme.Convert(r, out, nil)
}

// QueueName names the controller's workqueue in client-go's workqueue metrics (workqueue_*{name=...} on
// the server's /metrics): how long a release waits in the queue, and how long its reconcile takes.
const QueueName = "release_controller"

// reconcile moves one release on. It returns when to look again without an event.
func (c *Controller) reconcile(ctx context.Context, key string) (time.Duration, error) {
	c.own.begin(key)
	requeue, err := c.step(ctx, key)
	if c.own.end(key) {
		// It stopped short, and the event of its own write came meanwhile: that event's wake.
		c.queue.Add(key)
	}
	return requeue, err
}

// step is reconcile's work. Its writes of the status go through writeStatus; it calls c.own.settle once
// it went the whole way (the release as written is the one it decided on, CloneSet and pods included).
func (c *Controller) step(ctx context.Context, key string) (time.Duration, error) {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return 0, nil
	}
	cached, err := c.lister.Releases(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.forgetMeasurements(key)
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	// A copy: the conversion shares the status's slices and pointers with its input, and plan's steps
	// change them in place; the cached release must stay what was stored (the informer's handlers compare
	// it with the next version, and a failed write must leave nothing behind).
	r, err := toInternal(cached.DeepCopy())
	if err != nil {
		return 0, err
	}
	original := r.DeepCopy()
	if plan.Finished(r.Status.Phase) {
		c.forgetMeasurements(key)
	}

	cs, err := c.driver.Get(ctx, ns, r.Spec.CloneSetName)
	if err != nil {
		return 0, err
	}
	if _, lost := plan.Lost(r); lost {
		return 0, c.lost(ctx, cached, r, cs)
	}
	if cloneset.Pinned(r, cs) != nil {
		// Not the CloneSet the release was admitted for (confirmed live: the cache may be behind).
		confirmed, err := c.driver.CheckPinned(ctx, r)
		var lostErr *cloneset.LostError
		switch {
		case errors.As(err, &lostErr):
			if marked, err := c.markLost(ctx, cached, r, lostErr); marked || err != nil {
				return 0, err
			}
			// Finished, and it had let go of its CloneSet before: nothing of it is on the one there now,
			// which is not its to look after either.
			return 0, c.lost(ctx, cached, r, confirmed)
		case err != nil:
			return 0, err
		}
		cs = confirmed
	}
	if plan.Finished(r.Status.Phase) && (cs == nil || cs.Annotations[v1alpha1.OwnerAnnotation] != r.Name) {
		// Finished, and the CloneSet let go of: it is its owner's (or the next release's) again. While no
		// release runs on it, the newest finished one keeps pulling in its stray pods.
		if plan.Reverting(r) {
			// Canceled, and nothing of it is on the CloneSet (deleted, or let go of by a server from before
			// releases were marked Reverted): nothing to drain.
			plan.MarkReverted(r, c.now())
			if _, err := c.writeStatus(ctx, r); err != nil {
				return 0, err
			}
		}
		if r.DeletionTimestamp != nil {
			return 0, c.letGo(ctx, cached)
		}
		if cs != nil && cs.Annotations[v1alpha1.OwnerAnnotation] == "" && c.caretaker(cached) {
			return 0, c.driver.PullInStrays(ctx, cs)
		}
		return 0, nil
	}
	if cloneset.StaleName(r, cs) {
		// Finished, and named on a CloneSet another release (or a person) wrote since: a stale name, not a
		// hold. It takes the name off and does nothing else (neither its final state nor its pods' labels).
		if _, err := c.driver.LetGoOfName(ctx, r, cs); err != nil {
			return 0, err
		}
		klog.InfoS("A finished release's name was on its CloneSet, which another release wrote last: only the name was taken off",
			"release", klog.KObj(r), "cloneSet", klog.KObj(cs))
		if r.DeletionTimestamp != nil {
			return 0, c.letGo(ctx, cached)
		}
		return 0, nil
	}
	var pods []corev1.Pod
	if cs != nil {
		if pods, err = c.driver.Pods(ctx, cs); err != nil {
			return 0, err
		}
	}
	now := c.now()
	obs := moves.ObservationOf(r, cs, pods)
	if obs.BlueServing, err = c.driver.BlueServing(ctx, r, pods, obs); err != nil {
		return 0, err
	}
	failing := moves.Failures(moves.ReleasePods(r, cs, pods))
	before := r.Status.DeepCopy()
	if r.DeletionTimestamp != nil && !plan.Finished(r.Status.Phase) {
		// Deleting a release that has not finished cancels it: traffic out of its new pods, the CloneSet
		// back to where it was before, and only then does the release go (letGo).
		if _, err := plan.Act(r, plan.VerbCancel, &releases.ReleaseRequest{Reason: "the release was deleted"}, obs, "", now); err != nil {
			return 0, err
		}
	}
	c.recordMeasurements(key, r)
	requeue := plan.Progress(r, obs, failing, now)
	if obs.BlueServing > 0 && (requeue == 0 || requeue > time.Second) {
		// No event of the release's comes when the endpointslice controller catches up: look again.
		requeue = time.Second
	}

	// 1. The intent first: the Release's new state.
	if !apiequality.Semantic.DeepEqual(original.Status, r.Status) {
		if r, err = c.writeStatus(ctx, r); err != nil {
			return 0, err
		}
		// Only what was stored happened.
		c.recordEvents(cached, before, &r.Status)
	}
	if r.Status.Phase == releases.ReleasePending {
		return 0, nil
	}
	if plan.SwitchingBack(r) && moves.BlueServes(r, pods) {
		// A canceled blue/green release has every blue pod back in traffic: recorded first, so that green
		// leaves it.
		switched := r.DeepCopy()
		plan.MarkSwitchedBack(switched, c.now())
		if r, err = c.writeStatus(ctx, switched); err != nil {
			return 0, err
		}
		klog.InfoS("Canceled blue/green release: blue is back in traffic; green leaves it", "release", klog.KObj(r))
	}
	// 2. The CloneSet and its pods follow it (and are repaired if they drifted), as after a verb.
	f, err := c.driver.Follow(ctx, r, pods, obs, false)
	if err != nil {
		return 0, c.followFailed(ctx, cached, r, err)
	}
	if f.Lost != nil {
		// Replaced or deleted since it was read above: nothing was written; the release lets go of it.
		_, err := c.markLost(ctx, cached, r, f.Lost)
		return 0, err
	}
	after := f.CloneSet
	if f.Again && (requeue == 0 || requeue > time.Second) {
		requeue = time.Second
	}
	if after != nil && after.Spec.Replicas != nil {
		// A scale-out that never lands (refused further down kube-apiserver's admission) writes no event
		// of the CloneSet's: look again when its raised partition stops counting.
		if _, left, pending := plan.PendingScaleOut(after.Annotations, *after.Spec.Replicas, time.Now()); pending && (requeue == 0 || requeue > left) {
			requeue = left + 10*time.Millisecond
		}
	}
	// A canceled release lets go of its CloneSet once kruise has put it back and its pods have left
	// traffic: then the hooks, the label and the annotation come off, and the hold labels off its pods.
	if plan.Reverting(r) && !f.Draining && moves.Settled(after, pods) {
		reverted := r.DeepCopy()
		plan.MarkReverted(reverted, c.now())
		if r, err = c.writeStatus(ctx, reverted); err != nil {
			return 0, err
		}
		if f, err = c.driver.Follow(ctx, r, pods, obs, false); err != nil {
			return 0, err
		}
		after = f.CloneSet
		klog.InfoS("Canceled release let go of its CloneSet: its pods left traffic", "release", klog.KObj(r))
	} else if plan.Reverting(r) && (requeue == 0 || requeue > time.Second) {
		requeue = time.Second
	}
	// 4. What was observed.
	observed := r.DeepCopy()
	observed.Status.CloneSet = cloneset.Observe(after, r.Status.CloneSet)
	moves.AssignBatchPods(observed, after, pods)
	if !apiequality.Semantic.DeepEqual(observed.Status, r.Status) {
		if _, err := c.writeStatus(ctx, observed); err != nil {
			return 0, err
		}
	}
	// 5. The release's pods carry its name and their batch, for a preview Service or a query.
	if err := c.driver.Relabel(ctx, moves.BatchLabelChanges(observed, after, pods)); err != nil {
		return 0, err
	}
	if r.DeletionTimestamp != nil && plan.Finished(r.Status.Phase) && (after == nil || after.Annotations[v1alpha1.OwnerAnnotation] != r.Name) {
		return 0, c.letGo(ctx, cached)
	}
	if wait := c.measure(key, observed, now.Time); wait > 0 && (requeue == 0 || wait < requeue) {
		requeue = wait + 10*time.Millisecond
	}
	c.own.settle(key)
	return requeue, nil
}

// followFailed ends the release when err says it never can follow: its CloneSet was replaced or deleted
// since it was read (MarkLost), or, canceled, the revision it would go back to is gone (MarkRevisionGone).
// Any other error is returned, to be retried.
func (c *Controller) followFailed(ctx context.Context, cached *v1alpha1.Release, r *releases.Release, err error) error {
	var lostErr *cloneset.LostError
	switch {
	case errors.As(err, &lostErr):
		if marked, werr := c.markLost(ctx, cached, r, lostErr); marked || werr != nil {
			return werr
		}
	case errors.Is(err, cloneset.ErrRevisionGone) && r.Status.Phase == releases.ReleaseCanceled:
		marked := r.DeepCopy()
		message := fmt.Sprintf("CloneSet %s cannot be put back to the template from before the release (%v): it is let go of as it is, its template and partition unchanged",
			r.Spec.CloneSetName, err)
		if !plan.MarkRevisionGone(marked, message, c.now()) {
			return err
		}
		written, werr := c.writeStatus(ctx, marked)
		if werr != nil {
			return werr
		}
		c.recordEvents(cached, &r.Status, &written.Status)
		klog.InfoS("Canceled release cannot put its CloneSet back: it lets go of it as it is", "release", klog.KObj(r), "err", err)
		return nil
	}
	return err
}

// markLost ends a release whose CloneSet is lost (plan.MarkLost): Failed, or a canceled one let go of it,
// with the condition and a history entry saying which CloneSet it was and what is there now. It returns
// false when there was nothing to mark (finished, and let go of the CloneSet before).
func (c *Controller) markLost(ctx context.Context, cached *v1alpha1.Release, r *releases.Release, lostErr *cloneset.LostError) (bool, error) {
	marked := r.DeepCopy()
	if !plan.MarkLost(marked, lostErr.Reason(), lostErr.Error(), c.now()) {
		return false, nil
	}
	written, err := c.writeStatus(ctx, marked)
	if err != nil {
		return true, err
	}
	c.recordEvents(cached, &r.Status, &written.Status)
	klog.InfoS("Release lost its CloneSet: it is ended, and touches nothing of the CloneSet of that name", "release", klog.KObj(r),
		"reason", lostErr.Reason(), "admittedFor", lostErr.Pinned, "found", lostErr.Found)
	return true, nil
}

// lost looks after a release that lost its CloneSet (or finished before its CloneSet was replaced): it
// touches nothing of the CloneSet of that name, or of its pods, but takes its own name off the CloneSet's
// owner annotation if it is there (so that it holds up no new release); once the release is deleted its
// finalizer goes at once, as there is nothing of it to clean up.
func (c *Controller) lost(ctx context.Context, cached *v1alpha1.Release, r *releases.Release, cs *kruiseappsv1alpha1.CloneSet) error {
	if _, err := c.driver.LetGoOfName(ctx, r, cs); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	if r.DeletionTimestamp != nil {
		return c.letGo(ctx, cached)
	}
	return nil
}

// letGo removes the cleanup finalizer of a deleted release whose CloneSet no longer carries anything of
// it, so that the delete completes.
func (c *Controller) letGo(ctx context.Context, r *v1alpha1.Release) error {
	kept := r.Finalizers[:0:0]
	for _, f := range r.Finalizers {
		if f != releases.CleanupFinalizer {
			kept = append(kept, f)
		}
	}
	if len(kept) == len(r.Finalizers) {
		return nil
	}
	patch, err := json.Marshal(map[string]interface{}{
		"metadata": map[string]interface{}{"finalizers": kept, "resourceVersion": r.ResourceVersion},
	})
	if err != nil {
		return err
	}
	_, err = c.releases.ReleasesV1alpha1().Releases(r.Namespace).Patch(ctx, r.Name, types.MergePatchType, patch,
		metav1.PatchOptions{FieldManager: "triton-controller"})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// caretaker reports whether r is the release that looks after its CloneSet's stray pods: the newest of
// its releases, all of them finished.
func (c *Controller) caretaker(r *v1alpha1.Release) bool {
	objs, err := c.indexer.ByIndex(cloneSetIndex, r.Namespace+"/"+r.Spec.CloneSetName)
	if err != nil {
		return false
	}
	for _, obj := range objs {
		other, ok := obj.(*v1alpha1.Release)
		if !ok || other.UID == r.UID || lostCloneSet(other) {
			continue
		}
		if !plan.Finished(releases.ReleasePhase(other.Status.Phase)) {
			return false
		}
		if other.CreationTimestamp.After(r.CreationTimestamp.Time) ||
			(other.CreationTimestamp.Equal(&r.CreationTimestamp) && other.Name > r.Name) {
			return false
		}
	}
	return true
}

func (c *Controller) writeStatus(ctx context.Context, r *releases.Release) (*releases.Release, error) {
	start := time.Now()
	written, err := c.storeStatus(ctx, r)
	metrics.ObserveStatusWrite(err, time.Since(start))
	if err != nil {
		return nil, err
	}
	c.own.wrote(r.Namespace+"/"+r.Name, written.ResourceVersion)
	return written, nil
}

func (c *Controller) storeStatus(ctx context.Context, r *releases.Release) (*releases.Release, error) {
	if c.status != nil {
		ctx, cancel := context.WithTimeout(ctx, statusWriteTimeout)
		defer cancel()
		return c.status.WriteStatus(ctx, r)
	}
	ext, err := toExternal(r)
	if err != nil {
		return nil, err
	}
	written, err := c.releases.ReleasesV1alpha1().Releases(r.Namespace).UpdateStatus(ctx, ext, metav1.UpdateOptions{FieldManager: "triton-controller"})
	if err != nil {
		return nil, err
	}
	return toInternal(written)
}
