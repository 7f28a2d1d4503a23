package view

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/release/moves"
	"github.com/triton-io/triton/pkg/release/plan"
)

// status --pods: every pod the release's batches list, with its batch, the version it runs, whether it
// is Ready, in traffic, failing and why; all from the release's status.
func TestPodsListsEveryPodOfTheBatches(t *testing.T) {
	restart := func() *v1alpha1.Release {
		r := finishedRelease()
		r.Spec.Action, r.Spec.Template = v1alpha1.ActionRestart, nil
		return r
	}
	for _, tc := range []struct {
		name    string
		release *v1alpha1.Release
		want    string
	}{{
		name: "a canary release midway", release: midwayRelease(),
		want: `Release shop/nginx-update: Update to nginx=nginx:1.28 of CloneSet nginx, Manual
Phase: Progressing, batch 2 of 3 (Baking)

BATCH       POD          VERSION     PHASE    READY  IN TRAFFIC  FAILING
1 (canary)  nginx-9vgk9  nginx:1.28  Running  yes    yes         -
2           nginx-4xq2p  nginx:1.28  Running  yes    yes         -
2           nginx-b7r5m  nginx:1.28  Running  no     yes         -
`,
	}, {
		name: "a failed release: the pod the failure names, and why", release: failedRelease(),
		want: `Release shop/nginx-update: Update to nginx=nginx:1.28 of CloneSet nginx, Manual
Phase: Failed, batch 2 of 3 (Failed)

BATCH       POD          VERSION     PHASE    READY  IN TRAFFIC  FAILING
1 (canary)  nginx-9vgk9  nginx:1.28  Running  yes    yes         -
2           nginx-4xq2p  nginx:1.28  Running  yes    yes         -
2           nginx-b7r5m  nginx:1.28  Running  no     yes         container nginx: CrashLoopBackOff
`,
	}, {
		name: "a finished Restart: the revision, as it has no template", release: restart(),
		want: `Release shop/nginx-update: Restart of CloneSet nginx, Manual
Phase: Succeeded, batch 3 of 3 (Baked)

BATCH       POD          VERSION           PHASE    READY  IN TRAFFIC  FAILING
1 (canary)  nginx-9vgk9  nginx-5d8f7c9b6d  Running  yes    yes         -
2           nginx-4xq2p  nginx-5d8f7c9b6d  Running  yes    yes         -
2           nginx-b7r5m  nginx-5d8f7c9b6d  Running  yes    yes         -
3           nginx-kd8wz  nginx-5d8f7c9b6d  Running  yes    yes         -
3           nginx-p2n6h  nginx-5d8f7c9b6d  Running  yes    yes         -
`,
	}, {
		name: "a blue/green preview: green out of traffic", release: blueGreenWaiting(),
		want: `Release shop/nginx-update: Update to nginx=nginx:1.28 of CloneSet nginx, Manual
Phase: Progressing, batch 1 of 2 (Smoked)

BATCH        POD       VERSION     PHASE    READY  IN TRAFFIC  FAILING
1 (preview)  nginx-g1  nginx:1.28  Running  no     no          -
1 (preview)  nginx-g2  nginx:1.28  Running  no     no          -
`,
	}, {
		name: "nothing listed yet", release: func() *v1alpha1.Release {
			r := tutorial()
			r.Status.Batches[1].Pods = nil
			return r
		}(),
		want: `Release shop/nginx-update: Update to nginx=nginx:1.28 of CloneSet nginx, Manual
Phase: Progressing, batch 2 of 3 (Baking)

No pods listed: the release has brought none up yet, or they are gone.
`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			require.NoError(t, Pods(&out, tc.release, Options{}))
			assert.Equal(t, tc.want, out.String())
		})
	}
}

func TestPodsColumnsForEachKindOfRelease(t *testing.T) {
	r := midwayRelease()
	r.Spec.Strategy.NoPullIn = true
	r.Spec.Template.Spec.Containers = append(r.Spec.Template.Spec.Containers, corev1.Container{Name: "log", Image: "fluent-bit:3"})
	r.Status.Batches[1].Pods[1].Phase = corev1.PodFailed
	r.Status.Batches[1].Pods[0].Phase = ""
	var out strings.Builder
	require.NoError(t, Pods(&out, r, Options{}))
	assert.Contains(t, out.String(), "VERSION                            PHASE    READY  IN TRAFFIC  FAILING\n")
	assert.Contains(t, out.String(), "1 (canary)  nginx-9vgk9  nginx=nginx:1.28,log=fluent-bit:3  Running  yes    n/a         -\n")
	assert.Contains(t, out.String(), "2           nginx-4xq2p  nginx=nginx:1.28,log=fluent-bit:3  -        yes    n/a         -\n")
	assert.Contains(t, out.String(), "2           nginx-b7r5m  nginx=nginx:1.28,log=fluent-bit:3  Failed   no     n/a         the pod failed\n")

	// A Scale release before the controller has seen the CloneSet's revision.
	r = midwayRelease()
	r.Spec.Action, r.Spec.Template, r.Status.CloneSet = v1alpha1.ActionScale, nil, nil
	out.Reset()
	require.NoError(t, Pods(&out, r, Options{}))
	assert.Contains(t, out.String(), "1 (canary)  nginx-9vgk9  -        Running  yes    yes         -\n")
}

