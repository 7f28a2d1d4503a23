//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/triton-io/triton/test/e2e/framework"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/rest"
)

const releasesPath = "/apis/releases.triton.io/v1alpha1/namespaces/%s/releases"

func pkiFile(name string) string { return filepath.Join(framework.Local, "pki", name) }

// tritonCA is a file with the CA bundle triton-apiserver serves under: the one it keeps in its Secret
// (--cert-secret), read now.
func tritonCA(t *testing.T) string { return secretCA(t, tritonNamespace+"/"+tritonSecret) }

// secretCA is a file with the CA bundle of the serving certificate Secret namespace/name, read now.
func secretCA(t *testing.T, ref string) string {
	t.Helper()
	ns, name, _ := strings.Cut(ref, "/")
	secret, err := framework.Connect(t, "admin").Kube.CoreV1().Secrets(ns).Get(context.Background(), name, metav1.GetOptions{})
	require.NoError(t, err, "the serving certificate in %s", ref)
	file := filepath.Join(t.TempDir(), "ca.crt")
	require.NoError(t, os.WriteFile(file, secret.Data["ca.crt"], 0o600))
	return file
}

// tritonURL is triton-apiserver's own address, from the command line hack/local-up.sh recorded.
func tritonURL(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(framework.Local, "triton-apiserver.args"))
	require.NoError(t, err)
	args := strings.Split(strings.TrimSpace(string(raw)), "\n")
	for i, a := range args {
		if a == "--secure-port" && i+1 < len(args) {
			return "https://127.0.0.1:" + args[i+1]
		}
	}
	t.Fatal("no --secure-port in triton-apiserver.args")
	return ""
}

// kubeURL is kube-apiserver's address, from the admin kubeconfig.
func kubeURL(t *testing.T) string {
	t.Helper()
	return framework.Connect(t, "admin").Config.Host
}

// httpsClient trusts caFile, presents cert (if any) and never follows a redirect, so a test sees it.
// Every request makes a new connection: trust in a client certificate is decided at the handshake.
func httpsClient(t *testing.T, caFile string, cert *tls.Certificate) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	raw, err := os.ReadFile(caFile)
	require.NoError(t, err)
	require.True(t, pool.AppendCertsFromPEM(raw))
	tlsConfig := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if cert != nil {
		tlsConfig.Certificates = []tls.Certificate{*cert}
	}
	return &http.Client{
		Transport:     &http.Transport{TLSClientConfig: tlsConfig, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}
}

// direct is a client of triton-apiserver's own port, with cert as its client certificate.
func direct(t *testing.T, cert *tls.Certificate) *http.Client {
	return httpsClient(t, tritonCA(t), cert)
}

type answer struct {
	code     int
	body     string
	location string
	etag     string
}

func call(t *testing.T, ctx context.Context, client *http.Client, method, url string, headers http.Header, body string) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	require.NoError(t, err)
	for k, vs := range headers {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	require.NoError(t, err, "%s %s", method, url)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return answer{code: resp.StatusCode, body: string(raw), location: resp.Header.Get("Location"), etag: resp.Header.Get("ETag")}
}

// frontProxy is the identity headers kube-apiserver's aggregator sends.
func frontProxy(user, uid string, groups []string, extra map[string]string) http.Header {
	h := http.Header{}
	h.Set("X-Remote-User", user)
	if uid != "" {
		h.Set("X-Remote-Uid", uid)
	}
	for _, g := range groups {
		h.Add("X-Remote-Group", g)
	}
	for k, v := range extra {
		h.Set("X-Remote-Extra-"+k, v)
	}
	return h
}

// loadPair reads a certificate and key written by hack/local-up.sh.
func loadPair(t *testing.T, name string) (tls.Certificate, *x509.Certificate) {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(pkiFile(name+".crt"), pkiFile(name+".key"))
	require.NoError(t, err)
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	require.NoError(t, err)
	return pair, leaf
}

// newCA makes a certificate authority of the test's own.
func newCA(t *testing.T, cn string) (tls.Certificate, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	leaf, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, leaf
}

