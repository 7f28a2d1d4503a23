//go:build e2e

package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/test/e2e/framework"
)

// The monitoring component's scrape, as Prometheus makes it: a service account's bearer token, the
// server's certificate checked against ca.crt of its Secret for the name triton-apiserver (the
// ServiceMonitor's tlsConfig). Without the ClusterRole triton-metrics-reader the server answers 403; bound
// to it, 200 with the metrics.
func TestAServiceAccountWithTheMetricsReaderRoleScrapes(t *testing.T) {
	s := framework.Setup(t, framework.Timeout(2*time.Minute))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx

	// The ClusterRole as the component has it, under a name of the test's (the bed may have the real one).
	raw, err := os.ReadFile(filepath.Join(framework.Root, "artifacts", "deploy", "components", "monitoring", "metrics-reader.yaml"))
	require.NoError(t, err)
	var role rbacv1.ClusterRole
	require.NoError(t, utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(string(raw)), 4096).Decode(&role))
	require.Equal(t, "triton-metrics-reader", role.Name)
	role.ObjectMeta = metav1.ObjectMeta{Name: fmt.Sprintf("triton-metrics-reader-%s", ns)}
	_, err = admin.Kube.RbacV1().ClusterRoles().Create(ctx, &role, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = admin.Kube.RbacV1().ClusterRoles().Delete(ctx, role.Name, metav1.DeleteOptions{}) })

	_, err = admin.Kube.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "prometheus"}},
		metav1.CreateOptions{})
	require.NoError(t, err)
	token, err := admin.Kube.CoreV1().ServiceAccounts(ns).CreateToken(ctx, "prometheus", &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
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

	_, err = admin.Kube.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "prometheus", Namespace: ns}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = admin.Kube.RbacV1().ClusterRoleBindings().Delete(ctx, role.Name, metav1.DeleteOptions{}) })
	// The server caches a denial for a few seconds.
	framework.WaitFor(t, ctx, "the scrape to be allowed", func() bool {
		code, body = scrape()
		return code == http.StatusOK
	})
	require.True(t, strings.Contains(body, "\ntriton_") && strings.Contains(body, "\napiserver_request_total{"),
		"the server's own metrics and the generic API server's are in the scrape")
}

