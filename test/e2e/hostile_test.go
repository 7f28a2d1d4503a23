//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/rest"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/apis/releases/validation"
	releasesclient "github.com/triton-io/triton/pkg/generated/clientset/versioned/typed/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/release/plan"
	"github.com/triton-io/triton/test/e2e/framework"
)

// hostile is one malformed or hostile request.
type hostile struct {
	method, path, contentType string
	body                      []byte
	what                      string
}

// hostileRequests makes n requests against every endpoint of a release: truncated JSON and YAML,
// protobuf garbage, wrong kinds, huge fields, deep nesting, unknown fields (strict), wrong content types
// and odd names. None of them may be valid.
func hostileRequests(n int, base, name string, rnd *rand.Rand) []hostile {
	valid := fmt.Sprintf(`{"kind":"Release","apiVersion":"releases.triton.io/v1alpha1","metadata":{"name":%q},"spec":{"cloneSetName":"nginx","action":"Restart","strategy":{"batchSize":"50%%"}}}`, name+"-new")
	request := `{"kind":"ReleaseRequest","apiVersion":"releases.triton.io/v1alpha1","expectedBatch":1,"reason":"x"}`
	endpoints := []struct{ method, path string }{
		{http.MethodPost, base},
		{http.MethodPut, base + "/" + name},
		{http.MethodPatch, base + "/" + name},
		{http.MethodPut, base + "/" + name + "/status"},
		{http.MethodPatch, base + "/" + name + "/status"},
		{http.MethodPost, base + "/" + name + "/next"},
		{http.MethodPost, base + "/" + name + "/pause"},
		{http.MethodPost, base + "/" + name + "/resume"},
		{http.MethodPost, base + "/" + name + "/cancel"},
	}
	deep := strings.Repeat(`{"a":`, 20000) + "1" + strings.Repeat("}", 20000)
	oddNames := []string{"..", "%2e%2e", "a%00b", "UPPER", "über", strings.Repeat("n", 300), "a b", "-x-"}
	var out []hostile
	for i := 0; len(out) < n; i++ {
		e := endpoints[i%len(endpoints)]
		source := valid
		if strings.HasSuffix(e.path, "/next") || strings.HasSuffix(e.path, "/pause") || strings.HasSuffix(e.path, "/resume") || strings.HasSuffix(e.path, "/cancel") {
			source = request
		}
		ct := "application/json"
		if e.method == http.MethodPatch {
			ct = "application/merge-patch+json"
		}
		h := hostile{method: e.method, path: e.path, contentType: ct}
		switch i / len(endpoints) % 10 {
		case 0: // truncated JSON, never valid
			cut := 1 + rnd.Intn(len(source)-2)
			h.body, h.what = []byte(source[:cut]), "truncated JSON"
		case 1: // truncated YAML
			y := "kind: Release\napiVersion: releases.triton.io/v1alpha1\nmetadata:\n  name: [unclosed\nspec: {cloneSetName: nginx"
			h.body, h.contentType, h.what = []byte(y[:10+rnd.Intn(len(y)-10)]+"\n  - ]"), "application/yaml", "truncated YAML"
		case 2: // protobuf garbage: random bytes after the magic that do not decode (random bytes can be a
			// valid encoding of an almost empty request, as valid as `{}` in JSON: those are drawn again)
			for {
				b := make([]byte, 1+rnd.Intn(512))
				rnd.Read(b)
				if h.body = append([]byte("k8s\x00"), b...); !decodesAsProtobuf(h.body) {
					break
				}
			}
			h.contentType, h.what = "application/vnd.kubernetes.protobuf", "protobuf garbage"
		case 3: // wrong kinds
			h.body, h.what = []byte(`{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p"},"spec":{"containers":[]}}`), "wrong kind"
			if source == valid {
				h.body = []byte(request)
			} else {
				h.body = []byte(`{"kind":"Release","apiVersion":"releases.triton.io/v1alpha1","metadata":{"name":"x"}}`)
			}
		case 4: // huge fields
			h.body, h.what = []byte(strings.Replace(source, `"x"`, `"`+strings.Repeat("x", 2<<20)+`"`, 1)), "huge field"
			if source == valid {
				h.body = []byte(strings.Replace(source, `"nginx"`, `"`+strings.Repeat("n", 2<<20)+`"`, 1))
			}
		case 5: // deep nesting
			h.body, h.what = []byte(strings.Replace(source, `"x"`, deep, 1)), "deep nesting"
			if source == valid {
				h.body = []byte(strings.Replace(source, `"Restart"`, deep, 1))
			}
		case 6: // unknown fields, strictly
			h.body, h.what = []byte(strings.Replace(source, `{"kind"`, `{"bogus":{"x":1},"kind"`, 1)), "unknown field (strict)"
			h.path += "?fieldValidation=Strict"
			if h.method == http.MethodPatch {
				h.body = []byte(`{"spec":{"strategy":{"bogus":1}},"status":{"bogus":2}}`)
			}
		case 7: // wrong content types
			h.body, h.contentType, h.what = []byte(source), []string{"text/plain", "application/xml", "application/x-www-form-urlencoded", "image/png"}[rnd.Intn(4)], "wrong content type"
		case 8: // invalid values of the right shape
			h.body, h.what = []byte(strings.NewReplacer(`"Restart"`, `"Explode"`, `"50%"`, `"-5%"`, `"expectedBatch":1`, `"expectedBatch":-1`).Replace(source)), "invalid values"
			if h.method == http.MethodPatch {
				h.body = []byte(`{"spec":{"cloneSetName":"other","strategy":{"batchSize":"0%"}}}`)
				if strings.HasSuffix(h.path, "/status") {
					h.body = []byte(`{"status":{"phase":"Exploded","currentBatch":-1,"batches":[{"index":7,"target":-2}]}}`)
				}
			}
		case 9: // odd names
			odd := oddNames[rnd.Intn(len(oddNames))]
			h.path = strings.Replace(h.path, "/"+name, "/"+odd, 1)
			if h.path == e.path { // the collection: an odd name in the body
				h.body = []byte(strings.Replace(valid, name+"-new", odd, 1))
			} else {
				h.body = []byte(source)
			}
			h.what = "odd name " + odd
		}
		out = append(out, h)
	}
	return out
}

