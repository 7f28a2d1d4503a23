//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/test/e2e/framework"
)

const (
	// futureField is a CloneSet spec field that only a "newer OpenKruise" has: the test adds it to the
	// CloneSet CRD's schema. Neither triton-apiserver's kruise-api types (v1.8.0) nor kruise-manager's know it.
	futureField  = "tritonTestFutureField"
	futureValue  = "kept"
	cloneSetsCRD = "clonesets.apps.kruise.io"
)

var (
	crds         = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	cloneSetsGVR = schema.GroupVersionResource{Group: "apps.kruise.io", Version: "v1alpha1", Resource: "clonesets"}
)

// addFutureField adds spec.tritonTestFutureField (an optional string) to the v1alpha1 schema of the CloneSet
// CRD. Adding it again changes nothing, and an extra optional field harms no other test.
func addFutureField(t *testing.T, ctx context.Context, dyn dynamic.Interface) {
	t.Helper()
	crd, err := dyn.Resource(crds).Get(ctx, cloneSetsCRD, metav1.GetOptions{})
	require.NoError(t, err)
	versions, _, err := unstructured.NestedSlice(crd.Object, "spec", "versions")
	require.NoError(t, err)
	index := -1
	for i, v := range versions {
		if m, ok := v.(map[string]interface{}); ok && m["name"] == "v1alpha1" {
			index = i
		}
	}
	require.GreaterOrEqual(t, index, 0, "the CloneSet CRD serves v1alpha1")
	version := fmt.Sprintf("/spec/versions/%d", index)
	patch, err := json.Marshal([]map[string]interface{}{
		{"op": "test", "path": version + "/name", "value": "v1alpha1"},
		{"op": "add", "path": version + "/schema/openAPIV3Schema/properties/spec/properties/" + futureField,
			"value": map[string]interface{}{"type": "string", "description": "A field of a newer OpenKruise (triton e2e)."}},
	})
	require.NoError(t, err)
	_, err = dyn.Resource(crds).Patch(ctx, cloneSetsCRD, types.JSONPatchType, patch, metav1.PatchOptions{})
	require.NoError(t, err, "adding %s to the CloneSet CRD", futureField)
}

// futureFieldOf reads the field through the dynamic client: the typed kruise client drops it.
func futureFieldOf(t *testing.T, ctx context.Context, dyn dynamic.Interface, ns string) (string, bool) {
	t.Helper()
	cs, err := dyn.Resource(cloneSetsGVR).Namespace(ns).Get(ctx, "nginx", metav1.GetOptions{})
	require.NoError(t, err)
	v, found, err := unstructured.NestedString(cs.Object, "spec", futureField)
	require.NoError(t, err)
	return v, found
}

// A newer OpenKruise's CloneSet has spec fields that triton-apiserver's kruise-api types do not know. Its
// CloneSet writes are merge patches of the fields a release owns only, so such a field survives a
// release from start to end (a full update of the typed object, as before, dropped it on the first
// write).
//
// kruise-manager v1.8 does not know the field either, and its mutating webhook drops it too when it
// changes anything: it decodes the CloneSet into its own types, and when its defaulting changes something
// it answers with a JSON patch from the object it got to its typed re-encoding, which removes every field
// those types lack. On an update it defaults the pod template only when the template changed, so the
// write that gives the CloneSet a new template, without the pod defaults, would lose the field to the
// webhook whatever triton-apiserver sent. (A real newer OpenKruise's webhook knows its own fields.) The
// release's template is therefore the CloneSet's own template as stored, already defaulted, with another
// image: the webhook then changes nothing, and what is left to see is what triton-apiserver's writes do.
func TestCloneSetFieldsTritonDoesNotKnowSurviveARelease(t *testing.T) {
	admin := framework.Connect(t, "admin")
	ctx := framework.Context(t, 4*time.Minute)
	dyn := dynamic.NewForConfigOrDie(admin.Config)
	addFutureField(t, ctx, dyn)
	ns := framework.Namespace(t, admin)
	framework.Nginx(t, ctx, admin, ns, 4)

	// The API server serves the new schema a moment after the CRD changed; until then it prunes the field.
	set := []byte(fmt.Sprintf(`{"spec":{%q:%q}}`, futureField, futureValue))
	framework.WaitUntil(t, ctx, "the CloneSet to keep "+futureField+" once the CRD has it", func(ctx context.Context) (struct{}, bool, string) {
		if _, err := dyn.Resource(cloneSetsGVR).Namespace(ns).Patch(ctx, "nginx", types.MergePatchType, set, metav1.PatchOptions{}); err != nil {
			return struct{}{}, false, err.Error()
		}
		v, found := futureFieldOf(t, ctx, dyn, ns)
		return struct{}{}, found && v == futureValue, fmt.Sprintf("found %v, %q", found, v)
	}, framework.Within(30*time.Second))

	check := func(when string) {
		t.Helper()
		v, found := futureFieldOf(t, ctx, dyn, ns)
		assert.True(t, found && v == futureValue, "%s: spec.%s is still %q (found %v, %q)", when, futureField, futureValue, found, v)
	}

	cs := framework.GetCloneSet(t, ctx, admin, ns)
	template := cs.Spec.Template.DeepCopy()
	require.Equal(t, "nginx:1.27", template.Spec.Containers[0].Image)
	require.NotEmpty(t, template.Spec.Containers[0].TerminationMessagePath, "kruise's webhook defaulted the template")
	template.Spec.Containers[0].Image = "nginx:1.28"
	release := framework.UpdateTo("nginx:1.28", 0, intstr.FromInt32(2), v1alpha1.ModeManual)
	release.Spec.Template = template
	releases := admin.Releases.ReleasesV1alpha1().Releases(ns)
	_, err := releases.Create(ctx, release, metav1.CreateOptions{})
	require.NoError(t, err)

	// Batch 1: the release gave the CloneSet its template, hooks, owner annotation and partition.
	framework.WaitRelease(t, ctx, admin, ns, "nginx-update", "batch 1 Baked", framework.BatchIs(1, v1alpha1.BatchBaked))
	cs = framework.GetCloneSet(t, ctx, admin, ns)
	require.Equal(t, "nginx:1.28", cs.Spec.Template.Spec.Containers[0].Image)
	require.Equal(t, int32(2), framework.Partition(cs))
	require.Equal(t, "nginx-update", cs.Annotations[v1alpha1.OwnerAnnotation])
	check("batch 1")

	// Batch 2: the partition is lowered.
	_, err = releases.Next(ctx, "nginx-update", &v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(1)}, metav1.CreateOptions{})
	require.NoError(t, err)
	framework.WaitRelease(t, ctx, admin, ns, "nginx-update", "batch 2 Baked", framework.BatchIs(2, v1alpha1.BatchBaked))
	require.Equal(t, int32(0), framework.Partition(framework.GetCloneSet(t, ctx, admin, ns)))
	check("batch 2")

	// The end: the release lets go of the CloneSet (owner annotation and hooks removed).
	_, err = releases.Next(ctx, "nginx-update", &v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(2)}, metav1.CreateOptions{})
	require.NoError(t, err)
	framework.WaitRelease(t, ctx, admin, ns, "nginx-update", "Succeeded", framework.Succeeded)
	cs = framework.WaitReleased(t, ctx, admin, ns)
	assert.Empty(t, cs.Spec.Lifecycle, "the hooks went with the release")
	check("after the release")
}