// A release's series on the /metrics of the replica that runs its controller (a server with this build,
// on an etcd of its own, leader in the test's namespace), logging JSON: while the canary waits for
// `next`, the release is on /metrics with its phase, batch and wait; each wait and each stage of the
// machine's work is timed apart; once the release has Succeeded its series are gone.
func TestAReleaseOnMetricsFromStartToEnd(t *testing.T) {
	s := framework.Setup(t, framework.Timeout(5*time.Minute))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	allowLeaderElection(t, ctx, admin, ns)
	store := startEtcd(t, fmt.Sprintf("etcd-metrics-%d", os.Getpid()))
	server := startReplica(t, fmt.Sprintf("triton-metrics-%d", os.Getpid()), ns, "--etcd-servers", store.url,
		"--logging-format", "json")
	c := *admin
	c.Releases = server.client()

	proxy, _ := loadPair(t, "front-proxy-client")
	scrape := func() string {
		a := call(t, ctx, direct(t, &proxy), "GET", server.url()+"/metrics", frontProxy("admin", "", []string{"system:masters"}, nil), "")
		require.Equal(t, http.StatusOK, a.code, a.body)
		return a.body
	}
	series := func(name, labels string) string { return name + "{" + labels + "}" }
	rel := fmt.Sprintf(`namespace=%q,release="nginx-update"`, ns)
	value := func(body, s string) (float64, bool) {
		for _, line := range strings.Split(body, "\n") {
			if v, ok := strings.CutPrefix(line, s+" "); ok {
				var f float64
				_, err := fmt.Sscan(v, &f)
				require.NoError(t, err, line)
				return f, true
			}
		}
		return 0, false
	}
	has := func(body, s string, want float64) bool {
		v, ok := value(body, s)
		return ok && v == want
	}

	framework.StartedRelease(t, ctx, &c, ns, 2, framework.UpdateTo("nginx:1.28", 1, intstr.FromString("100%"), v1alpha1.ModeManual), v1alpha1.BatchSmoked)
	framework.WaitFor(t, ctx, "the release waiting for next on /metrics", func() bool {
		m := scrape()
		waited, ok := value(m, series("triton_release_awaiting_next_seconds", rel))
		return ok && waited > 0 &&
			has(m, series("triton_release_info", `action="Update",cloneset="nginx",mode="Manual",`+rel[:strings.Index(rel, ",")]+`,on_failure="Pause",release="nginx-update",strategy="Batch"`), 1) &&
			has(m, series("triton_release_phase", fmt.Sprintf(`namespace=%q,phase="Progressing",release="nginx-update"`, ns)), 1) &&
			has(m, series("triton_release_current_batch", rel), 1) &&
			has(m, series("triton_release_batches", rel), 2) &&
			has(m, `triton_release_batch_machine_seconds_count{canary="true",stage="smoke"}`, 1)
	})

	next := func(batch int32) {
		_, err := c.Releases.ReleasesV1alpha1().Releases(ns).Next(ctx, "nginx-update", &v1alpha1.ReleaseRequest{ExpectedBatch: framework.Int32(batch)}, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	next(1) // pulls the canary in
	framework.WaitRelease(t, ctx, &c, ns, "nginx-update", "canary Baked", framework.BatchIs(1, v1alpha1.BatchBaked))
	framework.WaitFor(t, ctx, "the canary's wait and bake timed", func() bool {
		m := scrape()
		return has(m, `triton_release_batch_wait_seconds_count{after="smoked"}`, 1) &&
			has(m, `triton_release_batch_machine_seconds_count{canary="true",stage="bake"}`, 1)
	})
	next(1) // starts batch 2
	framework.WaitRelease(t, ctx, &c, ns, "nginx-update", "batch 2 Baked", framework.BatchIs(2, v1alpha1.BatchBaked))
	next(2) // completes the release
	framework.WaitRelease(t, ctx, &c, ns, "nginx-update", "Succeeded", func(r *v1alpha1.Release) bool { return r.Status.Phase == v1alpha1.ReleaseSucceeded })
	framework.WaitFor(t, ctx, "the finished release gone from /metrics", func() bool {
		m := scrape()
		_, listed := value(m, series("triton_release_current_batch", rel))
		return !listed && has(m, `triton_releases{phase="Succeeded"}`, 1) &&
			has(m, `triton_release_batch_wait_seconds_count{after="baked"}`, 2) &&
			has(m, `triton_release_batch_machine_seconds_count{canary="false",stage="smoke"}`, 1) &&
			has(m, `triton_release_batch_machine_seconds_count{canary="false",stage="bake"}`, 1)
	})

	// The controller wrote the statuses in-process (its own histogram counts them), none over loopback HTTP.
	m := scrape()
	written, ok := value(m, `triton_release_controller_status_write_duration_seconds_count{result="success"}`)
	assert.True(t, ok && written > 0, "status writes counted: %v", written)
	for _, line := range strings.Split(m, "\n") {
		if strings.HasPrefix(line, "apiserver_request_total{") && strings.Contains(line, `resource="releases"`) &&
			strings.Contains(line, `subresource="status"`) && strings.Contains(line, `verb="PUT"`) {
			assert.Fail(t, "a status write went over HTTP", line)
		}
	}

	// Every line the replica logged is a JSON object.
	raw, err := os.ReadFile(server.log)
	require.NoError(t, err)
	lines := 0
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		var entry map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &entry), "a line of %s that is not JSON: %q", server.log, line)
		lines++
	}
	require.Positive(t, lines)
}
