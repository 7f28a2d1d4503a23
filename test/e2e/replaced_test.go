//go:build e2e

package e2e

// A release drives the CloneSet it was admitted for, by UID, and no other of its name (review 2026-12-06
// §5); a finished release named on a CloneSet by a stale owner annotation does not write its old state
// back (§14).

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/release/moves"
	"github.com/triton-io/triton/pkg/release/plan"
	"github.com/triton-io/triton/test/e2e/framework"
)

// deleteCloneSet deletes CloneSet name as `kubectl delete --wait` does (its pods go in the background,
// through the garbage collector) and waits until it is gone.
func deleteCloneSet(t *testing.T, ctx context.Context, c *framework.Cluster, ns, name string) {
	t.Helper()
	background := metav1.DeletePropagationBackground
	require.NoError(t, c.Kruise.AppsV1alpha1().CloneSets(ns).Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &background}))
	framework.WaitUntil(t, ctx, "CloneSet "+name+" gone", func(ctx context.Context) (struct{}, bool, string) {
		cs, err := c.Kruise.AppsV1alpha1().CloneSets(ns).Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return struct{}{}, true, ""
		case err != nil:
			return struct{}{}, false, err.Error()
		}
		return struct{}{}, false, fmt.Sprintf("uid %s, deletionTimestamp %v, finalizers %v", cs.UID, cs.DeletionTimestamp, cs.Finalizers)
	}, framework.Within(time.Minute))
}

// untouchedWatch watches CloneSet name from a resourceVersion on and records every state of the CloneSet
// with UID uid that carries anything of a release (see releaseMarks), until stopped.
type untouchedWatch struct {
	mu         sync.Mutex
	seen       int
	violations []string
	stop       context.CancelFunc
	done       chan struct{}
}

func watchUntouched(t *testing.T, ctx context.Context, c *framework.Cluster, ns, name, fromRV string, uid types.UID, releaseImage string) *untouchedWatch {
	t.Helper()
	w := &untouchedWatch{done: make(chan struct{})}
	ctx, w.stop = context.WithCancel(ctx)
	watcher, err := c.Kruise.AppsV1alpha1().CloneSets(ns).Watch(ctx, metav1.ListOptions{
		FieldSelector: "metadata.name=" + name, ResourceVersion: fromRV})
	require.NoError(t, err)
	go func() {
		defer close(w.done)
		defer watcher.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-watcher.ResultChan():
				if !ok {
					w.mu.Lock()
					w.violations = append(w.violations, "the watch ended before the test stopped it: states may have been missed")
					w.mu.Unlock()
					return
				}
				cs, ok := e.Object.(*kruiseappsv1alpha1.CloneSet)
				if !ok || cs.UID != uid {
					continue
				}
				w.mu.Lock()
				w.seen++
				if marks := releaseMarks(cs, releaseImage); marks != "" {
					w.violations = append(w.violations, fmt.Sprintf("%s at resourceVersion %s: %s", e.Type, cs.ResourceVersion, marks))
				}
				w.mu.Unlock()
			}
		}
	}()
	return w
}

// finish stops the watch and returns how many states of the CloneSet it saw and what it found.
func (w *untouchedWatch) finish() (int, []string) {
	w.stop()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.seen, w.violations
}

// releaseMarks says what of a release a CloneSet carries: an owner annotation, an intent stamp, the
// pull-in label, hold hooks, a partition, or the release's image in its template. Empty when none.
func releaseMarks(cs *kruiseappsv1alpha1.CloneSet, releaseImage string) string {
	var marks []string
	if v, ok := cs.Annotations[v1alpha1.OwnerAnnotation]; ok {
		marks = append(marks, "owner annotation "+v)
	}
	if v, ok := cs.Annotations[v1alpha1.IntentAnnotation]; ok {
		marks = append(marks, "intent stamp "+v)
	}
	if _, ok := cs.Labels[v1alpha1.PullInLabel]; ok {
		marks = append(marks, "pull-in label")
	}
	if lc := cs.Spec.Lifecycle; lc != nil &&
		((lc.PreDelete != nil && lc.PreDelete.LabelsHandler[v1alpha1.HoldLabel] != "") ||
			(lc.InPlaceUpdate != nil && lc.InPlaceUpdate.LabelsHandler[v1alpha1.HoldLabel] != "")) {
		marks = append(marks, "hold hooks")
	}
	if p := framework.Partition(cs); p != 0 {
		marks = append(marks, fmt.Sprintf("partition %d", p))
	}
	if cs.Spec.UpdateStrategy.Paused {
		marks = append(marks, "paused")
	}
	for _, ctr := range cs.Spec.Template.Spec.Containers {
		if ctr.Image == releaseImage {
			marks = append(marks, "the release's image "+releaseImage)
		}
	}
	return strings.Join(marks, ", ")
}

