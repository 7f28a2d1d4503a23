package controller

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"testing"
	"time"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	kruisefake "github.com/openkruise/kruise-api/client/clientset/versioned/fake"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	ktypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"

	releasesapi "github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	relfake "github.com/triton-io/triton/pkg/generated/clientset/versioned/fake"
	"github.com/triton-io/triton/pkg/release/caches"
	"github.com/triton-io/triton/pkg/release/cloneset"
	"github.com/triton-io/triton/pkg/release/moves"
	"github.com/triton-io/triton/pkg/release/plan"
)

// kruise-api's generated informers do not tell client-go that a fake clientset cannot stream a watch-list:
// without this their fakes never sync.
func TestMain(m *testing.M) {
	_ = os.Setenv("KUBE_FEATURE_WatchListClient", "false")
	os.Exit(m.Run())
}

// fixture is a controller on fake clientsets and the informers over them, as sample-controller's tests do:
// a test reconciles one key and reads the actions each clientset received.
type fixture struct {
	releases *relfake.Clientset
	kruise   *kruisefake.Clientset
	kube     *kubefake.Clientset
	c        *Controller
}

var now = metav1.NewTime(time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC))

func newFixture(t *testing.T, rels []runtime.Object, cloneSets []runtime.Object, pods ...runtime.Object) *fixture {
	t.Helper()
	f := &fixture{releases: relfake.NewSimpleClientset(rels...), kruise: kruisefake.NewSimpleClientset(cloneSets...),
		kube: kubefake.NewClientset(pods...)}
	informers := caches.New(f.kruise, f.kube)
	driver := &cloneset.Driver{Kruise: f.kruise, Kube: f.kube, Cache: informers, LevelTriggered: true}
	f.c = New(f.releases, driver, informers)
	f.c.now = func() metav1.Time { return now }
	f.c.recorder = nil
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	f.c.start(ctx.Done())
	informers.Start(ctx.Done())
	require.True(t, cache.WaitForCacheSync(ctx.Done(), f.c.synced...))
	f.releases.ClearActions()
	f.kruise.ClearActions()
	f.kube.ClearActions()
	return f
}

func (f *fixture) reconcile(t *testing.T, key string) time.Duration {
	t.Helper()
	requeue, err := f.c.reconcile(context.Background(), key)
	require.NoError(t, err)
	return requeue
}

// writes are the actions of a clientset that change something, as "verb resource[/subresource]".
func writes(actions []k8stesting.Action) []string {
	var out []string
	for _, a := range actions {
		switch a.GetVerb() {
		case "get", "list", "watch":
			continue
		}
		s := a.GetVerb() + " " + a.GetResource().Resource
		if a.GetSubresource() != "" {
			s += "/" + a.GetSubresource()
		}
		out = append(out, s)
	}
	return out
}

func webCloneSet() *kruiseappsv1alpha1.CloneSet {
	replicas := int32(4)
	return &kruiseappsv1alpha1.CloneSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "uid-web", ResourceVersion: "100", Generation: 1},
		Spec: kruiseappsv1alpha1.CloneSetSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "web:v1"}}}},
		},
		Status: kruiseappsv1alpha1.CloneSetStatus{ObservedGeneration: 1, Replicas: 4, ReadyReplicas: 4, UpdatedReplicas: 4,
			UpdateRevision: "web-v1", CurrentRevision: "web-v1"},
	}
}

func webPod(name string, gated, pulledIn bool) *corev1.Pod {
	yes := true
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: ktypes.UID("uid-" + name), ResourceVersion: "5",
			Labels:          map[string]string{"app": "web", "controller-revision-hash": "web-v1"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps.kruise.io/v1alpha1", Kind: "CloneSet", Name: "web", UID: "uid-web", Controller: &yes}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.1",
			Conditions: []corev1.PodCondition{{Type: corev1.ContainersReady, Status: corev1.ConditionTrue}}},
	}
	if gated {
		p.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: v1alpha1.ReadinessGate}}
		status := corev1.ConditionFalse
		if pulledIn {
			status = corev1.ConditionTrue
		}
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: v1alpha1.ReadinessGate, Status: status})
	}
	return p
}

