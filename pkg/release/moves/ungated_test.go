package moves

import (
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

func TestUngatedPodsStayOutUntilTheirBatchIsPulledIn(t *testing.T) {
	cs := webCloneSet("rev-new", -1) // kruise has seen its latest spec (generation 3)
	release := func(phase releases.ReleasePhase, current int32, currentPhase releases.BatchPhase) *releases.Release {
		r := &releases.Release{
			Spec: releases.ReleaseSpec{CloneSetName: "nginx", Action: releases.ActionUpdate},
			Status: releases.ReleaseStatus{
				Phase: phase, CurrentBatch: current,
				Batches: []releases.ReleaseBatch{
					{Index: 1, Canary: true, Replicas: 1, Target: 1, Phase: releases.BatchBaked, Pods: []releases.BatchPod{{Name: "canary"}}},
					{Index: 2, Replicas: 2, Target: 3, Phase: releases.BatchPending},
				},
				CloneSet: &releases.CloneSetObservation{RevisionBeforeRelease: "rev-old"},
			},
		}
		r.Status.Batches[current-1].Phase = currentPhase
		return r
	}
	pod := func(name, rev string, gated, keyed bool) corev1.Pod {
		p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"controller-revision-hash": rev}},
			Spec: corev1.PodSpec{ReadinessGates: []corev1.PodReadinessGate{{ConditionType: "KruisePodReady"}}}}
		if gated {
			p.Spec.ReadinessGates = append(p.Spec.ReadinessGates, corev1.PodReadinessGate{ConditionType: v1alpha1.ReadinessGate})
		}
		if keyed {
			c, _ := WithNotReadyKey(&p, true)
			p.Status.Conditions = []corev1.PodCondition{c}
		}
		return p
	}
	names := func(pods []corev1.Pod) []string {
		var out []string
		for _, p := range pods {
			out = append(out, p.Name)
		}
		sort.Strings(out)
		return out
	}
	pods := []corev1.Pod{
		pod("canary", "rev-new", false, false),
		pod("batch-2-ungated", "rev-new", false, false),
		pod("batch-2-gated", "rev-new", true, false),
		pod("old", "rev-old", false, false),
		pod("reverted-in-place", "rev-old", false, true),
	}

	out, in := UngatedTraffic(release(releases.ReleaseProgressing, 1, releases.BatchSmoked), cs, pods)
	assert.Equal(t, []string{"batch-2-ungated", "canary"}, names(out), "a Smoked canary waits out of traffic")
	assert.Equal(t, []string{"reverted-in-place"}, names(in))

	out, _ = UngatedTraffic(release(releases.ReleaseProgressing, 2, releases.BatchSmoking), cs, pods)
	assert.Equal(t, []string{"batch-2-ungated"}, names(out), "the canary was pulled in; batch 2 is not yet")

	keyed := append([]corev1.Pod(nil), pods...)
	keyed[0], keyed[1] = pod("canary", "rev-new", false, true), pod("batch-2-ungated", "rev-new", false, true)
	out, in = UngatedTraffic(release(releases.ReleaseProgressing, 2, releases.BatchBaking), cs, keyed)
	assert.Empty(t, out)
	assert.Equal(t, []string{"batch-2-ungated", "canary", "reverted-in-place"}, names(in), "pulled in: the key comes off")

	out, _ = UngatedTraffic(release(releases.ReleaseCanceled, 2, releases.BatchBaking), cs, pods)
	assert.Equal(t, []string{"batch-2-ungated", "canary"}, names(out), "canceled: out, as a cancel pulls out")

	_, in = UngatedTraffic(release(releases.ReleaseSucceeded, 2, releases.BatchBaked), cs, keyed)
	assert.Equal(t, []string{"batch-2-ungated", "canary", "reverted-in-place"}, names(in), "let go: no key stays")

	// Right after a write, before kruise has seen it, the CloneSet cannot tell the release's pods: the keyed
	// canary keeps its key (taking it off would put it in traffic until the next look).
	unobserved := cs.DeepCopy()
	unobserved.Generation++
	out, in = UngatedTraffic(release(releases.ReleaseProgressing, 1, releases.BatchSmoked), unobserved, keyed)
	assert.Empty(t, out)
	assert.Equal(t, []string{"reverted-in-place"}, names(in), "only a pod at the revision from before is surely not the release's")

	// kruise's pod readiness controller wrote the condition True over the key: the pod is out again.
	overwritten := append([]corev1.Pod(nil), keyed...)
	overwritten[0].Status.Conditions[0].Status = corev1.ConditionTrue
	out, _ = UngatedTraffic(release(releases.ReleaseProgressing, 1, releases.BatchSmoked), cs, overwritten)
	assert.Equal(t, []string{"canary"}, names(out), "a key under a True condition holds nothing out")

	noPullIn := release(releases.ReleaseProgressing, 1, releases.BatchSmoked)
	noPullIn.Spec.Strategy.NoPullIn = true
	out, in = UngatedTraffic(noPullIn, cs, pods)
	assert.Empty(t, out)
	assert.Empty(t, in)
}
