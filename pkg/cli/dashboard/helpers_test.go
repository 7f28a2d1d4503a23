package dashboard

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/generated/clientset/versioned/fake"
)

const (
	testToken = "test-token-0123456789"
	testPort  = 8080
	testHost  = "127.0.0.1:8080"
	// testOrigin is the page's own origin.
	testOrigin = "http://" + testHost
)

// newTestServer is a dashboard over a fake clientset holding objs, for every namespace, that accepts
// the Host testHost.
func newTestServer(t *testing.T, objs ...runtime.Object) (*Server, *fake.Clientset) {
	t.Helper()
	cs := fake.NewSimpleClientset(objs...)
	s, err := New(Config{Client: cs, Token: testToken})
	require.NoError(t, err)
	s.allowPort(testPort)
	return s, cs
}

// request is one request to the handler; its zero headers are those of the page's own script.
type request struct {
	method, target, body string
	headers              map[string]string
}

// serve sends rq to s's handler with the Host, token, Origin and Content-Type of the page, except those
// rq.headers sets ("" removes one).
func serve(t *testing.T, s *Server, rq request) *httptest.ResponseRecorder {
	t.Helper()
	method := rq.method
	if method == "" {
		method = http.MethodGet
	}
	req := httptest.NewRequest(method, rq.target, strings.NewReader(rq.body))
	req.Host = testHost
	req.Header.Set(TokenHeader, testToken)
	if method == http.MethodPost {
		req.Header.Set("Origin", testOrigin)
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range rq.headers {
		if k == "Host" {
			req.Host = v
			continue
		}
		if v == "" {
			req.Header.Del(k)
			continue
		}
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	return rec
}

// post is a call of the page's: verb on ns/name with body.
func post(t *testing.T, s *Server, ns, name, verb, body string) *httptest.ResponseRecorder {
	t.Helper()
	return serve(t, s, request{method: http.MethodPost, target: "/api/releases/" + ns + "/" + name + "/" + verb, body: body})
}

// messageOf is the {"message"} of an error answer.
func messageOf(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	require.Equal(t, "application/json; charset=utf-8", rec.Header().Get("Content-Type"), rec.Body.String())
	var m message
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &m))
	return m.Message
}

// decode reads a JSON answer into v.
func decode(t *testing.T, r io.Reader, v any) {
	t.Helper()
	require.NoError(t, json.NewDecoder(r).Decode(v))
}

// release is a Manual release ns/name of one CloneSet whose plan has a batch of 2 pods per phase given,
// at batch current.
func release(ns, name string, phase v1alpha1.ReleasePhase, current int32, batchPhases ...v1alpha1.BatchPhase) *v1alpha1.Release {
	r := &v1alpha1.Release{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       v1alpha1.ReleaseSpec{CloneSetName: "web", Action: v1alpha1.ActionUpdate},
		Status:     v1alpha1.ReleaseStatus{Phase: phase, CurrentBatch: current},
	}
	for i, p := range batchPhases {
		r.Status.Batches = append(r.Status.Batches, v1alpha1.ReleaseBatch{
			Index: int32(i + 1), Replicas: 2, Target: int32(2 * (i + 1)), Phase: p,
		})
	}
	return r
}

// withCondition sets a True condition of type t with message on r.
func withCondition(r *v1alpha1.Release, t, msg string) *v1alpha1.Release {
	r.Status.Conditions = append(r.Status.Conditions, metav1.Condition{Type: t, Status: metav1.ConditionTrue, Reason: t, Message: msg})
	return r
}

// fakeClient is an empty fake clientset.
func fakeClient() *fake.Clientset { return fake.NewSimpleClientset() }
