//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
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
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/triton-io/triton/pkg/servingcert"
	"github.com/triton-io/triton/test/e2e/framework"
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
func caBundles(t *testing.T, ctx context.Context, admin *framework.Cluster) (apiService []byte, webhooks [][]byte) {
	t.Helper()
	obj, err := dynamic.NewForConfigOrDie(admin.Config).Resource(servingcert.APIServiceResource).Get(ctx, apiServiceName, metav1.GetOptions{})
	require.NoError(t, err)
	encoded, _, _ := unstructured.NestedString(obj.Object, "spec", "caBundle")
	apiService, err = base64.StdEncoding.DecodeString(encoded)
	require.NoError(t, err)
	config, err := admin.Kube.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, resizeWebhook, metav1.GetOptions{})
	require.NoError(t, err)
	for _, w := range config.Webhooks {
		webhooks = append(webhooks, w.ClientConfig.CABundle)
	}
	return apiService, webhooks
}

// apiServiceAvailable reports whether kube-apiserver says the APIService is Available, and why not.
func apiServiceAvailable(ctx context.Context, admin *framework.Cluster) (bool, string) {
	obj, err := dynamic.NewForConfigOrDie(admin.Config).Resource(servingcert.APIServiceResource).Get(ctx, apiServiceName, metav1.GetOptions{})
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
func servedBy(t *testing.T, ctx context.Context, admin *framework.Cluster, what string) *corev1.Secret {
	t.Helper()
	return framework.WaitUntil(t, ctx, what, func(context.Context) (*corev1.Secret, bool, string) {
		secret, err := admin.Kube.CoreV1().Secrets(tritonNamespace).Get(ctx, tritonSecret, metav1.GetOptions{})
		if err != nil {
			return nil, false, err.Error()
		}
		apiService, webhooks := caBundles(t, ctx, admin)
		if !bytes.Equal(apiService, secret.Data["ca.crt"]) {
			return nil, false, "the APIService's caBundle is not the Secret's CA bundle"
		}
		for _, w := range webhooks {
			if !bytes.Equal(w, secret.Data["ca.crt"]) {
				return nil, false, "a webhook's caBundle is not the Secret's CA bundle"
			}
		}
		if ok, why := apiServiceAvailable(ctx, admin); !ok {
			return nil, false, "APIService not Available: " + why
		}
		if _, err := admin.Releases.ReleasesV1alpha1().Releases("default").List(ctx, metav1.ListOptions{}); err != nil {
			return nil, false, err.Error()
		}
		return secret, true, ""
	}, framework.Every(100*time.Millisecond))
}

// The server makes its own CA and serving certificate and keeps the caBundles current: the manifests
// hack/local-up.sh applied have no caBundle, yet the APIService is Available; a caBundle emptied (as an
// apply of an older manifest does) is put back; and after the Secret is deleted (the way to rotate the
// CA at once) a new CA serves, trusted everywhere.
func TestTheServerKeepsItsOwnCertificateAndTheAPIServiceTrustsIt(t *testing.T) {
	admin := framework.Connect(t, "admin")
	ctx := framework.Context(t, 3*time.Minute)
	for _, f := range []string{"apiservice.yaml", "webhook.yaml"} {
		raw, err := os.ReadFile(filepath.Join(framework.Root, "artifacts", "deploy", f))
		require.NoError(t, err)
		assert.NotRegexp(t, `(?m)^\s*caBundle:`, string(raw), "%s supplies no caBundle", f)
	}
	before := servedBy(t, ctx, admin, "the APIService Available with the server's own CA")
	ca, err := servingcert.Parse(before.Data)
	require.NoError(t, err, "the Secret holds a CA and a certificate")
	assert.NoError(t, ca.Cert.VerifyHostname("triton-apiserver.triton-system.svc"), "the name kube-apiserver verifies")

	// An apply of a manifest with an empty caBundle: put back.
	_, err = dynamic.NewForConfigOrDie(admin.Config).Resource(servingcert.APIServiceResource).Patch(ctx, apiServiceName,
		types.MergePatchType, []byte(`{"spec":{"caBundle":null}}`), metav1.PatchOptions{})
	require.NoError(t, err)
	servedBy(t, ctx, admin, "the emptied caBundle put back")

	// Rotate the CA at once: delete the Secret. A new CA, and everything trusts it.
	require.NoError(t, admin.Kube.CoreV1().Secrets(tritonNamespace).Delete(ctx, tritonSecret, metav1.DeleteOptions{}))
	var after *corev1.Secret
	framework.WaitFor(t, ctx, "a new CA in a new Secret", func() bool {
		s, err := admin.Kube.CoreV1().Secrets(tritonNamespace).Get(ctx, tritonSecret, metav1.GetOptions{})
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
	require.NoError(t, resp.Body.Close())
}

// The deploy manifests pass Pod Security "restricted" and a server-side dry run: the namespace enforces
// restricted (namespace.yaml), the Deployment's pod is admitted there, and `kubectl apply -k --dry-run=server`
// of the base and of each component (cert-manager's needs cert-manager's CRDs, so it is only rendered)
// answers without a warning.
func TestTheDeployManifestsPassPodSecurityRestrictedAndAServerSideDryRun(t *testing.T) {
	t.Parallel()
	admin := framework.Connect(t, "admin")
	ctx := framework.Context(t, 2*time.Minute)
	ns, err := admin.Kube.CoreV1().Namespaces().Get(ctx, tritonNamespace, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "restricted", ns.Labels["pod-security.kubernetes.io/enforce"])

	dir := filepath.Join(framework.Root, "_output", "e2e-overlays")
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
		cmd := exec.CommandContext(ctx, framework.KubectlBinary, append([]string{"--kubeconfig", admin.Kubeconfig}, args...)...)
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
		_, err := admin.Kube.CoreV1().Pods(tritonNamespace).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
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

// The CA rotated in its time, on the real kube-apiserver: a replica whose CA lives 90 s and whose serving
// certificates live 60 s keeps its own Secret and the caBundle of a webhook configuration. Every TLS
// handshake with it, until a certificate of its second CA is served, is verified by the caBundle
// kube-apiserver holds right after: the new CA is trusted before anything it signed is served.
//
// It runs beside the other tests (t.Parallel), though it makes a webhook configuration: its own, which
// matches only namespaces no one labels and ignores failures, so no request of another test is sent to it;
// the replica has an etcd of its own and elects its leader in the test's namespace. Most of its minute is
// waiting for certificates to expire.
func TestTheCAIsRotatedInItsTimeAndTheCABundleAlwaysVerifies(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t)
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	allowLeaderElection(t, ctx, admin, ns)
	secretName, webhookName := "rotating-tls", "triton-e2e-rotation-"+ns
	sa := []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: tritonNamespace, Name: "triton-apiserver"}}
	// What the deploy manifests grant for the server's own Secret and webhook configuration, for these.
	_, err := admin.Kube.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "serving-cert"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"create"}},
			{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{secretName}, Verbs: []string{"get", "list", "watch", "update"}},
		}}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = admin.Kube.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "serving-cert"},
		RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "serving-cert"}, Subjects: sa}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = admin.Kube.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: webhookName},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{"admissionregistration.k8s.io"}, Resources: []string{"mutatingwebhookconfigurations"},
			ResourceNames: []string{webhookName}, Verbs: []string{"update"}}}}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = admin.Kube.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: webhookName},
		RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: webhookName}, Subjects: sa}, metav1.CreateOptions{})
	require.NoError(t, err)
	// A webhook that never runs (it matches namespaces no one labels); only its caBundle matters.
	none, ignore, path := admissionregistrationv1.SideEffectClassNone, admissionregistrationv1.Ignore, "/never"
	_, err = admin.Kube.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: webhookName},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name: "never.e2e.triton.io", AdmissionReviewVersions: []string{"v1"}, SideEffects: &none, FailurePolicy: &ignore,
			ClientConfig: admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{
				Namespace: tritonNamespace, Name: "triton-apiserver", Path: &path}},
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"e2e.triton.io/never": "true"}},
			Rules: []admissionregistrationv1.RuleWithOperations{{Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule: admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}}}},
		}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() {
		bg := context.Background()
		_ = admin.Kube.AdmissionregistrationV1().MutatingWebhookConfigurations().Delete(bg, webhookName, metav1.DeleteOptions{})
		_ = admin.Kube.RbacV1().ClusterRoleBindings().Delete(bg, webhookName, metav1.DeleteOptions{})
		_ = admin.Kube.RbacV1().ClusterRoles().Delete(bg, webhookName, metav1.DeleteOptions{})
	})

	store := startEtcd(t, "etcd-rotation")
	replica := startReplica(t, "triton-rotation", ns, "--etcd-servers", store.url,
		"--cert-secret", ns+"/"+secretName, "--ca-bundle-apiservices", "", "--ca-bundle-webhooks", webhookName,
		"--cert-ca-validity", "90s", "--cert-validity", "60s")
	addr := strings.TrimPrefix(replica.url(), "https://")

	var issuers []string
	serials := map[string]bool{}
	handshakes := 0
	framework.WaitUntil(t, ctx, "a certificate of a second CA", func(context.Context) (struct{}, bool, string) {
		defer func() { handshakes++ }()
		conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // verified below, against the caBundle
		require.NoError(t, err)
		served := conn.ConnectionState().PeerCertificates[0]
		require.NoError(t, conn.Close())
		config, err := admin.Kube.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, webhookName, metav1.GetOptions{})
		require.NoError(t, err)
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(config.Webhooks[0].ClientConfig.CABundle)
		_, err = served.Verify(x509.VerifyOptions{Roots: pool, DNSName: "127.0.0.1"})
		require.NoError(t, err, "handshake %d: the served certificate (serial %s, from %s) does not verify with the caBundle kube-apiserver holds",
			handshakes, served.SerialNumber, served.Issuer.CommonName)
		serials[served.SerialNumber.String()] = true
		if len(issuers) == 0 || issuers[len(issuers)-1] != served.Issuer.CommonName {
			issuers = append(issuers, served.Issuer.CommonName)
			t.Logf("handshake %d: a certificate of %s", handshakes, served.Issuer.CommonName)
		}
		return struct{}{}, len(issuers) >= 2, fmt.Sprintf("served %d certificates of %v", len(serials), issuers)
	})
	assert.GreaterOrEqual(t, len(serials), 2, "the serving certificate was renewed")
}
