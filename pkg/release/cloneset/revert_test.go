package cloneset

import (
	"context"
	"encoding/json"
	"testing"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/release/plan"
)

// revisionV3 is CloneSet web's revision from before the release, as kruise stores it.
func revisionV3(t *testing.T) *appsv1.ControllerRevision {
	data, err := json.Marshal(map[string]interface{}{"spec": map[string]interface{}{"template": cloneSetWeb().Spec.Template}})
	require.NoError(t, err)
	return &appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: "web-v3", Namespace: "default"},
		Data: runtime.RawExtension{Raw: data}, Revision: 3}
}

// A canceled release puts the template from before back at once, but keeps its hooks, its pull-in label and
// its owner annotation until its pods have left traffic (kruise holds each pod it takes away until then);
// once Reverted it lets go of all of them.
func TestACancelRevertsAtOnceAndLetsGoOnlyOnceReverted(t *testing.T) {
	ctx := context.Background()
	s := newAPIServer(t, cloneSetWeb())
	rev := revisionV3(t)
	running := updateRelease("40", 2, releases.BatchBaking)
	defaulted := intstr.FromString("20%") // kruise's default, recorded at admission
	running.Status.CloneSet.MaxUnavailableBeforeRelease = &defaulted
	_, err := s.driver(rev).Apply(ctx, running, false)
	require.NoError(t, err)
	require.Equal(t, "web:v4", s.get().Spec.Template.Spec.Containers[0].Image)

	canceling := running.DeepCopy()
	canceling.ResourceVersion = "41"
	_, err = plan.Act(canceling, plan.VerbCancel, nil, plan.Observation{Updated: 4}, "bob", metav1.Now())
	require.NoError(t, err)
	require.True(t, plan.Reverting(canceling))
	_, err = s.driver(rev).Apply(ctx, canceling, false)
	require.NoError(t, err)
	cs := s.get()
	assert.Equal(t, "web:v3", cs.Spec.Template.Spec.Containers[0].Image, "the template from before, at once")
	assert.Equal(t, 0, cs.Spec.UpdateStrategy.Partition.IntValue(), "every pod goes back")
	assert.Equal(t, 4, cs.Spec.UpdateStrategy.MaxUnavailable.IntValue(), "all 4 pods of the release (out of traffic) at once")
	assert.Equal(t, "web-update", cs.Annotations[v1alpha1.OwnerAnnotation], "still held")
	assert.Equal(t, "true", cs.Labels[v1alpha1.PullInLabel], "new pods are still gated")
	require.NotNil(t, cs.Spec.Lifecycle)
	assert.Equal(t, "true", cs.Spec.Lifecycle.PreDelete.LabelsHandler[v1alpha1.HoldLabel], "kruise holds a pod until it left traffic")
	assert.Equal(t, "true", cs.Spec.Lifecycle.InPlaceUpdate.LabelsHandler[v1alpha1.HoldLabel])

	reverted := canceling.DeepCopy()
	reverted.ResourceVersion = "42"
	plan.MarkReverted(reverted, metav1.Now())
	_, err = s.driver(rev).Apply(ctx, reverted, false)
	require.NoError(t, err)
	cs = s.get()
	assert.Empty(t, cs.Annotations[v1alpha1.OwnerAnnotation])
	assert.Empty(t, cs.Labels[v1alpha1.PullInLabel])
	assert.Empty(t, cs.Spec.Lifecycle, "no hooks")
	assert.Equal(t, "web:v3", cs.Spec.Template.Spec.Containers[0].Image)
	assert.Equal(t, &defaulted, cs.Spec.UpdateStrategy.MaxUnavailable, "maxUnavailable as before the release")
}

func TestTheUpdateTypesAreKruises(t *testing.T) {
	assert.Equal(t, string(kruiseappsv1alpha1.RecreateCloneSetUpdateStrategyType), plan.UpdateReCreate)
	assert.Equal(t, string(kruiseappsv1alpha1.InPlaceIfPossibleCloneSetUpdateStrategyType), plan.UpdateInPlaceIfPossible)
	assert.Equal(t, string(kruiseappsv1alpha1.InPlaceOnlyCloneSetUpdateStrategyType), plan.UpdateInPlaceOnly)
}

// A Restart of an InPlaceIfPossible CloneSet has it recreate its pods while the release holds it, and puts
// InPlaceIfPossible back when it lets go.
func TestARestartOfAnInPlaceCloneSetRecreatesItsPods(t *testing.T) {
	ctx := context.Background()
	inPlace := cloneSetWeb()
	inPlace.Spec.UpdateStrategy.Type = kruiseappsv1alpha1.InPlaceIfPossibleCloneSetUpdateStrategyType
	s := newAPIServer(t, inPlace)
	rev := revisionV3(t)
	restart := updateRelease("40", 1, releases.BatchSmoking)
	restart.Spec.Action = releases.ActionRestart
	restart.Spec.Template = nil
	restart.Status.CloneSet.UpdateStrategyTypeBeforeRelease = plan.UpdateInPlaceIfPossible
	_, err := s.driver(rev).Apply(ctx, restart, false)
	require.NoError(t, err)
	cs := s.get()
	assert.Equal(t, kruiseappsv1alpha1.RecreateCloneSetUpdateStrategyType, cs.Spec.UpdateStrategy.Type)
	assert.NotEmpty(t, cs.Spec.Template.Annotations[v1alpha1.RestartedAtAnnotation])

	done := restart.DeepCopy()
	done.ResourceVersion = "41"
	done.Status.Phase = releases.ReleaseSucceeded
	_, err = s.driver(rev).Apply(ctx, done, false)
	require.NoError(t, err)
	assert.Equal(t, kruiseappsv1alpha1.InPlaceIfPossibleCloneSetUpdateStrategyType, s.get().Spec.UpdateStrategy.Type)
}

// The release's template carries neither the readiness gate nor the hold label (pods get both at creation
// from the admission policy): kruise would put a template's hold label back on a pod in the middle of its
// in-place update, and that pod would never be Ready again. A template written by an older server, with
// the hold label, is not rewritten for that alone (it would be a new revision).
func TestTheTemplateCarriesNoHoldLabel(t *testing.T) {
	ctx := context.Background()
	s := newAPIServer(t, cloneSetWeb())
	r := updateRelease("40", 1, releases.BatchSmoking)
	_, err := s.driver().Apply(ctx, r, false)
	require.NoError(t, err)
	cs := s.get()
	assert.Equal(t, "web:v4", cs.Spec.Template.Spec.Containers[0].Image)
	assert.NotContains(t, cs.Spec.Template.Labels, v1alpha1.HoldLabel)
	assert.Empty(t, cs.Spec.Template.Spec.ReadinessGates)

	legacy := r.Spec.Template.DeepCopy()
	legacy.Labels[v1alpha1.HoldLabel] = "true"
	s.edit(func(cs *kruiseappsv1alpha1.CloneSet) {
		cs.Spec.Template = *legacy
		cs.Annotations[v1alpha1.TemplateHashAnnotation] = templateHash(legacy)
	})
	writes := s.writes()
	again := r.DeepCopy()
	again.ResourceVersion = "41"
	_, err = s.driver().Apply(ctx, again, false)
	require.NoError(t, err)
	assert.Equal(t, writes, s.writes(), "an older server's template is the release's template")
	assert.Equal(t, "true", s.get().Spec.Template.Labels[v1alpha1.HoldLabel])
}
