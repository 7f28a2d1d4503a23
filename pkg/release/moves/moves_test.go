package moves

import (
	"sort"
	"testing"

	kruiseappspub "github.com/openkruise/kruise-api/apps/pub"
	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/release/plan"
)

// summary is m as the names of the pods of each move, moves without pods left out.
func summary(m Moves) map[string][]string {
	out := map[string][]string{}
	for move, pods := range map[string][]corev1.Pod{
		"pullOut": m.PullOut, "replace": m.Replace, "pullIn": m.PullIn,
		"blueIn": m.Blue.In, "blueOut": m.Blue.Out, "ungatedOut": m.Ungated.Out, "ungatedIn": m.Ungated.In,
		"stableStrays": m.StableStrays, "drain": m.Drain, "letGo": m.LetGo, "letGoUnlisted": m.LetGoUnlisted,
		"hold": m.Hold,
	} {
		if len(pods) == 0 {
			continue
		}
		var names []string
		for _, p := range pods {
			names = append(names, p.Name)
		}
		sort.Strings(names)
		out[move] = names
	}
	return out
}

// with is r changed.
func with(r *releases.Release, change func(r *releases.Release)) *releases.Release {
	change(r)
	return r
}

func phase(p releases.ReleasePhase) func(*releases.Release) {
	return func(r *releases.Release) { r.Status.Phase = p }
}

// condition sets a condition of the release's status.
func condition(t string, status metav1.ConditionStatus, reason string) func(*releases.Release) {
	return func(r *releases.Release) {
		meta.SetStatusCondition(&r.Status.Conditions, metav1.Condition{Type: t, Status: status, Reason: reason})
	}
}

// canceled is a cancel of r while its pods leave traffic (Reverting).
func canceled(r *releases.Release) { r.Status.Phase = releases.ReleaseCanceled }

// lost is r ended because its CloneSet was replaced (plan.MarkLost).
func lost(r *releases.Release) {
	r.Status.Phase = releases.ReleaseFailed
	condition(releases.ConditionFailed, metav1.ConditionTrue, releases.ReasonCloneSetReplaced)(r)
}

// switchingBack is r (a switched blue/green release) canceled, bringing blue back first.
func switchingBack(r *releases.Release) {
	canceled(r)
	condition(releases.ConditionReverted, metav1.ConditionFalse, plan.RevertSwitchingBack)(r)
}

func scaledTo(cs *kruiseappsv1alpha1.CloneSet, replicas int32) *kruiseappsv1alpha1.CloneSet {
	cs.Spec.Replicas = &replicas
	return cs
}

func TestOutFirst(t *testing.T) {
	newAndOld := []corev1.Pod{
		webPod("a", "web-v4", 10, inTraffic), webPod("b", "web-v4", 11),
		webPod("d", "web-v3", 0, inTraffic), webPod("e", "web-v3", 1, inTraffic),
	}
	blueAndGreen := []corev1.Pod{
		webPod("g1", "web-v4", 10, inTraffic), webPod("g2", "web-v4", 11, inTraffic),
		webPod("d", "web-v3", 0, ungated, keyed), webPod("e", "web-v3", 1, ungated),
	}
	for _, c := range []struct {
		name  string
		r     *releases.Release
		pods  []corev1.Pod
		want  map[string][]string
		again bool
	}{
		{name: "a running release takes nothing out first", r: webUpdate(2, releases.BatchBaked), pods: newAndOld,
			want: map[string][]string{}},
		{name: "a canceled release pulls its new pods out before the CloneSet goes back", r: with(webUpdate(2, releases.BatchBaked), canceled),
			pods: newAndOld, want: map[string][]string{"pullOut": {"a"}}},
		{name: "a cancel that cannot put the template back leaves the release's pods in traffic",
			r:    with(with(webUpdate(2, releases.BatchBaked), canceled), condition(releases.ConditionReverted, metav1.ConditionTrue, releases.ReasonRevisionGone)),
			pods: newAndOld, want: map[string][]string{}},
		{name: "a release canceled before it started has no pods to take out", r: with(webUpdate(0, ""), canceled),
			pods: newAndOld, want: map[string][]string{}},
		{name: "a canceled blue/green release brings blue back first, green serving until it does",
			r: with(webBlueGreen(2, releases.BatchBaked), switchingBack), pods: blueAndGreen,
			want: map[string][]string{"blueIn": {"d", "e"}}, again: true},
		{name: "a canceled release that lost its CloneSet moves nothing",
			r:    with(with(webUpdate(2, releases.BatchBaked), canceled), condition(releases.ConditionReverted, metav1.ConditionTrue, releases.ReasonCloneSetReplaced)),
			pods: newAndOld, want: map[string][]string{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := OutFirst(c.r, c.pods)
			assert.Equal(t, c.want, summary(m))
			assert.Equal(t, c.again, m.Again, "again")
			assert.False(t, m.Draining, "draining")
		})
	}
}