// podsOf lists the live pods that CloneSet uid controls.
func podsOf(t *testing.T, ctx context.Context, c *framework.Cluster, ns string, uid types.UID) []corev1.Pod {
	t.Helper()
	var out []corev1.Pod
	for _, p := range framework.LivePods(t, ctx, c, ns) {
		if ref := metav1.GetControllerOf(&p); ref != nil && ref.UID == uid {
			out = append(out, p)
		}
	}
	return out
}

// podMarks says what of a release the pods carry: the release's image, the hold label, its release label,
// the readiness gate. Empty when none.
func podMarks(pods []corev1.Pod, releaseImage string) string {
	var marks []string
	for _, p := range pods {
		if p.Spec.Containers[0].Image == releaseImage {
			marks = append(marks, p.Name+" runs "+releaseImage)
		}
		if _, ok := p.Labels[v1alpha1.HoldLabel]; ok {
			marks = append(marks, p.Name+" has the hold label")
		}
		if v, ok := p.Labels[v1alpha1.ReleaseLabel]; ok {
			marks = append(marks, p.Name+" is labelled release "+v)
		}
		if moves.Gated(&p) {
			marks = append(marks, p.Name+" has the readiness gate")
		}
	}
	return strings.Join(marks, ", ")
}

// lostCondition is the Failed condition of a release that lost its CloneSet, or nil.
func lostCondition(r *v1alpha1.Release) *metav1.Condition {
	c := meta.FindStatusCondition(r.Status.Conditions, v1alpha1.ConditionFailed)
	if c == nil || c.Status != metav1.ConditionTrue || !plan.IsLostReason(c.Reason) {
		return nil
	}
	return c
}

// deleteRelease deletes release name with kubectl as a person would, and fails the test unless the delete
// has completed (the cleanup finalizer gone) within 30 seconds.
func deleteRelease(t *testing.T, ctx context.Context, c *framework.Cluster, ns, name string) {
	t.Helper()
	start := time.Now()
	out, err := c.Kubectl(ctx, "delete", "release", name, "-n", ns, "--wait=true", "--timeout=30s")
	require.NoError(t, err, "kubectl delete release %s: %s", name, out)
	_, err = c.Releases.ReleasesV1alpha1().Releases(ns).Get(ctx, name, metav1.GetOptions{})
	require.True(t, apierrors.IsNotFound(err), "release %s is gone after %s: %v", name, time.Since(start).Round(100*time.Millisecond), err)
}