// clientCert issues a client certificate with common name cn from ca.
func clientCert(t *testing.T, ca tls.Certificate, caLeaf *x509.Certificate, cn string) *tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caLeaf, &key.PublicKey, ca.PrivateKey)
	require.NoError(t, err)
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// statusMessage is the message of a metav1.Status answer.
func statusMessage(t *testing.T, body string) string {
	t.Helper()
	var status metav1.Status
	require.NoError(t, json.Unmarshal([]byte(body), &status), body)
	return status.Message
}

func pemOf(c *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}

func TestNoCredentialsIs401(t *testing.T) {
	t.Parallel()
	ctx := framework.Context(t, time.Minute)
	list := fmt.Sprintf(releasesPath, "default")
	next := list + "/nothing/next"
	viaKube := httpsClient(t, pkiFile("cluster-ca.crt"), nil)
	for _, path := range []string{list, next} {
		method := http.MethodGet
		if path == next {
			method = http.MethodPost
		}
		a := call(t, ctx, viaKube, method, kubeURL(t)+path, nil, "")
		assert.Equal(t, http.StatusUnauthorized, a.code, "through kube-apiserver: %s %s: %s", method, path, a.body)
		a = call(t, ctx, direct(t, nil), method, tritonURL(t)+path, nil, "")
		assert.Equal(t, http.StatusUnauthorized, a.code, "direct: %s %s: %s", method, path, a.body)
	}
	// Probes need no credentials.
	for _, path := range []string{"/readyz", "/livez", "/healthz"} {
		a := call(t, ctx, direct(t, nil), http.MethodGet, tritonURL(t)+path, nil, "")
		assert.Equal(t, http.StatusOK, a.code, "direct %s without credentials: %s", path, a.body)
	}
}

// Identity headers count only from kube-apiserver's front proxy: a client certificate from the
// front-proxy CA with an allowed common name.
func TestDirectCallsNeedTheFrontProxyCertificate(t *testing.T) {
	t.Parallel()
	ctx := framework.Context(t, time.Minute)
	url := tritonURL(t) + fmt.Sprintf(releasesPath, "default")
	forged := frontProxy("admin", "", []string{"system:masters"}, nil)

	proxyCA, proxyCALeaf := loadPair(t, "front-proxy-ca")
	otherCA, otherCALeaf := newCA(t, "not-the-front-proxy-ca")
	realProxy, _ := loadPair(t, "front-proxy-client")
	for _, tc := range []struct {
		name string
		cert *tls.Certificate
		want int
	}{
		{"no client certificate", nil, http.StatusUnauthorized},
		{"a certificate from another CA, CN front-proxy-client", clientCert(t, otherCA, otherCALeaf, "front-proxy-client"), http.StatusUnauthorized},
		{"the front-proxy CA, a CN not allowed", clientCert(t, proxyCA, proxyCALeaf, "evil-proxy"), http.StatusUnauthorized},
		// The control: the same headers from the real front proxy are believed.
		{"kube-apiserver's front-proxy certificate", &realProxy, http.StatusOK},
	} {
		a := call(t, ctx, direct(t, tc.cert), http.MethodGet, url, forged, "")
		assert.Equal(t, tc.want, a.code, "%s: %s", tc.name, a.body)
	}
}

// Called directly, the server authenticates bearer tokens through TokenReview and authorizes every
// request through SubjectAccessReview itself: it does not rely on kube-apiserver having checked.
func TestDirectCallsAreAuthenticatedAndAuthorizedByTheServer(t *testing.T) {
	t.Parallel()
	ctx := framework.Context(t, time.Minute)
	url := tritonURL(t) + fmt.Sprintf(releasesPath, "default")
	next := url + "/nothing/next"
	bearer := func(token string) http.Header {
		h := http.Header{}
		h.Set("Authorization", "Bearer "+token)
		return h
	}
	proxy, _ := loadPair(t, "front-proxy-client")
	for _, tc := range []struct {
		name    string
		cert    *tls.Certificate
		headers http.Header
		method  string
		url     string
		want    int
	}{
		{"admin's token", nil, bearer(framework.Connect(t, "admin").Config.BearerToken), http.MethodGet, url, http.StatusOK},
		{"bob's token: reviewed, then refused", nil, bearer(framework.Connect(t, "bob").Config.BearerToken), http.MethodGet, url, http.StatusForbidden},
		{"bob's token, next", nil, bearer(framework.Connect(t, "bob").Config.BearerToken), http.MethodPost, next, http.StatusForbidden},
		{"a token nobody issued", nil, bearer("0123456789abcdef0123456789abcdef"), http.MethodGet, url, http.StatusUnauthorized},
		{"the front proxy vouching for bob", &proxy, frontProxy("bob", "bob", []string{"system:authenticated"}, nil), http.MethodGet, url, http.StatusForbidden},
		{"the front proxy vouching for bob, next", &proxy, frontProxy("bob", "bob", []string{"system:authenticated"}, nil), http.MethodPost, next, http.StatusForbidden},
		{"the front proxy vouching for admin", &proxy, frontProxy("admin", "admin", []string{"system:masters"}, nil), http.MethodGet, url, http.StatusOK},
	} {
		a := call(t, ctx, direct(t, tc.cert), tc.method, tc.url, tc.headers, "")
		assert.Equal(t, tc.want, a.code, "%s: %s", tc.name, a.body)
		if tc.want == http.StatusForbidden {
			assert.Contains(t, statusMessage(t, a.body), `User "bob" cannot`, tc.name)
		}
	}
}

