package resize

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	kruisefake "github.com/openkruise/kruise-api/client/clientset/versioned/fake"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionv1 "k8s.io/api/admission/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/release/plan"
)

// release web-update of CloneSet web (6 pods before it) in batches of 2, at batch 1: 2 pods approved.
func release(phase releases.ReleasePhase, current int32) *releases.Release {
	before := int32(6)
	r := &releases.Release{
		ObjectMeta: metav1.ObjectMeta{Name: "web-update", Namespace: "default", UID: "uid-1", ResourceVersion: "40"},
		Spec: releases.ReleaseSpec{CloneSetName: "web", Action: releases.ActionUpdate,
			Template: &corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "web:v4"}}}}},
		Status: releases.ReleaseStatus{Phase: phase, CurrentBatch: current,
			CloneSet: &releases.CloneSetObservation{RevisionBeforeRelease: "web-v3", ReplicasBeforeRelease: &before}},
	}
	for i := int32(1); i <= 3; i++ {
		b := releases.ReleaseBatch{Index: i, Replicas: 2, Target: 2 * i, Phase: releases.BatchPending}
		if i < current {
			b.Phase = releases.BatchBaked
		} else if i == current {
			b.Phase = releases.BatchBaking
		}
		r.Status.Batches = append(r.Status.Batches, b)
	}
	return r
}

func webCloneSet(replicas, partition int32, owner string) *kruiseappsv1alpha1.CloneSet {
	p := intstr.FromInt32(partition)
	cs := &kruiseappsv1alpha1.CloneSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", ResourceVersion: "100", Annotations: map[string]string{}},
		Spec: kruiseappsv1alpha1.CloneSetSpec{Replicas: &replicas,
			UpdateStrategy: kruiseappsv1alpha1.CloneSetUpdateStrategy{Partition: &p}},
	}
	if owner != "" {
		cs.Annotations[v1alpha1.OwnerAnnotation] = owner
	}
	return cs
}

func webhook(r *releases.Release, objects ...runtime.Object) (*Webhook, *kruisefake.Clientset) {
	kruise := kruisefake.NewSimpleClientset(objects...)
	return &Webhook{Kruise: kruise, Authorizer: callerOnly, Releases: func(_ context.Context, namespace, name string) (*releases.Release, error) {
		if r == nil || namespace != r.Namespace || name != r.Name {
			return nil, nil
		}
		return r, nil
	}}, kruise
}

// callerOnly is the RBAC of artifacts/deploy/webhook-rbac.yaml: the caller may post on the webhook's path,
// nobody else may do anything.
var callerOnly = authorizer.AuthorizerFunc(func(_ context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
	if a.GetUser().GetName() == Caller && !a.IsResourceRequest() && a.GetVerb() == "post" && a.GetPath() == Path {
		return authorizer.DecisionAllow, "", nil
	}
	return authorizer.DecisionNoOpinion, "", nil
})

// as serves h to requests authenticated as u (nil: no user, as before authentication), as the server's
// handler chain does.
func as(u user.Info, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if u != nil {
			req = req.WithContext(genericapirequest.WithUser(req.Context(), u))
		}
		h.ServeHTTP(w, req)
	})
}

var caller = &user.DefaultInfo{Name: Caller, Groups: []string{user.AllAuthenticated}}

func raw(t *testing.T, obj interface{}) runtime.RawExtension {
	t.Helper()
	b, err := json.Marshal(obj)
	require.NoError(t, err)
	return runtime.RawExtension{Raw: b}
}

func cloneSetUpdate(t *testing.T, old, cs *kruiseappsv1alpha1.CloneSet) *admissionv1.AdmissionRequest {
	return &admissionv1.AdmissionRequest{UID: "req-1", Operation: admissionv1.Update, Namespace: "default", Name: "web",
		Resource: metav1.GroupVersionResource{Group: "apps.kruise.io", Version: "v1alpha1", Resource: "clonesets"},
		Object:   raw(t, cs), OldObject: raw(t, old)}
}