// webUpdate is release web-update of CloneSet web (4 pods) to web:v2 in batches of 2, as admission stored it.
func webUpdate(phase v1alpha1.ReleasePhase) *v1alpha1.Release {
	size := intstr.FromInt32(2)
	before := int32(4)
	return &v1alpha1.Release{
		ObjectMeta: metav1.ObjectMeta{Name: "web-update", Namespace: "default", UID: "uid-web-update", ResourceVersion: "40",
			CreationTimestamp: metav1.NewTime(now.Add(-time.Minute))},
		Spec: v1alpha1.ReleaseSpec{CloneSetName: "web", Action: v1alpha1.ActionUpdate,
			Template: &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "web:v2"}}}},
			Strategy: v1alpha1.ReleaseStrategy{BatchSize: &size, Mode: v1alpha1.ModeManual}},
		Status: v1alpha1.ReleaseStatus{Phase: phase,
			CloneSet: &v1alpha1.CloneSetObservation{RevisionBeforeRelease: "web-v1", ReplicasBeforeRelease: &before},
			Batches: []v1alpha1.ReleaseBatch{{Index: 1, Replicas: 2, Target: 2, Phase: v1alpha1.BatchPending},
				{Index: 2, Replicas: 2, Target: 4, Phase: v1alpha1.BatchPending}}},
	}
}

// A release that is not there: nothing is written.
func TestReconcileOfAGoneReleaseWritesNothing(t *testing.T) {
	f := newFixture(t, nil, []runtime.Object{webCloneSet()})
	assert.Zero(t, f.reconcile(t, "default/web-update"))
	assert.Empty(t, writes(f.releases.Actions()))
	assert.Empty(t, writes(f.kruise.Actions()))
	assert.Empty(t, writes(f.kube.Actions()))
}

// A Pending release starts: its status first (batch 1 Smoking), then its CloneSet (the pull-in label and
// hooks, then the template, the partition for batch 1 and the owner), and the hold label on its pods.
func TestReconcileStartsAPendingRelease(t *testing.T) {
	f := newFixture(t, []runtime.Object{webUpdate(v1alpha1.ReleasePending)}, []runtime.Object{webCloneSet()},
		webPod("web-a", false, false), webPod("web-b", false, false))
	f.reconcile(t, "default/web-update")

	require.NotEmpty(t, writes(f.releases.Actions()))
	assert.Equal(t, "update releases/status", writes(f.releases.Actions())[0], "the intent first")
	stored, err := f.releases.ReleasesV1alpha1().Releases("default").Get(context.Background(), "web-update", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.ReleaseProgressing, stored.Status.Phase)
	assert.Equal(t, v1alpha1.BatchSmoking, stored.Status.Batches[0].Phase)

	assert.Equal(t, []string{"patch clonesets", "patch clonesets"}, writes(f.kruise.Actions()), "prepare, then the release's fields")
	cs, err := f.kruise.AppsV1alpha1().CloneSets("default").Get(context.Background(), "web", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "web-update", cs.Annotations[v1alpha1.OwnerAnnotation])
	assert.Equal(t, "true", cs.Labels[v1alpha1.PullInLabel])
	assert.Equal(t, 2, cs.Spec.UpdateStrategy.Partition.IntValue(), "2 of 4 pods may update")
	assert.Equal(t, "web:v2", cs.Spec.Template.Spec.Containers[0].Image)

	var held []string
	for _, a := range f.kube.Actions() {
		if p, ok := a.(k8stesting.PatchAction); ok && a.GetResource().Resource == "pods" {
			var patch map[string]map[string]map[string]string
			require.NoError(t, json.Unmarshal(p.GetPatch(), &patch))
			if patch["metadata"]["labels"][v1alpha1.HoldLabel] == "true" && !slices.Contains(held, p.GetName()) {
				held = append(held, p.GetName())
			}
		}
	}
	assert.ElementsMatch(t, []string{"web-a", "web-b"}, held, "every pod is held before kruise may take one away")
}

