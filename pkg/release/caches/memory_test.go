package caches

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"testing"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

// measuredPods is how many pods a measurement caches: as many as the untouched CloneSets of the sizing
// goal (10,000 pods cost the server at most 16 MiB more).
const measuredPods = 10000

// maxStubBytes bounds what the server's cache holds, live after a garbage collection, for a pod no release
// can act on: its stub, its key and its place in the controller index. Measured at 573 bytes (a trimmed
// pod: about 3.7 KB), with the race detector or without; the bound leaves about a fifth of headroom.
const maxStubBytes = 700

// kruisePods are n pods as kube-apiserver sends them (a kruise CloneSet's pod on a kwok node,
// testdata/kruise-pod.json), encoded: 100 CloneSets of 100 pods, 10 CloneSets a namespace. marked gives
// each the hold label.
func kruisePods(t testing.TB, n int, marked bool) [][]byte {
	t.Helper()
	raw, err := os.ReadFile("testdata/kruise-pod.json")
	require.NoError(t, err)
	var p corev1.Pod
	require.NoError(t, json.Unmarshal(raw, &p))
	out := make([][]byte, n)
	for i := range out {
		cs := i / 100
		p.Namespace = fmt.Sprintf("team-%02d", cs/10)
		p.OwnerReferences[0].Name = fmt.Sprintf("app-%03d", cs)
		p.OwnerReferences[0].UID = types.UID(fmt.Sprintf("00000000-0000-0000-0000-%012d", cs))
		p.Name = fmt.Sprintf("%s-%05d", p.OwnerReferences[0].Name, i)
		p.UID = types.UID(fmt.Sprintf("11111111-1111-1111-1111-%012d", i))
		p.ResourceVersion = fmt.Sprint(1000000 + i)
		p.Labels["app"] = p.OwnerReferences[0].Name
		p.Labels[v1alpha1.HoldLabel] = "true"
		if !marked {
			delete(p.Labels, v1alpha1.HoldLabel)
		}
		if out[i], err = json.Marshal(&p); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// liveBytesPerPod decodes each encoded pod (each string its own allocation, as from a watch), passes it
// through the pod informer's transform (its CloneSet cached, driven by no release) and adds it to a store
// indexed as the pod informer's is; it returns the heap still in use afterwards, after a garbage
// collection, per pod. The CloneSets are cached before: they cost the same with stubs or without.
func liveBytesPerPod(t testing.TB, encoded [][]byte) float64 {
	t.Helper()
	cloneSets := map[string]*kruiseappsv1alpha1.CloneSet{}
	for i := 0; i < len(encoded); i += 100 {
		var p corev1.Pod
		require.NoError(t, json.Unmarshal(encoded[i], &p))
		ref := p.OwnerReferences[0]
		cloneSets[p.Namespace+"/"+ref.Name] = decodedCloneSet(t, p.Namespace, ref.Name, ref.UID)
	}
	cloneSetOf := func(namespace string, ref *metav1.OwnerReference) *kruiseappsv1alpha1.CloneSet {
		return cloneSets[namespace+"/"+ref.Name]
	}
	store := cache.NewIndexer(cache.MetaNamespaceKeyFunc, byController)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for _, raw := range encoded {
		var p corev1.Pod
		if err := json.Unmarshal(raw, &p); err != nil {
			t.Fatal(err)
		}
		obj, err := trimOrStub(&p, cloneSetOf)
		if err != nil {
			t.Fatal(err)
		}
		if err := store.Add(obj); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(store)
	runtime.KeepAlive(cloneSets)
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(len(encoded))
}

// A pod no release can act on costs the server's cache a few hundred bytes, a fraction of a pod a release
// acts on: 10,000 of them stay well under the 16 MiB of the sizing goal (heap in use; the process's RSS
// is up to about twice that with Go's default GOGC).
func TestAStubCostsAFractionOfAPod(t *testing.T) {
	if testing.Short() || raceDetector {
		// Single-threaded, and the race detector changes nothing of the sizes (measured alike), only the time:
		// ten times as long.
		t.Skip("measures the heap over 10,000 pods")
	}
	stub := liveBytesPerPod(t, kruisePods(t, measuredPods, false))
	full := liveBytesPerPod(t, kruisePods(t, measuredPods, true))
	t.Logf("live heap per cached pod over %d pods: stub %.0f B, trimmed pod %.0f B", measuredPods, stub, full)
	require.LessOrEqual(t, stub, float64(maxStubBytes), "a stub costs %.0f B", stub)
	require.Less(t, stub*3, full, "a stub costs %.0f B, a trimmed pod %.0f B", stub, full)
}

// BenchmarkPodCache reports the live heap per cached pod (B/pod) of stubs and of trimmed pods:
//
//	go test -run '^$' -bench PodCache -benchtime 1x ./pkg/release/caches/
func BenchmarkPodCache(b *testing.B) {
	for _, c := range []struct {
		name   string
		marked bool
	}{{"stub", false}, {"trimmed", true}} {
		b.Run(c.name, func(b *testing.B) {
			encoded := kruisePods(b, measuredPods, c.marked)
			var perPod float64
			for i := 0; i < b.N; i++ {
				perPod = liveBytesPerPod(b, encoded)
			}
			b.ReportMetric(perPod, "B/pod")
		})
	}
}

// decodedCloneSet is a CloneSet as the CloneSet informer caches it: decoded, each string its own
// allocation.
func decodedCloneSet(t testing.TB, namespace, name string, uid types.UID) *kruiseappsv1alpha1.CloneSet {
	raw, err := json.Marshal(&kruiseappsv1alpha1.CloneSet{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, UID: uid}})
	require.NoError(t, err)
	cs := &kruiseappsv1alpha1.CloneSet{}
	require.NoError(t, json.Unmarshal(raw, cs))
	return cs
}