// A new front-proxy CA published in kube-system/extension-apiserver-authentication is trusted without a
// restart, and trust ends when it is removed.
func TestFrontProxyCARotationWithoutRestart(t *testing.T) {
	admin := framework.Connect(t, "admin")
	ctx := framework.Context(t, 3*time.Minute)
	pid := tritonPID(t)
	url := tritonURL(t) + fmt.Sprintf(releasesPath, "default")
	headers := frontProxy("admin", "", []string{"system:masters"}, nil)

	rotatedCA, rotatedLeaf := newCA(t, "rotated-front-proxy-ca")
	client := direct(t, clientCert(t, rotatedCA, rotatedLeaf, "front-proxy-client"))
	require.Equal(t, http.StatusUnauthorized, call(t, ctx, client, http.MethodGet, url, headers, "").code,
		"a CA nobody published is not trusted")

	configMaps := admin.Kube.CoreV1().ConfigMaps("kube-system")
	original, err := configMaps.Get(ctx, "extension-apiserver-authentication", metav1.GetOptions{})
	require.NoError(t, err)
	setBundle := func(bundle string) {
		framework.WaitUntil(t, ctx, "the front-proxy CA bundle written", func(ctx context.Context) (struct{}, bool, string) {
			cm, err := configMaps.Get(ctx, "extension-apiserver-authentication", metav1.GetOptions{})
			if err != nil {
				return struct{}{}, false, err.Error()
			}
			cm.Data["requestheader-client-ca-file"] = bundle
			_, err = configMaps.Update(ctx, cm, metav1.UpdateOptions{})
			return struct{}{}, err == nil, fmt.Sprint(err)
		}, framework.Within(30*time.Second))
	}
	oldBundle := original.Data["requestheader-client-ca-file"]
	t.Cleanup(func() { setBundle(oldBundle) })
	setBundle(oldBundle + pemOf(rotatedLeaf))

	codeIs := func(want int) func(context.Context) (struct{}, bool, string) {
		return func(ctx context.Context) (struct{}, bool, string) {
			code := call(t, ctx, client, http.MethodGet, url, headers, "").code
			return struct{}{}, code == want, fmt.Sprintf("%d", code)
		}
	}
	framework.WaitUntil(t, ctx, "the rotated CA to be picked up", codeIs(http.StatusOK), framework.Within(time.Minute))
	assert.Equal(t, pid, tritonPID(t), "no restart")
	assert.True(t, alive(pid))
	// The old CA is still trusted alongside (a rotation overlaps).
	realProxy, _ := loadPair(t, "front-proxy-client")
	assert.Equal(t, http.StatusOK, call(t, ctx, direct(t, &realProxy), http.MethodGet, url, headers, "").code)

	setBundle(oldBundle)
	framework.WaitUntil(t, ctx, "the removed CA to be no longer trusted", codeIs(http.StatusUnauthorized), framework.Within(time.Minute))
}