func scaleUpdate(t *testing.T, from, to int32, dryRun bool) *admissionv1.AdmissionRequest {
	scale := func(n int32) *autoscalingv1.Scale {
		return &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"}, Spec: autoscalingv1.ScaleSpec{Replicas: n}}
	}
	return &admissionv1.AdmissionRequest{UID: "req-2", Operation: admissionv1.Update, Namespace: "default", Name: "web",
		Resource:    metav1.GroupVersionResource{Group: "apps.kruise.io", Version: "v1alpha1", Resource: "clonesets"},
		SubResource: "scale", Object: raw(t, scale(to)), OldObject: raw(t, scale(from)), DryRun: &dryRun}
}

// patchedPartition applies the response's JSON patch to the partition and returns it (-1: no patch).
func patchedPartition(t *testing.T, resp *admissionv1.AdmissionResponse) int32 {
	t.Helper()
	require.True(t, resp.Allowed, "%+v", resp.Result)
	if resp.Patch == nil {
		return -1
	}
	var ops []struct {
		Op    string          `json:"op"`
		Path  string          `json:"path"`
		Value json.RawMessage `json:"value"`
	}
	require.NoError(t, json.Unmarshal(resp.Patch, &ops))
	require.Len(t, ops, 1)
	assert.Equal(t, "/spec/updateStrategy/partition", ops[0].Path)
	var p int32
	require.NoError(t, json.Unmarshal(ops[0].Value, &p))
	return p
}

// An edit of a held CloneSet's replicas gets the partition its release needs in the same write.
func TestACloneSetEditGetsTheFloorPartitionInTheSameWrite(t *testing.T) {
	ctx := context.Background()
	h, _ := webhook(release(releases.ReleaseProgressing, 1))
	old := webCloneSet(6, 4, "web-update")

	assert.Equal(t, int32(18), patchedPartition(t, h.Review(ctx, cloneSetUpdate(t, old, webCloneSet(20, 4, "web-update")))),
		"6 → 20 replicas, 2 approved: partition 18")
	assert.Equal(t, int32(18), patchedPartition(t, h.Review(ctx, cloneSetUpdate(t, old, webCloneSet(20, 0, "")))),
		"an edit that also lowers the partition and drops the owner annotation")
	assert.Equal(t, int32(4), patchedPartition(t, h.Review(ctx, cloneSetUpdate(t, old, webCloneSet(6, 0, "web-update")))),
		"a hand edit of the partition alone is raised back")
	assert.Equal(t, int32(-1), patchedPartition(t, h.Review(ctx, cloneSetUpdate(t, old, webCloneSet(20, 19, "web-update")))),
		"a partition above the floor is left alone")
	assert.Equal(t, int32(-1), patchedPartition(t, h.Review(ctx, cloneSetUpdate(t, old, webCloneSet(3, 4, "web-update")))),
		"a scale-in leaves the partition above the floor")

	noPartition := webCloneSet(20, 0, "web-update")
	noPartition.Spec.UpdateStrategy.Partition = nil
	assert.Equal(t, int32(18), patchedPartition(t, h.Review(ctx, cloneSetUpdate(t, old, noPartition))))
}

// Nothing is changed for a CloneSet no release limits.
func TestCloneSetsNoReleaseLimitsAreLeftAlone(t *testing.T) {
	ctx := context.Background()
	for name, r := range map[string]*releases.Release{
		"no such release":  nil,
		"succeeded":        release(releases.ReleaseSucceeded, 3),
		"canceled":         release(releases.ReleaseCanceled, 2),
		"the last batch":   release(releases.ReleaseProgressing, 3),
		"not started":      release(releases.ReleasePending, 0),
		"of another owner": func() *releases.Release { r := release(releases.ReleaseProgressing, 1); r.Name = "other"; return r }(),
	} {
		h, _ := webhook(r)
		resp := h.Review(ctx, cloneSetUpdate(t, webCloneSet(6, 4, "web-update"), webCloneSet(20, 0, "web-update")))
		assert.Equal(t, int32(-1), patchedPartition(t, resp), name)
	}
	h, _ := webhook(release(releases.ReleaseProgressing, 1))
	other := cloneSetUpdate(t, webCloneSet(6, 4, "web-update"), webCloneSet(20, 0, "web-update"))
	other.Resource.Resource = "statefulsets"
	assert.Equal(t, int32(-1), patchedPartition(t, h.Review(ctx, other)))
}

