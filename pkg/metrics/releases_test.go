package metrics

import (
	"fmt"
	goruntime "runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/component-base/metrics/legacyregistry"
	"k8s.io/component-base/metrics/testutil"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/apis/releases/install"
	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/release/plan"
	"github.com/triton-io/triton/pkg/version"
)

var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	install.Install(s)
	return s
}()

var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func at(sec int) metav1.Time { return metav1.NewTime(t0.Add(time.Duration(sec) * time.Second)) }

// rollout is a release as the server stores it on create: an Update of a CloneSet of 3 pods, a canary of
// 1, then a batch of 2, Manual, Pending.
func rollout(t *testing.T, namespace, name string) *releases.Release {
	t.Helper()
	size := intstr.FromInt32(2)
	r := &releases.Release{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, UID: types.UID(namespace + "/" + name), Generation: 1,
			CreationTimestamp: at(0)},
		Spec: releases.ReleaseSpec{CloneSetName: "web", Action: releases.ActionUpdate,
			Strategy: releases.ReleaseStrategy{Canary: 1, BatchSize: &size, Mode: releases.ModeManual}},
	}
	batches, err := plan.Batches(&r.Spec, 3)
	require.NoError(t, err)
	r.Status = releases.ReleaseStatus{Phase: releases.ReleasePending, Batches: batches,
		CloneSet: &releases.CloneSetObservation{Replicas: 3}}
	plan.SetConditions(r, at(0))
	return r
}

func external(t *testing.T, r *releases.Release) *v1alpha1.Release {
	t.Helper()
	out := &v1alpha1.Release{}
	require.NoError(t, scheme.Convert(r.DeepCopy(), out, nil))
	return out
}

// tracker applies steps to a release as the controller and the verbs do, and shows each stored state to
// ObserveReleaseUpdate as the controller's informer does.
type tracker struct {
	t     *testing.T
	r     *releases.Release
	state *v1alpha1.Release
}

func track(t *testing.T, r *releases.Release) *tracker {
	return &tracker{t: t, r: r, state: external(t, r)}
}

func (k *tracker) step(changed bool, err error) {
	k.t.Helper()
	require.NoError(k.t, err)
	require.True(k.t, changed, "the step changed nothing")
	cur := external(k.t, k.r)
	ObserveReleaseUpdate(k.state, cur)
	k.state = cur
}

func (k *tracker) next(sec int) {
	k.t.Helper()
	k.step(plan.Act(k.r, plan.VerbNext, nil, plan.Observation{}, "alice", at(sec)))
}

// scrapeAt makes the release collector read its source at t0+sec.
func scrapeAt(sec int) { releaseMetrics.now = func() time.Time { return at(sec).Time } }