// A CloneSet deleted and made again with the same name (a GitOps replace, `kubectl replace --force`)
// while its release waits for `next` ends the release: Failed, with a condition that says the CloneSet was
// lost, and nothing of the release ever goes on the new CloneSet or its pods. resume and next are refused;
// the release deletes cleanly; a new release of the new CloneSet is admitted and runs.
func TestAReplacedCloneSetEndsItsReleaseAndIsNotTouched(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(5*time.Minute), framework.SmokedCanary())
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	releases := s.Releases
	r := s.Release
	old := framework.GetCloneSet(t, ctx, admin, ns)
	require.NotNil(t, r.Status.CloneSet)
	require.Equal(t, old.UID, r.Status.CloneSet.UID, "the CloneSet's UID is recorded at admission")
	require.Equal(t, r.Name, old.Annotations[v1alpha1.OwnerAnnotation], "the release holds the old CloneSet")

	// Replaced: deleted (and gone), then made again with another image.
	deleteCloneSet(t, ctx, admin, ns, "nginx")
	created, err := admin.Kruise.AppsV1alpha1().CloneSets(ns).Create(ctx, framework.NewCloneSet("nginx", 2, framework.WithContainer("nginx", "nginx:1.26")), metav1.CreateOptions{})
	require.NoError(t, err)
	require.NotEqual(t, old.UID, created.UID)
	// Every state the new CloneSet goes through from its creation on, as the watch delivers them.
	w := watchUntouched(t, ctx, admin, ns, "nginx", created.ResourceVersion, created.UID, "nginx:1.28")
	assert.Empty(t, releaseMarks(created, "nginx:1.28"), "as created")
	framework.WaitCloneSet(t, ctx, admin, ns, "nginx", func(s kruiseappsv1alpha1.CloneSetStatus) bool {
		return s.ReadyReplicas == 2 && s.UpdatedReplicas == 2
	})

	// The release is ended, and says why.
	r = framework.WaitRelease(t, ctx, admin, ns, r.Name, "Failed: its CloneSet was lost", func(r *v1alpha1.Release) bool {
		return r.Status.Phase == v1alpha1.ReleaseFailed && lostCondition(r) != nil
	})
	lost := lostCondition(r)
	assert.Contains(t, lost.Message, string(old.UID), "the message names the CloneSet it was admitted for")
	if lost.Reason == v1alpha1.ReasonCloneSetReplaced {
		assert.Contains(t, lost.Message, string(created.UID), "and the one there now")
	} else {
		// The controller saw the CloneSet gone before the new one was made.
		assert.Equal(t, v1alpha1.ReasonCloneSetGone, lost.Reason)
		assert.Contains(t, lost.Message, "deleted")
	}
	assert.Equal(t, old.UID, r.Status.CloneSet.UID, "the UID recorded stays")
	assert.False(t, meta.IsStatusConditionTrue(r.Status.Conditions, v1alpha1.ConditionAwaitingNext))
	assert.Equal(t, plan.ActionLost, framework.LastHistory(r).Action, "recorded in the history: %s", framework.HistoryActions(r))
	assert.Equal(t, plan.ControllerUser, framework.LastHistory(r).User)

	// resume and next: 409, saying why.
	_, err = releases.Resume(ctx, r.Name, &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{})
	require.True(t, apierrors.IsConflict(err), "resume of a release whose CloneSet was replaced: want 409, got %v", err)
	assert.Contains(t, err.Error(), "this release was admitted for")
	_, err = releases.Next(ctx, r.Name, &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{})
	require.True(t, apierrors.IsConflict(err), "next of a release whose CloneSet was replaced: want 409, got %v", err)
	assert.Contains(t, err.Error(), "this release was admitted for")

	// For a while (the controller acts on every event of the new CloneSet and its pods, within a second):
	// nothing of the release on the new CloneSet or its pods.
	framework.Holds(t, ctx, 5*time.Second, "the new CloneSet carries nothing of the old release", func(ctx context.Context) (bool, string) {
		cs, err := admin.Kruise.AppsV1alpha1().CloneSets(ns).Get(ctx, "nginx", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		if cs.UID != created.UID {
			return false, "the CloneSet was replaced again: uid " + string(cs.UID)
		}
		if marks := releaseMarks(cs, "nginx:1.28"); marks != "" {
			return false, "CloneSet: " + marks
		}
		if marks := podMarks(podsOf(t, ctx, admin, ns, created.UID), "nginx:1.28"); marks != "" {
			return false, "pods: " + marks
		}
		return true, ""
	})

	// A new release of the new CloneSet is admitted while the old one is still there (it can never touch
	// this CloneSet): a dry run, which runs the same admission and stores nothing.
	again := framework.UpdateTo("nginx:1.28", 0, intstr.FromString("100%"), v1alpha1.ModeAuto)
	again.Name = "nginx-again"
	planned, err := releases.Create(ctx, again.DeepCopy(), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	require.NoError(t, err, "a release of the new CloneSet is not held up by the release of the old one")
	require.NotNil(t, planned.Status.CloneSet)
	assert.Equal(t, created.UID, planned.Status.CloneSet.UID, "admitted for the new CloneSet")

	// Deleted: the delete completes (its finalizer goes) and touches nothing.
	deleteRelease(t, ctx, admin, ns, r.Name)
	seen, violations := w.finish()
	assert.Positive(t, seen, "the watch saw the new CloneSet")
	assert.Empty(t, violations, "states of the new CloneSet that carried something of the old release")
	cs := framework.GetCloneSet(t, ctx, admin, ns)
	assert.Equal(t, created.UID, cs.UID)
	assert.Empty(t, releaseMarks(cs, "nginx:1.28"))

	// The new release is admitted (201) and runs to the end.
	_, err = releases.Create(ctx, again, metav1.CreateOptions{})
	require.NoError(t, err)
	done := framework.WaitRelease(t, ctx, admin, ns, again.Name, "Succeeded", framework.Succeeded)
	assert.Equal(t, created.UID, done.Status.CloneSet.UID)
	cs = framework.WaitReleased(t, ctx, admin, ns)
	assert.Equal(t, created.UID, cs.UID)
	assert.Equal(t, "nginx:1.28", cs.Spec.Template.Spec.Containers[0].Image)
	framework.WaitPods(t, ctx, admin, ns, "both pods at nginx:1.28", func(pods []corev1.Pod) bool {
		return len(pods) == 2 && framework.CountImage(pods, "nginx:1.28") == 2
	})
}

// A CloneSet deleted while its release waits for `next` ends the release (Failed, reason CloneSetGone);
// the release makes nothing of that name again; cancel and delete end it at once.
func TestADeletedCloneSetEndsItsRelease(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(4*time.Minute), framework.SmokedCanary())
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	releases := s.Releases
	r := s.Release
	old := framework.GetCloneSet(t, ctx, admin, ns)
	require.Equal(t, old.UID, r.Status.CloneSet.UID, "the CloneSet's UID is recorded at admission")

	deleteCloneSet(t, ctx, admin, ns, "nginx")
	r = framework.WaitRelease(t, ctx, admin, ns, r.Name, "Failed: CloneSetGone", func(r *v1alpha1.Release) bool {
		c := lostCondition(r)
		return r.Status.Phase == v1alpha1.ReleaseFailed && c != nil && c.Reason == v1alpha1.ReasonCloneSetGone
	})
	c := lostCondition(r)
	assert.Contains(t, c.Message, string(old.UID))
	assert.Contains(t, c.Message, "deleted")
	assert.Equal(t, plan.ActionLost, framework.LastHistory(r).Action, "recorded in the history: %s", framework.HistoryActions(r))

	_, err := releases.Resume(ctx, r.Name, &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{})
	require.True(t, apierrors.IsConflict(err), "resume of a release whose CloneSet was deleted: want 409, got %v", err)
	assert.Contains(t, err.Error(), "was deleted")

	// cancel: 200, and it touches nothing (no CloneSet is made again).
	canceled, err := releases.Cancel(ctx, r.Name, &v1alpha1.ReleaseRequest{Reason: "the CloneSet is gone"}, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.ReleaseCanceled, canceled.Status.Phase)
	assert.True(t, framework.ConditionIs(canceled, v1alpha1.ConditionFailed, metav1.ConditionTrue), "it failed all the same")
	assert.True(t, framework.ConditionIs(canceled, v1alpha1.ConditionReverted, metav1.ConditionTrue), "nothing to wait for")
	framework.Holds(t, ctx, 3*time.Second, "no CloneSet nginx made again", func(ctx context.Context) (bool, string) {
		_, err := admin.Kruise.AppsV1alpha1().CloneSets(ns).Get(ctx, "nginx", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, ""
		}
		return false, fmt.Sprintf("get: %v", err)
	})

	deleteRelease(t, ctx, admin, ns, r.Name)
	_, err = admin.Kruise.AppsV1alpha1().CloneSets(ns).Get(ctx, "nginx", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "still no CloneSet nginx: %v", err)
}

