//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/release/moves"
	"github.com/triton-io/triton/pkg/release/plan"
)

// The end-to-end tests of every action (Update in percentages, Create, Scale out and in, Restart, Rollback)
// and of the verbs (next, cancel, resume after a failure, dryRun) on the local control plane. Each step
// checks the CloneSet (partition, replicas, template, paused, owner annotation), its pods (images,
// revisions, readiness gate, Ready) and the Release's status (phases, conditions, history, observation).

// neverGate is a readiness gate nobody sets: a pod that carries it is never Ready on its own.
const neverGate corev1.PodConditionType = "example.com/never"

func getCloneSet(t *testing.T, ctx context.Context, c *cluster, ns string) *kruiseappsv1alpha1.CloneSet {
	t.Helper()
	cs, err := c.kruise.AppsV1alpha1().CloneSets(ns).Get(ctx, "nginx", metav1.GetOptions{})
	require.NoError(t, err)
	return cs
}

// waitCloneSetIs waits until ok holds for the whole CloneSet "nginx" (spec and status).
func waitCloneSetIs(t *testing.T, ctx context.Context, c *cluster, ns, what string, ok func(*kruiseappsv1alpha1.CloneSet) bool) *kruiseappsv1alpha1.CloneSet {
	t.Helper()
	return waitCloneSetNamed(t, ctx, c, ns, "nginx", what, ok)
}

// waitCloneSetNamed waits until ok holds for the whole CloneSet name (spec and status).
func waitCloneSetNamed(t *testing.T, ctx context.Context, c *cluster, ns, name, what string, ok func(*kruiseappsv1alpha1.CloneSet) bool) *kruiseappsv1alpha1.CloneSet {
	t.Helper()
	return waitUntil(t, ctx, "CloneSet "+name+": "+what, func(ctx context.Context) (*kruiseappsv1alpha1.CloneSet, bool, string) {
		cs, err := c.kruise.AppsV1alpha1().CloneSets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, false, err.Error()
		}
		return cs, ok(cs), fmt.Sprintf("spec.replicas=%v partition=%d paused=%v status=%+v",
			ptrValue(cs.Spec.Replicas), partition(cs), cs.Spec.UpdateStrategy.Paused, cs.Status)
	}, within(time.Minute))
}

func ptrValue(p *int32) interface{} {
	if p == nil {
		return nil
	}
	return *p
}

// livePods lists the pods of app=nginx that are not on their way out, sorted by name.
func livePods(t *testing.T, ctx context.Context, c *cluster, ns string) []corev1.Pod {
	t.Helper()
	return livePodsOf(t, ctx, c, ns, "nginx")
}

// livePodsOf lists the live pods labelled app=app, sorted by name.
func livePodsOf(t *testing.T, ctx context.Context, c *cluster, ns, app string) []corev1.Pod {
	t.Helper()
	list, err := c.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + app})
	require.NoError(t, err)
	var out []corev1.Pod
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// waitPods waits until ok holds for the live pods of app=nginx.
func waitPods(t *testing.T, ctx context.Context, c *cluster, ns, what string, ok func([]corev1.Pod) bool) []corev1.Pod {
	t.Helper()
	return waitUntil(t, ctx, "pods: "+what, func(ctx context.Context) ([]corev1.Pod, bool, string) {
		list, err := c.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=nginx"})
		if err != nil {
			return nil, false, err.Error()
		}
		var live []corev1.Pod
		for _, p := range list.Items {
			if p.DeletionTimestamp == nil {
				live = append(live, p)
			}
		}
		sort.Slice(live, func(i, j int) bool { return live[i].Name < live[j].Name })
		return live, ok(live), podSummary(live)
	}, within(time.Minute))
}

func podSummary(pods []corev1.Pod) string {
	var parts []string
	for _, p := range pods {
		parts = append(parts, fmt.Sprintf("%s(image=%s rev=%s ready=%s gate=%s)", p.Name, p.Spec.Containers[0].Image,
			p.Labels[appsv1.ControllerRevisionHashLabelKey], condition(&p, corev1.PodReady), condition(&p, v1alpha1.ReadinessGate)))
	}
	return strings.Join(parts, " ")
}

func podNames(pods []corev1.Pod) []string {
	out := make([]string, 0, len(pods))
	for _, p := range pods {
		out = append(out, p.Name)
	}
	sort.Strings(out)
	return out
}

func countImage(pods []corev1.Pod, image string) int {
	n := 0
	for _, p := range pods {
		if p.Spec.Containers[0].Image == image {
			n++
		}
	}
	return n
}

// allReady reports whether there are n pods and every one is Ready.
func allReady(pods []corev1.Pod, n int) bool {
	if len(pods) != n {
		return false
	}
	for i := range pods {
		if condition(&pods[i], corev1.PodReady) != corev1.ConditionTrue {
			return false
		}
	}
	return true
}

func hasReadinessGate(spec corev1.PodSpec, ct corev1.PodConditionType) bool {
	for _, g := range spec.ReadinessGates {
		if g.ConditionType == ct {
			return true
		}
	}
	return false
}

// setPodCondition writes a pod condition through pods/status, as whoever owns a readiness gate does.
func setPodCondition(t *testing.T, ctx context.Context, c *cluster, ns, pod string, ct corev1.PodConditionType, status corev1.ConditionStatus) {
	t.Helper()
	body := fmt.Sprintf(`{"status":{"conditions":[{"type":%q,"status":%q,"lastTransitionTime":%q}]}}`,
		ct, status, time.Now().UTC().Format(time.RFC3339))
	_, err := c.kube.CoreV1().Pods(ns).Patch(ctx, pod, types.StrategicMergePatchType, []byte(body), metav1.PatchOptions{}, "status")
	require.NoError(t, err)
}

func conditionIs(r *v1alpha1.Release, ct string, want metav1.ConditionStatus) bool {
	c := meta.FindStatusCondition(r.Status.Conditions, ct)
	return c != nil && c.Status == want
}

// assertConditions checks the four conditions of a release at once.
func assertConditions(t *testing.T, r *v1alpha1.Release, awaitingNext, paused, failed, complete bool) {
	t.Helper()
	for ct, want := range map[string]bool{
		v1alpha1.ConditionAwaitingNext: awaitingNext,
		v1alpha1.ConditionPaused:       paused,
		v1alpha1.ConditionFailed:       failed,
		v1alpha1.ConditionComplete:     complete,
	} {
		status := metav1.ConditionFalse
		if want {
			status = metav1.ConditionTrue
		}
		assert.True(t, conditionIs(r, ct, status), "condition %s: want %s; conditions %+v", ct, status, r.Status.Conditions)
	}
}

// assertBatchPhases checks every batch's phase, in order.
func assertBatchPhases(t *testing.T, r *v1alpha1.Release, phases ...v1alpha1.BatchPhase) {
	t.Helper()
	var got []v1alpha1.BatchPhase
	for _, b := range r.Status.Batches {
		got = append(got, b.Phase)
	}
	assert.Equal(t, phases, got, "batch phases")
}

func lastHistory(r *v1alpha1.Release) v1alpha1.ReleaseHistoryEntry {
	if len(r.Status.History) == 0 {
		return v1alpha1.ReleaseHistoryEntry{}
	}
	return r.Status.History[len(r.Status.History)-1]
}

func historyActions(r *v1alpha1.Release) string {
	var actions []string
	for _, h := range r.Status.History {
		actions = append(actions, h.Action)
	}
	return strings.Join(actions, ",")
}

func observedPartition(r *v1alpha1.Release) int32 {
	if r.Status.CloneSet == nil || r.Status.CloneSet.Partition == nil {
		return -1
	}
	return *r.Status.CloneSet.Partition
}

func observedReplicas(r *v1alpha1.Release) int32 {
	if r.Status.CloneSet == nil {
		return -1
	}
	return r.Status.CloneSet.Replicas
}

func succeeded(r *v1alpha1.Release) bool { return r.Status.Phase == v1alpha1.ReleaseSucceeded }

// waitReleased waits until the CloneSet no longer carries the owner annotation.
func waitReleased(t *testing.T, ctx context.Context, c *cluster, ns string) *kruiseappsv1alpha1.CloneSet {
	t.Helper()
	return waitCloneSetIs(t, ctx, c, ns, "the owner annotation removed", func(cs *kruiseappsv1alpha1.CloneSet) bool {
		_, owned := cs.Annotations[v1alpha1.OwnerAnnotation]
		return !owned
	})
}