// serverWatch follows the triton-apiserver process through a test: its pid, which must not change, and
// its resident memory, sampled every 100 ms.
type serverWatch struct {
	pid                int
	startRSS, startHWM int64 // bytes
	bound              int64 // bytes: the RSS the server must stay under

	mu   sync.Mutex
	peak int64
	stop chan struct{}
	done chan struct{}
}

// rssBoundOverStart is how much the server's RSS may grow over what it was at the start of the test:
// generous, since garbage collection lags; what it rules out is memory sized by a request's numbers.
const rssBoundOverStart = 512 << 20

// memoryOf reads VmRSS and VmHWM (the peak RSS of the process's life) from /proc/<pid>/status.
func memoryOf(pid int) (rss, hwm int64, err error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		key, value, ok := strings.Cut(line, ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		var kb int64
		if _, err := fmt.Sscanf(strings.TrimSpace(value), "%d kB", &kb); err != nil {
			return 0, 0, fmt.Errorf("%s: %q: %w", key, value, err)
		}
		if key == "VmRSS" {
			rss = kb << 10
		} else {
			hwm = kb << 10
		}
	}
	if rss == 0 {
		return 0, 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
	}
	return rss, hwm, nil
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// watchTriton records the running triton-apiserver's pid and memory and samples its RSS until check.
func watchTriton(t *testing.T) *serverWatch {
	t.Helper()
	pid := localPID(t, "triton-apiserver")
	require.True(t, alive(pid), "triton-apiserver (pid %d) is not running", pid)
	rss, hwm, err := memoryOf(pid)
	require.NoError(t, err, "triton-apiserver's memory")
	w := &serverWatch{pid: pid, startRSS: rss, startHWM: hwm, bound: rss + rssBoundOverStart, peak: rss,
		stop: make(chan struct{}), done: make(chan struct{})}
	t.Logf("triton-apiserver pid %d at the start: RSS %.0f MiB (high-water mark so far %.0f MiB); bound on its RSS: %.0f MiB (start + %d MiB)",
		pid, mib(rss), mib(hwm), mib(w.bound), rssBoundOverStart>>20)
	go func() {
		defer close(w.done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-tick.C:
				if rss, _, err := memoryOf(pid); err == nil {
					w.observe(rss)
				}
			}
		}
	}()
	t.Cleanup(w.halt)
	return w
}

func (w *serverWatch) observe(rss int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.peak = max(w.peak, rss)
}

func (w *serverWatch) halt() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
}

