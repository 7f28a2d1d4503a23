package dashboard

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

func TestFleetOrderAndSummary(t *testing.T) {
	waiting := withCondition(release("b", "canary", "Progressing", 1, "Smoked", "Pending"),
		v1alpha1.ConditionAwaitingNext, "batch 1 (canary) is Smoked")
	waiting.Status.Batches[0].Pods = []v1alpha1.BatchPod{{Name: "p1"}, {Name: "p2"}}
	s, _ := newTestServer(t,
		release("b", "api", "Progressing", 2, "Baked", "Smoking", "Pending"),
		withCondition(release("c", "aaa", "Progressing", 2, "Baked", "Baked"), v1alpha1.ConditionAwaitingNext, "batch 2 is Baked"),
		release("a", "zzz", "Pending", 0),
		waiting,
		withCondition(release("a", "failed", "Failed", 1, "Failed"), v1alpha1.ConditionFailed, "pod crashes"),
		release("a", "done", "Succeeded", 2, "Baked", "Baked"),
	)
	rec := serve(t, s, request{target: "/api/releases"})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var f fleet
	decode(t, rec.Body, &f)
	var order []string
	for _, r := range f.Items {
		order = append(order, r.Namespace+"/"+r.Name)
	}
	assert.Equal(t, []string{"b/canary", "c/aaa", "a/done", "a/failed", "a/zzz", "b/api"}, order,
		"those awaiting next first, then by namespace and name")
	assert.False(t, f.Truncated)

	assert.Equal(t, Summary{
		Namespace: "b", Name: "canary", CloneSet: "web", Action: "Update", Mode: "Manual", Phase: "Progressing",
		CurrentBatch: 1, Batches: 2, BatchPhase: "Smoked", Progress: Progress{Updated: 2, Target: 4},
		WaitingFor: "batch 1 (canary) is Smoked", AwaitingNext: true,
	}, f.Items[0])
	assert.Equal(t, "pod crashes", f.Items[3].WaitingFor)
	assert.Equal(t, Progress{Updated: 4, Target: 4}, f.Items[2].Progress, "a Succeeded release changed them all")
	assert.Equal(t, Summary{Namespace: "a", Name: "zzz", CloneSet: "web", Action: "Update", Mode: "Manual", Phase: "Pending"}, f.Items[4])
	assert.Equal(t, Progress{Updated: 2, Target: 6}, f.Items[5].Progress, "batch 1 done, batch 2 not started its pods")
}

func TestFleetEmptyIsAList(t *testing.T) {
	s, _ := newTestServer(t)
	rec := serve(t, s, request{target: "/api/releases"})
	require.Equal(t, http.StatusOK, rec.Code)
	assert.JSONEq(t, `{"items":[],"truncated":false}`, rec.Body.String())
}

func TestFleetOfOneNamespace(t *testing.T) {
	cs := fakeClient()
	for _, r := range []*v1alpha1.Release{release("a", "web", "Pending", 0), release("b", "web", "Pending", 0)} {
		require.NoError(t, cs.Tracker().Add(r))
	}
	s, err := New(Config{Client: cs, Namespace: "b", Token: testToken})
	require.NoError(t, err)
	s.allowPort(testPort)
	var f fleet
	rec := serve(t, s, request{target: "/api/releases"})
	decode(t, rec.Body, &f)
	require.Len(t, f.Items, 1)
	assert.Equal(t, "b", f.Items[0].Namespace)

	rec = serve(t, s, request{target: "/api/releases/a/web"})
	assert.Equal(t, http.StatusNotFound, rec.Code, "a namespace the dashboard does not show")
}

// TestFleetPages lists page by page, 500 at a time, following the continue token.
func TestFleetPages(t *testing.T) {
	s, cs := newTestServer(t)
	var asked []metav1.ListOptions
	cs.PrependReactor("list", "releases", func(a k8stesting.Action) (bool, runtime.Object, error) {
		opts := a.(k8stesting.ListActionImpl).ListOptions
		asked = append(asked, opts)
		list := &v1alpha1.ReleaseList{}
		page := len(asked)
		list.Items = append(list.Items, *release("a", fmt.Sprintf("r%d", page), "Pending", 0))
		if page < 3 {
			list.Continue = fmt.Sprintf("after-%d", page)
		}
		return true, list, nil
	})
	rec := serve(t, s, request{target: "/api/releases"})
	require.Equal(t, http.StatusOK, rec.Code)
	var f fleet
	decode(t, rec.Body, &f)
	assert.Len(t, f.Items, 3)
	require.Len(t, asked, 3)
	for i, opts := range asked {
		assert.EqualValues(t, listPage, opts.Limit)
		if i > 0 {
			assert.Equal(t, fmt.Sprintf("after-%d", i), opts.Continue)
		}
	}
}

