//go:build e2e

package e2e

// The deploy manifests under a user's kustomize overlay, against the real kube-apiserver: a namespace of
// the overlay's own, with the base and each component, passes a server-side dry run; and the probes the
// Deployment declares keep a server whose etcd is down alive (liveness, startup) but out of traffic
// (readiness).

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/triton-io/triton/test/e2e/framework"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// notOnTheBed are kinds whose CRDs the local control plane does not have (cert-manager's, the Prometheus
// operator's): rendered and checked, not sent to the dry run.
var notOnTheBed = []string{"Certificate", "Issuer", "ClusterIssuer", "ServiceMonitor", "PodMonitor", "PrometheusRule"}

// renderOverlay renders artifacts/deploy as a user's overlay does, with kustomize's library: namespace ns
// and the components given.
func renderOverlay(t *testing.T, ns string, components []string) []*resource.Resource {
	t.Helper()
	fs := filesys.MakeFsInMemory()
	deploy := filepath.Join(framework.Root, "artifacts", "deploy")
	require.NoError(t, filepath.Walk(deploy, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(deploy, path)
		target := filepath.ToSlash(filepath.Join("/deploy", rel))
		if info.IsDir() {
			return fs.MkdirAll(target)
		}
		if strings.HasSuffix(path, ".go") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return fs.WriteFile(target, data)
	}))
	k := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: " + ns + "\nresources:\n- ../deploy\n"
	if len(components) > 0 {
		k += "components:\n"
		for _, c := range components {
			k += "- ../deploy/components/" + c + "\n"
		}
	}
	require.NoError(t, fs.MkdirAll("/overlay"))
	require.NoError(t, fs.WriteFile("/overlay/kustomization.yaml", []byte(k)))
	resources, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fs, "/overlay")
	require.NoError(t, err, "rendering with %v", components)
	return resources.Resources()
}

// overlayCombinations are every component alone and those meant to go together.
func overlayCombinations(t *testing.T) map[string][]string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(framework.Root, "artifacts", "deploy", "components", "*", "kustomization.yaml"))
	require.NoError(t, err)
	combinations := map[string][]string{"base": nil}
	for _, d := range dirs {
		name := filepath.Base(filepath.Dir(d))
		combinations[name] = []string{name}
	}
	combinations["cert-manager+high-availability"] = []string{"cert-manager", "high-availability"}
	combinations["own-certificate+high-availability"] = []string{"own-certificate", "high-availability"}
	return combinations
}

