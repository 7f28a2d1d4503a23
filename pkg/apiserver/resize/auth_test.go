package resize

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionv1 "k8s.io/api/admission/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/authentication/user"
	clienttesting "k8s.io/client-go/testing"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/storagegate"
)

// countReads counts the webhook's reads of releases.
func countReads(h *Webhook) *atomic.Int32 {
	var n atomic.Int32
	get := h.Releases
	h.Releases = func(ctx context.Context, namespace, name string) (*releases.Release, error) {
		n.Add(1)
		return get(ctx, namespace, name)
	}
	return &n
}

func post(t *testing.T, url string, review *admissionv1.AdmissionRequest) (int, string) {
	t.Helper()
	body, err := json.Marshal(admissionv1.AdmissionReview{TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: review})
	require.NoError(t, err)
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(raw)
}

// The forged reviews of the security review (section 4): a scale-out to 2,000,000,000 replicas of a held
// CloneSet, and an edit whose old object names a release, to learn whether it exists and its floor.
func forgedReviews(t *testing.T) map[string]*admissionv1.AdmissionRequest {
	return map[string]*admissionv1.AdmissionRequest{
		"scale": scaleUpdate(t, 6, 2000000000, false),
		"edit":  cloneSetUpdate(t, webCloneSet(6, 0, "web-update"), webCloneSet(20, 0, "")),
	}
}

// A review from anyone but a caller allowed to post on the webhook's path changes nothing, reads nothing
// and says nothing: 401 without credentials, 403 without the permission, and no word of the release, its
// floor or the CloneSet. The same reviews from the caller do what the webhook is for.
func TestAnUnauthenticatedOrUnauthorizedReviewChangesNothingAndLeaksNothing(t *testing.T) {
	for name, c := range map[string]struct {
		user       user.Info
		authorizer bool
		code       int
	}{
		"no credentials": {user: nil, authorizer: true, code: http.StatusUnauthorized},
		"anonymous": {user: &user.DefaultInfo{Name: user.Anonymous, Groups: []string{user.AllUnauthenticated}},
			authorizer: true, code: http.StatusUnauthorized},
		"unauthenticated group": {user: &user.DefaultInfo{Name: "x", Groups: []string{user.AllUnauthenticated}},
			authorizer: true, code: http.StatusUnauthorized},
		"a user without the permission": {user: &user.DefaultInfo{Name: "alice", Groups: []string{user.AllAuthenticated}},
			authorizer: true, code: http.StatusForbidden},
		"the caller, with no authorizer": {user: caller, authorizer: false, code: http.StatusForbidden},
	} {
		t.Run(name, func(t *testing.T) {
			for what, review := range forgedReviews(t) {
				h, kruise := webhook(release(releases.ReleaseProgressing, 1), webCloneSet(6, 4, "web-update"))
				if !c.authorizer {
					h.Authorizer = nil
				}
				reads := countReads(h)
				kruise.ClearActions()
				srv := httptest.NewServer(as(c.user, h))
				code, body := post(t, srv.URL, review)
				srv.Close()

				assert.Equal(t, c.code, code, what)
				for _, leak := range []string{"web-update", "web", "18", "partition", "release", "AdmissionReview"} {
					assert.NotContains(t, body, leak, "%s: the answer says nothing of releases or CloneSets", what)
				}
				assert.Zero(t, reads.Load(), "%s: no release is read", what)
				assert.Empty(t, kruise.Actions(), "%s: no CloneSet is read or written", what)
			}
			// Any method: the same answer, before the method is looked at.
			h, _ := webhook(release(releases.ReleaseProgressing, 1))
			if !c.authorizer {
				h.Authorizer = nil
			}
			srv := httptest.NewServer(as(c.user, h))
			defer srv.Close()
			resp, err := http.Get(srv.URL)
			require.NoError(t, err)
			require.NoError(t, resp.Body.Close())
			assert.Equal(t, c.code, resp.StatusCode)
		})
	}

	// The caller: the scale-out raises the partition, the edit gets the floor and a warning.
	h, kruise := webhook(release(releases.ReleaseProgressing, 1), webCloneSet(6, 4, "web-update"))
	srv := httptest.NewServer(as(caller, h))
	defer srv.Close()
	code, _ := post(t, srv.URL, scaleUpdate(t, 6, 20, false))
	assert.Equal(t, http.StatusOK, code)
	cs, err := kruise.AppsV1alpha1().CloneSets("default").Get(context.Background(), "web", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(18), cs.Spec.UpdateStrategy.Partition.IntVal)
	code, body := post(t, srv.URL, forgedReviews(t)["edit"])
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "web-update", "an authorized caller (kube-apiserver) passes the warning on to whoever edited")
}

// cloneSetCache is a CloneSetCache of fixed CloneSets.
type cloneSetCache struct {
	synced bool
	items  map[string]*kruiseappsv1alpha1.CloneSet
}

func (c *cloneSetCache) HasSynced() bool { return c.synced }

func (c *cloneSetCache) Get(namespace, name string) (*kruiseappsv1alpha1.CloneSet, error) {
	return c.items[namespace+"/"+name], nil
}

func cached(objs ...*kruiseappsv1alpha1.CloneSet) *cloneSetCache {
	c := &cloneSetCache{synced: true, items: map[string]*kruiseappsv1alpha1.CloneSet{}}
	for _, cs := range objs {
		c.items[cs.Namespace+"/"+cs.Name] = cs
	}
	return c
}