// phase logs the server's memory after a phase of the test and checks that it is the same process, alive.
func (w *serverWatch) phase(t *testing.T, what string) {
	t.Helper()
	if pid := localPID(t, "triton-apiserver"); pid != w.pid {
		t.Errorf("after %s: triton-apiserver is pid %d, not %d: it was restarted", what, pid, w.pid)
	}
	if !alive(w.pid) {
		t.Errorf("after %s: triton-apiserver (pid %d) is gone", what, w.pid)
		return
	}
	rss, hwm, err := memoryOf(w.pid)
	if err != nil {
		t.Errorf("after %s: triton-apiserver's memory: %v", what, err)
		return
	}
	w.observe(rss)
	w.mu.Lock()
	peak := w.peak
	w.mu.Unlock()
	t.Logf("triton-apiserver after %s: RSS %.0f MiB (start %.0f, sampled peak %.0f, high-water mark %.0f, bound %.0f MiB)",
		what, mib(rss), mib(w.startRSS), mib(peak), mib(hwm), mib(w.bound))
}

// check is the end: the same process, alive, and its RSS never above the bound, neither in a sample nor
// between samples (its high-water mark, unless that was above the bound before the test began).
func (w *serverWatch) check(t *testing.T) {
	t.Helper()
	w.phase(t, "the test")
	w.halt()
	assert.Equal(t, w.pid, localPID(t, "triton-apiserver"), "triton-apiserver was restarted during the test")
	assert.True(t, alive(w.pid), "triton-apiserver (pid %d) is no longer running", w.pid)
	_, hwm, err := memoryOf(w.pid)
	assert.NoError(t, err, "triton-apiserver's memory")
	t.Logf("triton-apiserver's RSS: start %.0f MiB, sampled peak %.0f MiB, high-water mark %.0f MiB (%.0f at the start), bound %.0f MiB",
		mib(w.startRSS), mib(w.peak), mib(hwm), mib(w.startHWM), mib(w.bound))
	assert.LessOrEqual(t, w.peak, w.bound, "triton-apiserver's RSS went above start + %d MiB", rssBoundOverStart>>20)
	if hwm > w.startHWM {
		assert.LessOrEqual(t, hwm, w.bound, "triton-apiserver's RSS high-water mark rose above start + %d MiB between samples", rssBoundOverStart>>20)
	}
}

// Invariants 4 and 7: bad input anywhere gets a 4xx, never a 5xx or a panic, and changes nothing; no
// request an authenticated user can send, however large its numbers, takes the server down or sizes its
// memory; and thousands of calls on one release keep its history at 50 entries. Run as admin and as
// alice, an operator allowed to create and update CloneSets, whose every create and action the server
// checks with a SubjectAccessReview. The server is the same process, alive, at the end, and its RSS stays
// under a bound.
func TestHostileRequestsAre4xxAndChangeNothing(t *testing.T) {
	admin := framework.Connect(t, "admin")
	server := watchTriton(t)
	t.Run("admin", func(t *testing.T) { hostileRun(t, admin, "admin", server) })
	t.Run("alice", func(t *testing.T) { hostileRun(t, admin, "alice", server) })
	server.check(t)
}

// hostileSnapshot is what must not change while hostile and enormous requests are answered.
type hostileSnapshot struct {
	store    string // the namespace's releases and their resourceVersions
	releases int
	release  string // nginx-update's resourceVersion
	// cloneSets: generation and annotations of nginx and idle.
	cloneSets map[string]string
}

// idleCloneSet is a CloneSet of the hostile test that no release runs on, so that a release of it gets
// as far as its plan.
const idleCloneSet = "idle"

func takeHostileSnapshot(t *testing.T, ctx context.Context, admin *framework.Cluster, ns string) hostileSnapshot {
	t.Helper()
	releases := admin.Releases.ReleasesV1alpha1().Releases(ns)
	l, err := releases.List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	r, err := releases.Get(ctx, "nginx-update", metav1.GetOptions{})
	require.NoError(t, err)
	// The namespace's releases, each at its resourceVersion: the store's global revision also moves with
	// other tests' releases (a deleted namespace's releases are canceled and let go of in the background).
	var stored []string
	for _, item := range l.Items {
		stored = append(stored, item.Name+"@"+item.ResourceVersion)
	}
	s := hostileSnapshot{store: strings.Join(stored, ","), releases: len(l.Items), release: r.ResourceVersion, cloneSets: map[string]string{}}
	for _, name := range []string{"nginx", idleCloneSet} {
		cs, err := admin.Kruise.AppsV1alpha1().CloneSets(ns).Get(ctx, name, metav1.GetOptions{})
		require.NoError(t, err)
		s.cloneSets[name] = fmt.Sprintf("generation %d, annotations %v", cs.Generation, cs.Annotations)
	}
	return s
}

