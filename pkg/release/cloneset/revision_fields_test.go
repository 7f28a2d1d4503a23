package cloneset

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/release/moves"
	"github.com/triton-io/triton/pkg/release/plan"
)

// futureRevision is a revision of CloneSet web at image whose template has fields of a newer Kubernetes
// than the k8s.io/api types know: one in its container, one in its pod spec.
func futureRevision(name, image string, revision int64) *appsv1.ControllerRevision {
	data := `{"spec":{"template":{"metadata":{"labels":{"app":"web"}},"spec":{` +
		`"containers":[{"name":"web","image":"` + image + `","futureField":"x"}],` +
		`"futurePodField":{"mode":"y","weight":3}}}}}`
	return &appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Data: runtime.RawExtension{Raw: []byte(data)}, Revision: revision}
}

// withRawCloneSet is a server whose CloneSet web is kept as JSON too (s.raw), as kube-apiserver keeps it.
func withRawCloneSet(t *testing.T) *apiServer {
	t.Helper()
	cs := cloneSetWeb()
	s := newAPIServer(t, cs)
	raw, err := json.Marshal(cs)
	require.NoError(t, err)
	s.raw = raw
	return s
}

// assertFutureFields checks that the CloneSet's template, as the server keeps it, has the revision's image
// and fields the types do not know.
func assertFutureFields(t *testing.T, s *apiServer, image string) {
	t.Helper()
	var obj map[string]interface{}
	require.NoError(t, json.Unmarshal(s.raw, &obj))
	containers, _ := at(obj, "spec.template.spec.containers")
	list, _ := containers.([]interface{})
	require.Len(t, list, 1)
	container := list[0].(map[string]interface{})
	assert.Equal(t, image, container["image"])
	assert.Equal(t, "x", container["futureField"], "a container field the types do not know")
	podField, _ := at(obj, "spec.template.spec.futurePodField")
	assert.Equal(t, map[string]interface{}{"mode": "y", "weight": float64(3)}, podField, "a pod spec field the types do not know")
}

// lastTemplatePatch is spec.template of the last patch that wrote it.
func lastTemplatePatch(t *testing.T, s *apiServer) map[string]interface{} {
	t.Helper()
	for i := len(s.patches) - 1; i >= 0; i-- {
		if v, ok := at(s.patches[i], "spec.template"); ok {
			return v.(map[string]interface{})
		}
	}
	require.Fail(t, "no patch wrote the template")
	return nil
}

// A cancel puts back the template of the revision from before the release with every field it has, those
// the k8s.io/api types do not know included.
func TestACancelKeepsRevisionFieldsTheTypesDoNotKnow(t *testing.T) {
	ctx := context.Background()
	s := withRawCloneSet(t)
	rev := futureRevision("web-v3", "web:v3", 3)
	running := updateRelease("40", 2, releases.BatchBaking)
	_, err := s.driver(rev).Apply(ctx, running, false)
	require.NoError(t, err)
	require.Equal(t, "web:v4", s.get().Spec.Template.Spec.Containers[0].Image)

	canceling := running.DeepCopy()
	canceling.ResourceVersion = "41"
	_, err = plan.Act(canceling, plan.VerbCancel, nil, plan.Observation{Updated: 4}, "bob", metav1.Now())
	require.NoError(t, err)
	_, err = s.driver(rev).Apply(ctx, canceling, false)
	require.NoError(t, err)
	patch := lastTemplatePatch(t, s)
	futureField, _ := at(patch, "spec.futurePodField")
	assert.NotNil(t, futureField, "the patch carries the revision's pod spec field")
	assertFutureFields(t, s, "web:v3")
	assertOnlyOwned(t, s.patches[len(s.patches)-1])

	// Nothing more to write once it is there.
	writes := s.writes()
	_, err = s.driver(rev).Apply(ctx, canceling, false)
	require.NoError(t, err)
	assert.Equal(t, writes, s.writes())
}

// A Rollback writes toRevision's template with every field it has.
func TestARollbackKeepsRevisionFieldsTheTypesDoNotKnow(t *testing.T) {
	ctx := context.Background()
	s := withRawCloneSet(t)
	rev := futureRevision("web-v2", "web:v2", 2)
	rollback := updateRelease("40", 1, releases.BatchSmoking)
	rollback.Spec.Action = releases.ActionRollback
	rollback.Spec.Template = nil
	rollback.Spec.ToRevision = "web-v2"
	_, err := s.driver(rev).Apply(ctx, rollback, false)
	require.NoError(t, err)
	patch := lastTemplatePatch(t, s)
	containers, _ := at(patch, "spec.containers")
	require.Len(t, containers, 1)
	assert.Equal(t, "x", containers.([]interface{})[0].(map[string]interface{})["futureField"])
	assertFutureFields(t, s, "web:v2")
	assert.Equal(t, "web:v2", s.get().Spec.Template.Spec.Containers[0].Image)
	assert.Equal(t, int32(4), partitionOf(s.get()))
}

// A Restart writes the template from before the release with its restart annotation, and with every field
// the revision has.
func TestARestartKeepsRevisionFieldsTheTypesDoNotKnow(t *testing.T) {
	ctx := context.Background()
	s := withRawCloneSet(t)
	rev := futureRevision("web-v3", "web:v3", 3)
	restart := updateRelease("40", 1, releases.BatchSmoking)
	restart.Spec.Action = releases.ActionRestart
	restart.Spec.Template = nil
	_, err := s.driver(rev).Apply(ctx, restart, false)
	require.NoError(t, err)
	assertFutureFields(t, s, "web:v3")
	restartedAt := s.get().Spec.Template.Annotations[v1alpha1.RestartedAtAnnotation]
	assert.NotEmpty(t, restartedAt)
	assert.Equal(t, restart.CreationTimestamp.UTC().Format("2006-01-02T15:04:05Z07:00"), restartedAt)
	assert.False(t, moves.HasGate(&s.get().Spec.Template), "no readiness gate in the template")
}