// A finished release that no longer owns its CloneSet, and is its newest: it pulls in the pods that carry the
// gate and are ready for traffic but that no release pulls in, and writes nothing else.
func TestReconcileOfTheNewestFinishedReleasePullsInStrays(t *testing.T) {
	done := webUpdate(v1alpha1.ReleaseSucceeded)
	f := newFixture(t, []runtime.Object{done}, []runtime.Object{webCloneSet()},
		webPod("web-a", true, true), webPod("web-b", true, false), webPod("web-c", false, false))
	f.reconcile(t, "default/web-update")

	assert.Empty(t, writes(f.releases.Actions()))
	assert.Empty(t, writes(f.kruise.Actions()))
	assert.Equal(t, []string{"patch pods/status"}, writes(f.kube.Actions()))
	p, err := f.kube.CoreV1().Pods("default").Get(context.Background(), "web-b", metav1.GetOptions{})
	require.NoError(t, err)
	assert.True(t, moves.PulledIn(p), "the stray is in traffic")
}

// A finished release that is not the newest sleeps through it: the newer one looks after the CloneSet.
func TestReconcileOfAnOlderFinishedReleaseWritesNothing(t *testing.T) {
	old := webUpdate(v1alpha1.ReleaseSucceeded)
	newer := webUpdate(v1alpha1.ReleaseSucceeded)
	newer.Name, newer.UID, newer.CreationTimestamp = "web-update-2", "uid-2", now
	f := newFixture(t, []runtime.Object{old, newer}, []runtime.Object{webCloneSet()}, webPod("web-b", true, false))
	f.reconcile(t, "default/web-update")
	assert.Empty(t, writes(f.releases.Actions()))
	assert.Empty(t, writes(f.kruise.Actions()))
	assert.Empty(t, writes(f.kube.Actions()))
}

// runningWeb is the release at batch 1 Smoking on a CloneSet that has taken its template (update revision
// web-v2), with pods web-x and web-y made at it, as edit leaves them.
func runningWeb(t *testing.T, edit func(p *corev1.Pod)) *fixture {
	t.Helper()
	r := webUpdate(v1alpha1.ReleaseProgressing)
	r.Status.CurrentBatch = 1
	started := metav1.NewTime(now.Add(-10 * time.Second))
	r.Status.Batches[0].Phase, r.Status.Batches[0].StartedAt = v1alpha1.BatchSmoking, &started
	cs := webCloneSet()
	cs.Annotations = map[string]string{v1alpha1.OwnerAnnotation: r.Name}
	cs.Status.UpdateRevision = "web-v2"
	var pods []runtime.Object
	for _, name := range []string{"web-x", "web-y"} {
		p := webPod(name, true, false)
		p.Labels["controller-revision-hash"] = "web-v2"
		edit(p)
		pods = append(pods, p)
	}
	return newFixture(t, []runtime.Object{r}, []runtime.Object{cs}, append(pods, webPod("web-a", false, false))...)
}

func storedRelease(t *testing.T, f *fixture) *v1alpha1.Release {
	t.Helper()
	r, err := f.releases.ReleasesV1alpha1().Releases("default").Get(context.Background(), "web-update", metav1.GetOptions{})
	require.NoError(t, err)
	return r
}