// assertUnchanged: not the release, not the store, not a CloneSet; no CloneSet made.
func assertUnchanged(t *testing.T, ctx context.Context, admin *framework.Cluster, ns string, before hostileSnapshot, after string) {
	t.Helper()
	now := takeHostileSnapshot(t, ctx, admin, ns)
	assert.Equal(t, before.store, now.store, "after %s: a release in the namespace was stored or changed", after)
	assert.Equal(t, 1, now.releases, "after %s: releases in the namespace", after)
	assert.Equal(t, before.release, now.release, "after %s: nginx-update changed", after)
	assert.Equal(t, before.cloneSets, now.cloneSets, "after %s: a CloneSet's spec or annotations changed", after)
	_, err := admin.Kruise.AppsV1alpha1().CloneSets(ns).Get(ctx, "huge", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "after %s: no CloneSet huge was made: %v", after, err)
}

// hostileRun is one run of the test as user (admin, or alice with the roles it needs), in a namespace of
// its own: hostile requests, enormous ones, then thousands of pause/resume calls.
func hostileRun(t *testing.T, admin *framework.Cluster, user string, server *serverWatch) {
	timeout := 5 * time.Minute
	if full() {
		timeout = 20 * time.Minute
	}
	ctx := framework.Context(t, timeout)
	ns := framework.Namespace(t, admin)
	logFile := filepath.Join(framework.Local, "logs", "triton-apiserver.log")
	logStart, _ := os.Stat(logFile)
	framework.CanaryAwaitingNext(t, ctx, admin, ns)
	releases := admin.Releases.ReleasesV1alpha1().Releases(ns)
	// The release is gone before the next run (before the namespace is deleted), so that its cleanup
	// writes nothing to the store while that run watches the store's revision.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		_, _ = releases.Cancel(ctx, "nginx-update", &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{})
		if err := releases.Delete(ctx, "nginx-update", metav1.DeleteOptions{}); !apierrors.IsNotFound(err) {
			assert.NoError(t, err, "deleting nginx-update")
		}
		_, gone, _ := framework.Poll(ctx, func(ctx context.Context) (struct{}, bool, string) {
			_, err := releases.Get(ctx, "nginx-update", metav1.GetOptions{})
			return struct{}{}, apierrors.IsNotFound(err), ""
		}, framework.Within(time.Minute))
		assert.True(t, gone, "the canceled release nginx-update was not gone a minute after its delete (its finalizer stayed)")
	})
	framework.MakeCloneSet(t, ctx, admin, ns, idleCloneSet, 1)
	if user != "admin" {
		// An operator who may update and create CloneSets: every create, apply and action of this test
		// gets as far as the server's SubjectAccessReview, and past it.
		grant(t, ctx, admin, ns, user, []string{"triton-release-operator"}, true)
		grantCloneSetCreate(t, ctx, admin, ns, user)
	}
	caller := framework.Connect(t, user)
	server.phase(t, user+": setup")

	// Quiet first: the release waits for next, the controller has nothing to write.
	before := ""
	framework.WaitUntil(t, ctx, "the namespace's releases to go quiet", func(ctx context.Context) (struct{}, bool, string) {
		now := takeHostileSnapshot(t, ctx, admin, ns).store
		quiet := before == now
		before = now
		return struct{}{}, quiet, now
	}, framework.Every(2*time.Second), framework.Within(time.Minute))
	snapshot := takeHostileSnapshot(t, ctx, admin, ns)

	// 1. Malformed and hostile requests.
	n := sized(5000, 20000)
	if testing.Short() {
		n = 900
	}
	sendHostile(t, ctx, caller, ns, n)
	server.phase(t, fmt.Sprintf("%s: %d hostile requests", user, n))
	assertUnchanged(t, ctx, admin, ns, snapshot, "the hostile requests")

	// 2. Valid requests with enormous numbers and sizes.
	sendEnormous(t, ctx, fastClient(caller).ReleasesV1alpha1().Releases(ns))
	server.phase(t, user+": enormous inputs")
	assertUnchanged(t, ctx, admin, ns, snapshot, "the enormous inputs")

	// 3. Thousands of calls that each add to the release's history.
	calls := sized(200, 2000)
	if testing.Short() {
		calls = 120
	}
	historyChurn(t, ctx, admin, caller, ns, user, calls)
	server.phase(t, fmt.Sprintf("%s: %d pause/resume calls", user, calls))

	// No panic in the server's log since the run began.
	raw, err := os.ReadFile(logFile)
	require.NoError(t, err)
	if logStart != nil && int64(len(raw)) >= logStart.Size() {
		raw = raw[logStart.Size():]
	}
	assert.NotContains(t, strings.ToLower(string(raw)), "panic", "the server's log")

}