// updatedWatch polls the pods and the CloneSet in the background and records any moment at which more
// pods run image than the current batch allows (invariant 2 of the contract), and every partition the
// CloneSet has while the release owns it (only ever lowered while the release progresses).
type updatedWatch struct {
	allowed    atomic.Int32
	mu         sync.Mutex
	worst      string
	partitions []int32
	stop       context.CancelFunc
	done       chan struct{}
}

func watchUpdated(t *testing.T, ctx context.Context, c *cluster, ns, image string) *updatedWatch {
	w := &updatedWatch{done: make(chan struct{})}
	ctx, w.stop = context.WithCancel(ctx)
	go func() {
		defer close(w.done)
		// Sampled until stopped: the read is never done.
		poll(ctx, func(ctx context.Context) (struct{}, bool, string) {
			allowed := w.allowed.Load()
			list, err := c.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=nginx"})
			if err != nil {
				return struct{}{}, false, ""
			}
			// A batch the test approved while the list was on its way may show in it: the limit is the
			// larger of the two reads (a real excess stays, and the next poll sees it).
			allowed = max(allowed, w.allowed.Load())
			if n := countImage(list.Items, image); int32(n) > allowed {
				w.mu.Lock()
				if w.worst == "" {
					w.worst = fmt.Sprintf("%d pods at %s while the batch allows %d: %s", n, image, allowed, podSummary(list.Items))
				}
				w.mu.Unlock()
			}
			cs, err := c.kruise.AppsV1alpha1().CloneSets(ns).Get(ctx, "nginx", metav1.GetOptions{})
			if err != nil || cs.Annotations[v1alpha1.OwnerAnnotation] == "" || cs.Spec.UpdateStrategy.Partition == nil {
				return struct{}{}, false, ""
			}
			w.mu.Lock()
			if p := partition(cs); len(w.partitions) == 0 || w.partitions[len(w.partitions)-1] != p {
				w.partitions = append(w.partitions, p)
			}
			w.mu.Unlock()
			return struct{}{}, false, ""
		}, every(150*time.Millisecond))
	}()
	t.Cleanup(w.stop)
	return w
}

func (w *updatedWatch) check(t *testing.T) {
	t.Helper()
	w.stop()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	assert.Empty(t, w.worst, "the CloneSet had more updated pods than the current batch's target")
	for i := 1; i < len(w.partitions); i++ {
		assert.Less(t, w.partitions[i], w.partitions[i-1], "the partition went up while the release ran: %v", w.partitions)
	}
}

// 1. Manual mode over 4 batches given as a percentage: 8 pods, batchSize 25%, no canary. Each Baked batch
// waits for `next`, with partition 8-2k and exactly 2k pods at the new image; `next` on the last finishes.
func TestUpdateManualPercentBatches(t *testing.T) {
	t.Parallel()
	admin := connect(t, "admin")
	ns := namespace(t, admin)
	ctx := testContext(t, 5*time.Minute)
	nginx(t, ctx, admin, ns, 8)
	before := getCloneSet(t, ctx, admin, ns)
	oldRevision := before.Status.UpdateRevision
	releases := admin.releases.ReleasesV1alpha1().Releases(ns)

	guard := watchUpdated(t, ctx, admin, ns, "nginx:1.28")
	guard.allowed.Store(2)
	created, err := releases.Create(ctx, updateTo("nginx:1.28", 0, intstr.FromString("25%"), v1alpha1.ModeManual), metav1.CreateOptions{})
	require.NoError(t, err)
	require.Len(t, created.Status.Batches, 4, "25%% of 8 is 4 batches of 2")
	for i, b := range created.Status.Batches {
		assert.Equal(t, int32(i+1), b.Index)
		assert.False(t, b.Canary)
		assert.Equal(t, int32(2), b.Replicas)
		assert.Equal(t, int32(2*(i+1)), b.Target)
		assert.Equal(t, v1alpha1.BatchPending, b.Phase)
	}
	assert.Equal(t, v1alpha1.ReleasePending, created.Status.Phase)

	for k := int32(1); k <= 4; k++ {
		wantPartition := 8 - 2*k
		r := waitRelease(t, ctx, admin, ns, "nginx-update", fmt.Sprintf("batch %d Baked, partition %d observed", k, wantPartition),
			func(r *v1alpha1.Release) bool {
				return batchIs(k, v1alpha1.BatchBaked)(r) && observedPartition(r) == wantPartition &&
					conditionIs(r, v1alpha1.ConditionAwaitingNext, metav1.ConditionTrue)
			})
		// The release: batches before k Baked, k Baked and waiting for next, the rest Pending.
		var phases []v1alpha1.BatchPhase
		for i := int32(1); i <= 4; i++ {
			if i <= k {
				phases = append(phases, v1alpha1.BatchBaked)
			} else {
				phases = append(phases, v1alpha1.BatchPending)
			}
		}
		assertBatchPhases(t, r, phases...)
		assertConditions(t, r, true, false, false, false)
		awaiting := meta.FindStatusCondition(r.Status.Conditions, v1alpha1.ConditionAwaitingNext)
		if k < 4 {
			assert.Contains(t, awaiting.Message, fmt.Sprintf("starts batch %d", k+1))
		} else {
			assert.Contains(t, awaiting.Message, "completes the release")
		}
		assert.Equal(t, oldRevision, r.Status.CloneSet.RevisionBeforeRelease)
		require.NotNil(t, r.Status.CloneSet.ReplicasBeforeRelease)
		assert.Equal(t, int32(8), *r.Status.CloneSet.ReplicasBeforeRelease)

		// The CloneSet: the new template (without a gate), partition 8-2k, owned by the release, not paused.
		cs := getCloneSet(t, ctx, admin, ns)
		assert.Equal(t, wantPartition, partition(cs))
		assert.Equal(t, int32(8), *cs.Spec.Replicas)
		assert.False(t, cs.Spec.UpdateStrategy.Paused)
		assert.Equal(t, "nginx:1.28", cs.Spec.Template.Spec.Containers[0].Image)
		assert.False(t, hasReadinessGate(cs.Spec.Template.Spec, v1alpha1.ReadinessGate), "no gate in the template (invariant 10)")
		assert.Equal(t, "true", cs.Labels[v1alpha1.PullInLabel], "held: its new pods get the gate from the admission policy")
		assert.Equal(t, "nginx-update", cs.Annotations[v1alpha1.OwnerAnnotation])
		assert.NotEqual(t, oldRevision, cs.Status.UpdateRevision)

		// The pods: exactly 2k at the new revision, pulled in and Ready; the others untouched.
		pods := livePods(t, ctx, admin, ns)
		require.Len(t, pods, 8, podSummary(pods))
		updated := 0
		for i := range pods {
			p := &pods[i]
			switch p.Spec.Containers[0].Image {
			case "nginx:1.28":
				updated++
				assert.Equal(t, cs.Status.UpdateRevision, p.Labels[appsv1.ControllerRevisionHashLabelKey], p.Name)
				if hasReadinessGate(p.Spec, v1alpha1.ReadinessGate) {
					assert.Equal(t, corev1.ConditionTrue, condition(p, v1alpha1.ReadinessGate), "%s pulled in", p.Name)
				} else {
					// Made before kube-apiserver's admission policy saw the CloneSet's pull-in label (its
					// parameter informer lags under load): such a pod is held out through KruisePodReady
					// instead, and brought in the same way.
					t.Logf("%s was made without the gate", p.Name)
					assert.False(t, moves.HasNotReadyKey(p), "%s pulled in (no triton not-ready key)", p.Name)
				}
			default:
				assert.Equal(t, "nginx:1.27", p.Spec.Containers[0].Image)
				assert.Equal(t, oldRevision, p.Labels[appsv1.ControllerRevisionHashLabelKey], p.Name)
				assert.False(t, hasReadinessGate(p.Spec, v1alpha1.ReadinessGate), "%s is an old pod: no gate", p.Name)
			}
			assert.Equal(t, corev1.ConditionTrue, condition(p, corev1.PodReady), "%s Ready", p.Name)
		}
		assert.Equal(t, int(2*k), updated, "pods at nginx:1.28 after batch %d: %s", k, podSummary(pods))

		// A next for another batch or phase is refused and changes nothing.
		_, err = releases.Next(ctx, "nginx-update", &v1alpha1.ReleaseRequest{ExpectedBatch: one(k + 1)}, metav1.CreateOptions{})
		assert.True(t, apierrors.IsConflict(err), "next with a stale expectedBatch: want 409, got %v", err)
		_, err = releases.Next(ctx, "nginx-update", &v1alpha1.ReleaseRequest{ExpectedBatch: one(k), ExpectedPhase: v1alpha1.BatchSmoked}, metav1.CreateOptions{})
		assert.True(t, apierrors.IsConflict(err), "next with a wrong expectedPhase: want 409, got %v", err)

		// next moves on: the answer shows the new batch Smoking and the CloneSet's lower partition.
		if k < 4 {
			guard.allowed.Store(2 * (k + 1))
		}
		r, err = releases.Next(ctx, "nginx-update", &v1alpha1.ReleaseRequest{ExpectedBatch: one(k), ExpectedPhase: v1alpha1.BatchBaked,
			Reason: fmt.Sprintf("batch %d ok", k)}, metav1.CreateOptions{})
		require.NoError(t, err)
		h := lastHistory(r)
		assert.Equal(t, "next", h.Action)
		assert.Equal(t, "admin", h.User)
		assert.Equal(t, fmt.Sprintf("batch %d ok", k), h.Reason)
		assert.Equal(t, k, h.FromBatch)
		if k < 4 {
			assert.Equal(t, v1alpha1.ReleaseProgressing, r.Status.Phase)
			assert.Equal(t, k+1, r.Status.CurrentBatch)
			assert.Equal(t, v1alpha1.BatchSmoking, r.Status.Batches[k].Phase)
			assert.Equal(t, 8-2*(k+1), observedPartition(r), "the answer shows the new partition")
			assert.True(t, conditionIs(r, v1alpha1.ConditionAwaitingNext, metav1.ConditionFalse))
			assert.Equal(t, 8-2*(k+1), partition(getCloneSet(t, ctx, admin, ns)), "the CloneSet moved before the answer")
			continue
		}
		assert.Equal(t, v1alpha1.ReleaseSucceeded, r.Status.Phase)
		assert.Equal(t, int32(4), r.Status.CurrentBatch)
		assertConditions(t, r, false, false, false, true)
		assert.Equal(t, int32(0), observedPartition(r))
	}
	guard.check(t)

	r, err := releases.Get(ctx, "nginx-update", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.ReleaseSucceeded, r.Status.Phase)
	assertBatchPhases(t, r, v1alpha1.BatchBaked, v1alpha1.BatchBaked, v1alpha1.BatchBaked, v1alpha1.BatchBaked)
	cs := waitReleased(t, ctx, admin, ns)
	assert.Equal(t, int32(0), partition(cs))
	assert.False(t, cs.Spec.UpdateStrategy.Paused)
	pods := livePods(t, ctx, admin, ns)
	assert.Equal(t, 8, countImage(pods, "nginx:1.28"), podSummary(pods))
	assert.True(t, allReady(pods, 8), podSummary(pods))
	_, err = releases.Next(ctx, "nginx-update", &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{})
	assert.True(t, apierrors.IsConflict(err), "next on a finished release: want 409, got %v", err)
}