// Each case is a release's state, its CloneSet as written, and its pods; the moves are every pod write that
// follows the CloneSet write.
func TestDecide(t *testing.T) {
	// Batch 1 of web-update approves 2 pods at web-v4: the CloneSet's partition is 4.
	written := func() *kruiseappsv1alpha1.CloneSet { return webCloneSet("web-v4", 4) }
	stable := []corev1.Pod{webPod("d", "web-v3", 0, inTraffic), webPod("e", "web-v3", 1, inTraffic)}
	plus := func(pods ...corev1.Pod) []corev1.Pod { return append(append([]corev1.Pod(nil), stable...), pods...) }
	surging := func(r *releases.Release) { v := intstr.FromInt32(1); r.Spec.Strategy.MaxSurge = &v }
	noPullIn := func(r *releases.Release) { r.Spec.Strategy.NoPullIn = true }
	// Blue/green: blue (made before the release, without the gate) and green.
	blue := []corev1.Pod{webPod("d", "web-v3", 0, ungated), webPod("e", "web-v3", 1, ungated)}
	keyedBlue := []corev1.Pod{webPod("d", "web-v3", 0, ungated, keyed), webPod("e", "web-v3", 1, ungated, keyed)}
	green := []corev1.Pod{webPod("g1", "web-v4", 10, inTraffic), webPod("g2", "web-v4", 11, inTraffic)}
	bothOf := func(a, b []corev1.Pod) []corev1.Pod { return append(append([]corev1.Pod(nil), a...), b...) }
	// A pod kruise is about to delete (scale-in, replacement, the old pod of a surge).
	leaving := func(name string, opts ...podOption) corev1.Pod {
		return webPod(name, "web-v3", 2, append([]podOption{inState(kruiseappspub.LifecycleStatePreparingDelete)}, opts...)...)
	}
	listing := func(ips ...string) func() (map[string]bool, bool) {
		return func() (map[string]bool, bool) {
			ready := map[string]bool{}
			for _, ip := range ips {
				ready[ip] = true
			}
			return ready, true
		}
	}
	// A cache not synced says nothing, whatever it holds so far.
	unsynced := func() (map[string]bool, bool) { return map[string]bool{"10.0.0.x": true}, false }

	for _, c := range []struct {
		name      string
		r         *releases.Release
		cs        *kruiseappsv1alpha1.CloneSet // default: written()
		pods      []corev1.Pod
		obs       plan.Observation
		endpoints func() (map[string]bool, bool)
		want      map[string][]string
		again     bool
		draining  bool
	}{
		// Into traffic.
		{name: "a Baked batch's approved pods are pulled in", r: webUpdate(1, releases.BatchBaked),
			pods: plus(webPod("a", "web-v4", 10), webPod("b", "web-v4", 11)),
			want: map[string][]string{"pullIn": {"a", "b"}}},
		{name: "a Baking batch's too", r: webUpdate(1, releases.BatchBaking),
			pods: plus(webPod("a", "web-v4", 10), webPod("b", "web-v4", 11, inTraffic)),
			want: map[string][]string{"pullIn": {"a"}}},
		{name: "a Smoking batch stays out of traffic", r: webUpdate(1, releases.BatchSmoking),
			pods: plus(webPod("a", "web-v4", 10), webPod("b", "web-v4", 11)), want: map[string][]string{}},
		{name: "a Smoked batch waits for next out of traffic", r: webUpdate(1, releases.BatchSmoked),
			pods: plus(webPod("a", "web-v4", 10)), want: map[string][]string{}},
		{name: "a surging release pulls a batch in while it smokes (PullsInWhileSmoking)", r: with(webUpdate(2, releases.BatchSmoking), surging),
			cs:   webCloneSet("web-v4", 2),
			pods: plus(webPod("a", "web-v4", 10, inTraffic), webPod("b", "web-v4", 11, inTraffic), webPod("c", "web-v4", 12)),
			want: map[string][]string{"pullIn": {"c"}}},
		{name: "but not its canary", r: with(webUpdate(1, releases.BatchSmoking), surging),
			pods: plus(webPod("a", "web-v4", 10)), want: map[string][]string{}},
		{name: "a paused release pulls nothing in", r: with(webUpdate(1, releases.BatchBaked), phase(releases.ReleasePaused)),
			pods: plus(webPod("a", "web-v4", 10)), want: map[string][]string{}},
		{name: "a release that does not pull in neither pulls in nor holds", r: with(webUpdate(1, releases.BatchBaked), noPullIn),
			pods: plus(webPod("a", "web-v4", 10, unheld)), want: map[string][]string{}},
		{name: "pods at the release's revision before kruise has seen the write are not the release's yet",
			r: webUpdate(1, releases.BatchBaked), cs: func() *kruiseappsv1alpha1.CloneSet { cs := written(); cs.Generation++; return cs }(),
			pods: plus(webPod("a", "web-v4", 10)), want: map[string][]string{}},

		// Invariant 9: no more pods at the release's revision than the batches approved.
		{name: "a pod beyond the approved leaves traffic and is replaced, the partition holding",
			r:     webUpdate(1, releases.BatchBaked),
			pods:  plus(webPod("a", "web-v4", 10, inTraffic), webPod("b", "web-v4", 11, inTraffic), webPod("c", "web-v4", 12, inTraffic)),
			want:  map[string][]string{"pullOut": {"c"}, "replace": {"c"}},
			again: true},
		{name: "the oldest are approved, then pulled in; the newest beyond is replaced out of traffic",
			r:     webUpdate(1, releases.BatchBaked),
			pods:  plus(webPod("c", "web-v4", 12), webPod("a", "web-v4", 10), webPod("b", "web-v4", 11)),
			want:  map[string][]string{"pullIn": {"a", "b"}, "replace": {"c"}},
			again: true},
		{name: "a pod in traffic is approved before an older one out of it",
			r:     webUpdate(1, releases.BatchBaked),
			pods:  plus(webPod("a", "web-v4", 10), webPod("b", "web-v4", 11), webPod("c", "web-v4", 12, inTraffic)),
			want:  map[string][]string{"pullIn": {"a"}, "replace": {"b"}},
			again: true},
		{name: "beyond the approved on a CloneSet scaled out before the partition counted it: out, replaced only once it holds",
			r: webUpdate(1, releases.BatchBaked), cs: scaledTo(written(), 7),
			pods:  plus(webPod("a", "web-v4", 10, inTraffic), webPod("b", "web-v4", 11, inTraffic), webPod("c", "web-v4", 12, inTraffic)),
			want:  map[string][]string{"pullOut": {"c"}},
			again: true},
		{name: "the last batch approves every pod", r: webUpdate(3, releases.BatchBaked), cs: webCloneSet("web-v4", 0),
			pods: []corev1.Pod{webPod("a", "web-v4", 10, inTraffic), webPod("b", "web-v4", 11, inTraffic), webPod("c", "web-v4", 12)},
			want: map[string][]string{"pullIn": {"c"}}},

		// A canceled release.
		{name: "a canceled release pulls nothing in; pods from before that came up meanwhile serve",
			r: with(webUpdate(2, releases.BatchBaked), canceled), cs: webCloneSet("web-v3", 0),
			pods: plus(webPod("a", "web-v4", 10), webPod("f", "web-v3", 20), webPod("g", "web-v3", 21, unheld)),
			want: map[string][]string{"stableStrays": {"f", "g"}, "hold": {"g"}}},

		// Blue/green.
		{name: "blue leaves traffic only once green is all Ready", r: webBlueGreen(2, releases.BatchBaking),
			cs: webCloneSet("web-v4", 6), pods: bothOf(blue, green), obs: plan.Observation{Desired: 12, Ready: 5},
			want: map[string][]string{}, again: true},
		{name: "green all Ready: blue leaves traffic", r: webBlueGreen(2, releases.BatchBaking),
			cs: webCloneSet("web-v4", 6), pods: bothOf(blue, green), obs: plan.Observation{Desired: 12, Ready: 6},
			want: map[string][]string{"blueOut": {"d", "e"}}},
		{name: "a failed switch brings blue back", r: with(webBlueGreen(2, releases.BatchFailed), phase(releases.ReleaseFailed)),
			cs: webCloneSet("web-v4", 6), pods: bothOf(keyedBlue, green),
			want: map[string][]string{"blueIn": {"d", "e"}}},
		{name: "before the switch blue serves and green waits out of traffic", r: webBlueGreen(1, releases.BatchSmoked),
			cs: webCloneSet("web-v4", 6), pods: bothOf(blue, []corev1.Pod{webPod("g1", "web-v4", 10)}),
			want: map[string][]string{}},

		// Pods made without the readiness gate.
		{name: "a pod made without the gate is kept out through KruisePodReady until its batch is pulled in",
			r: webUpdate(1, releases.BatchSmoked), pods: plus(webPod("a", "web-v4", 10, ungated)),
			want: map[string][]string{"ungatedOut": {"a"}}},
		{name: "and comes back once it is", r: webUpdate(1, releases.BatchBaking), pods: plus(webPod("a", "web-v4", 10, ungated, keyed)),
			want: map[string][]string{"ungatedIn": {"a"}}},

		// Pods from before the release.
		{name: "a pod from before the release that came up while it runs goes into traffic", r: webUpdate(1, releases.BatchSmoking),
			pods: plus(webPod("f", "web-v3", 20), webPod("g", "web-v3", 21, starting)),
			want: map[string][]string{"stableStrays": {"f"}}},

		// The hold protocol.
		{name: "every pod is held, but those kruise is taking or updating",
			r: webUpdate(1, releases.BatchSmoking),
			pods: []corev1.Pod{webPod("d", "web-v3", 0, inTraffic, unheld), webPod("e", "web-v3", 1, inTraffic),
				webPod("u", "web-v3", 2, inTraffic, unheld, inState(kruiseappspub.LifecycleStateUpdating)),
				webPod("p", "web-v3", 3, inTraffic, unheld, inState(kruiseappspub.LifecycleStatePreparingUpdate)),
				webPod("z", "web-v3", 4, inTraffic, unheld, deleting)},
			want: map[string][]string{"hold": {"d"}}},
		{name: "a held pod kruise is about to delete leaves traffic first", r: webUpdate(1, releases.BatchSmoking),
			pods: plus(leaving("x", inTraffic)), want: map[string][]string{"drain": {"x"}}, again: true, draining: true},
		{name: "and waits while it is still Ready", r: webUpdate(1, releases.BatchSmoking),
			pods: plus(leaving("x")), want: map[string][]string{}, again: true, draining: true},
		{name: "not Ready and listed by no cached ready endpoint: let go once a live read confirms it",
			r: webUpdate(1, releases.BatchSmoking), pods: plus(leaving("x", notReady)), endpoints: listing("10.0.0.d", "10.0.0.e"),
			want: map[string][]string{"letGoUnlisted": {"x"}}},
		{name: "still listed as a ready endpoint: it keeps its hold", r: webUpdate(1, releases.BatchSmoking),
			pods: plus(leaving("x", notReady)), endpoints: listing("10.0.0.d", "10.0.0.x"),
			want: map[string][]string{}, again: true, draining: true},
		{name: "a cache of the endpoints not synced: confirmed live", r: webUpdate(1, releases.BatchSmoking),
			pods:      plus(leaving("x", notReady), webPod("y", "web-v3", 3, notReady, inState(kruiseappspub.LifecycleStatePreparingUpdate))),
			endpoints: unsynced, want: map[string][]string{"letGoUnlisted": {"x", "y"}}},
		{name: "no cache of the endpoints: confirmed live", r: webUpdate(1, releases.BatchSmoking),
			pods: plus(leaving("x", notReady)), want: map[string][]string{"letGoUnlisted": {"x"}}},
		{name: "a pod kruise takes that the release never held is left to it", r: webUpdate(1, releases.BatchSmoking),
			pods: plus(leaving("x", inTraffic, unheld), leaving("y", notReady, unheld)), want: map[string][]string{}},
		{name: "a finished release lets go of every hold",
			r: with(webUpdate(3, releases.BatchBaked), phase(releases.ReleaseSucceeded)), cs: webCloneSet("web-v4", 0),
			pods: []corev1.Pod{webPod("a", "web-v4", 10, inTraffic), webPod("b", "web-v4", 11, inTraffic, unheld),
				webPod("c", "web-v4", 12, deleting), leaving("x", notReady), webPod("f", "web-v3", 20)},
			want: map[string][]string{"letGo": {"a", "f", "x"}}},
		{name: "a canceled release holds its CloneSet, hooks and pods, until its pods have left traffic",
			r: with(webUpdate(2, releases.BatchBaked), canceled), cs: webCloneSet("web-v3", 0),
			pods: plus(webPod("a", "web-v4", 10, unheld), webPod("b", "web-v4", 11, inState(kruiseappspub.LifecycleStatePreparingDelete), notReady)),
			want: map[string][]string{"hold": {"a"}, "letGoUnlisted": {"b"}}},
		{name: "a canceled release that let go releases every hold",
			r:    with(with(webUpdate(2, releases.BatchBaked), canceled), condition(releases.ConditionReverted, metav1.ConditionTrue, "Reverted")),
			cs:   webCloneSet("web-v3", 0),
			pods: plus(webPod("a", "web-v3", 10, inTraffic, unheld), webPod("f", "web-v3", 20)),
			want: map[string][]string{"letGo": {"d", "e", "f"}}},

		// A release that must not move pods.
		{name: "a state older than the one the CloneSet was written for moves nothing",
			r: webUpdate(1, releases.BatchBaked),
			cs: func() *kruiseappsv1alpha1.CloneSet {
				cs := written()
				cs.Annotations[v1alpha1.IntentAnnotation] = "uid-web-update/41"
				return cs
			}(),
			pods:  plus(webPod("a", "web-v4", 10, unheld), webPod("b", "web-v4", 11, inTraffic), webPod("c", "web-v4", 12, inTraffic), leaving("x", inTraffic)),
			want:  map[string][]string{},
			again: true},
		{name: "a lost release moves nothing", r: with(webUpdate(1, releases.BatchBaked), lost),
			pods: plus(webPod("a", "web-v4", 10, unheld), leaving("x", inTraffic)), want: map[string][]string{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cs := c.cs
			if cs == nil {
				cs = written()
			}
			m := Decide(Input{Release: c.r, CloneSet: cs, Pods: c.pods, Observation: c.obs, ReadyEndpoints: c.endpoints})
			assert.Equal(t, c.want, summary(m))
			assert.Equal(t, c.again, m.Again, "again")
			assert.Equal(t, c.draining, m.Draining, "draining")
		})
	}
}