func TestPerReleaseSeriesFollowARelease(t *testing.T) {
	setUp(t)
	defer func() { releaseMetrics.now = time.Now }()
	k := track(t, rollout(t, "shop", "web-v2"))
	other := external(t, rollout(t, "shop", "api-v7"))
	other.Status.Phase = v1alpha1.ReleaseFailed
	done := external(t, rollout(t, "blog", "old"))
	done.Status.Phase = v1alpha1.ReleaseSucceeded
	unset := SetReleaseSource(func() []*v1alpha1.Release { return []*v1alpha1.Release{k.state, other, done} })
	defer unset()

	names := []string{"triton_release_info", "triton_release_phase", "triton_release_current_batch", "triton_release_batches",
		"triton_release_awaiting_next_seconds"}
	header := `
# HELP triton_release_awaiting_next_seconds [ALPHA] Seconds since a release that has not finished began waiting for a ` + "`next`" + ` call (its AwaitingNext condition became True); 0 while it is not waiting.
# TYPE triton_release_awaiting_next_seconds gauge
%s
# HELP triton_release_batches [ALPHA] How many batches the plan of a release that has not finished has.
# TYPE triton_release_batches gauge
triton_release_batches{namespace="shop",release="api-v7"} 2
triton_release_batches{namespace="shop",release="web-v2"} 2
# HELP triton_release_current_batch [ALPHA] The batch (from 1) a release that has not finished is at; 0 before its first batch starts.
# TYPE triton_release_current_batch gauge
triton_release_current_batch{namespace="shop",release="api-v7"} 0
triton_release_current_batch{namespace="shop",release="web-v2"} %d
# HELP triton_release_info [ALPHA] Always 1, for each release that has not finished: its CloneSet, action, strategy type (Batch or BlueGreen), mode (Manual or Auto) and failure policy (Pause or Cancel).
# TYPE triton_release_info gauge
triton_release_info{action="Update",cloneset="web",mode="Manual",namespace="shop",on_failure="Pause",release="api-v7",strategy="Batch"} 1
triton_release_info{action="Update",cloneset="web",mode="Manual",namespace="shop",on_failure="Pause",release="web-v2",strategy="Batch"} 1
# HELP triton_release_phase [ALPHA] 1 for the phase a release that has not finished is in (Pending, Progressing, Paused or Failed); the other phases have no series.
# TYPE triton_release_phase gauge
triton_release_phase{namespace="shop",phase="Failed",release="api-v7"} 1
triton_release_phase{namespace="shop",phase="%s",release="web-v2"} 1
`
	want := func(phase string, batch int, awaiting string) string {
		return fmt.Sprintf(header, `triton_release_awaiting_next_seconds{namespace="shop",release="api-v7"} 0
triton_release_awaiting_next_seconds{namespace="shop",release="web-v2"} `+awaiting, batch, phase)
	}

	// Pending: not waiting for anyone yet.
	scrapeAt(5)
	expect(t, want("Pending", 0, "0"), names...)

	k.step(plan.Start(k.r, at(10)), nil)
	k.step(plan.Smoked(k.r, at(40)), nil)
	// The canary is up and waits for a person's `next` to go into traffic: for 60 s at t=100.
	scrapeAt(100)
	expect(t, want("Progressing", 1, "60"), names...)
	scrapeAt(3640)
	expect(t, want("Progressing", 1, "3600"), names...)

	k.next(3640) // pulled in
	expect(t, want("Progressing", 1, "0"), names...)

	k.step(plan.Act(k.r, plan.VerbPause, nil, plan.Observation{}, "alice", at(3650)))
	expect(t, want("Paused", 1, "0"), names...)

	// Finished: its series go; it is only counted by phase.
	k.step(plan.Act(k.r, plan.VerbCancel, nil, plan.Observation{}, "alice", at(3660)))
	expect(t, `
# HELP triton_release_phase [ALPHA] 1 for the phase a release that has not finished is in (Pending, Progressing, Paused or Failed); the other phases have no series.
# TYPE triton_release_phase gauge
triton_release_phase{namespace="shop",phase="Failed",release="api-v7"} 1
`, "triton_release_phase")
	expect(t, `
# HELP triton_releases [ALPHA] Releases by phase, as the release controller's cache holds them at scrape time; reported only by the leader.
# TYPE triton_releases gauge
triton_releases{phase="Canceled"} 1
triton_releases{phase="Failed"} 1
triton_releases{phase="Paused"} 0
triton_releases{phase="Pending"} 0
triton_releases{phase="Progressing"} 0
triton_releases{phase="Succeeded"} 1
`, "triton_releases")
}