// Batch 1's pods (not a canary) are up and their containers ready: the batch is Smoked and, needing no
// caller to pull it in, Baking; its pods are pulled into traffic, and no other pod is.
func TestReconcileSmokesABatchWhosePodsAreUpAndPullsItIn(t *testing.T) {
	f := runningWeb(t, func(*corev1.Pod) {})
	f.reconcile(t, "default/web-update")
	r := storedRelease(t, f)
	assert.Equal(t, v1alpha1.BatchBaking, r.Status.Batches[0].Phase)
	assert.NotNil(t, r.Status.Batches[0].SmokedAt)
	assert.Equal(t, v1alpha1.BatchPending, r.Status.Batches[1].Phase)
	var pulledIn []string
	for _, a := range f.kube.Actions() {
		if a.GetVerb() == "patch" && a.GetSubresource() == "status" {
			pulledIn = append(pulledIn, a.(k8stesting.PatchAction).GetName())
		}
	}
	assert.ElementsMatch(t, []string{"web-x", "web-y"}, pulledIn)
	for _, name := range []string{"web-x", "web-y"} {
		p, err := f.kube.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
		require.NoError(t, err)
		assert.True(t, moves.PulledIn(p), name)
	}
}

// Batch 1's pods crash: more failing pods than tolerated fail the release, and the reason names them.
func TestReconcileFailsABatchWhosePodsCrash(t *testing.T) {
	f := runningWeb(t, func(p *corev1.Pod) {
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "web",
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}}}
		p.Status.Conditions[0].Status = corev1.ConditionFalse
	})
	f.reconcile(t, "default/web-update")
	r := storedRelease(t, f)
	assert.Equal(t, v1alpha1.ReleaseFailed, r.Status.Phase)
	last := r.Status.History[len(r.Status.History)-1]
	assert.Contains(t, last.Reason, "web-x: container web: CrashLoopBackOff")
}

// A canceled release takes the pods it brought out of traffic before the CloneSet takes them away; the pods
// from before the release stay as they are.
func TestReconcileOfACanceledReleasePullsItsPodsOut(t *testing.T) {
	r := webUpdate(v1alpha1.ReleaseCanceled)
	r.Status.CurrentBatch = 1
	r.Status.Batches[0].Phase = v1alpha1.BatchBaked
	cs := webCloneSet()
	cs.Annotations = map[string]string{v1alpha1.OwnerAnnotation: r.Name}
	cs.Status.UpdateRevision = "web-v2"
	newPod := webPod("web-x", true, true)
	newPod.Labels["controller-revision-hash"] = "web-v2"
	oldPod := webPod("web-a", true, true)
	yes := true
	before := &appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: "web-v1", Namespace: "default",
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps.kruise.io/v1alpha1", Kind: "CloneSet", Name: "web", UID: "uid-web", Controller: &yes}}},
		Revision: 1, Data: runtime.RawExtension{Raw: []byte(`{"spec":{"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"web","image":"web:v1"}]}}}}`)}}
	f := newFixture(t, []runtime.Object{r}, []runtime.Object{cs}, newPod, oldPod, before)
	f.reconcile(t, "default/web-update")

	x, err := f.kube.CoreV1().Pods("default").Get(context.Background(), "web-x", metav1.GetOptions{})
	require.NoError(t, err)
	assert.False(t, moves.PulledIn(x), "the release's pod left traffic")
	a, err := f.kube.CoreV1().Pods("default").Get(context.Background(), "web-a", metav1.GetOptions{})
	require.NoError(t, err)
	assert.True(t, moves.PulledIn(a), "the pod from before the release still serves")
	back, err := f.kruise.AppsV1alpha1().CloneSets("default").Get(context.Background(), "web", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "web:v1", back.Spec.Template.Spec.Containers[0].Image, "the CloneSet goes back to its revision from before")
}

// A deleted release that has finished and no longer holds its CloneSet lets go: its cleanup finalizer comes
// off (and any other finalizer stays), so the delete completes; the CloneSet is not written.
func TestReconcileOfADeletedFinishedReleaseLetsGo(t *testing.T) {
	r := webUpdate(v1alpha1.ReleaseSucceeded)
	deleted := metav1.NewTime(now.Time)
	r.DeletionTimestamp = &deleted
	r.Finalizers = []string{"example.com/audit", releasesapi.CleanupFinalizer}
	f := newFixture(t, []runtime.Object{r}, []runtime.Object{webCloneSet()})
	f.reconcile(t, "default/web-update")

	assert.Equal(t, []string{"patch releases"}, writes(f.releases.Actions()))
	assert.Empty(t, writes(f.kruise.Actions()))
	assert.Equal(t, []string{"example.com/audit"}, storedRelease(t, f).Finalizers)
}

