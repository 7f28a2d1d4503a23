package cloneset

import (
	"context"
	"encoding/json"
	"testing"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/release/plan"
)

// userLifecycle is the lifecycle CloneSet web has before a release: a preDelete hook of the user's own, with
// markPodNotReady false said explicitly, and a hook a newer kruise knows and kruise-api v1.8 does not.
const userLifecycle = `{"preDelete":{"labelsHandler":{"example.com/drain":"true"},"markPodNotReady":false},` +
	`"futureHook":{"labelsHandler":{"example.com/future":"true"},"markPodNotReady":true}}`

// withUserHooks is a server whose CloneSet web (no release holds it) has lifecycle (JSON), kept as JSON by
// the server (s.raw) with the fields the types do not know.
func withUserHooks(t *testing.T, lifecycle string) *apiServer {
	t.Helper()
	cs := cloneSetWeb()
	delete(cs.Labels, v1alpha1.PullInLabel)
	cs.Spec.Lifecycle = nil
	raw, err := json.Marshal(cs)
	require.NoError(t, err)
	var obj map[string]interface{}
	require.NoError(t, json.Unmarshal(raw, &obj))
	var hooks interface{}
	require.NoError(t, json.Unmarshal([]byte(lifecycle), &hooks))
	obj["spec"].(map[string]interface{})["lifecycle"] = hooks
	raw, err = json.Marshal(obj)
	require.NoError(t, err)
	typed := &kruiseappsv1alpha1.CloneSet{}
	require.NoError(t, json.Unmarshal(raw, typed))
	s := newAPIServer(t, typed)
	s.raw = raw
	return s
}

// rawLifecycle is spec.lifecycle of the CloneSet as the server keeps it, as JSON (keys sorted).
func rawLifecycle(t *testing.T, s *apiServer) map[string]interface{} {
	t.Helper()
	var obj map[string]interface{}
	require.NoError(t, json.Unmarshal(s.raw, &obj))
	lifecycle, _ := at(obj, "spec.lifecycle")
	m, _ := lifecycle.(map[string]interface{})
	return m
}

func jsonOf(t *testing.T, v interface{}) string {
	t.Helper()
	raw, err := json.Marshal(v)
	require.NoError(t, err)
	return string(raw)
}

// assertHeld checks the hooks while the release holds the CloneSet: the user's hook holds a pod on the
// hold label too and marks it not ready; the release made the inPlaceUpdate hook; the hook the types do not
// know is there.
func assertHeld(t *testing.T, s *apiServer) {
	t.Helper()
	held := rawLifecycle(t, s)
	preDelete, _ := at(held, "preDelete")
	assert.Equal(t, map[string]interface{}{
		"labelsHandler":   map[string]interface{}{"example.com/drain": "true", v1alpha1.HoldLabel: "true"},
		"markPodNotReady": true,
	}, preDelete)
	inPlaceUpdate, _ := at(held, "inPlaceUpdate")
	assert.Equal(t, map[string]interface{}{"labelsHandler": map[string]interface{}{v1alpha1.HoldLabel: "true"}, "markPodNotReady": true},
		inPlaceUpdate)
	_, found := at(held, "futureHook")
	assert.True(t, found, "a hook kruise-api does not know is kept while held")
}

// assertNeverNull checks that no patch removed spec.lifecycle whole: a null would delete the hooks the
// kruise-api types do not know.
func assertNeverNull(t *testing.T, s *apiServer) {
	t.Helper()
	for i, p := range s.patches {
		if v, found := at(p, "spec.lifecycle"); found {
			assert.NotNil(t, v, "patch %d sets spec.lifecycle to null", i)
		}
	}
}

