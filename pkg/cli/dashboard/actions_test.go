package dashboard

import (
	"errors"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/generated/clientset/versioned/fake"
)

func conflict(name, why string) error {
	return apierrors.NewConflict(v1alpha1.Resource("releases"), name, errors.New(why))
}

func forbidden(verb string) error {
	return apierrors.NewForbidden(v1alpha1.Resource("releases"), "web",
		errors.New(`User "bob" cannot `+verb+` resource "releases" in API group "releases.triton.io"`))
}

// call is one subresource call the fake clientset saw.
type call struct {
	name, verb string
	req        *v1alpha1.ReleaseRequest
}

// recordCalls makes cs answer every subresource call with the release as it is and record the call; the
// release's own reactor (the tracker) answers the rest.
func recordCalls(cs *fake.Clientset) *[]call {
	var calls []call
	cs.PrependReactor("create", "releases", func(a k8stesting.Action) (bool, runtime.Object, error) {
		c := a.(k8stesting.CreateActionImpl)
		if c.Subresource == "" {
			return false, nil, nil
		}
		calls = append(calls, call{name: c.Name, verb: c.Subresource, req: c.Object.(*v1alpha1.ReleaseRequest)})
		r, err := cs.Tracker().Get(v1alpha1.SchemeGroupVersion.WithResource("releases"), c.Namespace, c.Name)
		return true, r, err
	})
	return &calls
}

func TestNextAndPromoteNeedExpectedBatch(t *testing.T) {
	s, cs := newTestServer(t, release("a", "web", "Progressing", 1, "Smoked", "Pending"))
	calls := recordCalls(cs)
	for _, verb := range []string{"next", "promote"} {
		for _, body := range []string{`{}`, ``, `{"expectedPhase":"Smoked","reason":"ok"}`, `{"expectedBatch":null}`} {
			rec := post(t, s, "a", "web", verb, body)
			assert.Equal(t, http.StatusBadRequest, rec.Code, verb+" "+body)
			assert.Contains(t, messageOf(t, rec), "expectedBatch")
		}
	}
	assert.Empty(t, *calls, "nothing reached the API server")
}

func TestActionBodyIsStrict(t *testing.T) {
	s, cs := newTestServer(t, release("a", "web", "Progressing", 1, "Smoked", "Pending"))
	calls := recordCalls(cs)
	for _, body := range []string{
		`{"expectedBatch":1,"toBatch":2}`,             // unknown field: the page cannot skip batches by itself
		`{"expectedBatch":1,"overrideAnalysis":true}`, // nor go past the checks
		`{"expectedBatch":"1"}`,
		`{"expectedBatch":-1}`,
		`{"expectedBatch":1}{"expectedBatch":2}`,
		`[1]`,
		`not json`,
	} {
		rec := post(t, s, "a", "web", "next", body)
		assert.Equal(t, http.StatusBadRequest, rec.Code, body)
	}
	assert.Empty(t, *calls)

	rec := post(t, s, "a", "web", "rollback", `{}`)
	assert.Equal(t, http.StatusNotFound, rec.Code)
	assert.Contains(t, messageOf(t, rec), "next, pause, resume, cancel or promote")
}

func TestActionsPassPreconditionsThrough(t *testing.T) {
	s, cs := newTestServer(t, release("a", "web", "Progressing", 1, "Smoked", "Pending"))
	calls := recordCalls(cs)
	for _, verb := range []string{"next", "pause", "resume", "cancel"} {
		rec := post(t, s, "a", "web", verb, `{"expectedBatch":1,"expectedPhase":"Smoked","reason":"looks good"}`)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		var got v1alpha1.Release
		decode(t, rec.Body, &got)
		assert.Equal(t, "web", got.Name)
		assert.Equal(t, "Release", got.Kind)
	}
	require.Len(t, *calls, 4)
	for i, verb := range []string{"next", "pause", "resume", "cancel"} {
		c := (*calls)[i]
		assert.Equal(t, verb, c.verb)
		assert.Equal(t, "web", c.name)
		assert.Equal(t, &v1alpha1.ReleaseRequest{ExpectedBatch: ptr.To[int32](1), ExpectedPhase: v1alpha1.BatchSmoked, Reason: "looks good"}, c.req)
	}

	// pause, resume and cancel need no precondition.
	rec := post(t, s, "a", "web", "pause", ``)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, &v1alpha1.ReleaseRequest{}, (*calls)[4].req)
}