// A batch not Baked within progressDeadlineSeconds of its start fails the release; before the deadline the
// controller asks to look again no later than it.
func TestReconcileFailsABatchPastItsDeadline(t *testing.T) {
	for _, c := range []struct {
		name     string
		deadline int32
		failed   bool
	}{{"past", 5, true}, {"before", 60, false}} {
		notUp := func(p *corev1.Pod) { p.Status.Conditions[0].Status = corev1.ConditionFalse }
		f := runningWeb(t, notUp)
		r := storedRelease(t, f)
		r.Spec.Strategy.ProgressDeadlineSeconds = &c.deadline
		_, err := f.releases.ReleasesV1alpha1().Releases("default").Update(context.Background(), r, metav1.UpdateOptions{})
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			cached, err := f.c.lister.Releases("default").Get("web-update")
			return err == nil && cached.Spec.Strategy.ProgressDeadlineSeconds != nil
		}, 5*time.Second, 10*time.Millisecond)
		requeue := f.reconcile(t, "default/web-update")
		got := storedRelease(t, f)
		if c.failed {
			assert.Equal(t, v1alpha1.ReleaseFailed, got.Status.Phase, c.name)
			assert.Contains(t, got.Status.History[len(got.Status.History)-1].Reason, "was not Baked within 5s", c.name)
			continue
		}
		assert.Equal(t, v1alpha1.ReleaseProgressing, got.Status.Phase, c.name)
		assert.Greater(t, requeue, time.Duration(0), c.name)
		assert.LessOrEqual(t, requeue, plan.Resync, c.name)
	}
}

// The hold protocol: a pod kruise is about to delete (PreparingDelete) that is still in traffic is pulled out
// and kept held; one already out of traffic (not Ready, in no EndpointSlice) is let go.
func TestReconcileDrainsAHeldPodBeforeLettingItGo(t *testing.T) {
	inTraffic := func(p *corev1.Pod) {}
	f := runningWeb(t, inTraffic)
	draining := webPod("web-d", true, true)
	draining.Labels[v1alpha1.HoldLabel] = "true"
	draining.Labels["lifecycle.apps.kruise.io/state"] = "PreparingDelete"
	drained := webPod("web-e", true, false)
	drained.Labels[v1alpha1.HoldLabel] = "true"
	drained.Labels["lifecycle.apps.kruise.io/state"] = "PreparingDelete"
	for _, p := range []*corev1.Pod{draining, drained} {
		_, err := f.kube.CoreV1().Pods("default").Create(context.Background(), p, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool {
		objs, _ := f.c.driver.Cache.Pods(context.Background(), webCloneSet())
		return len(objs) == 5
	}, 5*time.Second, 10*time.Millisecond)
	requeue := f.reconcile(t, "default/web-update")

	d, err := f.kube.CoreV1().Pods("default").Get(context.Background(), "web-d", metav1.GetOptions{})
	require.NoError(t, err)
	assert.False(t, moves.PulledIn(d), "pulled out first")
	assert.Equal(t, "true", d.Labels[v1alpha1.HoldLabel], "and held until it has left traffic")
	assert.Positive(t, requeue, "looked at again while a pod drains")
	e, err := f.kube.CoreV1().Pods("default").Get(context.Background(), "web-e", metav1.GetOptions{})
	require.NoError(t, err)
	assert.NotContains(t, e.Labels, v1alpha1.HoldLabel, "out of traffic: kruise may go on")
}

// webV1 is CloneSet web's ControllerRevision from before the release (what a cancel puts back).
func webV1() *appsv1.ControllerRevision {
	yes := true
	return &appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: "web-v1", Namespace: "default",
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps.kruise.io/v1alpha1", Kind: "CloneSet", Name: "web", UID: "uid-web", Controller: &yes}}},
		Revision: 1, Data: runtime.RawExtension{Raw: []byte(`{"spec":{"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"web","image":"web:v1"}]}}}}`)}}
}