// The hooks a CloneSet had before a release are as they were once the release Succeeded, byte for byte:
// markPodNotReady false again on the user's own hook, the hook the release made gone, and a hook the
// kruise-api types do not know never removed.
func TestLifecycleHooksAreRestoredExactlyAfterARelease(t *testing.T) {
	ctx := context.Background()
	s := withUserHooks(t, userLifecycle)
	before := jsonOf(t, rawLifecycle(t, s))

	_, err := s.driver().Apply(ctx, updateRelease("40", 1, releases.BatchSmoking), false)
	require.NoError(t, err)
	assertHeld(t, s)
	_, err = s.driver().Apply(ctx, updateRelease("41", 2, releases.BatchSmoking), false)
	require.NoError(t, err)
	assertHeld(t, s)

	done := updateRelease("50", 3, releases.BatchBaked)
	done.Status.Phase = releases.ReleaseSucceeded
	_, err = s.driver().Apply(ctx, done, false)
	require.NoError(t, err)
	assert.Equal(t, before, jsonOf(t, rawLifecycle(t, s)), "the lifecycle as it was before the release")
	assertNeverNull(t, s)
	assert.NotContains(t, s.get().Annotations, v1alpha1.HooksAnnotation, "the record goes with the release")
	assert.Empty(t, s.get().Annotations[v1alpha1.OwnerAnnotation])
}

// The same through a cancel: held until the pods left traffic, then the hooks exactly as before.
func TestLifecycleHooksAreRestoredExactlyAfterACancel(t *testing.T) {
	ctx := context.Background()
	s := withUserHooks(t, userLifecycle)
	before := jsonOf(t, rawLifecycle(t, s))
	rev := revisionV3(t)

	running := updateRelease("40", 2, releases.BatchBaking)
	_, err := s.driver(rev).Apply(ctx, running, false)
	require.NoError(t, err)
	assertHeld(t, s)

	canceling := running.DeepCopy()
	canceling.ResourceVersion = "41"
	_, err = plan.Act(canceling, plan.VerbCancel, nil, plan.Observation{Updated: 4}, "bob", metav1.Now())
	require.NoError(t, err)
	require.True(t, plan.Reverting(canceling))
	_, err = s.driver(rev).Apply(ctx, canceling, false)
	require.NoError(t, err)
	assert.Equal(t, "web:v3", s.get().Spec.Template.Spec.Containers[0].Image)
	assertHeld(t, s)

	reverted := canceling.DeepCopy()
	reverted.ResourceVersion = "42"
	plan.MarkReverted(reverted, metav1.Now())
	_, err = s.driver(rev).Apply(ctx, reverted, false)
	require.NoError(t, err)
	assert.Equal(t, before, jsonOf(t, rawLifecycle(t, s)), "the lifecycle as it was before the release")
	assertNeverNull(t, s)
	assert.NotContains(t, s.get().Annotations, v1alpha1.HooksAnnotation)
	assert.Empty(t, s.get().Annotations[v1alpha1.OwnerAnnotation])
}

// A lifecycle with no hook the kruise-api types know (only a newer kruise's) is not removed when the release
// takes its own hooks away: the patch removes the hooks it made, never spec.lifecycle.
func TestLifecycleHooksTheTypesDoNotKnowSurviveARelease(t *testing.T) {
	ctx := context.Background()
	s := withUserHooks(t, `{"futureHook":{"labelsHandler":{"example.com/future":"true"}}}`)
	before := jsonOf(t, rawLifecycle(t, s))

	_, err := s.driver().Apply(ctx, updateRelease("40", 1, releases.BatchSmoking), false)
	require.NoError(t, err)
	held := rawLifecycle(t, s)
	for _, hook := range []string{"preDelete", "inPlaceUpdate"} {
		v, _ := at(held, hook)
		assert.Equal(t, map[string]interface{}{"labelsHandler": map[string]interface{}{v1alpha1.HoldLabel: "true"}, "markPodNotReady": true}, v)
	}

	done := updateRelease("50", 3, releases.BatchBaked)
	done.Status.Phase = releases.ReleaseSucceeded
	_, err = s.driver().Apply(ctx, done, false)
	require.NoError(t, err)
	assert.Equal(t, before, jsonOf(t, rawLifecycle(t, s)), "the lifecycle as it was before the release")
	assertNeverNull(t, s)
}

