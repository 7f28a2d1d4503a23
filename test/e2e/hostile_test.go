//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
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
		case 2: // protobuf garbage
			b := make([]byte, 1+rnd.Intn(512))
			rnd.Read(b)
			h.body, h.contentType, h.what = append([]byte("k8s\x00"), b...), "application/vnd.kubernetes.protobuf", "protobuf garbage"
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

// Invariant 4: bad input anywhere gets a 4xx, never a 5xx or a panic, and changes nothing.
func TestHostileRequestsAre4xxAndChangeNothing(t *testing.T) {
	admin := connect(t, "admin")
	ns := namespace(t, admin)
	ctx := testContext(t, 5*time.Minute)
	canaryAwaitingNext(t, ctx, admin, ns)
	releases := admin.releases.ReleasesV1alpha1().Releases(ns)

	// Quiet first: the release waits for next, the controller has nothing to write.
	var before *metav1.ListMeta
	require.NoError(t, wait.PollUntilContextTimeout(ctx, 2*time.Second, time.Minute, false, func(ctx context.Context) (bool, error) {
		l, err := releases.List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		quiet := before != nil && before.ResourceVersion == l.ResourceVersion
		before = &l.ListMeta
		return quiet, nil
	}), "the release store never went quiet")
	csBefore := getCloneSet(t, ctx, admin, ns)
	relBefore, err := releases.Get(ctx, "nginx-update", metav1.GetOptions{})
	require.NoError(t, err)
	logFile := filepath.Join(local, "logs", "triton-apiserver.log")
	logStart, _ := os.Stat(logFile)

	transport, err := rest.TransportFor(admin.config)
	require.NoError(t, err)
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	n := sized(5000, 20000)
	if testing.Short() {
		n = 900
	}
	// make test replays the same requests every run; make test-reliability draws new ones each time.
	seed := int64(1)
	if full() {
		seed = time.Now().UnixNano()
		t.Logf("seed %d", seed)
	}
	requests := hostileRequests(n, admin.config.Host+fmt.Sprintf(releasesPath, ns), "nginx-update", rand.New(rand.NewSource(seed)))
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
					failures = append(failures, fmt.Sprintf("%s %s (%s): %v", h.method, h.path, h.what, err))
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

	// Nothing changed: not the release, not the store, not the CloneSet.
	after, err := releases.List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	assert.Equal(t, before.ResourceVersion, after.ResourceVersion, "the release store's revision moved")
	assert.Len(t, after.Items, 1)
	relAfter, err := releases.Get(ctx, "nginx-update", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, relBefore.ResourceVersion, relAfter.ResourceVersion)
	csAfter := getCloneSet(t, ctx, admin, ns)
	assert.Equal(t, csBefore.Generation, csAfter.Generation, "the CloneSet's spec changed")
	assert.Equal(t, csBefore.Annotations, csAfter.Annotations)

	// No panic in the server's log since the first request.
	raw, err := os.ReadFile(logFile)
	require.NoError(t, err)
	if logStart != nil && int64(len(raw)) >= logStart.Size() {
		raw = raw[logStart.Size():]
	}
	assert.NotContains(t, strings.ToLower(string(raw)), "panic", "the server's log")
}

func shorten(s string) string {
	if len(s) > 160 {
		return s[:160] + "..."
	}
	return s
}