// 2. Create a new CloneSet in batches: the release creates it with the canary's size, the canary waits
// out of traffic, then Auto mode raises the replicas batch by batch.
func TestCreateCloneSetInBatches(t *testing.T) {
	t.Parallel()
	admin := connect(t, "admin")
	ns := namespace(t, admin)
	ctx := testContext(t, 4*time.Minute)
	releases := admin.releases.ReleasesV1alpha1().Releases(ns)

	batchSize := intstr.FromInt32(2)
	rel := &v1alpha1.Release{
		ObjectMeta: metav1.ObjectMeta{Name: "nginx-create"},
		Spec: v1alpha1.ReleaseSpec{
			CloneSetName: "nginx",
			Action:       v1alpha1.ActionCreate,
			Replicas:     one(5),
			Template: &corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "nginx"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "nginx", Image: "nginx:1.27"}}},
			},
			Strategy: v1alpha1.ReleaseStrategy{Canary: 1, BatchSize: &batchSize, Mode: v1alpha1.ModeAuto},
		},
	}
	created, err := releases.Create(ctx, rel, metav1.CreateOptions{})
	require.NoError(t, err)
	require.NotNil(t, created.Spec.Selector, "the selector defaults from the template labels")
	assert.Equal(t, map[string]string{"app": "nginx"}, created.Spec.Selector.MatchLabels)
	require.Len(t, created.Status.Batches, 3)
	for i, want := range []struct {
		canary           bool
		replicas, target int32
	}{{true, 1, 1}, {false, 2, 3}, {false, 2, 5}} {
		b := created.Status.Batches[i]
		assert.Equal(t, want.canary, b.Canary, "batch %d canary", i+1)
		assert.Equal(t, want.replicas, b.Replicas, "batch %d replicas", i+1)
		assert.Equal(t, want.target, b.Target, "batch %d target", i+1)
	}

	// The canary: the release creates the CloneSet with 1 replica; its pod is up but not in traffic.
	r := waitRelease(t, ctx, admin, ns, "nginx-create", "canary Smoked", batchIs(1, v1alpha1.BatchSmoked))
	assertConditions(t, r, true, false, false, false)
	assertBatchPhases(t, r, v1alpha1.BatchSmoked, v1alpha1.BatchPending, v1alpha1.BatchPending)
	cs := getCloneSet(t, ctx, admin, ns)
	assert.Equal(t, int32(1), *cs.Spec.Replicas)
	assert.Equal(t, "nginx-create", cs.Annotations[v1alpha1.OwnerAnnotation])
	assert.False(t, hasReadinessGate(cs.Spec.Template.Spec, v1alpha1.ReadinessGate), "no gate in the created CloneSet's template (invariant 10)")
	assert.Equal(t, "true", cs.Labels[v1alpha1.PullInLabel], "held: its new pods get the gate from the admission policy")
	assert.Equal(t, "nginx:1.27", cs.Spec.Template.Spec.Containers[0].Image)
	pods := livePods(t, ctx, admin, ns)
	require.Len(t, pods, 1, podSummary(pods))
	canary := pods[0].Name
	assert.Equal(t, corev1.ConditionTrue, condition(&pods[0], corev1.ContainersReady))
	assert.NotEqual(t, corev1.ConditionTrue, condition(&pods[0], corev1.PodReady), "the canary is out of traffic before next")
	assert.NotEqual(t, corev1.ConditionTrue, condition(&pods[0], v1alpha1.ReadinessGate))
	holds(t, ctx, 2*time.Second, "the canary waits at Smoked, out of traffic, in Auto mode", func(ctx context.Context) (bool, string) {
		r, err := releases.Get(ctx, "nginx-create", metav1.GetOptions{})
		if err != nil {
			return true, ""
		}
		pods := livePods(t, ctx, admin, ns)
		return batchIs(1, v1alpha1.BatchSmoked)(r) && len(pods) == 1 && condition(&pods[0], corev1.PodReady) != corev1.ConditionTrue,
			fmt.Sprintf("release %+v; pods %s", r.Status.Batches[0], podSummary(pods))
	})

	// next pulls the canary in: Baked, and it waits again (a canary does, in both modes).
	r, err = releases.Next(ctx, "nginx-create", &v1alpha1.ReleaseRequest{ExpectedBatch: one(1), ExpectedPhase: v1alpha1.BatchSmoked}, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.BatchBaking, r.Status.Batches[0].Phase)
	r = waitRelease(t, ctx, admin, ns, "nginx-create", "canary Baked", batchIs(1, v1alpha1.BatchBaked))
	assertConditions(t, r, true, false, false, false)
	waitCondition(t, ctx, admin, ns, canary, corev1.PodReady, corev1.ConditionTrue)
	p, err := admin.kube.CoreV1().Pods(ns).Get(ctx, canary, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, corev1.ConditionTrue, condition(p, v1alpha1.ReadinessGate), "the canary pulled in")
	assert.Equal(t, int32(1), *getCloneSet(t, ctx, admin, ns).Spec.Replicas, "no more pods before next")

	// next starts batch 2: replicas 3 at once; then Auto goes on to 5 on its own.
	r, err = releases.Next(ctx, "nginx-create", &v1alpha1.ReleaseRequest{ExpectedBatch: one(1), ExpectedPhase: v1alpha1.BatchBaked}, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(2), r.Status.CurrentBatch)
	assert.Equal(t, v1alpha1.BatchSmoking, r.Status.Batches[1].Phase)
	assert.Equal(t, int32(3), observedReplicas(r), "the answer shows replicas 3")
	cs = getCloneSet(t, ctx, admin, ns)
	assert.Equal(t, int32(3), *cs.Spec.Replicas)
	assert.Equal(t, int32(0), partition(cs), "Create moves replicas, not a partition")

	r = waitRelease(t, ctx, admin, ns, "nginx-create", "Succeeded", succeeded)
	assertConditions(t, r, false, false, false, true)
	assertBatchPhases(t, r, v1alpha1.BatchBaked, v1alpha1.BatchBaked, v1alpha1.BatchBaked)
	assert.Equal(t, int32(3), r.Status.CurrentBatch)
	assert.Contains(t, historyActions(r), "next,smoked,baked,advance,smoked,baked", "batch 3 started on its own")
	cs = waitReleased(t, ctx, admin, ns)
	assert.Equal(t, int32(5), *cs.Spec.Replicas)
	assert.False(t, hasReadinessGate(cs.Spec.Template.Spec, v1alpha1.ReadinessGate), "no gate in the template once the release has ended")
	_, labeled := cs.Labels[v1alpha1.PullInLabel]
	assert.False(t, labeled, "no pull-in label once the release has ended")
	pods = waitPods(t, ctx, admin, ns, "5 pods Ready", func(pods []corev1.Pod) bool { return allReady(pods, 5) })
	assert.Contains(t, podNames(pods), canary)
	for i := range pods {
		assert.Equal(t, "nginx:1.27", pods[i].Spec.Containers[0].Image)
		assert.Equal(t, corev1.ConditionTrue, condition(&pods[i], v1alpha1.ReadinessGate), "%s pulled in", pods[i].Name)
	}
}