// Whatever the hooks were, a release start and end (Succeeded) leaves them as they were: the release
// takes away what it made (a hook, a labelsHandler, markPodNotReady) and nothing of the user's.
func TestLifecycleHooksOfEveryShapeAreRestoredExactly(t *testing.T) {
	for name, lifecycle := range map[string]string{
		"empty":                    `{}`,
		"finalizers, no labels":    `{"preDelete":{"finalizersHandler":["example.com/f"],"markPodNotReady":true}}`,
		"empty labelsHandler":      `{"inPlaceUpdate":{"labelsHandler":{},"finalizersHandler":["example.com/f"],"markPodNotReady":false}}`,
		"markPodNotReady left out": `{"preDelete":{"labelsHandler":{"example.com/drain":"true"}}}`,
		"preNormal and unknown fields in a hook": `{"preNormal":{"labelsHandler":{"example.com/warm":"true"}},` +
			`"inPlaceUpdate":{"labelsHandler":{"example.com/drain":"true"},"markPodNotReady":true,"futureHandler":{"x":1}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := withUserHooks(t, lifecycle)
			before := jsonOf(t, rawLifecycle(t, s))
			_, err := s.driver().Apply(ctx, updateRelease("40", 1, releases.BatchSmoking), false)
			require.NoError(t, err)
			held := rawLifecycle(t, s)
			for _, hook := range []string{"preDelete", "inPlaceUpdate"} {
				label, _ := at(held, hook+".labelsHandler")
				assert.Equal(t, "true", label.(map[string]interface{})[v1alpha1.HoldLabel], "%s holds a pod on the hold label", hook)
				mark, _ := at(held, hook+".markPodNotReady")
				assert.Equal(t, true, mark)
			}

			done := updateRelease("50", 3, releases.BatchBaked)
			done.Status.Phase = releases.ReleaseSucceeded
			_, err = s.driver().Apply(ctx, done, false)
			require.NoError(t, err)
			after := jsonOf(t, rawLifecycle(t, s))
			if name == "markPodNotReady left out" {
				// The typed CloneSet does not say whether false was written or left out: false is written back.
				assert.Equal(t, `{"preDelete":{"labelsHandler":{"example.com/drain":"true"},"markPodNotReady":false}}`, after)
				return
			}
			assert.Equal(t, before, after, "the lifecycle as it was before the release")
			assertNeverNull(t, s)
		})
	}
}

// A CloneSet held by a server from before v1alpha1.HooksAnnotation (its hooks carry the hold label, with no record):
// the release in flight across the upgrade records nothing, and when it lets go the hold label goes, and so
// does a hook left with no handler (that server made it); markPodNotReady, whose value before is not
// known, stays as it is.
func TestLifecycleHooksHeldByAnOlderServerLetGo(t *testing.T) {
	cs := cloneSetWeb() // both hooks hold label and markPodNotReady only
	cs.Spec.Lifecycle.PreDelete.FinalizersHandler = []string{"example.com/f"}
	cs.Spec.Lifecycle.InPlaceUpdate.LabelsHandler = map[string]string{v1alpha1.HoldLabel: "false"}

	on := cs.DeepCopy()
	withHooks(on, true)
	assert.NotContains(t, on.Annotations, v1alpha1.HooksAnnotation, "what the older server made is not known")
	assert.Equal(t, "true", on.Spec.Lifecycle.InPlaceUpdate.LabelsHandler[v1alpha1.HoldLabel])

	off := on.DeepCopy()
	withHooks(off, false)
	require.NotNil(t, off.Spec.Lifecycle, "spec.lifecycle is never removed")
	require.NotNil(t, off.Spec.Lifecycle.PreDelete, "a hook with a handler of its own stays")
	assert.Equal(t, []string{"example.com/f"}, off.Spec.Lifecycle.PreDelete.FinalizersHandler)
	assert.NotContains(t, off.Spec.Lifecycle.PreDelete.LabelsHandler, v1alpha1.HoldLabel)
	assert.True(t, off.Spec.Lifecycle.PreDelete.MarkPodNotReady)
	assert.Nil(t, off.Spec.Lifecycle.InPlaceUpdate)

	patch, err := lifecyclePatch(on.Spec.Lifecycle, off.Spec.Lifecycle)
	require.NoError(t, err)
	assert.Equal(t, map[string]interface{}{
		"preDelete":     map[string]interface{}{"labelsHandler": map[string]interface{}{v1alpha1.HoldLabel: nil}},
		"inPlaceUpdate": nil,
	}, patch)

	// A CloneSet no release ever held is left alone.
	never := cloneSetWeb()
	never.Spec.Lifecycle.PreDelete.LabelsHandler = map[string]string{"example.com/drain": "true"}
	never.Spec.Lifecycle.InPlaceUpdate = nil
	got := never.DeepCopy()
	withHooks(got, false)
	assert.Equal(t, never.Spec.Lifecycle, got.Spec.Lifecycle)
}