// auditedReviews are the SubjectAccessReviews kube-apiserver's audit log has seen for user.
func auditedReviews(t *testing.T, user string) []sarSpec {
	t.Helper()
	f, err := os.Open(filepath.Join(framework.Local, "logs", "kube-apiserver-audit.log"))
	require.NoError(t, err)
	defer f.Close()
	var found []sarSpec
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 1<<20), 16<<20)
	for scanner.Scan() {
		if !bytes.Contains(scanner.Bytes(), []byte(user)) {
			continue
		}
		var event struct {
			ObjectRef struct {
				Resource string `json:"resource"`
			} `json:"objectRef"`
			User struct {
				Username string `json:"username"`
			} `json:"user"`
			RequestObject struct {
				Spec sarSpec `json:"spec"`
			} `json:"requestObject"`
		}
		if json.Unmarshal(scanner.Bytes(), &event) != nil || event.ObjectRef.Resource != "subjectaccessreviews" {
			continue
		}
		if event.RequestObject.Spec.User == user {
			event.RequestObject.Spec.Requester = event.User.Username
			found = append(found, event.RequestObject.Spec)
		}
	}
	return found
}

type sarSpec struct {
	User               string              `json:"user"`
	UID                string              `json:"uid"`
	Groups             []string            `json:"groups"`
	Extra              map[string][]string `json:"extra"`
	ResourceAttributes struct {
		Namespace   string `json:"namespace"`
		Verb        string `json:"verb"`
		Group       string `json:"group"`
		Resource    string `json:"resource"`
		Subresource string `json:"subresource"`
		Name        string `json:"name"`
	} `json:"resourceAttributes"`
	// Requester is who sent the review (not part of the spec).
	Requester string `json:"-"`
}

const tritonSA = "system:serviceaccount:triton-system:triton-apiserver"

// waitReview waits until triton-apiserver has asked kube-apiserver about user doing verb on resource.
func waitReview(t *testing.T, ctx context.Context, user, verb, resource, subresource string) sarSpec {
	t.Helper()
	return framework.WaitUntil(t, ctx, fmt.Sprintf("a SubjectAccessReview for %s: %s %s/%s in kube-apiserver's audit log", user, verb, resource, subresource),
		func(context.Context) (sarSpec, bool, string) {
			for _, s := range auditedReviews(t, user) {
				a := s.ResourceAttributes
				if s.Requester == tritonSA && a.Verb == verb && a.Resource == resource && a.Subresource == subresource {
					return s, true, ""
				}
			}
			return sarSpec{}, false, ""
		}, framework.Within(30*time.Second))
}

// The caller's user, uid, groups and extra reach both SubjectAccessReviews: the one for the release verb
// and the one for the CloneSet, and group membership is what decides.
func TestCallerIdentityReachesSubjectAccessReviews(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.SmokedCanary())
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx

	suffix := utilrand.String(6)
	user, uid, group := "carol-"+suffix, "uid-"+suffix, "approvers-"+suffix
	_, err := admin.Kube.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "approvers"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "triton-release-approver"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: group}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	waitAllowed(t, ctx, admin, user, []string{group}, ns, "get", "releases.triton.io", "releases")

	proxy, _ := loadPair(t, "front-proxy-client")
	client := direct(t, &proxy)
	headers := frontProxy(user, uid, []string{group}, map[string]string{"Scopes": "ci"})
	next := tritonURL(t) + fmt.Sprintf(releasesPath, ns) + "/nginx-update/next"
	a := call(t, ctx, client, http.MethodPost, next, headers, "{}")
	require.Equal(t, http.StatusForbidden, a.code, a.body)
	assert.Contains(t, statusMessage(t, a.body), fmt.Sprintf(`User %q cannot update resource "clonesets"`, user))

	for _, review := range []sarSpec{
		waitReview(t, ctx, user, "create", "releases", "next"),
		waitReview(t, ctx, user, "update", "clonesets", ""),
	} {
		what := review.ResourceAttributes.Resource
		assert.Equal(t, uid, review.UID, "%s: uid", what)
		assert.Contains(t, review.Groups, group, "%s: groups", what)
		assert.Equal(t, []string{"ci"}, review.Extra["scopes"], "%s: extra", what)
		assert.Equal(t, ns, review.ResourceAttributes.Namespace, "%s: namespace", what)
	}

	// The group gets CloneSet update: the same caller may now move the release.
	grantCloneSetUpdate(t, ctx, admin, ns, []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: group}})
	framework.WaitUntil(t, ctx, "next allowed once the group may update the CloneSet", func(context.Context) (struct{}, bool, string) {
		a := call(t, ctx, client, http.MethodPost, next, headers, "{}")
		return struct{}{}, a.code == http.StatusOK, fmt.Sprintf("%d %s", a.code, a.body)
	}, framework.Every(500*time.Millisecond), framework.Within(time.Minute))

	// Through kube-apiserver, a token user's uid travels too.
	grant(t, ctx, admin, ns, "alice", []string{"triton-release-viewer"}, false)
	_, err = framework.Connect(t, "alice").Releases.ReleasesV1alpha1().Releases(ns).Get(ctx, "nginx-update", metav1.GetOptions{})
	require.NoError(t, err)
	review := waitReview(t, ctx, "alice", "get", "releases", "")
	assert.Equal(t, "alice", review.UID, "the uid from kube-apiserver's token file")
	assert.Contains(t, review.Groups, "system:authenticated")
}