// Deleting a release that has not finished cancels it first (the reason says so): its pods leave traffic
// and the CloneSet goes back, while its cleanup finalizer stays until the CloneSet is let go.
func TestReconcileOfADeletedRunningReleaseCancelsIt(t *testing.T) {
	r := webUpdate(v1alpha1.ReleaseProgressing)
	r.Status.CurrentBatch = 1
	r.Status.Batches[0].Phase = v1alpha1.BatchBaked
	deleted := metav1.NewTime(now.Time)
	r.DeletionTimestamp, r.Finalizers = &deleted, []string{releasesapi.CleanupFinalizer}
	cs := webCloneSet()
	cs.Annotations = map[string]string{v1alpha1.OwnerAnnotation: r.Name}
	cs.Status.UpdateRevision = "web-v2"
	newPod := webPod("web-x", true, true)
	newPod.Labels["controller-revision-hash"] = "web-v2"
	f := newFixture(t, []runtime.Object{r}, []runtime.Object{cs}, newPod, webPod("web-a", true, true), webV1())
	f.reconcile(t, "default/web-update")

	stored := storedRelease(t, f)
	assert.Equal(t, v1alpha1.ReleaseCanceled, stored.Status.Phase)
	assert.Equal(t, "the release was deleted", stored.Status.History[len(stored.Status.History)-1].Reason)
	assert.Equal(t, []string{releasesapi.CleanupFinalizer}, stored.Finalizers, "the finalizer stays while the CloneSet is held")
	x, err := f.kube.CoreV1().Pods("default").Get(context.Background(), "web-x", metav1.GetOptions{})
	require.NoError(t, err)
	assert.False(t, moves.PulledIn(x), "the release's pod left traffic")
	back, err := f.kruise.AppsV1alpha1().CloneSets("default").Get(context.Background(), "web", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "web:v1", back.Spec.Template.Spec.Containers[0].Image)
}

// An Auto release whose Baked batch's interval has passed starts the next batch: the status first, then
// the partition lets every pod update; before the interval it looks again at its end.
func TestReconcileAdvancesAnAutoReleaseAfterItsInterval(t *testing.T) {
	for _, c := range []struct {
		name      string
		bakedAgo  time.Duration
		batch     int32
		partition int
		requeue   time.Duration
	}{
		{"interval passed", 40 * time.Second, 2, 0, plan.Resync},
		{"interval running", 20 * time.Second, 1, 2, 10*time.Second + 10*time.Millisecond},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := webUpdate(v1alpha1.ReleaseProgressing)
			r.Spec.Strategy.Mode, r.Spec.Strategy.BatchIntervalSeconds = v1alpha1.ModeAuto, 30
			r.Status.CurrentBatch = 1
			baked := metav1.NewTime(now.Add(-c.bakedAgo))
			r.Status.Batches[0].Phase, r.Status.Batches[0].StartedAt, r.Status.Batches[0].BakedAt = v1alpha1.BatchBaked, &baked, &baked
			cs := webCloneSet()
			cs.Annotations = map[string]string{v1alpha1.OwnerAnnotation: r.Name}
			cs.Status.UpdateRevision = "web-v2"
			var pods []runtime.Object
			for _, name := range []string{"web-x", "web-y"} {
				p := webPod(name, true, true)
				p.Labels["controller-revision-hash"] = "web-v2"
				pods = append(pods, p)
			}
			f := newFixture(t, []runtime.Object{r}, []runtime.Object{cs}, pods...)
			assert.Equal(t, c.requeue, f.reconcile(t, "default/web-update"))
			assert.Equal(t, c.batch, storedRelease(t, f).Status.CurrentBatch)
			got, err := f.kruise.AppsV1alpha1().CloneSets("default").Get(context.Background(), "web", metav1.GetOptions{})
			require.NoError(t, err)
			assert.Equal(t, c.partition, got.Spec.UpdateStrategy.Partition.IntValue())
		})
	}
}

