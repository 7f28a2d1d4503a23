//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/generated/clientset/versioned"
	"github.com/triton-io/triton/pkg/generated/informers/externalversions"
	"github.com/triton-io/triton/test/e2e/framework"
)

const seqAnnotation = "e2e.triton.io/seq"

// writeLoad patches an annotation with a rising number onto each release, one writer per release, until
// stop is called, and remembers the last number each write of which was acknowledged.
type writeLoad struct {
	mu    sync.Mutex
	acked map[string]int
	fails int
	stop  context.CancelFunc
	done  sync.WaitGroup
}

func startWriteLoad(ctx context.Context, client versioned.Interface, ns string, names []string) *writeLoad {
	w := &writeLoad{acked: map[string]int{}}
	ctx, w.stop = context.WithCancel(ctx)
	for _, name := range names {
		w.done.Add(1)
		go func() {
			defer w.done.Done()
			for seq := 1; ctx.Err() == nil; seq++ {
				patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:"%d"}}}`, seqAnnotation, seq)
				_, err := client.ReleasesV1alpha1().Releases(ns).Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
				w.mu.Lock()
				if err == nil {
					w.acked[name] = seq
				} else if ctx.Err() == nil {
					w.fails++
				}
				w.mu.Unlock()
				if err != nil {
					pause(ctx, 100*time.Millisecond)
				}
			}
		}()
	}
	return w
}

// finish stops the writers and asserts every acknowledged write is in the store.
func (w *writeLoad) finish(t *testing.T, ctx context.Context, client versioned.Interface, ns string) {
	t.Helper()
	w.stop()
	w.done.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	total := 0
	for name, acked := range w.acked {
		total += acked
		r, err := client.ReleasesV1alpha1().Releases(ns).Get(ctx, name, metav1.GetOptions{})
		require.NoError(t, err)
		stored, err := strconv.Atoi(r.Annotations[seqAnnotation])
		require.NoError(t, err)
		assert.GreaterOrEqual(t, stored, acked, "release %s: write %d was acknowledged but the store has %d", name, acked, stored)
	}
	assert.Positive(t, total, "no write was acknowledged: the load proved nothing")
	t.Logf("write load: about %d writes acknowledged, %d failed (each is retried by its writer)", total, w.fails)
}

// watchReleases is an informer on the releases of ns: what a pipeline or controller watching them sees.
func watchReleases(t *testing.T, ctx context.Context, client versioned.Interface, ns string) cache.SharedIndexInformer {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	factory := externalversions.NewSharedInformerFactoryWithOptions(client, 0, externalversions.WithNamespace(ns))
	informer := factory.Releases().V1alpha1().Releases().Informer()
	factory.Start(ctx.Done())
	t.Cleanup(func() { cancel(); factory.Shutdown() })
	require.True(t, cache.WaitForCacheSync(ctx.Done(), informer.HasSynced))
	return informer
}

// watcherCatchesUp writes once more and waits until the informer has that write: it resumed its watch, or
// listed again.
func watcherCatchesUp(t *testing.T, ctx context.Context, client versioned.Interface, informer cache.SharedIndexInformer, ns, name string) {
	t.Helper()
	patch := fmt.Sprintf(`{"metadata":{"annotations":{"e2e.triton.io/final":%q}}}`, time.Now().Format(time.RFC3339Nano))
	written := framework.WaitUntil(t, ctx, "a write after the store came back", func(ctx context.Context) (*v1alpha1.Release, bool, string) {
		r, err := client.ReleasesV1alpha1().Releases(ns).Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
		return r, err == nil, fmt.Sprint(err)
	}, framework.Within(time.Minute))
	framework.WaitUntil(t, ctx, "the watcher to see a write made after the store came back", func(context.Context) (struct{}, bool, string) {
		obj, ok, _ := informer.GetStore().GetByKey(ns + "/" + name)
		if !ok {
			return struct{}{}, false, "not in the watcher's store"
		}
		r := obj.(*v1alpha1.Release)
		return struct{}{}, r.Annotations["e2e.triton.io/final"] == written.Annotations["e2e.triton.io/final"], r.Annotations["e2e.triton.io/final"]
	}, framework.Every(100*time.Millisecond), framework.Within(time.Minute))
}

// autoReleases creates an Auto release on each CloneSet and takes its canary through.
func autoReleases(t *testing.T, ctx context.Context, client versioned.Interface, ns string, names []string, interval int32) {
	t.Helper()
	for _, name := range names {
		_, err := client.ReleasesV1alpha1().Releases(ns).Create(ctx, autoUpdate(name, "app:v2", interval), metav1.CreateOptions{})
		require.NoError(t, err)
	}
	passCanaries(t, ctx, client, ns, names)
}

// Issue 8, item 4, external etcd: a replica on an etcd of its own, under writes and with Auto releases
// running, while etcd is SIGKILLed and started again. While it is down the server stays up, /livez is
// 200, /readyz is not, and calls for releases answer 503 at once (an action too, changing nothing).
// Afterwards every acknowledged write is there, a watcher has caught up, and the releases finish with
// every batch taken once.
func TestExternalEtcdRestartUnderLoad(t *testing.T) {
	s := framework.Setup(t, framework.Timeout(10*time.Minute))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	allowLeaderElection(t, ctx, admin, ns)
	store := startEtcd(t, "etcd-faults")
	server := startReplica(t, "triton-external-etcd", ns, "--etcd-servers", store.url)
	client := server.client()
	names := fleet(t, ctx, admin, ns, 3, int32(sized(6, 8)))
	partitions := logPartitions(t, ctx, admin, ns, false)
	autoReleases(t, ctx, client, ns, names, 3)
	informer := watchReleases(t, ctx, client, ns)
	load := startWriteLoad(ctx, client, ns, names)

	proxy, _ := loadPair(t, "front-proxy-client")
	raw := direct(t, &proxy)
	asAdmin := frontProxy("admin", "", []string{"system:masters"}, nil)
	probe := httpsClient(t, tritonCA(t), nil)
	status := func(path string) int {
		resp, err := probe.Get(server.url() + path)
		if err != nil {
			return 0
		}
		_ = resp.Body.Close() // the status is all a poll reads
		return resp.StatusCode
	}
	for i := 0; i < sized(1, 3); i++ {
		randomMoment(ctx, time.Second, 3*time.Second)
		store.signal(t, syscall.SIGKILL)
		down := time.Now()
		framework.WaitUntil(t, ctx, "/readyz to fail with etcd down", func(context.Context) (struct{}, bool, string) {
			code := status("/readyz")
			return struct{}{}, code != 0 && code != http.StatusOK, fmt.Sprintf("%d", code)
		}, framework.Every(100*time.Millisecond), framework.Within(30*time.Second))
		assert.Equal(t, http.StatusOK, status("/livez"), "/livez with etcd down")
		// A read and an action: refused at once, 503 with Retry-After.
		var took time.Duration
		get := framework.WaitUntil(t, ctx, "a 503 to a GET with etcd down", func(ctx context.Context) (answer, bool, string) {
			start := time.Now()
			get := call(t, ctx, raw, http.MethodGet, server.url()+fmt.Sprintf(releasesPath, ns)+"/"+names[0], asAdmin, "")
			took = time.Since(start)
			return get, get.code == http.StatusServiceUnavailable, fmt.Sprintf("%d %s", get.code, get.body)
		}, framework.Every(100*time.Millisecond), framework.Within(30*time.Second))
		next := call(t, ctx, raw, http.MethodPost, server.url()+fmt.Sprintf(releasesPath, ns)+"/"+names[0]+"/next", asAdmin, `{}`)
		assert.Equal(t, http.StatusServiceUnavailable, next.code, "next with etcd down: %s", next.body)
		assert.True(t, server.alive(), "the server exited when etcd went away")
		t.Logf("etcd down: /readyz failing %s after the kill; GET answered 503 in %s: %s",
			time.Since(down).Round(100*time.Millisecond), took.Round(time.Millisecond), statusMessage(t, get.body))

		randomMoment(ctx, 2*time.Second, 4*time.Second)
		store.restart(t)
		framework.WaitUntil(t, ctx, "/readyz to come back with etcd", func(context.Context) (struct{}, bool, string) {
			code := status("/readyz")
			return struct{}{}, code == http.StatusOK, fmt.Sprintf("%d", code)
		}, framework.Every(100*time.Millisecond), framework.Within(time.Minute))
		t.Logf("etcd back: ready again %s after the kill", time.Since(down).Round(100*time.Millisecond))
	}
	load.finish(t, ctx, client, ns)
	watcherCatchesUp(t, ctx, client, informer, ns, names[0])

	finished := waitAllFinished(t, ctx, client, ns, names, 5*time.Minute)
	allSucceeded(t, finished)
	noStepTwice(t, finished)
	partitions.check(t, finished)
}

// Issue 8, item 4, embedded etcd: the default store lives inside triton-apiserver, so restarting it is
// restarting the server. SIGKILLed under writes, again and again: every acknowledged write is there after
// each restart, and a watcher through kube-apiserver catches up.
func TestEmbeddedEtcdRestartUnderLoad(t *testing.T) {
	s := framework.Setup(t, framework.Timeout(5*time.Minute))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if !alive(tritonPID(t)) {
			startTriton(t, ctx, admin)
		}
	})
	client := fastClient(admin)
	names := fleet(t, ctx, admin, ns, 4, 2)
	for _, name := range names {
		_, err := client.ReleasesV1alpha1().Releases(ns).Create(ctx, manualUpdate(name, "app:v2"), metav1.CreateOptions{})
		require.NoError(t, err)
	}
	informer := watchReleases(t, ctx, client, ns)
	load := startWriteLoad(ctx, client, ns, names)
	for i := 0; i < sized(2, 5); i++ {
		randomMoment(ctx, time.Second, 3*time.Second)
		killTriton(t, ctx)
		startTriton(t, ctx, admin)
	}
	randomMoment(ctx, time.Second, 2*time.Second)
	load.finish(t, ctx, client, ns)
	watcherCatchesUp(t, ctx, client, informer, ns, names[0])
}

// Issue 8, item 4, kube-apiserver: it is SIGKILLed and started again while Auto releases run. triton-apiserver
// stays up, its controller's informers and leadership survive the gap, and the releases finish, every
// batch taken once and never ahead of its batch.
func TestKubeAPIServerRestartMidRelease(t *testing.T) {
	s := framework.Setup(t, framework.Timeout(8*time.Minute))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	client := fastClient(admin)
	names := fleet(t, ctx, admin, ns, 3, 6)
	partitions := logPartitions(t, ctx, admin, ns, true)
	autoReleases(t, ctx, client, ns, names, 2)
	framework.WaitRelease(t, ctx, admin, ns, names[0], "batch 2 started", func(r *v1alpha1.Release) bool { return r.Status.CurrentBatch >= 2 })

	before := tritonPID(t)
	stopLocal(t, ctx, "kube-apiserver", syscall.SIGKILL)
	t.Cleanup(func() {
		if !localAlive(t, "kube-apiserver") {
			startLocal(t, "kube-apiserver")
		}
	})
	randomMoment(ctx, time.Second, 3*time.Second)
	startLocal(t, "kube-apiserver")
	framework.WaitUntil(t, ctx, "kube-apiserver to come back", func(ctx context.Context) (struct{}, bool, string) {
		raw, err := admin.Kube.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return struct{}{}, err == nil && string(raw) == "ok", fmt.Sprintf("%s %v", raw, err)
	}, framework.Within(2*time.Minute))
	assert.True(t, alive(before), "triton-apiserver exited while kube-apiserver was away")
	// A restarted kube-apiserver runs the pull-in gate policy only once it can resolve the policy's
	// paramKind (CloneSets, a CRD): about 30 s after /readyz here. Pods made before then get no gate
	// (a known gap, see the README); the tests after this one need the gate back.
	t.Cleanup(func() { waitPullInGate(t, admin, ns) })

	finished := waitAllFinished(t, ctx, client, ns, names, 5*time.Minute)
	allSucceeded(t, finished)
	noStepTwice(t, finished)
	partitions.check(t, finished)
	// The controller releases each CloneSet (owner annotation off) once its release has Succeeded.
	for _, name := range names {
		framework.WaitCloneSetNamed(t, ctx, admin, ns, name, "released with every pod updated and ready", func(cs *kruiseappsv1alpha1.CloneSet) bool {
			return cs.Annotations[v1alpha1.OwnerAnnotation] == "" && cs.Status.UpdatedReadyReplicas == *cs.Spec.Replicas
		})
	}
}

// waitPullInGate waits until kube-apiserver gives a pod of a CloneSet labelled for pull-in the readiness
// gate again: a probe CloneSet of one pod, whose pod is deleted until one is made with the gate.
func waitPullInGate(t *testing.T, admin *framework.Cluster, ns string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cs := probeCloneSet("gate-probe")
	_, err := admin.Kruise.AppsV1alpha1().CloneSets(ns).Create(ctx, cs, metav1.CreateOptions{})
	require.NoError(t, err)
	defer func() {
		_ = admin.Kruise.AppsV1alpha1().CloneSets(ns).Delete(context.Background(), cs.Name, metav1.DeleteOptions{})
	}()
	framework.WaitUntil(t, ctx, "kube-apiserver to give a pod the pull-in gate again after its restart", func(ctx context.Context) (struct{}, bool, string) {
		pods, err := admin.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + cs.Name})
		if err != nil {
			return struct{}{}, false, err.Error()
		}
		for _, p := range pods.Items {
			if p.DeletionTimestamp != nil {
				continue
			}
			if framework.HasReadinessGate(p.Spec, v1alpha1.ReadinessGate) {
				return struct{}{}, true, ""
			}
			_ = admin.Kube.CoreV1().Pods(ns).Delete(ctx, p.Name, metav1.DeleteOptions{})
		}
		return struct{}{}, false, fmt.Sprintf("%d pods, none with the gate", len(pods.Items))
	}, framework.Every(500*time.Millisecond))
}

// probeCloneSet is a CloneSet of one pod labelled for pull-in, so that the gate policy applies to its pods.
func probeCloneSet(name string) *kruiseappsv1alpha1.CloneSet {
	return framework.NewCloneSet(name, 1, framework.WithLabel(v1alpha1.PullInLabel, "true"))
}