// A scale-out of a CloneSet no release holds is answered from the cache: allowed, with no request to
// kube-apiserver and no release read.
func TestAScaleOutOfACloneSetNoReleaseHoldsIsAnsweredFromTheCache(t *testing.T) {
	ctx := context.Background()
	for name, cs := range map[string]*kruiseappsv1alpha1.CloneSet{
		"no owner annotation": webCloneSet(6, 0, ""),
		"not in the cache":    nil,
	} {
		h, kruise := webhook(release(releases.ReleaseProgressing, 1))
		reads := countReads(h)
		if cs != nil {
			h.CloneSets = cached(cs)
		} else {
			h.CloneSets = cached()
		}
		resp := h.Review(ctx, scaleUpdate(t, 6, 20, false))
		assert.True(t, resp.Allowed, name)
		assert.Empty(t, resp.Warnings, name)
		assert.Empty(t, kruise.Actions(), "%s: nothing asked of kube-apiserver", name)
		assert.Zero(t, reads.Load(), "%s: no release read", name)
	}
}

// A held CloneSet is read from the cache too; the partition is raised with the cached resourceVersion, and
// a patch refused for a stale one reads the CloneSet live before it tries again. Until the cache has synced,
// the CloneSet is read live.
func TestAScaleOutOfAHeldCloneSetReadsTheCacheThenLiveOnConflict(t *testing.T) {
	ctx := context.Background()
	h, kruise := webhook(release(releases.ReleaseProgressing, 1), webCloneSet(6, 4, "web-update"))
	h.CloneSets = cached(webCloneSet(6, 4, "web-update"))
	kruise.ClearActions()
	assert.True(t, h.Review(ctx, scaleUpdate(t, 6, 20, false)).Allowed)
	require.Len(t, kruise.Actions(), 1, "one patch, no read")
	assert.Equal(t, "patch", kruise.Actions()[0].GetVerb())

	h, kruise = webhook(release(releases.ReleaseProgressing, 1), webCloneSet(6, 4, "web-update"))
	h.CloneSets = cached(webCloneSet(6, 4, "web-update"))
	conflicts := 1
	kruise.PrependReactor("patch", "clonesets", func(clienttesting.Action) (bool, runtime.Object, error) {
		if conflicts > 0 {
			conflicts--
			return true, nil, apierrors.NewConflict(schema.GroupResource{Group: "apps.kruise.io", Resource: "clonesets"}, "web", errors.New("stale"))
		}
		return false, nil, nil
	})
	kruise.ClearActions()
	assert.True(t, h.Review(ctx, scaleUpdate(t, 6, 20, false)).Allowed)
	var verbs []string
	for _, a := range kruise.Actions() {
		verbs = append(verbs, a.GetVerb())
	}
	assert.Equal(t, []string{"patch", "get", "patch"}, verbs, "the conflict reads live, then patches again")
	cs, err := kruise.AppsV1alpha1().CloneSets("default").Get(ctx, "web", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(18), cs.Spec.UpdateStrategy.Partition.IntVal)

	h, kruise = webhook(release(releases.ReleaseProgressing, 1), webCloneSet(6, 4, "web-update"))
	h.CloneSets = &cloneSetCache{synced: false}
	kruise.ClearActions()
	assert.True(t, h.Review(ctx, scaleUpdate(t, 6, 20, false)).Allowed)
	require.NotEmpty(t, kruise.Actions())
	assert.Equal(t, "get", kruise.Actions()[0].GetVerb(), "not synced yet: read live")
}

// While the storage gate is closed, a review that needs a release fails at once with 503, without
// reading; one that needs none is answered as always.
func TestAClosedStorageGateFailsAReviewAtOnce(t *testing.T) {
	ctx := context.Background()
	gate := storagegate.New()
	for i := 0; i < gate.FailuresToClose; i++ {
		gate.Observe(errors.New("etcd does not answer"), time.Now())
	}
	closed, _, _ := gate.Closed()
	require.True(t, closed)

	h, kruise := webhook(release(releases.ReleaseProgressing, 1), webCloneSet(6, 4, "web-update"))
	var reads atomic.Int32
	h.Releases = Gated(gate, func(context.Context, string, string) (*releases.Release, error) {
		reads.Add(1)
		return nil, nil
	})
	h.CloneSets = cached(webCloneSet(6, 4, "web-update"), func() *kruiseappsv1alpha1.CloneSet {
		cs := webCloneSet(6, 0, "")
		cs.Name = "other"
		return cs
	}())
	start := time.Now()
	resp := h.Review(ctx, scaleUpdate(t, 6, 20, false))
	assert.Less(t, time.Since(start), time.Second)
	assert.False(t, resp.Allowed)
	assert.Equal(t, int32(http.StatusServiceUnavailable), resp.Result.Code)
	resp = h.Review(ctx, cloneSetUpdate(t, webCloneSet(6, 4, "web-update"), webCloneSet(20, 4, "web-update")))
	assert.False(t, resp.Allowed)
	assert.Equal(t, int32(http.StatusServiceUnavailable), resp.Result.Code)
	assert.Zero(t, reads.Load(), "nothing waits for etcd")
	for _, a := range kruise.Actions() {
		assert.NotEqual(t, "patch", a.GetVerb())
	}

	other := scaleUpdate(t, 6, 20, false)
	other.Name = "other"
	assert.True(t, h.Review(ctx, other).Allowed, "a CloneSet no release holds needs no release")

	gate.Observe(nil, time.Now())
	assert.True(t, h.Review(ctx, scaleUpdate(t, 6, 20, false)).Allowed)
	assert.Equal(t, int32(1), reads.Load(), "open again: the release is read")
}