// A terminal too small for every pod shows the first of the current batch and the one before it, and
// says how many are not shown.
func TestPodsFitTheTerminal(t *testing.T) {
	r := finishedRelease()
	r.Status.Phase, r.Status.CurrentBatch = v1alpha1.ReleaseProgressing, 3
	var out strings.Builder
	require.NoError(t, Pods(&out, r, Options{Width: 50, Height: 8}))
	assert.Equal(t, `Release shop/nginx-update: Update to nginx=nginx:…
Phase: Progressing, batch 3 of 3 (Baked)

BATCH       POD          VERSION     PHASE    REA…
2           nginx-b7r5m  nginx:1.28  Running  yes…
3           nginx-kd8wz  nginx:1.28  Running  yes…
  ... 3 of 5 pods not shown (2 before, 1 after); …
`, out.String())
}

// At the controller's limit, the view says the status may not list every pod.
func TestPodsSaysWhenTheStatusListsNoMore(t *testing.T) {
	assert.Equal(t, moves.MaxListedPods, MaxListedPods, "the controller's limit")
	r := midwayRelease()
	r.Status.Batches[1].Pods = nil
	for i := range MaxListedPods - 1 {
		r.Status.Batches[1].Pods = append(r.Status.Batches[1].Pods, pod(fmt.Sprintf("nginx-%03d", i), true, true))
	}
	var out strings.Builder
	require.NoError(t, Pods(&out, r, Options{}))
	assert.True(t, strings.HasSuffix(out.String(), "\n\nThe release lists at most 500 pods in its status: there may be more.\n"))
}

// The reasons FAILING shows are read from the Failed condition the controller writes: this drives the
// controller's own code with failing pods, so that a change of its wording fails here.
func TestPodsReadTheControllersFailure(t *testing.T) {
	now := metav1.NewTime(t0)
	internal := &releases.Release{Status: releases.ReleaseStatus{Phase: releases.ReleaseProgressing, CurrentBatch: 1,
		Batches: []releases.ReleaseBatch{{Index: 1, Replicas: 5, Target: 5, Phase: releases.BatchSmoking, StartedAt: &now}}}}
	crash := func(name, reason string) corev1.Pod {
		return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.PodStatus{Phase: corev1.PodRunning,
			ContainerStatuses: []corev1.ContainerStatus{{Name: "nginx", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}}}}}
	}
	pods := []corev1.Pod{crash("nginx-a", "CrashLoopBackOff"), crash("nginx-b", "ErrImagePull"), crash("nginx-c", "CrashLoopBackOff"),
		crash("nginx-d", "ImagePullBackOff"), {ObjectMeta: metav1.ObjectMeta{Name: "nginx-e"}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}}
	plan.Progress(internal, plan.Observation{Replicas: 5, Desired: 5}, moves.Failures(pods), now)
	c := meta.FindStatusCondition(internal.Status.Conditions, releases.ConditionFailed)
	require.NotNil(t, c)
	require.Equal(t, metav1.ConditionTrue, c.Status)

	r := tutorial()
	r.Status.Phase, r.Status.CurrentBatch = v1alpha1.ReleaseFailed, 1
	r.Status.Batches = []v1alpha1.ReleaseBatch{{Index: 1, Replicas: 5, Target: 5, Phase: v1alpha1.BatchFailed}}
	for _, p := range pods {
		r.Status.Batches[0].Pods = append(r.Status.Batches[0].Pods, pod(p.Name, false, false))
	}
	r.Status.Conditions = []metav1.Condition{{Type: v1alpha1.ConditionFailed, Status: metav1.ConditionTrue, Message: c.Message}}
	var out strings.Builder
	require.NoError(t, Pods(&out, r, Options{Now: t0.Add(time.Minute)}))
	// The controller names three of the four failing pods.
	assert.Contains(t, out.String(), "nginx-a  nginx:1.28  Running  no     no          container nginx: CrashLoopBackOff\n")
	assert.Contains(t, out.String(), "nginx-b  nginx:1.28  Running  no     no          container nginx: ErrImagePull\n")
	assert.Contains(t, out.String(), "nginx-c  nginx:1.28  Running  no     no          container nginx: CrashLoopBackOff\n")
	assert.Contains(t, out.String(), "nginx-d  nginx:1.28  Running  no     no          -\n")
	assert.Contains(t, out.String(), "nginx-e  nginx:1.28  Running  no     no          -\n")
}

// A pod's name, phase, image, revision and failure reason from the server are shown escaped in the new
// columns, in colour or not: nothing reaches the terminal that it would act on.
func TestPodsEscapeTheServersStrings(t *testing.T) {
	r := failedRelease()
	r.Spec.Template.Spec.Containers[0].Image = "nginx:1.28" + hostile
	p := &r.Status.Batches[1].Pods[1]
	p.Name += hostile
	p.Phase += "\u009b31m"
	r.Status.Conditions[0].Message = "batch 2: 1 failing pods, 0 tolerated: " + p.Name + ": container nginx: " + hostile + "\u202e"
	restart := r.DeepCopy()
	restart.Spec.Action, restart.Spec.Template = v1alpha1.ActionRestart, nil
	restart.Status.CloneSet.UpdateRevision = "nginx-5d8f" + hostile
	for _, color := range []bool{false, true} {
		var out, rev strings.Builder
		require.NoError(t, Pods(&out, r, Options{Color: color}))
		require.NoError(t, Pods(&rev, restart, Options{Color: color}))
		for what, text := range map[string]string{"pods": out.String(), "pods of a restart": rev.String()} {
			assertTerminalSafe(t, what, sgr.ReplaceAllString(text, ""))
		}
		shown := sgr.ReplaceAllString(out.String(), "")
		assert.Contains(t, shown, "nginx-b7r5m"+escapedHostile+"  nginx:1.28"+escapedHostile+`  Running\u009b31m  no     yes         container nginx: `+escapedHostile+`\u202e`+"\n")
		assert.Contains(t, sgr.ReplaceAllString(rev.String(), ""), "nginx-5d8f"+escapedHostile+"  Running           yes")
	}
}