// TestOverlaysInAnotherNamespacePassAServerSideDryRun: under `namespace: triton-test-ns-<pid>` the base and
// every component render with no trace of triton-system, and what the bed
// can take passes `kubectl apply --dry-run=server` in that namespace, which enforces Pod Security
// "restricted" as namespace.yaml makes it, without a warning.
func TestOverlaysInAnotherNamespacePassAServerSideDryRun(t *testing.T) {
	admin := framework.Connect(t, "admin")
	ctx := framework.Context(t, 5*time.Minute)
	ns := fmt.Sprintf("triton-test-ns-%d", os.Getpid())
	// The namespace itself, for real (a dry run does not find a namespace that a dry run made), as
	// namespace.yaml makes it: Pod Security enforced.
	for _, r := range renderOverlay(t, ns, nil) {
		if r.GetKind() != "Namespace" {
			continue
		}
		out, err := r.AsYAML()
		require.NoError(t, err)
		var namespace corev1.Namespace
		require.NoError(t, yaml.Unmarshal(out, &namespace))
		require.Equal(t, ns, namespace.Name)
		_, err = admin.Kube.CoreV1().Namespaces().Create(ctx, &namespace, metav1.CreateOptions{})
		require.NoError(t, err)
		t.Cleanup(func() { _ = admin.Kube.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	}
	for name, components := range overlayCombinations(t) {
		t.Run(name, func(t *testing.T) {
			resources := renderOverlay(t, ns, components)
			var docs []string
			for _, r := range resources {
				out, err := r.AsYAML()
				require.NoError(t, err)
				text := string(out)
				assert.NotContains(t, text, "triton-system", "%s %s still names triton-system", r.GetKind(), r.GetName())
				assert.NotContains(t, text, "$(TRITON_", "%s %s: a kustomize var left unresolved", r.GetKind(), r.GetName())
				if slices.Contains(notOnTheBed, r.GetKind()) {
					continue
				}
				docs = append(docs, text)
			}
			cmd := exec.CommandContext(ctx, framework.KubectlBinary, "--kubeconfig", admin.Kubeconfig, "apply", "--dry-run=server", "-f", "-")
			cmd.Stdin = strings.NewReader(strings.Join(docs, "---\n"))
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			require.NoError(t, cmd.Run(), "kubectl apply --dry-run=server: %s", stderr.String())
			// kubectl warns when it adds its last-applied annotation to the namespace made above: nothing
			// else may warn.
			for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
				if line != "" && !strings.Contains(line, "namespaces/"+ns+" is missing the kubectl.kubernetes.io/last-applied-configuration") {
					t.Errorf("kubectl apply --dry-run=server warned: %s", line)
				}
			}
			assert.Len(t, strings.Split(strings.TrimSpace(stdout.String()), "\n"), len(docs), "one line per object:\n%s", stdout.String())
			assert.Regexp(t, `(deployment|statefulset)\.apps/triton-apiserver`, stdout.String())
		})
	}
}

// probe is what the kubelet does for an HTTPS probe p of a server at base: a GET without credentials that
// does not verify the certificate, within the probe's timeoutSeconds (1 s unless set), healthy on a 2xx or
// 3xx answer. An error or a timeout is a failure.
func probe(base string, p *corev1.Probe) (healthy bool, answer string) {
	timeout := time.Duration(max(p.TimeoutSeconds, 1)) * time.Second
	client := &http.Client{Timeout: timeout, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := client.Get(base + p.HTTPGet.Path)
	if err != nil {
		return false, err.Error()
	}
	_ = resp.Body.Close() // the status is all a poll reads
	return resp.StatusCode >= 200 && resp.StatusCode < 400, resp.Status
}

// The Deployment's probes, as deployment.yaml declares them, on a replica whose external etcd stops (as
// the high-availability component runs it): liveness and startup stay healthy, so the kubelet restarts
// nothing while etcd is away; readiness fails, so no traffic reaches the replica; once etcd is back,
// readiness comes back.
func TestTheProbesKeepAReplicaAliveButUnreadyWhileEtcdIsDown(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(framework.Root, "artifacts", "deploy", "deployment.yaml"))
	require.NoError(t, err)
	var deployment appsv1.Deployment
	require.NoError(t, yaml.Unmarshal(raw, &deployment))
	server := deployment.Spec.Template.Spec.Containers[0]
	require.Equal(t, "triton-apiserver", server.Name)
	for _, p := range []*corev1.Probe{server.LivenessProbe, server.StartupProbe, server.ReadinessProbe} {
		require.NotNil(t, p)
		require.NotNil(t, p.HTTPGet)
		require.Equal(t, corev1.URISchemeHTTPS, p.HTTPGet.Scheme)
	}

	admin := framework.Connect(t, "admin")
	ns := framework.Namespace(t, admin)
	ctx := framework.Context(t, 3*time.Minute)
	allowLeaderElection(t, ctx, admin, ns)
	store := startEtcd(t, "etcd-probes")
	replica := startReplica(t, "triton-probes", ns, "--etcd-servers", store.url)
	check := func(what string, p *corev1.Probe, want bool) {
		t.Helper()
		healthy, answer := probe(replica.url(), p)
		assert.Equal(t, want, healthy, "%s (%s): %s", what, p.HTTPGet.Path, answer)
	}
	probes := map[string]*corev1.Probe{"liveness": server.LivenessProbe, "startup": server.StartupProbe, "readiness": server.ReadinessProbe}
	for what, p := range probes {
		check(what+" with etcd up", p, true)
	}

	store.signal(t, syscall.SIGKILL)
	framework.WaitUntil(t, ctx, "the readiness probe to fail with etcd down", func(context.Context) (struct{}, bool, string) {
		healthy, answer := probe(replica.url(), server.ReadinessProbe)
		return struct{}{}, !healthy, answer
	}, framework.Every(200*time.Millisecond), framework.Within(30*time.Second))
	// While readiness fails, liveness and startup answer healthy at every probe, for as many probes as
	// the kubelet would need to fail before it restarted the container.
	for i := int32(0); i < server.LivenessProbe.FailureThreshold; i++ {
		check("liveness with etcd down", server.LivenessProbe, true)
		check("startup with etcd down", server.StartupProbe, true)
		check("readiness with etcd down", server.ReadinessProbe, false)
		select {
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(time.Second): // the kubelet's pace, faster
		}
	}
	assert.True(t, replica.alive(), "the replica exited while etcd was down")

	store.restart(t)
	framework.WaitUntil(t, ctx, "the readiness probe to pass with etcd back", func(context.Context) (struct{}, bool, string) {
		healthy, answer := probe(replica.url(), server.ReadinessProbe)
		return struct{}{}, healthy, answer
	}, framework.Every(200*time.Millisecond), framework.Within(time.Minute))
}