func TestNoSourceNoSeries(t *testing.T) {
	setUp(t)
	// Not the leader: nothing at all.
	expect(t, ``, "triton_releases", "triton_release_info", "triton_release_phase")

	a := &v1alpha1.Release{ObjectMeta: metav1.ObjectMeta{Namespace: "n", Name: "a"}}
	unsetA := SetReleaseSource(func() []*v1alpha1.Release { return []*v1alpha1.Release{a} })
	// A newer source (the next term of leadership) is not cleared by the older one's unset.
	unsetB := SetReleaseSource(func() []*v1alpha1.Release { return nil })
	unsetA()
	expect(t, `
# HELP triton_releases [ALPHA] Releases by phase, as the release controller's cache holds them at scrape time; reported only by the leader.
# TYPE triton_releases gauge
triton_releases{phase="Canceled"} 0
triton_releases{phase="Failed"} 0
triton_releases{phase="Paused"} 0
triton_releases{phase="Pending"} 0
triton_releases{phase="Progressing"} 0
triton_releases{phase="Succeeded"} 0
`, "triton_releases")
	unsetB()
	expect(t, ``, "triton_releases")
}

// histogram is what /metrics shows of one series of a histogram: its count and sum.
func histogram(t *testing.T, name string, labels map[string]string) (uint64, float64) {
	t.Helper()
	vec, err := testutil.GetHistogramVecFromGatherer(legacyregistry.DefaultGatherer, name, labels)
	require.NoError(t, err)
	var n uint64
	for _, h := range vec {
		n += h.GetSampleCount()
	}
	return n, vec.GetAggregatedSampleSum()
}

func requireHistogram(t *testing.T, name string, labels map[string]string, count uint64, sum float64) {
	t.Helper()
	n, s := histogram(t, name, labels)
	require.Equal(t, count, n, "%s%v: observations", name, labels)
	require.Equal(t, sum, s, "%s%v: seconds in all", name, labels)
}

// A canary release from start to Succeeded: the machine's time and the person's are told apart.
func TestBatchTimesSplitMachineFromWaiting(t *testing.T) {
	setUp(t)
	k := track(t, rollout(t, "shop", "web-v2"))
	k.step(plan.Start(k.r, at(10)), nil)
	k.step(plan.Smoked(k.r, at(40)), nil) // canary up in 30 s
	k.next(340)                           // a person pulls it in after 5 minutes
	k.step(plan.Baked(k.r, at(360)), nil) // Ready 20 s after the pull-in
	k.next(3960)                          // an hour later: batch 2 starts
	k.step(plan.Smoked(k.r, at(3965)), nil)
	k.step(plan.Baked(k.r, at(3975)), nil)
	k.next(4000) // completes the release
	require.Equal(t, releases.ReleaseSucceeded, k.r.Status.Phase)

	machine := "triton_release_batch_machine_seconds"
	requireHistogram(t, machine, map[string]string{"stage": "smoke", "canary": "true"}, 1, 30)
	requireHistogram(t, machine, map[string]string{"stage": "bake", "canary": "true"}, 1, 20)
	requireHistogram(t, machine, map[string]string{"stage": "smoke", "canary": "false"}, 1, 5)
	requireHistogram(t, machine, map[string]string{"stage": "bake", "canary": "false"}, 1, 10)
	wait := "triton_release_batch_wait_seconds"
	requireHistogram(t, wait, map[string]string{"after": "smoked"}, 1, 300)
	requireHistogram(t, wait, map[string]string{"after": "baked"}, 2, 3600+25)
	// The old histogram still counts the canary's wait in its time.
	requireHistogram(t, "triton_release_batch_duration_seconds", map[string]string{"canary": "true"}, 1, 350)
	requireHistogram(t, "triton_release_batch_duration_seconds", map[string]string{"canary": "false"}, 1, 15)
}