func scaleTo(replicas int32, batchSize intstr.IntOrString, podsToDelete ...string) *v1alpha1.Release {
	return &v1alpha1.Release{
		ObjectMeta: metav1.ObjectMeta{Name: "nginx-scale"},
		Spec: v1alpha1.ReleaseSpec{
			CloneSetName: "nginx",
			Action:       v1alpha1.ActionScale,
			Replicas:     &replicas,
			PodsToDelete: podsToDelete,
			Strategy:     v1alpha1.ReleaseStrategy{BatchSize: &batchSize, Mode: v1alpha1.ModeManual},
		},
	}
}

// 3. Scale out 2 -> 5 by 2, Manual: replicas 4, next, 5, next, Succeeded. The old pods stay.
func TestScaleOutInBatches(t *testing.T) {
	t.Parallel()
	admin := connect(t, "admin")
	ns := namespace(t, admin)
	ctx := testContext(t, 4*time.Minute)
	nginx(t, ctx, admin, ns, 2)
	original := podNames(livePods(t, ctx, admin, ns))
	releases := admin.releases.ReleasesV1alpha1().Releases(ns)

	// Not in the same second as the pods (TestScaleOutIgnoresPodsOfTheSameSecond is about that).
	afterTheSecondOf(t, ctx, livePods(t, ctx, admin, ns))
	created, err := releases.Create(ctx, scaleTo(5, intstr.FromInt32(2)), metav1.CreateOptions{})
	require.NoError(t, err)
	require.Len(t, created.Status.Batches, 2)
	assert.Equal(t, []int32{2, 1}, []int32{created.Status.Batches[0].Replicas, created.Status.Batches[1].Replicas})
	assert.Equal(t, []int32{2, 3}, []int32{created.Status.Batches[0].Target, created.Status.Batches[1].Target})

	for k, replicas := range []int32{4, 5} {
		batch := int32(k + 1)
		r := waitRelease(t, ctx, admin, ns, "nginx-scale", fmt.Sprintf("batch %d Baked", batch), func(r *v1alpha1.Release) bool {
			return batchIs(batch, v1alpha1.BatchBaked)(r) && observedReplicas(r) == replicas
		})
		assertConditions(t, r, true, false, false, false)
		cs := getCloneSet(t, ctx, admin, ns)
		assert.Equal(t, replicas, *cs.Spec.Replicas)
		assert.Equal(t, "nginx-scale", cs.Annotations[v1alpha1.OwnerAnnotation])
		assert.Equal(t, "nginx:1.27", cs.Spec.Template.Spec.Containers[0].Image, "Scale keeps the template")
		pods := livePods(t, ctx, admin, ns)
		assert.True(t, allReady(pods, int(replicas)), "batch %d Baked: %d pods Ready: %s", batch, replicas, podSummary(pods))
		assert.Equal(t, int(replicas), countImage(pods, "nginx:1.27"))
		assert.Subset(t, podNames(pods), original, "the pods from before the release stay")
		for i := range pods {
			assert.Equal(t, cs.Status.UpdateRevision, pods[i].Labels[appsv1.ControllerRevisionHashLabelKey], "one revision throughout")
			if contains(original, pods[i].Name) {
				assert.Equal(t, corev1.ConditionUnknown, condition(&pods[i], v1alpha1.ReadinessGate), "%s is not the release's: not pulled in", pods[i].Name)
			}
		}
		// Manual: nothing more happens until next.
		holds(t, ctx, time.Second, "a Baked batch waits for next", func(ctx context.Context) (bool, string) {
			cs := getCloneSet(t, ctx, admin, ns)
			return *cs.Spec.Replicas == replicas, fmt.Sprintf("replicas %d", *cs.Spec.Replicas)
		})

		r, err = releases.Next(ctx, "nginx-scale", &v1alpha1.ReleaseRequest{ExpectedBatch: one(batch)}, metav1.CreateOptions{})
		require.NoError(t, err)
		if batch == 1 {
			assert.Equal(t, int32(2), r.Status.CurrentBatch)
			assert.Equal(t, int32(5), observedReplicas(r), "the answer shows replicas 5")
			assert.Equal(t, int32(5), *getCloneSet(t, ctx, admin, ns).Spec.Replicas)
		} else {
			assert.Equal(t, v1alpha1.ReleaseSucceeded, r.Status.Phase)
			assertConditions(t, r, false, false, false, true)
		}
	}
	cs := waitReleased(t, ctx, admin, ns)
	assert.Equal(t, int32(5), *cs.Spec.Replicas)
	pods := waitPods(t, ctx, admin, ns, "5 pods Ready", func(pods []corev1.Pod) bool { return allReady(pods, 5) })
	assert.Subset(t, podNames(pods), original)
}

// afterTheSecondOf waits until the clock is past the second in which the newest of pods was created.
func afterTheSecondOf(t *testing.T, ctx context.Context, pods []corev1.Pod) {
	t.Helper()
	var newest time.Time
	for _, p := range pods {
		if p.CreationTimestamp.After(newest) {
			newest = p.CreationTimestamp.Time
		}
	}
	waitUntil(t, ctx, "the clock past the second of "+newest.String(), func(context.Context) (struct{}, bool, string) {
		return struct{}{}, time.Now().Truncate(time.Second).After(newest), ""
	}, every(50*time.Millisecond), within(5*time.Second))
}

func contains(names []string, name string) bool {
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}