// A scale-out through the scale subresource raises the CloneSet's partition before it lands; a scale-in
// and a dry run change nothing.
func TestAScaleOutRaisesThePartitionFirst(t *testing.T) {
	ctx := context.Background()
	partitionOfStored := func(kruise *kruisefake.Clientset) int32 {
		cs, err := kruise.AppsV1alpha1().CloneSets("default").Get(ctx, "web", metav1.GetOptions{})
		require.NoError(t, err)
		return cs.Spec.UpdateStrategy.Partition.IntVal
	}

	h, kruise := webhook(release(releases.ReleaseProgressing, 1), webCloneSet(6, 4, "web-update"))
	resp := h.Review(ctx, scaleUpdate(t, 6, 20, true))
	assert.True(t, resp.Allowed)
	assert.Equal(t, int32(4), partitionOfStored(kruise), "a dry run changes nothing")
	resp = h.Review(ctx, scaleUpdate(t, 6, 3, false))
	assert.True(t, resp.Allowed)
	assert.Equal(t, int32(4), partitionOfStored(kruise), "a scale-in leaves the partition above the floor")

	resp = h.Review(ctx, scaleUpdate(t, 6, 20, false))
	assert.True(t, resp.Allowed)
	assert.Nil(t, resp.Patch, "a Scale carries no partition")
	assert.Equal(t, int32(18), partitionOfStored(kruise), "raised before the 20 replicas land")
	stored, err := kruise.AppsV1alpha1().CloneSets("default").Get(ctx, "web", metav1.GetOptions{})
	require.NoError(t, err)
	to, _, pending := plan.PendingScaleOut(stored.Annotations, 6, time.Now())
	assert.True(t, pending, "the controller is told the partition counts the replicas on their way")
	assert.Equal(t, int32(20), to)

	h, kruise = webhook(release(releases.ReleaseSucceeded, 3), webCloneSet(6, 0, ""))
	assert.True(t, h.Review(ctx, scaleUpdate(t, 6, 20, false)).Allowed)
	assert.Equal(t, int32(0), partitionOfStored(kruise), "no release holds it")
	for _, a := range kruise.Actions() {
		assert.NotEqual(t, "patch", a.GetVerb())
	}
}

// When the partition cannot be raised, the scale is refused rather than let through unaccounted.
func TestAScaleThatCannotBeAccountedIsRefused(t *testing.T) {
	h, _ := webhook(release(releases.ReleaseProgressing, 1))
	h.Releases = func(context.Context, string, string) (*releases.Release, error) {
		return nil, assert.AnError
	}
	_, _ = h.Kruise.AppsV1alpha1().CloneSets("default").Create(context.Background(), webCloneSet(6, 4, "web-update"), metav1.CreateOptions{})
	resp := h.Review(context.Background(), scaleUpdate(t, 6, 20, false))
	assert.False(t, resp.Allowed)
	assert.Equal(t, int32(http.StatusConflict), resp.Result.Code)
}

// The HTTP side: a review in, the same UID out; anything else is a 4xx.
func TestServeHTTP(t *testing.T) {
	h, _ := webhook(release(releases.ReleaseProgressing, 1))
	srv := httptest.NewServer(as(caller, h))
	defer srv.Close()

	review := admissionv1.AdmissionReview{TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: cloneSetUpdate(t, webCloneSet(6, 4, "web-update"), webCloneSet(20, 4, "web-update"))}
	body, err := json.Marshal(review)
	require.NoError(t, err)
	resp, err := http.Post(srv.URL, "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var got admissionv1.AdmissionReview
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&got))
	require.NotNil(t, got.Response)
	assert.Equal(t, types.UID("req-1"), got.Response.UID)
	assert.Equal(t, "AdmissionReview", got.Kind)
	assert.Equal(t, int32(18), patchedPartition(t, got.Response))

	for _, bad := range []string{"", "{}", "not json", `{"request": 5}`} {
		resp, err := http.Post(srv.URL, "application/json", bytes.NewReader([]byte(bad)))
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, bad)
	}
	resp, err = http.Get(srv.URL)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	big := bytes.Repeat([]byte("x"), maxReviewBytes+1)
	resp, err = http.Post(srv.URL, "application/json", bytes.NewReader(big))
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
}