// isRedirect: a 3xx that points elsewhere (304 Not Modified points nowhere).
func isRedirect(code int) bool { return code >= 300 && code < 400 && code != http.StatusNotModified }

// The server never answers with a redirect, on any path, for any caller.
func TestServerNeverRedirects(t *testing.T) {
	ctx := framework.Context(t, 2*time.Minute)
	proxy, _ := loadPair(t, "front-proxy-client")
	client := direct(t, &proxy)
	ns := fmt.Sprintf(releasesPath, "default")
	paths := []string{
		"/", "/apis", "/apis/", "/api", "/version", "/version/", "/openapi/v2", "/openapi/v3", "/openapi/v3/",
		"/debug/pprof", "/debug/pprof/", "/debug/flags", "/metrics", "/healthz", "/healthz/", "/readyz/",
		"//apis", "/apis//releases.triton.io", "/./apis", "/apis/../api", "/apis/releases.triton.io",
		"/apis/releases.triton.io/", "/apis/releases.triton.io/v1alpha1/", ns, ns + "/", ns + "/x", ns + "/x/",
		ns + "/x/next", ns + "/x/next/", ns + "/x/status", "/index.html", "/swaggerapi", "/logs", "/logs/",
	}
	callers := map[string]http.Header{
		"admin": frontProxy("admin", "", []string{"system:masters"}, nil),
		"bob":   frontProxy("bob", "", []string{"system:authenticated"}, nil),
	}
	for who, headers := range callers {
		for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete} {
			for _, path := range paths {
				req, err := http.NewRequestWithContext(ctx, method, tritonURL(t)+path, nil)
				require.NoError(t, err)
				req.Header = headers.Clone()
				resp, err := client.Do(req)
				require.NoError(t, err)
				_ = resp.Body.Close()
				if isRedirect(resp.StatusCode) || resp.Header.Get("Location") != "" {
					t.Errorf("%s %s as %s: %d Location %q", method, path, who, resp.StatusCode, resp.Header.Get("Location"))
				}
			}
		}
	}
	// 304 Not Modified is no redirect: the aggregator fetches our OpenAPI with If-None-Match and must get it.
	for _, path := range []string{"/openapi/v2", "/openapi/v3/apis/releases.triton.io/v1alpha1"} {
		first := call(t, ctx, client, http.MethodGet, tritonURL(t)+path, callers["admin"], "")
		require.Equal(t, http.StatusOK, first.code, path)
		require.NotEmpty(t, first.etag, path)
		headers := callers["admin"].Clone()
		headers.Set("If-None-Match", first.etag)
		again := call(t, ctx, client, http.MethodGet, tritonURL(t)+path, headers, "")
		assert.Equal(t, http.StatusNotModified, again.code, "%s with If-None-Match", path)
	}

	// And through kube-apiserver, as the admin.
	admin := framework.Connect(t, "admin")
	transport, err := rest.TransportFor(admin.Config)
	require.NoError(t, err)
	viaKube := &http.Client{Transport: transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, path := range []string{"/apis/releases.triton.io", "/apis/releases.triton.io/", "/apis/releases.triton.io/v1alpha1/", ns, ns + "/", ns + "/x/next"} {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			a := call(t, ctx, viaKube, method, admin.Config.Host+path, nil, "")
			assert.False(t, isRedirect(a.code) || a.location != "", "via kube-apiserver %s %s: %d %q", method, path, a.code, a.location)
		}
	}
}