// Time spent paused is neither the machine's nor a wait for `next`.
func TestBatchTimesLeaveOutPauses(t *testing.T) {
	setUp(t)
	k := track(t, rollout(t, "shop", "web-v2"))
	k.step(plan.Start(k.r, at(10)), nil)
	k.step(plan.Act(k.r, plan.VerbPause, nil, plan.Observation{}, "alice", at(20)))
	k.step(plan.Act(k.r, plan.VerbResume, nil, plan.Observation{}, "alice", at(1020)))
	k.step(plan.Smoked(k.r, at(1030)), nil) // 10 s of smoke after the resume
	// Waiting for `next`, then paused: the wait ends with the pause, and starts again on resume.
	k.step(plan.Act(k.r, plan.VerbPause, nil, plan.Observation{}, "alice", at(1090)))
	k.step(plan.Act(k.r, plan.VerbResume, nil, plan.Observation{}, "alice", at(2090)))
	k.next(2100)
	k.step(plan.Act(k.r, plan.VerbPause, nil, plan.Observation{}, "alice", at(2105)))
	k.step(plan.Act(k.r, plan.VerbResume, nil, plan.Observation{}, "alice", at(3105)))
	k.step(plan.Baked(k.r, at(3110)), nil) // 5 s of bake after the resume

	machine := "triton_release_batch_machine_seconds"
	requireHistogram(t, machine, map[string]string{"stage": "smoke", "canary": "true"}, 1, 10)
	requireHistogram(t, machine, map[string]string{"stage": "bake", "canary": "true"}, 1, 5)
	requireHistogram(t, "triton_release_batch_wait_seconds", map[string]string{"after": "smoked"}, 2, 60+10)

	// An update seen twice (a resync) records nothing more.
	ObserveReleaseUpdate(k.state, k.state.DeepCopy())
	requireHistogram(t, machine, map[string]string{"stage": "bake", "canary": "true"}, 1, 5)
	// Another release's state (a release deleted and made again under the name) is not compared.
	again := external(t, rollout(t, "shop", "web-v2"))
	again.UID = "other"
	ObserveReleaseUpdate(again, k.state)
	requireHistogram(t, machine, map[string]string{"stage": "bake", "canary": "true"}, 1, 5)
}

// Every series a dashboard or an alert reads is there, at 0, before anything happened.
func TestSeriesExistBeforeTheFirstBatch(t *testing.T) {
	legacyregistry.Reset()
	initSeries()
	setBuildInfo()
	for _, labels := range []map[string]string{{"stage": "smoke", "canary": "true"}, {"stage": "smoke", "canary": "false"},
		{"stage": "bake", "canary": "true"}, {"stage": "bake", "canary": "false"}} {
		requireHistogram(t, "triton_release_batch_machine_seconds", labels, 0, 0)
	}
	requireHistogram(t, "triton_release_batch_wait_seconds", map[string]string{"after": "smoked"}, 0, 0)
	requireHistogram(t, "triton_release_batch_wait_seconds", map[string]string{"after": "baked"}, 0, 0)
	requireHistogram(t, "triton_release_controller_reconcile_duration_seconds", map[string]string{"result": "error"}, 0, 0)
	for _, verb := range []string{"pause", "resume", "next", "cancel"} {
		requireHistogram(t, "triton_release_action_duration_seconds", map[string]string{"verb": verb}, 0, 0)
	}
	expect(t, `
# HELP triton_release_action_calls_total [ALPHA] Calls of the release action subresources (pause, resume, next, cancel), by verb and the HTTP status code answered.
# TYPE triton_release_action_calls_total counter
triton_release_action_calls_total{code="200",verb="cancel"} 0
triton_release_action_calls_total{code="200",verb="next"} 0
triton_release_action_calls_total{code="200",verb="pause"} 0
triton_release_action_calls_total{code="200",verb="resume"} 0
`, "triton_release_action_calls_total")

	families, err := legacyregistry.DefaultGatherer.Gather()
	require.NoError(t, err)
	found := false
	for _, f := range families {
		if f.GetName() != "triton_build_info" {
			continue
		}
		found = true
		require.Len(t, f.GetMetric(), 1)
		labels := map[string]string{}
		for _, l := range f.GetMetric()[0].GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		require.Equal(t, version.Get(), labels["version"])
		require.Equal(t, goruntime.Version(), labels["go_version"])
		require.True(t, strings.HasPrefix(labels["go_version"], "go"))
		require.Equal(t, 1.0, f.GetMetric()[0].GetGauge().GetValue())
	}
	require.True(t, found, "triton_build_info is on /metrics")
}