// An owner annotation naming a finished release, put back on the CloneSet by hand after a newer release,
// is not trusted: the old release does not roll its template back onto every pod. It only takes its name
// off, so that a new release can start.
func TestAStaleOwnerAnnotationIsNotTrusted(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(5*time.Minute), framework.CloneSet("nginx", 3))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	releases := s.Releases

	run := func(name, image string) *v1alpha1.Release {
		t.Helper()
		rel := framework.UpdateTo(image, 0, intstr.FromString("100%"), v1alpha1.ModeAuto)
		rel.Name = name
		_, err := releases.Create(ctx, rel, metav1.CreateOptions{})
		require.NoError(t, err)
		done := framework.WaitRelease(t, ctx, admin, ns, name, "Succeeded", framework.Succeeded)
		framework.WaitReleased(t, ctx, admin, ns)
		framework.WaitCloneSet(t, ctx, admin, ns, "nginx", func(s kruiseappsv1alpha1.CloneSetStatus) bool {
			return s.ObservedGeneration >= framework.GetCloneSet(t, ctx, admin, ns).Generation &&
				s.UpdatedReplicas == 3 && s.UpdatedReadyReplicas == 3 && s.ReadyReplicas == 3 && s.Replicas == 3
		})
		return done
	}
	r1 := run("r1", "nginx:1.28")
	r2 := run("r2", "nginx:1.29")
	before := framework.GetCloneSet(t, ctx, admin, ns)
	require.Equal(t, "nginx:1.29", before.Spec.Template.Spec.Containers[0].Image)
	require.True(t, strings.HasPrefix(before.Annotations[v1alpha1.IntentAnnotation], string(r2.UID)+"/"), "r2 wrote the CloneSet last")
	pods := framework.LivePods(t, ctx, admin, ns)
	require.Len(t, pods, 3)
	require.Equal(t, 3, framework.CountImage(pods, "nginx:1.29"))
	names := framework.PodNames(pods)
	r1, err := releases.Get(ctx, r1.Name, metav1.GetOptions{})
	require.NoError(t, err)

	// The admin puts r1's name back on the CloneSet.
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, v1alpha1.OwnerAnnotation, r1.Name)
	_, err = admin.Kruise.AppsV1alpha1().CloneSets(ns).Patch(ctx, "nginx", types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	require.NoError(t, err)

	// The controller acts on it (r1 is woken by the name): the name goes, and only the name.
	cs := framework.WaitCloneSetIs(t, ctx, admin, ns, "r1's stale name taken off", func(cs *kruiseappsv1alpha1.CloneSet) bool {
		_, named := cs.Annotations[v1alpha1.OwnerAnnotation]
		return !named
	})
	assert.Equal(t, before.Annotations[v1alpha1.IntentAnnotation], cs.Annotations[v1alpha1.IntentAnnotation], "r1 stamped nothing")
	// For 10 seconds after (the controller has long seen the CloneSet): r2's template, every pod as it was.
	framework.Holds(t, ctx, 10*time.Second, "r2's template and pods stay", func(ctx context.Context) (bool, string) {
		cs, err := admin.Kruise.AppsV1alpha1().CloneSets(ns).Get(ctx, "nginx", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		if img := cs.Spec.Template.Spec.Containers[0].Image; img != "nginx:1.29" {
			return false, "the template went to " + img
		}
		if p := framework.Partition(cs); p != 0 {
			return false, fmt.Sprintf("partition %d", p)
		}
		if v := cs.Annotations[v1alpha1.OwnerAnnotation]; v != "" {
			return false, "owner annotation " + v
		}
		list, err := admin.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=nginx"})
		if err != nil {
			return false, err.Error()
		}
		for _, p := range list.Items {
			if p.DeletionTimestamp != nil {
				return false, "pod " + p.Name + " is being deleted"
			}
			if img := p.Spec.Containers[0].Image; img != "nginx:1.29" {
				return false, "pod " + p.Name + " runs " + img
			}
		}
		if got := framework.PodNames(list.Items); strings.Join(got, ",") != strings.Join(names, ",") {
			return false, fmt.Sprintf("pods %v, were %v", got, names)
		}
		return true, ""
	})
	stale, err := releases.Get(ctx, r1.Name, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, r1.ResourceVersion, stale.ResourceVersion, "r1's status is not written: nothing of r2's CloneSet recorded as r1's")

	// A new release of the CloneSet starts and succeeds.
	r3 := run("r3", "nginx:1.30")
	assert.Equal(t, before.UID, r3.Status.CloneSet.UID)
	assert.Equal(t, "nginx:1.30", framework.GetCloneSet(t, ctx, admin, ns).Spec.Template.Spec.Containers[0].Image)
	assert.Equal(t, 3, framework.CountImage(framework.LivePods(t, ctx, admin, ns), "nginx:1.30"))
}