func TestPromoteIsNextToTheLastBatch(t *testing.T) {
	s, cs := newTestServer(t, release("a", "web", "Progressing", 2, "Baked", "Baked", "Pending", "Pending"))
	calls := recordCalls(cs)
	rec := post(t, s, "a", "web", "promote", `{"expectedBatch":2,"expectedPhase":"Baked","reason":"all good"}`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Len(t, *calls, 1)
	c := (*calls)[0]
	assert.Equal(t, "next", c.verb)
	assert.Equal(t, &v1alpha1.ReleaseRequest{ExpectedBatch: ptr.To[int32](2), ExpectedPhase: v1alpha1.BatchBaked,
		Reason: "all good", ToBatch: ptr.To[int32](4)}, c.req)
}

func TestPromoteWithoutPlan(t *testing.T) {
	s, cs := newTestServer(t, release("a", "web", "Pending", 0))
	calls := recordCalls(cs)
	rec := post(t, s, "a", "web", "promote", `{"expectedBatch":0}`)
	assert.Equal(t, http.StatusConflict, rec.Code)
	assert.Contains(t, messageOf(t, rec), "no batches yet")
	assert.Empty(t, *calls)

	rec = post(t, s, "a", "gone", "promote", `{"expectedBatch":1}`)
	assert.Equal(t, http.StatusNotFound, rec.Code)
}

// TestAPIErrorsKeepTheirStatus: the page sees the server's refusal as the CLI does, in one line.
func TestAPIErrorsKeepTheirStatus(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		code int
		msg  string
	}{
		{"conflict", conflict("web", "expected batch 1, the release is at batch 2\n(it moved on)"), http.StatusConflict,
			`Operation cannot be fulfilled on releases.releases.triton.io "web": expected batch 1, the release is at batch 2 (it moved on)`},
		{"forbidden", forbidden("create"), http.StatusForbidden,
			`releases.releases.triton.io "web" is forbidden: User "bob" cannot create resource "releases" in API group "releases.triton.io"`},
		{"invalid", apierrors.NewInvalid(v1alpha1.SchemeGroupVersion.WithKind("ReleaseRequest").GroupKind(), "web",
			field.ErrorList{field.Invalid(field.NewPath("reason"), "\x1b[1m", "too long")}), http.StatusUnprocessableEntity,
			`ReleaseRequest.releases.triton.io "web" is invalid: reason: Invalid value: "\x1b[1m": too long`},
		{"not found", apierrors.NewNotFound(v1alpha1.Resource("releases"), "web"), http.StatusNotFound,
			`releases.releases.triton.io "web" not found`},
		// The page's own 401 means its token is wrong; the cluster's refusal of the user's credentials is
		// the cluster's answer, passed on as a gateway's error.
		{"credentials refused by the cluster", apierrors.NewUnauthorized("token expired"), http.StatusBadGateway,
			"the cluster did not accept your credentials (401): token expired"},
		{"cluster out of reach", errors.New("dial tcp 10.0.0.1:443: connect: connection refused"), http.StatusBadGateway,
			"dial tcp 10.0.0.1:443: connect: connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, cs := newTestServer(t, release("a", "web", "Progressing", 1, "Smoked"))
			cs.PrependReactor("create", "releases", func(k8stesting.Action) (bool, runtime.Object, error) {
				return true, nil, tc.err
			})
			rec := post(t, s, "a", "web", "next", `{"expectedBatch":1}`)
			assert.Equal(t, tc.code, rec.Code)
			assert.Equal(t, tc.msg, messageOf(t, rec))
		})
	}
}