// A canceled blue/green release after its switch brings blue back before green leaves traffic: while a
// blue pod still carries triton's not-ready key, the key comes off and the release stays SwitchingBack
// (green keeps serving, looked at again within a second); once every blue pod serves, that is recorded
// (Draining) and green is pulled out.
func TestReconcileOfACanceledBlueGreenReleaseSwitchesBackFirst(t *testing.T) {
	for _, blueBack := range []bool{false, true} {
		t.Run(map[bool]string{false: "blue still out", true: "blue serves again"}[blueBack], func(t *testing.T) {
			r := webUpdate(v1alpha1.ReleaseCanceled)
			preview, delay := intstr.FromString("100%"), int32(30)
			r.Spec.Strategy.Type, r.Spec.Strategy.BatchSize = v1alpha1.StrategyBlueGreen, nil
			r.Spec.Strategy.BlueGreen = &v1alpha1.BlueGreenStrategy{PreviewReplicas: &preview, ScaleDownDelaySeconds: &delay}
			r.Status.CurrentBatch = 2
			r.Status.Batches = []v1alpha1.ReleaseBatch{{Index: 1, Replicas: 4, Target: 4, Phase: v1alpha1.BatchBaked},
				{Index: 2, Replicas: 0, Target: 4, Phase: v1alpha1.BatchBaked}}
			r.Status.Conditions = []metav1.Condition{{Type: v1alpha1.ConditionReverted, Status: metav1.ConditionFalse,
				Reason: plan.RevertSwitchingBack, LastTransitionTime: now}}
			cs := webCloneSet()
			cs.Annotations = map[string]string{v1alpha1.OwnerAnnotation: r.Name}
			cs.Status.UpdateRevision = "web-v2"
			blue := webPod("web-a", false, false)
			blue.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "KruisePodReady"}}
			message, ready := `[{"userAgent":"triton","key":"releases.triton.io/blue-green"}]`, corev1.ConditionFalse
			if blueBack {
				message, ready = `[]`, corev1.ConditionTrue
			}
			blue.Status.Conditions = append(blue.Status.Conditions,
				corev1.PodCondition{Type: "KruisePodReady", Status: ready, Message: message},
				corev1.PodCondition{Type: corev1.PodReady, Status: ready})
			green := webPod("web-x", true, true)
			green.Labels["controller-revision-hash"] = "web-v2"
			f := newFixture(t, []runtime.Object{r}, []runtime.Object{cs}, blue, green, webV1())
			requeue := f.reconcile(t, "default/web-update")

			b, err := f.kube.CoreV1().Pods("default").Get(context.Background(), "web-a", metav1.GetOptions{})
			require.NoError(t, err)
			assert.False(t, moves.HasNotReadyKey(b), "blue's key is off")
			g, err := f.kube.CoreV1().Pods("default").Get(context.Background(), "web-x", metav1.GetOptions{})
			require.NoError(t, err)
			reverted := storedCondition(t, f, v1alpha1.ConditionReverted)
			if !blueBack {
				assert.Equal(t, plan.RevertSwitchingBack, reverted.Reason)
				assert.True(t, moves.PulledIn(g), "green serves until blue does")
				assert.LessOrEqual(t, requeue, time.Second)
				return
			}
			assert.Equal(t, plan.RevertDraining, reverted.Reason)
			assert.False(t, moves.PulledIn(g), "green left traffic once blue served")
		})
	}
}

func storedCondition(t *testing.T, f *fixture, typ string) metav1.Condition {
	t.Helper()
	for _, c := range storedRelease(t, f).Status.Conditions {
		if c.Type == typ {
			return c
		}
	}
	t.Fatalf("no condition %s", typ)
	return metav1.Condition{}
}