// A scale-out release's pods are the ones it brings up. The pods from before are not counted, not pulled
// in, and do not Bake a batch, even when they were created in the same second as the release
// (creationTimestamp has a resolution of one second).
func TestScaleOutIgnoresPodsOfTheSameSecond(t *testing.T) {
	t.Parallel()
	admin := connect(t, "admin")
	ns := namespace(t, admin)
	ctx := testContext(t, 3*time.Minute)
	// Start early in a second, so that the CloneSet's pods and the release are likely to share it.
	waitUntil(t, ctx, "the first 100 ms of a second", func(context.Context) (struct{}, bool, string) {
		return struct{}{}, time.Now().Nanosecond() < int(100*time.Millisecond), ""
	}, every(10*time.Millisecond), within(5*time.Second))
	nginx(t, ctx, admin, ns, 2)
	original := livePods(t, ctx, admin, ns)
	releases := admin.releases.ReleasesV1alpha1().Releases(ns)
	created, err := releases.Create(ctx, scaleTo(4, intstr.FromInt32(2)), metav1.CreateOptions{})
	require.NoError(t, err)
	sameSecond := false
	for _, p := range original {
		sameSecond = sameSecond || p.CreationTimestamp.Equal(&created.CreationTimestamp)
	}
	if !sameSecond {
		t.Skipf("the release (%s) was not created in the same second as the pods (%s): nothing to check",
			created.CreationTimestamp, original[len(original)-1].CreationTimestamp)
	}

	r := waitRelease(t, ctx, admin, ns, "nginx-scale", "batch 1 Baked", batchIs(1, v1alpha1.BatchBaked))
	pods := livePods(t, ctx, admin, ns)
	assert.True(t, allReady(pods, 4), "batch 1 (2 new pods) is Baked only once they are Ready: %s; history %s",
		podSummary(pods), historyActions(r))
	for i := range original {
		p, err := admin.kube.CoreV1().Pods(ns).Get(ctx, original[i].Name, metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, corev1.ConditionUnknown, condition(p, v1alpha1.ReadinessGate), "%s is from before the release: not pulled in", p.Name)
	}
}

// 4. Scale in 5 -> 2 by 2 with podsToDelete: the named pods go in the first batch, then one more.
func TestScaleInDeletesNamedPodsFirst(t *testing.T) {
	t.Parallel()
	admin := connect(t, "admin")
	ns := namespace(t, admin)
	ctx := testContext(t, 4*time.Minute)
	nginx(t, ctx, admin, ns, 5)
	original := podNames(livePods(t, ctx, admin, ns))
	require.Len(t, original, 5)
	named := []string{original[1], original[3]}
	var kept []string
	for _, n := range original {
		if n != named[0] && n != named[1] {
			kept = append(kept, n)
		}
	}
	releases := admin.releases.ReleasesV1alpha1().Releases(ns)

	// Every pod event seen: the named pods, once gone, never come back.
	seenAfterGone := make(chan string, 10)
	watcher, err := admin.kube.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{LabelSelector: "app=nginx"})
	require.NoError(t, err)
	defer watcher.Stop()
	go func() {
		gone := map[string]bool{}
		for ev := range watcher.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			if ev.Type == watch.Deleted {
				gone[p.Name] = true
			} else if gone[p.Name] {
				select {
				case seenAfterGone <- p.Name:
				default:
				}
			}
		}
	}()

	created, err := releases.Create(ctx, scaleTo(2, intstr.FromInt32(2), named...), metav1.CreateOptions{})
	require.NoError(t, err)
	require.Len(t, created.Status.Batches, 2)
	assert.Equal(t, []int32{2, 3}, []int32{created.Status.Batches[0].Target, created.Status.Batches[1].Target})

	// Batch 1: replicas 3, and the pods removed are exactly the named ones.
	r := waitRelease(t, ctx, admin, ns, "nginx-scale", "batch 1 Baked", func(r *v1alpha1.Release) bool {
		return batchIs(1, v1alpha1.BatchBaked)(r) && observedReplicas(r) == 3
	})
	assertConditions(t, r, true, false, false, false)
	cs := getCloneSet(t, ctx, admin, ns)
	assert.Equal(t, int32(3), *cs.Spec.Replicas)
	assert.Subset(t, named, cs.Spec.ScaleStrategy.PodsToDelete, "only the named pods are given to the CloneSet")
	pods := waitPods(t, ctx, admin, ns, "the named pods gone", func(pods []corev1.Pod) bool { return len(pods) == 3 })
	assert.Equal(t, kept, podNames(pods), "batch 1 removed exactly the named pods")
	assert.True(t, allReady(pods, 3), podSummary(pods))
	holds(t, ctx, time.Second, "a Baked scale-in batch waits for next", func(ctx context.Context) (bool, string) {
		pods := livePods(t, ctx, admin, ns)
		return len(pods) == 3, podSummary(pods)
	})

	r, err = releases.Next(ctx, "nginx-scale", &v1alpha1.ReleaseRequest{ExpectedBatch: one(1), ExpectedPhase: v1alpha1.BatchBaked}, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(2), r.Status.CurrentBatch)
	assert.Equal(t, int32(2), observedReplicas(r))

	// Batch 2: one more pod, one of the kept ones.
	r = waitRelease(t, ctx, admin, ns, "nginx-scale", "batch 2 Baked", batchIs(2, v1alpha1.BatchBaked))
	assertConditions(t, r, true, false, false, false)
	pods = waitPods(t, ctx, admin, ns, "2 pods left", func(pods []corev1.Pod) bool { return len(pods) == 2 })
	assert.Subset(t, kept, podNames(pods), "no pod was created: the 2 left are among those kept in batch 1")
	assert.True(t, allReady(pods, 2), podSummary(pods))

	r, err = releases.Next(ctx, "nginx-scale", &v1alpha1.ReleaseRequest{ExpectedBatch: one(2)}, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.ReleaseSucceeded, r.Status.Phase)
	assertConditions(t, r, false, false, false, true)
	cs = waitReleased(t, ctx, admin, ns)
	assert.Equal(t, int32(2), *cs.Spec.Replicas)
	pods = livePods(t, ctx, admin, ns)
	assert.Len(t, pods, 2)
	for _, n := range named {
		assert.NotContains(t, podNames(pods), n)
		_, err := admin.kube.CoreV1().Pods(ns).Get(ctx, n, metav1.GetOptions{})
		assert.True(t, apierrors.IsNotFound(err), "pod %s: want NotFound, got %v", n, err)
	}
	select {
	case n := <-seenAfterGone:
		t.Errorf("pod %s came back after it was deleted", n)
	default:
	}
}

