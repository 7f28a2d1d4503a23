//go:build e2e

package e2e

// The CloneSet resize webhook acts only for kube-apiserver, and a scale-out of a CloneSet no release holds
// never waits for triton-apiserver (review 2026-12-06, sections 4 and 8).

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/apiserver/resize"
	"github.com/triton-io/triton/test/e2e/framework"
)

// insecure is curl -k: whoever reaches triton-apiserver's port, trusting nothing.
func insecure() *http.Client {
	return &http.Client{
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true}, //nolint:gosec // the attacker's view
		Timeout:   30 * time.Second,
	}
}

// forgedScale is the review of section 4: a scale of CloneSet ns/name from 1 to 2,000,000,000 replicas.
func forgedScale(ns, name string) string {
	return fmt.Sprintf(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"1",
 "kind":{"group":"autoscaling","version":"v1","kind":"Scale"},
 "resource":{"group":"apps.kruise.io","version":"v1alpha1","resource":"clonesets"},"subResource":"scale",
 "name":%q,"namespace":%q,"operation":"UPDATE","userInfo":{"username":"nobody"},
 "object":{"apiVersion":"autoscaling/v1","kind":"Scale","spec":{"replicas":2000000000}},
 "oldObject":{"apiVersion":"autoscaling/v1","kind":"Scale","spec":{"replicas":1}}}}`, name, ns)
}

// forgedEdit is the leak of section 4: an edit whose old CloneSet names release, to learn whether it exists
// and its floor from the warnings.
func forgedEdit(ns, release string) string {
	return fmt.Sprintf(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"2",
 "resource":{"group":"apps.kruise.io","version":"v1alpha1","resource":"clonesets"},"subResource":"",
 "name":"x","namespace":%q,"operation":"UPDATE",
 "object":{"apiVersion":"apps.kruise.io/v1alpha1","kind":"CloneSet","metadata":{"name":"x"},"spec":{"replicas":100}},
 "oldObject":{"apiVersion":"apps.kruise.io/v1alpha1","kind":"CloneSet","metadata":{"name":"x","annotations":{"releases.triton.io/release":%q}},"spec":{"replicas":100}}}}`,
		ns, release)
}

// heldListed waits until the scale-out webhook's match condition, which triton-apiserver keeps, lists
// ns/name (held) or does not (!held).
func heldListed(t *testing.T, ctx context.Context, admin *framework.Cluster, ns, name string, held bool) string {
	t.Helper()
	key := "'" + ns + "/" + name + "'"
	return framework.WaitUntil(t, ctx, fmt.Sprintf("the scale-out webhook's match condition to list %s: %v", key, held),
		func(ctx context.Context) (string, bool, string) {
			config, err := admin.Kube.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, resize.ConfigurationName, metav1.GetOptions{})
			if err != nil {
				return "", false, err.Error()
			}
			expression, ok := resize.HeldConditionOf(config)
			return expression, ok && strings.Contains(expression, key) == held, expression
		}, framework.Every(100*time.Millisecond), framework.Within(30*time.Second))
}