// sendHostile sends n hostile requests as caller, 8 at a time, and reports every answer that is not a 4xx.
func sendHostile(t *testing.T, ctx context.Context, caller *framework.Cluster, ns string, n int) {
	t.Helper()
	transport, err := rest.TransportFor(caller.Config)
	require.NoError(t, err)
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	// make test replays the same requests every run; make test-reliability draws new ones each time.
	seed := int64(1)
	if full() {
		seed = time.Now().UnixNano()
		t.Logf("seed %d", seed)
	}
	requests := hostileRequests(n, caller.Config.Host+fmt.Sprintf(releasesPath, ns), "nginx-update", rand.New(rand.NewSource(seed)))
	var mu sync.Mutex
	counts := map[int]int{}
	var failures []string
	work := make(chan hostile)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for h := range work {
				req, err := http.NewRequestWithContext(ctx, h.method, h.path, bytes.NewReader(h.body))
				if err != nil {
					continue // a path Go itself refuses never reaches a server
				}
				req.Header.Set("Content-Type", h.contentType)
				resp, err := client.Do(req)
				if err != nil {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("%s %s (%s): %v", h.method, shorten(h.path), h.what, err))
					mu.Unlock()
					continue
				}
				var status metav1.Status
				_ = json.NewDecoder(resp.Body).Decode(&status)
				_ = resp.Body.Close()
				mu.Lock()
				counts[resp.StatusCode]++
				if resp.StatusCode < 400 || resp.StatusCode >= 500 {
					failures = append(failures, fmt.Sprintf("%s %s (%s): %d %s", h.method, shorten(h.path), h.what, resp.StatusCode, status.Message))
				}
				mu.Unlock()
			}
		}()
	}
	for _, h := range requests {
		work <- h
	}
	close(work)
	wg.Wait()
	t.Logf("%d hostile requests, answers by code: %v", len(requests), counts)
	for i, f := range failures {
		if i == 20 {
			t.Errorf("... and %d more", len(failures)-20)
			break
		}
		t.Error(f)
	}
}

// enormous is a valid request with numbers or sizes no server should take at their word.
type enormous struct {
	what string
	// want is the status code, and field what its message must name.
	want  int32
	field string
	call  func(ctx context.Context) error
}

// codeOf is the HTTP status code of a client-go error, 0 when there was no answer from a server.
func codeOf(err error) int32 {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return status.Status().Code
	}
	return 0
}