// 5. Restart every pod, one at a time, Auto, no pull-in: every pod is replaced.
func TestRestartReplacesEveryPod(t *testing.T) {
	t.Parallel()
	admin := connect(t, "admin")
	ns := namespace(t, admin)
	ctx := testContext(t, 4*time.Minute)
	nginx(t, ctx, admin, ns, 3)
	before := getCloneSet(t, ctx, admin, ns)
	original := podNames(livePods(t, ctx, admin, ns))
	releases := admin.releases.ReleasesV1alpha1().Releases(ns)

	// The partition is only ever lowered while the release runs.
	var partitions []int32
	var mu sync.Mutex
	sampler, stopSampler := context.WithCancel(ctx)
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		// Sampled until stopped: the read is never done.
		poll(sampler, func(ctx context.Context) (struct{}, bool, string) {
			cs, err := admin.kruise.AppsV1alpha1().CloneSets(ns).Get(ctx, "nginx", metav1.GetOptions{})
			if err != nil || cs.Annotations[v1alpha1.OwnerAnnotation] == "" || cs.Spec.UpdateStrategy.Partition == nil {
				return struct{}{}, false, ""
			}
			mu.Lock()
			if p := partition(cs); len(partitions) == 0 || partitions[len(partitions)-1] != p {
				partitions = append(partitions, p)
			}
			mu.Unlock()
			return struct{}{}, false, ""
		}, every(100*time.Millisecond))
	}()

	batchSize := intstr.FromInt32(1)
	created, err := releases.Create(ctx, &v1alpha1.Release{
		ObjectMeta: metav1.ObjectMeta{Name: "nginx-restart"},
		Spec: v1alpha1.ReleaseSpec{
			CloneSetName: "nginx",
			Action:       v1alpha1.ActionRestart,
			Strategy:     v1alpha1.ReleaseStrategy{BatchSize: &batchSize, Mode: v1alpha1.ModeAuto, NoPullIn: true},
		},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	require.Len(t, created.Status.Batches, 3)

	r := waitRelease(t, ctx, admin, ns, "nginx-restart", "Succeeded", succeeded)
	stopSampler()
	<-sampled
	assertConditions(t, r, false, false, false, true)
	assertBatchPhases(t, r, v1alpha1.BatchBaked, v1alpha1.BatchBaked, v1alpha1.BatchBaked)
	assert.Equal(t, "start,smoked,baked,advance,smoked,baked,advance,smoked,baked", historyActions(r))
	assert.Equal(t, before.Status.UpdateRevision, r.Status.CloneSet.RevisionBeforeRelease)
	mu.Lock()
	for i := 1; i < len(partitions); i++ {
		assert.Less(t, partitions[i], partitions[i-1], "the partition went up: %v", partitions)
	}
	mu.Unlock()

	cs := waitReleased(t, ctx, admin, ns)
	restartedAt := cs.Spec.Template.Annotations[v1alpha1.RestartedAtAnnotation]
	assert.Equal(t, created.CreationTimestamp.UTC().Format(time.RFC3339), restartedAt, "the template's restart annotation")
	assert.Equal(t, int32(0), partition(cs))
	assert.False(t, hasReadinessGate(cs.Spec.Template.Spec, v1alpha1.ReadinessGate), "noPullIn: no gate in the template")
	assert.Equal(t, "nginx:1.27", cs.Spec.Template.Spec.Containers[0].Image)
	assert.NotEqual(t, before.Status.UpdateRevision, cs.Status.UpdateRevision)
	pods := waitPods(t, ctx, admin, ns, "3 restarted pods Ready", func(pods []corev1.Pod) bool {
		return allReady(pods, 3)
	})
	for i := range pods {
		p := &pods[i]
		assert.NotContains(t, original, p.Name, "%s is a pod from before the restart", p.Name)
		assert.Equal(t, restartedAt, p.Annotations[v1alpha1.RestartedAtAnnotation], p.Name)
		assert.Equal(t, cs.Status.UpdateRevision, p.Labels[appsv1.ControllerRevisionHashLabelKey], p.Name)
		assert.Equal(t, "nginx:1.27", p.Spec.Containers[0].Image)
	}
}

// 6. Rollback without toRevision: it defaults to the revision before the current, and the pods go back.
func TestRollbackToThePreviousRevision(t *testing.T) {
	t.Parallel()
	admin := connect(t, "admin")
	ns := namespace(t, admin)
	ctx := testContext(t, 4*time.Minute)
	nginx(t, ctx, admin, ns, 3)
	first := getCloneSet(t, ctx, admin, ns).Status.UpdateRevision
	releases := admin.releases.ReleasesV1alpha1().Releases(ns)

	// An update by hand to nginx:1.28.
	_, err := admin.kruise.AppsV1alpha1().CloneSets(ns).Patch(ctx, "nginx", types.MergePatchType,
		[]byte(`{"spec":{"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:1.28"}]}}}}`), metav1.PatchOptions{})
	require.NoError(t, err)
	cs := waitCloneSetIs(t, ctx, admin, ns, "updated to nginx:1.28", func(cs *kruiseappsv1alpha1.CloneSet) bool {
		s := cs.Status
		return s.ObservedGeneration == cs.Generation && s.UpdateRevision != first && s.UpdatedReadyReplicas == 3 &&
			s.ReadyReplicas == 3 && s.Replicas == 3
	})
	second := cs.Status.UpdateRevision
	waitPods(t, ctx, admin, ns, "3 pods at nginx:1.28", func(pods []corev1.Pod) bool {
		return allReady(pods, 3) && countImage(pods, "nginx:1.28") == 3
	})

	batchSize := intstr.FromString("100%")
	created, err := releases.Create(ctx, &v1alpha1.Release{
		ObjectMeta: metav1.ObjectMeta{Name: "nginx-rollback"},
		Spec: v1alpha1.ReleaseSpec{
			CloneSetName: "nginx",
			Action:       v1alpha1.ActionRollback,
			Strategy:     v1alpha1.ReleaseStrategy{BatchSize: &batchSize, NoPullIn: true},
		},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, first, created.Spec.ToRevision, "toRevision defaults to the revision before the current")
	assert.Equal(t, v1alpha1.ModeManual, created.Spec.Strategy.Mode)
	require.Len(t, created.Status.Batches, 1)
	assert.Equal(t, int32(3), created.Status.Batches[0].Target)
	stored, err := releases.Get(ctx, "nginx-rollback", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, first, stored.Spec.ToRevision, "the default is stored")

	r := waitRelease(t, ctx, admin, ns, "nginx-rollback", "batch 1 Baked", func(r *v1alpha1.Release) bool {
		return batchIs(1, v1alpha1.BatchBaked)(r) && observedPartition(r) == 0
	})
	assertConditions(t, r, true, false, false, false)
	assert.Equal(t, second, r.Status.CloneSet.RevisionBeforeRelease)
	cs = getCloneSet(t, ctx, admin, ns)
	assert.Equal(t, "nginx:1.27", cs.Spec.Template.Spec.Containers[0].Image, "the template of the first revision")
	assert.False(t, hasReadinessGate(cs.Spec.Template.Spec, v1alpha1.ReadinessGate))
	assert.Equal(t, int32(0), partition(cs))
	assert.Equal(t, "nginx-rollback", cs.Annotations[v1alpha1.OwnerAnnotation])
	pods := livePods(t, ctx, admin, ns)
	assert.True(t, allReady(pods, 3), podSummary(pods))
	assert.Equal(t, 3, countImage(pods, "nginx:1.27"), podSummary(pods))
	for i := range pods {
		assert.Equal(t, cs.Status.UpdateRevision, pods[i].Labels[appsv1.ControllerRevisionHashLabelKey])
	}

	r, err = releases.Next(ctx, "nginx-rollback", &v1alpha1.ReleaseRequest{ExpectedBatch: one(1), ExpectedPhase: v1alpha1.BatchBaked}, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.ReleaseSucceeded, r.Status.Phase)
	assertConditions(t, r, false, false, false, true)
	cs = waitReleased(t, ctx, admin, ns)
	assert.Equal(t, "nginx:1.27", cs.Spec.Template.Spec.Containers[0].Image)
	cs = waitCloneSetIs(t, ctx, admin, ns, "all pods at the rolled-back revision", func(cs *kruiseappsv1alpha1.CloneSet) bool {
		return cs.Status.UpdatedReadyReplicas == 3 && cs.Status.CurrentRevision == cs.Status.UpdateRevision
	})
	assert.Equal(t, first, cs.Status.UpdateRevision, "the CloneSet is back at its first revision")
	pods = livePods(t, ctx, admin, ns)
	assert.Equal(t, 3, countImage(pods, "nginx:1.27"), podSummary(pods))
}

// 7. Cancel mid-release: the CloneSet goes back to its template and size from before the release.
func TestCancelMidRelease(t *testing.T) {
	t.Parallel()
	admin := connect(t, "admin")
	ns := namespace(t, admin)
	ctx := testContext(t, 4*time.Minute)
	nginx(t, ctx, admin, ns, 4)
	before := getCloneSet(t, ctx, admin, ns)
	releases := admin.releases.ReleasesV1alpha1().Releases(ns)

	_, err := releases.Create(ctx, updateTo("nginx:1.28", 1, intstr.FromInt32(1), v1alpha1.ModeManual), metav1.CreateOptions{})
	require.NoError(t, err)
	waitRelease(t, ctx, admin, ns, "nginx-update", "canary Smoked", batchIs(1, v1alpha1.BatchSmoked))
	_, err = releases.Next(ctx, "nginx-update", &v1alpha1.ReleaseRequest{ExpectedBatch: one(1), ExpectedPhase: v1alpha1.BatchSmoked}, metav1.CreateOptions{})
	require.NoError(t, err)
	waitRelease(t, ctx, admin, ns, "nginx-update", "canary Baked", batchIs(1, v1alpha1.BatchBaked))
	r, err := releases.Next(ctx, "nginx-update", &v1alpha1.ReleaseRequest{ExpectedBatch: one(1), ExpectedPhase: v1alpha1.BatchBaked}, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(2), r.Status.CurrentBatch)
	assert.Equal(t, int32(2), observedPartition(r))
	// Batch 2 has started: its pod is at the new image.
	waitPods(t, ctx, admin, ns, "2 pods at nginx:1.28", func(pods []corev1.Pod) bool {
		return len(pods) == 4 && countImage(pods, "nginx:1.28") == 2
	})

	r, err = releases.Cancel(ctx, "nginx-update", &v1alpha1.ReleaseRequest{Reason: "bad canary"}, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.ReleaseCanceled, r.Status.Phase)
	assertConditions(t, r, false, false, false, false)
	h := lastHistory(r)
	assert.Equal(t, "cancel", h.Action)
	assert.Equal(t, "admin", h.User)
	assert.Equal(t, "bad canary", h.Reason)
	assert.Equal(t, int32(0), observedPartition(r), "the answer shows partition 0")
	assert.False(t, r.Status.CloneSet.Paused)

	// The CloneSet has its old template back before the answer; the release holds it (owner annotation and
	// hooks) until its pods have left traffic, then lets go of it.
	cs := getCloneSet(t, ctx, admin, ns)
	assert.Equal(t, "nginx:1.27", cs.Spec.Template.Spec.Containers[0].Image)
	assert.False(t, hasReadinessGate(cs.Spec.Template.Spec, v1alpha1.ReadinessGate), "the template from before the release has no gate")
	assert.Equal(t, int32(0), partition(cs))
	assert.Equal(t, int32(4), *cs.Spec.Replicas)
	assert.False(t, cs.Spec.UpdateStrategy.Paused)
	r = waitRelease(t, ctx, admin, ns, "nginx-update", "Reverted", func(r *v1alpha1.Release) bool {
		return conditionIs(r, v1alpha1.ConditionReverted, metav1.ConditionTrue)
	})
	assertConditions(t, r, false, false, false, false)
	cs = waitReleased(t, ctx, admin, ns)
	assert.Empty(t, cs.Spec.Lifecycle, "the hooks are gone once the release let go")

	// Eventually every pod is at nginx:1.27 and Ready again, at the revision from before.
	pods := waitPods(t, ctx, admin, ns, "4 pods at nginx:1.27, Ready", func(pods []corev1.Pod) bool {
		return allReady(pods, 4) && countImage(pods, "nginx:1.27") == 4
	})
	for i := range pods {
		assert.Equal(t, before.Status.UpdateRevision, pods[i].Labels[appsv1.ControllerRevisionHashLabelKey], pods[i].Name)
	}
	waitCloneSetIs(t, ctx, admin, ns, "back at the revision from before", func(cs *kruiseappsv1alpha1.CloneSet) bool {
		return cs.Status.UpdateRevision == before.Status.UpdateRevision && cs.Status.UpdatedReadyReplicas == 4
	})
	holds(t, ctx, 2*time.Second, "a canceled release leaves the CloneSet alone", func(ctx context.Context) (bool, string) {
		cs := getCloneSet(t, ctx, admin, ns)
		_, owned := cs.Annotations[v1alpha1.OwnerAnnotation]
		return cs.Spec.Template.Spec.Containers[0].Image == "nginx:1.27" && partition(cs) == 0 && !owned,
			fmt.Sprintf("image %s partition %d annotations %v", cs.Spec.Template.Spec.Containers[0].Image, partition(cs), cs.Annotations)
	})

	// Every verb is refused on a canceled release; the release stays Canceled.
	for name, call := range map[string]func() error{
		"next": func() error {
			_, err := releases.Next(ctx, "nginx-update", &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{})
			return err
		},
		"pause": func() error {
			_, err := releases.Pause(ctx, "nginx-update", &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{})
			return err
		},
		"resume": func() error {
			_, err := releases.Resume(ctx, "nginx-update", &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{})
			return err
		},
		"cancel": func() error {
			_, err := releases.Cancel(ctx, "nginx-update", &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{})
			return err
		},
	} {
		err := call()
		assert.True(t, apierrors.IsConflict(err), "%s on a canceled release: want 409, got %v", name, err)
	}
	r, err = releases.Get(ctx, "nginx-update", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.ReleaseCanceled, r.Status.Phase)
	assert.Equal(t, "cancel", lastHistory(r).Action)
}

// 8. A batch not Baked within progressDeadlineSeconds fails the release and pauses the CloneSet, held
// where it is; once the pod is fixed, resume retries the batch, which then goes on to Baked.
func TestDeadlineFailsThenResumeRetries(t *testing.T) {
	t.Parallel()
	admin := connect(t, "admin")
	ns := namespace(t, admin)
	ctx := testContext(t, 4*time.Minute)
	nginx(t, ctx, admin, ns, 2)
	releases := admin.releases.ReleasesV1alpha1().Releases(ns)

	rel := updateTo("nginx:1.28", 0, intstr.FromInt32(1), v1alpha1.ModeManual)
	rel.Spec.Template.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: neverGate}}
	deadline := int32(5)
	rel.Spec.Strategy.ProgressDeadlineSeconds = &deadline
	created, err := releases.Create(ctx, rel, metav1.CreateOptions{})
	require.NoError(t, err)
	require.Len(t, created.Status.Batches, 2)

	// The pod of batch 1 comes up and is pulled in, but never Ready: the release fails.
	r := waitRelease(t, ctx, admin, ns, "nginx-update", "Failed", func(r *v1alpha1.Release) bool {
		return r.Status.Phase == v1alpha1.ReleaseFailed && r.Status.CloneSet != nil && r.Status.CloneSet.Paused
	})
	assertConditions(t, r, false, false, true, false)
	failed := meta.FindStatusCondition(r.Status.Conditions, v1alpha1.ConditionFailed)
	assert.Contains(t, failed.Message, "within 5s", "the Failed condition names the deadline")
	assert.Contains(t, failed.Message, "batch 1")
	assert.Equal(t, int32(1), r.Status.CurrentBatch)
	assertBatchPhases(t, r, v1alpha1.BatchFailed, v1alpha1.BatchPending)
	h := lastHistory(r)
	assert.Equal(t, "fail", h.Action)
	assert.Equal(t, plan.ControllerUser, h.User)
	require.NotNil(t, r.Status.CloneSet.HeldAt)
	assert.Equal(t, int32(1), *r.Status.CloneSet.HeldAt)
	failedAt := h.Time

	cs := getCloneSet(t, ctx, admin, ns)
	assert.True(t, cs.Spec.UpdateStrategy.Paused, "a failed release pauses the CloneSet")
	assert.Equal(t, int32(1), partition(cs))
	assert.Equal(t, "nginx-update", cs.Annotations[v1alpha1.OwnerAnnotation])
	pods := livePods(t, ctx, admin, ns)
	require.Len(t, pods, 2, podSummary(pods))
	var stuck string
	for i := range pods {
		if pods[i].Spec.Containers[0].Image == "nginx:1.28" {
			stuck = pods[i].Name
			assert.True(t, hasReadinessGate(pods[i].Spec, neverGate))
			assert.Equal(t, corev1.ConditionTrue, condition(&pods[i], corev1.ContainersReady))
			assert.Equal(t, corev1.ConditionTrue, condition(&pods[i], v1alpha1.ReadinessGate), "pulled in (batch 1 was Baking)")
			assert.NotEqual(t, corev1.ConditionTrue, condition(&pods[i], corev1.PodReady))
		}
	}
	require.NotEmpty(t, stuck, "one pod at nginx:1.28: %s", podSummary(pods))

	_, err = releases.Next(ctx, "nginx-update", &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{})
	require.True(t, apierrors.IsConflict(err), "next on a failed release: want 409, got %v", err)
	assert.Contains(t, err.Error(), "resume")
	_, err = releases.Pause(ctx, "nginx-update", &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{})
	assert.True(t, apierrors.IsConflict(err), "pause on a failed release: want 409, got %v", err)

	// The pod is fixed: it becomes Ready. The release stays Failed and the CloneSet held until resume.
	setPodCondition(t, ctx, admin, ns, stuck, neverGate, corev1.ConditionTrue)
	waitCondition(t, ctx, admin, ns, stuck, corev1.PodReady, corev1.ConditionTrue)
	holds(t, ctx, 2*time.Second, "a failed release stays Failed with its CloneSet paused and held", func(ctx context.Context) (bool, string) {
		r, err := releases.Get(ctx, "nginx-update", metav1.GetOptions{})
		if err != nil {
			return true, ""
		}
		cs := getCloneSet(t, ctx, admin, ns)
		return r.Status.Phase == v1alpha1.ReleaseFailed && cs.Spec.UpdateStrategy.Paused && partition(cs) == 1,
			fmt.Sprintf("release %s; CloneSet paused %v partition %d", r.Status.Phase, cs.Spec.UpdateStrategy.Paused, partition(cs))
	})

	r, err = releases.Resume(ctx, "nginx-update", &v1alpha1.ReleaseRequest{Reason: "fixed"}, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.ReleaseProgressing, r.Status.Phase)
	assert.Equal(t, int32(1), r.Status.CurrentBatch)
	assert.Equal(t, v1alpha1.BatchSmoking, r.Status.Batches[0].Phase, "resume restarts the batch")
	require.NotNil(t, r.Status.Batches[0].StartedAt)
	assert.False(t, r.Status.Batches[0].StartedAt.Before(&failedAt), "the batch's deadline clock restarts")
	assert.False(t, r.Status.CloneSet.Paused, "the answer shows the CloneSet resumed")
	assert.Nil(t, r.Status.CloneSet.HeldAt)
	assert.Equal(t, "resume", lastHistory(r).Action)
	assertConditions(t, r, false, false, false, false)
	cs = getCloneSet(t, ctx, admin, ns)
	assert.False(t, cs.Spec.UpdateStrategy.Paused)
	assert.Equal(t, int32(1), partition(cs))

	r = waitRelease(t, ctx, admin, ns, "nginx-update", "batch 1 Baked after resume", batchIs(1, v1alpha1.BatchBaked))
	assertConditions(t, r, true, false, false, false)
	assert.Contains(t, historyActions(r), "fail,resume,smoked,baked")

	// Batch 2: with more time (the pace may change while a release runs), fixed by hand too.
	_, err = releases.Patch(ctx, "nginx-update", types.MergePatchType, []byte(`{"spec":{"strategy":{"progressDeadlineSeconds":300}}}`), metav1.PatchOptions{})
	require.NoError(t, err)
	r, err = releases.Next(ctx, "nginx-update", &v1alpha1.ReleaseRequest{ExpectedBatch: one(1), ExpectedPhase: v1alpha1.BatchBaked}, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(0), observedPartition(r))
	pods = waitPods(t, ctx, admin, ns, "2 pods at nginx:1.28", func(pods []corev1.Pod) bool {
		return len(pods) == 2 && countImage(pods, "nginx:1.28") == 2
	})
	waitRelease(t, ctx, admin, ns, "nginx-update", "batch 2 Baking", batchIs(2, v1alpha1.BatchBaking))
	for i := range pods {
		if pods[i].Name != stuck {
			setPodCondition(t, ctx, admin, ns, pods[i].Name, neverGate, corev1.ConditionTrue)
		}
	}
	waitRelease(t, ctx, admin, ns, "nginx-update", "batch 2 Baked", batchIs(2, v1alpha1.BatchBaked))
	r, err = releases.Next(ctx, "nginx-update", &v1alpha1.ReleaseRequest{ExpectedBatch: one(2)}, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.ReleaseSucceeded, r.Status.Phase)
	cs = waitReleased(t, ctx, admin, ns)
	assert.Equal(t, int32(0), partition(cs))
	assert.False(t, cs.Spec.UpdateStrategy.Paused)
}

