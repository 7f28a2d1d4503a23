//go:build e2e

package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// The monitoring component's scrape, as Prometheus makes it: a service account's bearer token, the
// server's certificate checked against ca.crt of its Secret for the name triton-apiserver (the
// ServiceMonitor's tlsConfig). Without the ClusterRole triton-metrics-reader the server answers 403; bound
// to it, 200 with the metrics.
func TestAServiceAccountWithTheMetricsReaderRoleScrapes(t *testing.T) {
	admin := connect(t, "admin")
	ns := namespace(t, admin)
	ctx := testContext(t, 2*time.Minute)

	// The ClusterRole as the component has it, under a name of the test's (the bed may have the real one).
	raw, err := os.ReadFile(filepath.Join(root, "artifacts", "deploy", "components", "monitoring", "metrics-reader.yaml"))
	require.NoError(t, err)
	var role rbacv1.ClusterRole
	require.NoError(t, utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(string(raw)), 4096).Decode(&role))
	require.Equal(t, "triton-metrics-reader", role.Name)
	role.ObjectMeta = metav1.ObjectMeta{Name: fmt.Sprintf("triton-metrics-reader-%s", ns)}
	_, err = admin.kube.RbacV1().ClusterRoles().Create(ctx, &role, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = admin.kube.RbacV1().ClusterRoles().Delete(ctx, role.Name, metav1.DeleteOptions{}) })

	_, err = admin.kube.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "prometheus"}},
		metav1.CreateOptions{})
	require.NoError(t, err)
	token, err := admin.kube.CoreV1().ServiceAccounts(ns).CreateToken(ctx, "prometheus", &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	require.NoError(t, err)

	pool := x509.NewCertPool()
	ca, err := os.ReadFile(secretCA(t, tritonNamespace+"/"+tritonSecret))
	require.NoError(t, err)
	require.True(t, pool.AppendCertsFromPEM(ca))
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "triton-apiserver", MinVersion: tls.VersionTLS12}}}
	scrape := func() (int, string) {
		req, err := http.NewRequestWithContext(ctx, "GET", tritonURL(t)+"/metrics", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token.Status.Token)
		resp, err := client.Do(req)
		require.NoError(t, err, "the server's certificate, for the name triton-apiserver, against its Secret's ca.crt")
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(body)
	}

	code, body := scrape()
	require.Equal(t, http.StatusForbidden, code, "without the role: %s", body)

	_, err = admin.kube.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "prometheus", Namespace: ns}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = admin.kube.RbacV1().ClusterRoleBindings().Delete(ctx, role.Name, metav1.DeleteOptions{}) })
	// The server caches a denial for a few seconds.
	waitFor(t, ctx, "the scrape to be allowed", func() bool {
		code, body = scrape()
		return code == http.StatusOK
	})
	require.True(t, strings.Contains(body, "\ntriton_") && strings.Contains(body, "\napiserver_request_total{"),
		"the server's own metrics and the generic API server's are in the scrape")
}