// How many pods may be at the release's revision: the target of the batch it is at, every pod once the
// last batch starts or the release lets go.
func TestDecideApprovesTheBatchesTarget(t *testing.T) {
	for _, c := range []struct {
		name string
		r    *releases.Release
		want int
	}{
		{"batch 1", webUpdate(1, releases.BatchSmoking), 2},
		{"batch 2", webUpdate(2, releases.BatchBaked), 4},
		{"paused at batch 2", with(webUpdate(2, releases.BatchBaked), phase(releases.ReleasePaused)), 4},
		{"the last batch", webUpdate(3, releases.BatchSmoking), -1},
		{"succeeded", with(webUpdate(3, releases.BatchBaked), phase(releases.ReleaseSucceeded)), -1},
		{"blue/green", webBlueGreen(2, releases.BatchBaking), -1},
		{"canceled", with(webUpdate(2, releases.BatchBaked), canceled), -1},
	} {
		m := Decide(Input{Release: c.r, CloneSet: webCloneSet("web-v4", 2)})
		assert.Equal(t, c.want, m.Approved, c.name)
	}
}

// The cached endpoints are read only when a pod leaving traffic may be let go.
func TestDecideReadsTheEndpointsOnlyForAPodToLetGo(t *testing.T) {
	asked := 0
	endpoints := func() (map[string]bool, bool) { asked++; return map[string]bool{}, true }
	pods := []corev1.Pod{webPod("d", "web-v3", 0, inTraffic)}
	Decide(Input{Release: webUpdate(1, releases.BatchBaked), CloneSet: webCloneSet("web-v4", 4), Pods: pods, ReadyEndpoints: endpoints})
	assert.Zero(t, asked)
	pods = append(pods, webPod("x", "web-v3", 1, notReady, inState(kruiseappspub.LifecycleStatePreparingDelete)))
	Decide(Input{Release: webUpdate(1, releases.BatchBaked), CloneSet: webCloneSet("web-v4", 4), Pods: pods, ReadyEndpoints: endpoints})
	assert.Equal(t, 1, asked)
}

// A stamp orders release states by their resourceVersions, whichever release they are of; NewerIntent is a
// newer state of the same release only. What is not a revision orders nothing.
func TestIntentStampsOrderReleaseStates(t *testing.T) {
	r := &releases.Release{ObjectMeta: metav1.ObjectMeta{UID: "uid-a", ResourceVersion: "51"}}
	for _, c := range []struct {
		stamp        string
		after, newer bool
	}{
		{"", false, false},
		{"uid-a/50", false, false},
		{"uid-a/51", false, false},
		{"uid-a/52", true, true},
		{"uid-b/52", true, false},
		{"uid-b/30", false, false},
		{"uid-b/x", false, false},
		{"uid-b/18446744073709551616", false, false}, // past uint64: not a revision
		{"no-slash", false, false},
	} {
		cs := &kruiseappsv1alpha1.CloneSet{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{v1alpha1.IntentAnnotation: c.stamp}}}
		assert.Equal(t, c.after, StampedAfter(cs, r), "StampedAfter %q", c.stamp)
		assert.Equal(t, c.newer, NewerIntent(cs, r), "NewerIntent %q", c.stamp)
	}
}
