//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/triton-io/triton/pkg/servingcert"
)

const (
	// tritonNamespace and tritonSecret: where the local server keeps its serving certificate, as the
	// deploy manifests have it (hack/local-up.sh: --cert-secret triton-system/triton-apiserver-tls).
	tritonNamespace = "triton-system"
	tritonSecret    = "triton-apiserver-tls"
	apiServiceName  = "v1alpha1.releases.triton.io"
	resizeWebhook   = "triton-cloneset-resize"
)

// caBundles are the caBundle of the APIService and of each webhook of the resize webhook configuration.
func caBundles(t *testing.T, ctx context.Context, admin *cluster) (apiService []byte, webhooks [][]byte) {
	t.Helper()
	obj, err := dynamic.NewForConfigOrDie(admin.config).Resource(servingcert.APIServiceResource).Get(ctx, apiServiceName, metav1.GetOptions{})
	require.NoError(t, err)
	encoded, _, _ := unstructured.NestedString(obj.Object, "spec", "caBundle")
	apiService, err = base64.StdEncoding.DecodeString(encoded)
	require.NoError(t, err)
	config, err := admin.kube.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, resizeWebhook, metav1.GetOptions{})
	require.NoError(t, err)
	for _, w := range config.Webhooks {
		webhooks = append(webhooks, w.ClientConfig.CABundle)
	}
	return apiService, webhooks
}

// apiServiceAvailable reports whether kube-apiserver says the APIService is Available, and why not.
func apiServiceAvailable(ctx context.Context, admin *cluster) (bool, string) {
	obj, err := dynamic.NewForConfigOrDie(admin.config).Resource(servingcert.APIServiceResource).Get(ctx, apiServiceName, metav1.GetOptions{})
	if err != nil {
		return false, err.Error()
	}
	conditions, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conditions {
		m, _ := c.(map[string]interface{})
		if m["type"] == "Available" {
			return m["status"] == "True", fmt.Sprintf("%v: %v", m["reason"], m["message"])
		}
	}
	return false, "no Available condition"
}