// A forged review posted straight to triton-apiserver's port (curl -k) gets 401 without credentials and
// 403 as alice (an authenticated user without the permission): the held CloneSet's partition does not
// move, and the answers name no release. A real `kubectl scale` of the same CloneSet, through
// kube-apiserver (which presents triton-webhook-caller), still has its partition raised before the new
// replicas land: no pod beyond the approved is ever made at the release's image.
func TestTheResizeWebhookActsOnlyForKubeAPIServer(t *testing.T) {
	s := framework.Setup(t, framework.Timeout(4*time.Minute), framework.CloneSet("nginx", 4),
		framework.Release(framework.UpdateTo("nginx:1.28", 0, intstr.FromInt32(1), v1alpha1.ModeManual)), framework.Phase(v1alpha1.BatchBaked))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	cs, err := admin.Kruise.AppsV1alpha1().CloneSets(ns).Get(ctx, "nginx", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, int32(3), framework.Partition(cs), "batch 1 of 4, 1 pod approved")

	aliceToken := framework.Connect(t, "alice").Config.BearerToken
	require.NotEmpty(t, aliceToken, "alice.kubeconfig has a token")
	url := tritonURL(t) + resize.Path
	for _, caller := range []struct {
		name   string
		header http.Header
		code   int
	}{
		{"anonymous", http.Header{}, http.StatusUnauthorized},
		{"alice", http.Header{"Authorization": {"Bearer " + aliceToken}}, http.StatusForbidden},
	} {
		for what, review := range map[string]string{"scale": forgedScale(ns, "nginx"), "edit": forgedEdit(ns, "nginx-update")} {
			got := call(t, ctx, insecure(), http.MethodPost, url, caller.header, review)
			assert.Equal(t, caller.code, got.code, "%s, %s: %s", caller.name, what, got.body)
			for _, leak := range []string{"nginx-update", "partition", "warnings", "AdmissionReview"} {
				assert.NotContains(t, got.body, leak, "%s, %s: the answer says nothing of the release", caller.name, what)
			}
		}
	}
	framework.Holds(t, ctx, 2*time.Second, "the held CloneSet's partition stays where the release put it", func(ctx context.Context) (bool, string) {
		cs, err := admin.Kruise.AppsV1alpha1().CloneSets(ns).Get(ctx, "nginx", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return framework.Partition(cs) == 3, fmt.Sprintf("partition %d", framework.Partition(cs))
	})

	// kube-apiserver's own call: kubectl scale 4 → 8, 1 pod approved, so the partition is 7 before kruise
	// sees 8 replicas.
	heldListed(t, ctx, admin, ns, "nginx", true)
	w := watchApproved(t, admin, ns, "nginx:1.28", 1)
	out, err := admin.Kubectl(ctx, "-n", ns, "scale", "clonesets.apps.kruise.io/nginx", "--replicas", "8")
	require.NoError(t, err, out)
	framework.WaitCloneSetIs(t, ctx, admin, ns, "8 replicas, partition 7", func(cs *kruiseappsv1alpha1.CloneSet) bool {
		return *cs.Spec.Replicas == 8 && framework.Partition(cs) == 7
	})
	waitServing(t, ctx, admin, ns, 8, 1, "nginx:1.28")
	w.check(t)
}

// signalTriton sends sig to triton-apiserver (its process group, as hack/local-up.sh and startLocal run it
// in a session of its own).
func signalTriton(t *testing.T, pid int, sig syscall.Signal) error {
	t.Helper()
	if err := syscall.Kill(-pid, sig); err != nil {
		return syscall.Kill(pid, sig)
	}
	return nil
}

// With triton-apiserver frozen (SIGSTOP: kube-apiserver still connects, and the TLS handshake hangs until
// the webhook's 5 s timeout), `kubectl scale` of a CloneSet no release holds completes at once: the
// scale-out webhook's match condition lists only the CloneSets releases hold (here another one, in the
// same namespace), and kube-apiserver evaluates it itself. This test stops the shared server: it must not
// run in parallel with any other (no t.Parallel).
func TestAScaleOutOfACloneSetNoReleaseHoldsNeverWaitsForTriton(t *testing.T) {
	s := framework.Setup(t, framework.Timeout(4*time.Minute), framework.CloneSet("nginx", 2),
		framework.Release(framework.UpdateTo("nginx:1.28", 0, intstr.FromInt32(1), v1alpha1.ModeManual)), framework.Phase(v1alpha1.BatchBaked))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	framework.MakeCloneSet(t, ctx, admin, ns, "other", 1)
	expression := heldListed(t, ctx, admin, ns, "nginx", true)
	assert.NotContains(t, expression, "'"+ns+"/other'", "only the held CloneSet is listed")

	// kubectl's discovery cache, warm before the server stops (its group is then unavailable).
	out, err := admin.Kubectl(ctx, "-n", ns, "get", "clonesets.apps.kruise.io/other")
	require.NoError(t, err, out)

	pid := tritonPID(t)
	require.True(t, alive(pid))
	t.Cleanup(func() {
		// Thaw the shared server whatever happened, and wait until it answers again.
		_ = signalTriton(t, pid, syscall.SIGCONT)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		framework.WaitUntil(t, ctx, "triton-apiserver to answer again", func(ctx context.Context) (struct{}, bool, string) {
			_, err := admin.Releases.ReleasesV1alpha1().Releases(ns).List(ctx, metav1.ListOptions{})
			return struct{}{}, err == nil, fmt.Sprint(err)
		}, framework.Within(90*time.Second))
	})
	require.NoError(t, signalTriton(t, pid, syscall.SIGSTOP))

	start := time.Now()
	out, err = admin.Kubectl(ctx, "-n", ns, "scale", "clonesets.apps.kruise.io/other", "--replicas", "3")
	took := time.Since(start)
	require.NoError(t, err, out)
	assert.Less(t, took, 2*time.Second, "the scale-out of a CloneSet no release holds waited for the frozen triton-apiserver")
	t.Logf("kubectl scale of a CloneSet no release holds, triton-apiserver frozen: %s", took.Round(time.Millisecond))
	other, err := admin.Kruise.AppsV1alpha1().CloneSets(ns).Get(ctx, "other", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(3), *other.Spec.Replicas)
	framework.WaitPods(t, ctx, admin, ns, "the held CloneSet untouched", func(pods []corev1.Pod) bool {
		return framework.CountImage(pods, "nginx:1.28") == 1
	})
}