// A user who may not list releases gets the server's 403, for the fleet and for the event stream alike
// (the stream answers it at once rather than staying silent).
func TestAListRefusedIsTheServersAnswer(t *testing.T) {
	for _, target := range []string{"/api/releases", "/api/events"} {
		t.Run(target, func(t *testing.T) {
			s, cs := newTestServer(t)
			cs.PrependReactor("list", "releases", func(k8stesting.Action) (bool, runtime.Object, error) {
				return true, nil, forbidden("list")
			})
			rec := serve(t, s, request{target: target})
			assert.Equal(t, http.StatusForbidden, rec.Code)
			assert.Contains(t, messageOf(t, rec), `cannot list resource "releases"`)
		})
	}
}

func TestGetRelease(t *testing.T) {
	r := release("a", "web", "Progressing", 1, "Smoking")
	r.Spec.Template = nil
	s, _ := newTestServer(t, r)
	rec := serve(t, s, request{target: "/api/releases/a/web"})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var got v1alpha1.Release
	decode(t, rec.Body, &got)
	assert.Equal(t, "Release", got.Kind)
	assert.Equal(t, "releases.triton.io/v1alpha1", got.APIVersion)
	assert.Equal(t, r.Spec, got.Spec)
	assert.Equal(t, r.Status, got.Status)

	rec = serve(t, s, request{target: "/api/releases/a/nope"})
	assert.Equal(t, http.StatusNotFound, rec.Code)
	assert.Contains(t, messageOf(t, rec), `"nope" not found`)
}

func TestUnknownAPI(t *testing.T) {
	s, _ := newTestServer(t)
	for _, target := range []string{"/api/", "/api/nope", "/api/releases/a", "/api/releases/a/b/c/d"} {
		rec := serve(t, s, request{target: target})
		assert.Equal(t, http.StatusNotFound, rec.Code, target)
		assert.NotEmpty(t, messageOf(t, rec), target)
	}
	rec := serve(t, s, request{method: http.MethodPost, target: "/api/releases", body: "{}"})
	assert.Equal(t, http.StatusNotFound, rec.Code)
}

// hostileName is a release name as no API server would admit, and a page must still show as text.
const hostileName = "<img src=x onerror=alert(1)>\x1b[31mred\x1b]0;title\x07"

// TestNamesAreData: a name with markup and terminal escapes is JSON-escaped in the fleet (and decodes back
// to itself, for the page's calls), and made visible in messages.
func TestNamesAreData(t *testing.T) {
	r := withCondition(release("a", hostileName, "Paused", 1, "Smoking"), v1alpha1.ConditionPaused,
		"paused by \x1b[2Jmallory\nsecond line \u202eevil")
	s, cs := newTestServer(t, r)

	rec := serve(t, s, request{target: "/api/releases"})
	require.Equal(t, http.StatusOK, rec.Code)
	raw := rec.Body.String()
	assert.NotContains(t, raw, "<img")
	assert.NotContains(t, raw, "\x1b")
	assert.Contains(t, raw, `\u003cimg src=x onerror=alert(1)\u003e\u001b[31m`)
	var f fleet
	decode(t, strings.NewReader(raw), &f)
	require.Len(t, f.Items, 1)
	assert.Equal(t, hostileName, f.Items[0].Name, "the name itself, for the page to call back with")
	assert.Equal(t, `paused by \x1b[2Jmallory second line \u202eevil`, f.Items[0].WaitingFor)

	cs.PrependReactor("create", "releases", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, conflict(a.(k8stesting.CreateActionImpl).Name, "the release moved on\nto batch 2 \x1b[0m")
	})
	rec = post(t, s, "a", url.PathEscape(hostileName), "resume", `{}`)
	require.Equal(t, http.StatusConflict, rec.Code, rec.Body.String())
	assert.NotContains(t, rec.Body.String(), "<img")
	msg := messageOf(t, rec)
	assert.NotContains(t, msg, "\x1b")
	assert.NotContains(t, msg, "\n")
	assert.Contains(t, msg, `"<img src=x onerror=alert(1)>\x1b[31mred\x1b]0;title\a"`, "text, for the page's textContent")
	assert.Contains(t, msg, `the release moved on to batch 2 \x1b[0m`)

	// A name no path can carry is refused before any call, and quoted as text.
	rec = post(t, s, "a", url.PathEscape("</script>\x1b[0m"), "resume", `{}`)
	require.Equal(t, http.StatusBadRequest, rec.Code, rec.Body.String())
	assert.NotContains(t, rec.Body.String(), "</script>")
	assert.Equal(t, `"</script>\x1b[0m" is not a valid name`, messageOf(t, rec))
}