// servedBy waits until the APIService is Available, its caBundle and both webhooks' are the Secret's CA
// bundle, and releases can be listed through kube-apiserver.
func servedBy(t *testing.T, ctx context.Context, admin *cluster, what string) *corev1.Secret {
	t.Helper()
	var secret *corev1.Secret
	var last string
	check := func() bool {
		var err error
		if secret, err = admin.kube.CoreV1().Secrets(tritonNamespace).Get(ctx, tritonSecret, metav1.GetOptions{}); err != nil {
			last = err.Error()
			return false
		}
		apiService, webhooks := caBundles(t, ctx, admin)
		if !bytes.Equal(apiService, secret.Data["ca.crt"]) {
			last = "the APIService's caBundle is not the Secret's CA bundle"
			return false
		}
		for _, w := range webhooks {
			if !bytes.Equal(w, secret.Data["ca.crt"]) {
				last = "a webhook's caBundle is not the Secret's CA bundle"
				return false
			}
		}
		ok, why := apiServiceAvailable(ctx, admin)
		if !ok {
			last = "APIService not Available: " + why
			return false
		}
		if _, err := admin.releases.ReleasesV1alpha1().Releases("default").List(ctx, metav1.ListOptions{}); err != nil {
			last = err.Error()
			return false
		}
		return true
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for !check() {
		select {
		case <-ctx.Done():
			t.Fatalf("gave up waiting for %s: %s", what, last)
		case <-tick.C:
		}
	}
	return secret
}

// The server makes its own CA and serving certificate and keeps the caBundles current: the manifests
// hack/local-up.sh applied have no caBundle, yet the APIService is Available; a caBundle emptied (as an
// apply of an older manifest does) is put back; and after the Secret is deleted (the way to rotate the
// CA at once) a new CA serves, trusted everywhere.
func TestTheServerKeepsItsOwnCertificateAndTheAPIServiceTrustsIt(t *testing.T) {
	admin := connect(t, "admin")
	ctx := testContext(t, 3*time.Minute)
	for _, f := range []string{"apiservice.yaml", "webhook.yaml"} {
		raw, err := os.ReadFile(filepath.Join(root, "artifacts", "deploy", f))
		require.NoError(t, err)
		assert.NotRegexp(t, `(?m)^\s*caBundle:`, string(raw), "%s supplies no caBundle", f)
	}
	before := servedBy(t, ctx, admin, "the APIService Available with the server's own CA")
	ca, err := servingcert.Parse(before.Data)
	require.NoError(t, err, "the Secret holds a CA and a certificate")
	assert.NoError(t, ca.Cert.VerifyHostname("triton-apiserver.triton-system.svc"), "the name kube-apiserver verifies")

	// An apply of a manifest with an empty caBundle: put back.
	_, err = dynamic.NewForConfigOrDie(admin.config).Resource(servingcert.APIServiceResource).Patch(ctx, apiServiceName,
		types.MergePatchType, []byte(`{"spec":{"caBundle":null}}`), metav1.PatchOptions{})
	require.NoError(t, err)
	servedBy(t, ctx, admin, "the emptied caBundle put back")

	// Rotate the CA at once: delete the Secret. A new CA, and everything trusts it.
	require.NoError(t, admin.kube.CoreV1().Secrets(tritonNamespace).Delete(ctx, tritonSecret, metav1.DeleteOptions{}))
	var after *corev1.Secret
	waitFor(t, ctx, "a new CA in a new Secret", func() bool {
		s, err := admin.kube.CoreV1().Secrets(tritonNamespace).Get(ctx, tritonSecret, metav1.GetOptions{})
		if err != nil {
			return false
		}
		after = s
		return !bytes.Equal(s.Data["ca.crt"], before.Data["ca.crt"])
	})
	rotated, err := servingcert.Parse(after.Data)
	require.NoError(t, err)
	assert.False(t, rotated.CAs[0].Equal(ca.CAs[0]), "a new CA")
	servedBy(t, ctx, admin, "the APIService Available again with the new CA")
	// The server serves the new certificate (the CA bundle file the other tests use is read from the Secret).
	resp, err := httpsClient(t, tritonCA(t), nil).Get(tritonURL(t) + "/readyz")
	require.NoError(t, err, "the server's certificate verifies with the new CA")
	resp.Body.Close()
}

// The deploy manifests pass Pod Security "restricted" and a server-side dry run: the namespace enforces
// restricted (namespace.yaml), the Deployment's pod is admitted there, and `kubectl apply -k --dry-run=server`
// of the base and of each component (cert-manager's needs cert-manager's CRDs, so it is only rendered)
// answers without a warning.
func TestTheDeployManifestsPassPodSecurityRestrictedAndAServerSideDryRun(t *testing.T) {
	admin := connect(t, "admin")
	ctx := testContext(t, 2*time.Minute)
	ns, err := admin.kube.CoreV1().Namespaces().Get(ctx, tritonNamespace, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "restricted", ns.Labels["pod-security.kubernetes.io/enforce"])

	dir := filepath.Join(root, "_output", "e2e-overlays")
	require.NoError(t, os.RemoveAll(dir))
	overlay := func(name string, components ...string) string {
		d := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(d, 0o755))
		k := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- ../../../artifacts/deploy\n"
		if len(components) > 0 {
			k += "components:\n"
			for _, c := range components {
				k += "- ../../../artifacts/deploy/components/" + c + "\n"
			}
		}
		require.NoError(t, os.WriteFile(filepath.Join(d, "kustomization.yaml"), []byte(k), 0o644))
		return d
	}
	kubectlRun := func(args ...string) (string, string) {
		cmd := exec.CommandContext(ctx, kubectl, append([]string{"--kubeconfig", admin.kubeconfig}, args...)...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		require.NoError(t, cmd.Run(), "kubectl %s: %s", strings.Join(args, " "), stderr.String())
		return stdout.String(), stderr.String()
	}
	for name, components := range map[string][]string{
		"base":              nil,
		"high-availability": {"high-availability"},
		"own-certificate":   {"own-certificate"},
		"cert-manager+ha":   {"cert-manager", "high-availability"},
	} {
		d := overlay(strings.ReplaceAll(name, "+", "-"), components...)
		rendered, _ := kubectlRun("kustomize", d)
		deployment := podSpecOf(t, rendered)

		// The pod the Deployment makes, as the ReplicaSet would create it: admitted under restricted.
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: "triton-apiserver-"}, Spec: deployment}
		_, err := admin.kube.CoreV1().Pods(tritonNamespace).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if apierrors.IsForbidden(err) {
			t.Errorf("%s: the pod is not admitted under Pod Security restricted: %v", name, err)
		} else {
			require.NoError(t, err, name)
		}
		if name == "cert-manager+ha" {
			continue // Certificate and Issuer are cert-manager's kinds
		}
		out, stderr := kubectlRun("apply", "-k", d, "--dry-run=server")
		assert.NotContains(t, stderr, "Warning", "%s: %s", name, stderr)
		assert.Contains(t, out, "deployment.apps/triton-apiserver", name)
	}
}

// podSpecOf is the pod spec of the Deployment in a multi-document YAML.
func podSpecOf(t *testing.T, rendered string) corev1.PodSpec {
	t.Helper()
	for _, doc := range strings.Split(rendered, "\n---\n") {
		var obj struct {
			Kind string `json:"kind"`
			Spec struct {
				Template struct {
					Spec corev1.PodSpec `json:"spec"`
				} `json:"template"`
			} `json:"spec"`
		}
		require.NoError(t, yaml.Unmarshal([]byte(doc), &obj))
		if obj.Kind == "Deployment" {
			return obj.Spec.Template.Spec
		}
	}
	t.Fatal("no Deployment")
	return corev1.PodSpec{}
}