// enormousInputs are the enormous requests, for the namespace of the hostile test: nginx (2 pods) with
// nginx-update waiting for next, idle (1 pod) with no release, no CloneSet huge.
func enormousInputs(releases releasesclient.ReleaseInterface) []enormous {
	const most = math.MaxInt32
	dry := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}
	batchOfOne := intstr.FromInt32(1)
	mostPods := intstr.FromInt32(most)
	template := func(app string) *corev1.PodTemplateSpec {
		return &corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "nginx", Image: "nginx:1.28"}}},
		}
	}
	release := func(name, cloneSet string, action v1alpha1.ReleaseAction) *v1alpha1.Release {
		return &v1alpha1.Release{
			TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "Release"},
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: v1alpha1.ReleaseSpec{CloneSetName: cloneSet, Action: action,
				Strategy: v1alpha1.ReleaseStrategy{BatchSize: &batchOfOne, Mode: v1alpha1.ModeManual}},
		}
	}
	withReplicas := func(name, cloneSet string, action v1alpha1.ReleaseAction, replicas int32) *v1alpha1.Release {
		r := release(name, cloneSet, action)
		r.Spec.Replicas = &replicas
		if action == v1alpha1.ActionCreate {
			r.Spec.Template = template(cloneSet)
		}
		return r
	}
	// 2147483647 replicas in batches of 1: a plan of 2147483647 batches.
	hugeCreate := withReplicas("huge-create", "huge", v1alpha1.ActionCreate, most)
	hugeApply, _ := json.Marshal(hugeCreate)
	create := func(r *v1alpha1.Release, opts metav1.CreateOptions) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := releases.Create(ctx, r, opts)
			return err
		}
	}
	apply := func(name string, body []byte, dryRun []string) func(context.Context) error {
		return func(ctx context.Context) error {
			force := true
			_, err := releases.Patch(ctx, name, types.ApplyPatchType, body,
				metav1.PatchOptions{FieldManager: "e2e-hostile", Force: &force, DryRun: dryRun})
			return err
		}
	}
	patch := func(body []byte) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := releases.Patch(ctx, "nginx-update", types.MergePatchType, body, metav1.PatchOptions{})
			return err
		}
	}
	// canary and maxFailedPods of 2147483647 on nginx (2 pods), where nginx-update runs.
	mostCanary := func(name string, action v1alpha1.ReleaseAction) *v1alpha1.Release {
		r := release(name, "nginx", action)
		r.Spec.Strategy.Canary = most
		r.Spec.Strategy.MaxFailedPods = &mostPods
		if action == v1alpha1.ActionUpdate {
			r.Spec.Template = template("nginx")
		}
		return r
	}
	podsToDelete := withReplicas("idle-scale-in", idleCloneSet, v1alpha1.ActionScale, 0)
	for i := 0; i < 5000; i++ {
		podsToDelete.Spec.PodsToDelete = append(podsToDelete.Spec.PodsToDelete, fmt.Sprintf("%s-%05d", idleCloneSet, i))
	}
	bigTemplate := release("idle-big-template", idleCloneSet, v1alpha1.ActionUpdate)
	bigTemplate.Spec.Template = template(idleCloneSet)
	bigTemplate.Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "BIG", Value: strings.Repeat("e", 300<<10)}}
	// 600 KiB of labels (each valid: a 63-character value) and of annotations.
	labels, annotations := map[string]string{}, map[string]string{}
	for size := 0; size < 600<<10; size += 6 + 63 + 6 {
		labels[fmt.Sprintf("l%05d", len(labels))] = strings.Repeat("v", 63)
	}
	for i := 0; i < 600; i++ {
		annotations[fmt.Sprintf("a%03d", i)] = strings.Repeat("a", 1<<10)
	}
	bigLabels := release("idle-big-labels", idleCloneSet, v1alpha1.ActionRestart)
	bigLabels.Labels = labels
	bigAnnotations := release("idle-big-annotations", idleCloneSet, v1alpha1.ActionRestart)
	bigAnnotations.Annotations = annotations
	labelsPatch, _ := json.Marshal(map[string]interface{}{"metadata": map[string]interface{}{"labels": labels}})
	annotationsPatch, _ := json.Marshal(map[string]interface{}{"metadata": map[string]interface{}{"annotations": annotations}})

	out := []enormous{
		{what: "Create of 2147483647 replicas in batches of 1", want: 422, field: "spec.strategy.batchSize", call: create(hugeCreate, metav1.CreateOptions{})},
		{what: "Create of 2147483647 replicas in batches of 1, dryRun=All", want: 422, field: "spec.strategy.batchSize", call: create(hugeCreate, dry)},
		{what: "server-side apply of a Create of 2147483647 replicas in batches of 1", want: 422, field: "spec.strategy.batchSize",
			call: apply(hugeCreate.Name, hugeApply, nil)},
		{what: "server-side apply of a Create of 2147483647 replicas in batches of 1, dryRun=All", want: 422, field: "spec.strategy.batchSize",
			call: apply(hugeCreate.Name, hugeApply, []string{metav1.DryRunAll})},
		{what: "Scale of idle to 2147483647 in batches of 1", want: 422, field: "spec.strategy.batchSize",
			call: create(withReplicas("idle-scale", idleCloneSet, v1alpha1.ActionScale, most), metav1.CreateOptions{})},
		{what: "Scale of idle to 2147483647 in batches of 1, dryRun=All", want: 422, field: "spec.strategy.batchSize",
			call: create(withReplicas("idle-scale", idleCloneSet, v1alpha1.ActionScale, most), dry)},
		{what: "Scale of nginx (nginx-update runs) to 2147483647 in batches of 1", want: 409, field: "nginx-update",
			call: create(withReplicas("nginx-scale", "nginx", v1alpha1.ActionScale, most), metav1.CreateOptions{})},
		{what: "Scale of nginx (nginx-update runs) to 2147483647 in batches of 1, dryRun=All", want: 409, field: "nginx-update",
			call: create(withReplicas("nginx-scale", "nginx", v1alpha1.ActionScale, most), dry)},
		{what: "5000 podsToDelete", want: 422, field: "spec.podsToDelete", call: create(podsToDelete, metav1.CreateOptions{})},
		{what: "a template with a 300 KiB env value", want: 422, field: "spec.template", call: create(bigTemplate, metav1.CreateOptions{})},
		{what: "600 KiB of labels on a new release", want: 422, field: "metadata", call: create(bigLabels, metav1.CreateOptions{})},
		{what: "600 KiB of annotations on a new release", want: 422, field: "metadata.annotations", call: create(bigAnnotations, metav1.CreateOptions{})},
		{what: "600 KiB of labels patched onto nginx-update", want: 422, field: "metadata", call: patch(labelsPatch)},
		{what: "600 KiB of annotations patched onto nginx-update", want: 422, field: "metadata.annotations", call: patch(annotationsPatch)},
	}
	for _, action := range []v1alpha1.ReleaseAction{v1alpha1.ActionUpdate, v1alpha1.ActionRestart, v1alpha1.ActionRollback} {
		r := mostCanary("nginx-"+strings.ToLower(string(action)), action)
		out = append(out,
			enormous{what: string(action) + " of nginx (nginx-update runs) with canary and maxFailedPods 2147483647, batchSize 1",
				want: 409, field: "nginx-update", call: create(r, metav1.CreateOptions{})},
			enormous{what: string(action) + " of nginx (nginx-update runs) with canary and maxFailedPods 2147483647, batchSize 1, dryRun=All",
				want: 409, field: "nginx-update", call: create(r, dry)})
	}
	verbs := map[string]func(context.Context, string, *v1alpha1.ReleaseRequest, metav1.CreateOptions) (*v1alpha1.Release, error){
		"next": releases.Next, "pause": releases.Pause, "resume": releases.Resume, "cancel": releases.Cancel,
	}
	for _, verb := range []string{"next", "pause", "resume", "cancel"} {
		call := verbs[verb]
		do := func(req *v1alpha1.ReleaseRequest) func(context.Context) error {
			return func(ctx context.Context) error {
				_, err := call(ctx, "nginx-update", req, metav1.CreateOptions{})
				return err
			}
		}
		mostBatch := int32(most)
		out = append(out,
			enormous{what: verb + " with a reason of 1 MiB", want: 422, field: "reason",
				call: do(&v1alpha1.ReleaseRequest{Reason: strings.Repeat("r", 1<<20)})},
			enormous{what: verb + " with expectedBatch 2147483647", want: 409, field: "expected batch",
				call: do(&v1alpha1.ReleaseRequest{ExpectedBatch: &mostBatch})})
	}
	return out
}