// 9. dryRun=All on every verb answers what it would do and changes neither the Release nor the CloneSet.
func TestDryRunActionsChangeNothing(t *testing.T) {
	t.Parallel()
	admin := connect(t, "admin")
	ns := namespace(t, admin)
	ctx := testContext(t, 4*time.Minute)
	// Canary Smoked: a dry next would pull it in, a dry pause pause, a dry cancel cancel.
	startedRelease(t, ctx, admin, ns, 2, updateTo("nginx:1.28", 1, intstr.FromInt32(1), v1alpha1.ModeManual), v1alpha1.BatchSmoked)
	releases := admin.releases.ReleasesV1alpha1().Releases(ns)
	dry := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}

	type snapshot struct {
		release, cloneSet string
		phase             v1alpha1.ReleasePhase
		batch             int32
		batchPhase        v1alpha1.BatchPhase
		history           int
		partition         int32
		paused            bool
		pods              string
	}
	take := func() snapshot {
		r, err := releases.Get(ctx, "nginx-update", metav1.GetOptions{})
		require.NoError(t, err)
		cs := getCloneSet(t, ctx, admin, ns)
		s := snapshot{release: r.ResourceVersion, cloneSet: cs.ResourceVersion, phase: r.Status.Phase, batch: r.Status.CurrentBatch,
			history: len(r.Status.History), partition: partition(cs), paused: cs.Spec.UpdateStrategy.Paused,
			pods: strings.Join(podNames(livePods(t, ctx, admin, ns)), ",")}
		if r.Status.CurrentBatch > 0 {
			s.batchPhase = r.Status.Batches[r.Status.CurrentBatch-1].Phase
		}
		return s
	}
	// settled waits until the release, the CloneSet and the pods stop changing on their own (a moment
	// after a transition the controller still records what it observed, kruise its status).
	settled := func() snapshot {
		t.Helper()
		var last snapshot
		stable := 0
		return waitUntil(t, ctx, "the release and the CloneSet to settle", func(context.Context) (snapshot, bool, string) {
			s := take()
			if s == last {
				stable++
			} else {
				stable = 0
			}
			last = s
			return s, stable >= 3, fmt.Sprintf("%+v", s)
		}, every(300*time.Millisecond), within(time.Minute))
	}
	unchanged := func(verb string, before snapshot) {
		t.Helper()
		holds(t, ctx, time.Second, verb+" with dryRun=All changes nothing", func(ctx context.Context) (bool, string) {
			now := take()
			return now == before, fmt.Sprintf("before %+v, after %+v", before, now)
		})
	}

	before := settled()
	assert.Equal(t, int32(1), before.partition)

	r, err := releases.Next(ctx, "nginx-update", &v1alpha1.ReleaseRequest{ExpectedBatch: one(1)}, dry)
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.BatchBaking, r.Status.Batches[0].Phase, "the answer shows what next would do")
	assert.Equal(t, "next", lastHistory(r).Action)
	unchanged("next (pull-in)", before)

	r, err = releases.Pause(ctx, "nginx-update", &v1alpha1.ReleaseRequest{}, dry)
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.ReleasePaused, r.Status.Phase)
	assert.True(t, r.Status.CloneSet.Paused, "the answer shows the CloneSet paused")
	unchanged("pause", before)

	r, err = releases.Cancel(ctx, "nginx-update", &v1alpha1.ReleaseRequest{}, dry)
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.ReleaseCanceled, r.Status.Phase)
	assert.Equal(t, int32(0), observedPartition(r), "the answer shows the CloneSet back at partition 0")
	unchanged("cancel", before)

	// Paused for real: a dry resume.
	r, err = releases.Pause(ctx, "nginx-update", &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{})
	require.NoError(t, err)
	require.Equal(t, v1alpha1.ReleasePaused, r.Status.Phase)
	before = settled()
	assert.True(t, before.paused)
	r, err = releases.Resume(ctx, "nginx-update", &v1alpha1.ReleaseRequest{}, dry)
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.ReleaseProgressing, r.Status.Phase)
	assert.False(t, r.Status.CloneSet.Paused, "the answer shows the CloneSet resumed")
	unchanged("resume", before)

	// Canary Baked: a dry next would start batch 2 (partition 0).
	_, err = releases.Resume(ctx, "nginx-update", &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = releases.Next(ctx, "nginx-update", &v1alpha1.ReleaseRequest{ExpectedBatch: one(1), ExpectedPhase: v1alpha1.BatchSmoked}, metav1.CreateOptions{})
	require.NoError(t, err)
	waitRelease(t, ctx, admin, ns, "nginx-update", "canary Baked", batchIs(1, v1alpha1.BatchBaked))
	before = settled()
	r, err = releases.Next(ctx, "nginx-update", &v1alpha1.ReleaseRequest{ExpectedBatch: one(1), ExpectedPhase: v1alpha1.BatchBaked}, dry)
	require.NoError(t, err)
	assert.Equal(t, int32(2), r.Status.CurrentBatch)
	assert.Equal(t, int32(0), observedPartition(r), "the answer shows the partition batch 2 would set")
	unchanged("next (start batch 2)", before)
	pods := livePods(t, ctx, admin, ns)
	assert.Equal(t, 1, countImage(pods, "nginx:1.28"), "still only the canary: %s", podSummary(pods))

	// A dry cancel of a running batch, then of a paused release, leave the canary where it is.
	r, err = releases.Cancel(ctx, "nginx-update", &v1alpha1.ReleaseRequest{}, dry)
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.ReleaseCanceled, r.Status.Phase)
	unchanged("cancel (Baked canary)", before)
	r, err = releases.Pause(ctx, "nginx-update", &v1alpha1.ReleaseRequest{}, dry)
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.ReleasePaused, r.Status.Phase)
	unchanged("pause (Baked canary)", before)
}