// sendEnormous sends every enormous request and checks its answer: the status code and the field it
// names; a 2xx, a 5xx or no answer at all fails.
func sendEnormous(t *testing.T, ctx context.Context, releases releasesclient.ReleaseInterface) {
	t.Helper()
	for _, e := range enormousInputs(releases) {
		start := time.Now()
		err := e.call(ctx)
		took := time.Since(start)
		code := codeOf(err)
		switch {
		case err == nil:
			t.Errorf("%s: accepted; want %d", e.what, e.want)
		case code == 0:
			t.Errorf("%s: no answer (want %d): %v", e.what, e.want, err)
		case code != e.want:
			t.Errorf("%s: %d, want %d: %s", e.what, code, e.want, shorten(err.Error()))
		default:
			assert.Contains(t, err.Error(), e.field, "%s: the %d names what is wrong", e.what, code)
		}
		t.Logf("%s: %d in %v", e.what, code, took.Round(time.Millisecond))
	}
}

// historyChurn makes calls pause and resume calls (alternately, each with a reason of the largest size,
// 1024 two-byte characters) as caller on nginx-update, which waits for next. Each adds to its history:
// the history keeps its first entries and the newest, 50 in all, and the Release stays far from etcd's
// 1.5 MiB limit.
func historyChurn(t *testing.T, ctx context.Context, admin, caller *framework.Cluster, ns, user string, calls int) {
	t.Helper()
	releases := fastClient(caller).ReleasesV1alpha1().Releases(ns)
	reason := strings.Repeat("ü", validation.MaxReasonLength)
	began := time.Now().Truncate(time.Second)
	var failed []string
	failures := 0
	for i := 0; i < calls; i++ {
		call := releases.Pause
		if i%2 == 1 {
			call = releases.Resume
		}
		if _, err := call(ctx, "nginx-update", &v1alpha1.ReleaseRequest{Reason: reason}, metav1.CreateOptions{}); err != nil {
			failures++
			if len(failed) < 5 {
				failed = append(failed, fmt.Sprintf("call %d: %s", i+1, shorten(err.Error())))
			}
			if codeOf(err) == 0 && ctx.Err() != nil {
				break
			}
		}
	}
	assert.Zero(t, failures, "of %d pause/resume calls, %d failed, e.g. %v", calls, failures, failed)
	t.Logf("%d pause/resume calls in %v", calls, time.Since(began).Round(time.Second))

	raw, err := fastClient(admin).ReleasesV1alpha1().RESTClient().Get().Namespace(ns).Resource("releases").Name("nginx-update").
		SetHeader("Accept", "application/json").DoRaw(ctx)
	require.NoError(t, err)
	var stored v1alpha1.Release
	require.NoError(t, json.Unmarshal(raw, &stored))
	history := stored.Status.History
	t.Logf("after %d pause/resume calls: %d history entries, the Release is %d bytes as JSON", calls, len(history), len(raw))
	assert.Len(t, history, validation.MaxHistoryEntries, "history entries")
	assert.Less(t, len(raw), 1536<<10, "the Release as JSON, against etcd's 1.5 MiB request limit")
	if len(history) > 0 {
		last := history[len(history)-1]
		assert.Equal(t, "resume", last.Action, "the newest entry is the last call's")
		if user != "admin" {
			assert.Equal(t, user, last.User, "the newest entry's user")
		}
		// The first entries are kept (the release's start, and the first entry a caller made), then one entry
		// that counts those dropped, then the newest, all from the churn; all in order.
		assert.Equal(t, "start", history[0].Action, "the release's start is kept")
		dropped := -1
		for i, h := range history {
			if h.Action == plan.ActionDropped {
				assert.Equal(t, -1, dropped, "one entry for the entries dropped, at %d and %d", dropped, i)
				dropped = i
			}
		}
		require.Greater(t, dropped, 0, "an entry says where entries were dropped")
		assert.LessOrEqual(t, dropped, 3, "before it: the first two entries and the first caller's")
		for i, h := range history {
			if i > dropped {
				assert.False(t, h.Time.Time.Before(began), "entry %d (%s at %v) is older than the churn (began %v): not the newest were kept",
					i, h.Action, h.Time, began)
			}
			if i > 0 {
				assert.False(t, h.Time.Time.Before(history[i-1].Time.Time), "entry %d is older than entry %d", i, i-1)
			}
			assert.LessOrEqual(t, len([]rune(h.Reason)), validation.MaxReasonLength, "entry %d's reason", i)
		}
	}
	// And the release still works: resumed, its canary waits for next, the CloneSet is not paused.
	framework.WaitRelease(t, ctx, admin, ns, "nginx-update", "canary Smoked, waiting for next, after the churn", framework.BatchIs(1, v1alpha1.BatchSmoked))
	framework.WaitCloneSetIs(t, ctx, admin, ns, "not paused after the last resume", func(cs *kruiseappsv1alpha1.CloneSet) bool {
		return !cs.Spec.UpdateStrategy.Paused
	})
}

func shorten(s string) string {
	if len(s) > 160 {
		return s[:160] + "..."
	}
	return s
}

// hostileProtobuf decodes as the server does: the kind the endpoint expects when the body names none.
var hostileProtobuf = func() runtime.Decoder {
	scheme := runtime.NewScheme()
	utilruntime.Must(v1alpha1.AddToScheme(scheme))
	metav1.AddToGroupVersion(scheme, v1alpha1.SchemeGroupVersion)
	return protobuf.NewSerializer(scheme, scheme)
}()

// decodesAsProtobuf reports whether body is a valid protobuf Release or ReleaseRequest.
func decodesAsProtobuf(body []byte) bool {
	for _, kind := range []string{"Release", "ReleaseRequest"} {
		gvk := v1alpha1.SchemeGroupVersion.WithKind(kind)
		if _, _, err := hostileProtobuf.Decode(body, &gvk, nil); err == nil {
			return true
		}
	}
	return false
}
