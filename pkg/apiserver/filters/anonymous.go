package filters

import (
	"net/http"

	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"
)

// HealthPaths are the paths an unauthenticated caller (a kubelet's probe) may reach.
var HealthPaths = []string{"/healthz", "/livez", "/readyz"}

// AnonymousOnlyFor keeps anonymous access to the given paths only: a request anywhere else that
// carries neither a front-proxy certificate, a client certificate nor a token is not authenticated,
// and so answered 401. k8s.io/apiserver v0.37's delegated authentication always adds an anonymous
// authenticator for every path (it ignores AnonymousAuthConfig's conditions), so this narrows its
// answer instead. Callers that kube-apiserver let through as system:anonymous come with the front
// proxy's certificate and are not affected.
func AnonymousOnlyFor(inner authenticator.Request, paths ...string) authenticator.Request {
	allowed := make(map[string]bool, len(paths))
	for _, p := range paths {
		allowed[p] = true
	}
	return authenticator.RequestFunc(func(req *http.Request) (*authenticator.Response, bool, error) {
		resp, ok, err := inner.AuthenticateRequest(req)
		if ok && resp != nil && resp.User != nil && resp.User.GetName() == user.Anonymous &&
			!allowed[req.URL.Path] && !presentedCertificate(req) {
			return nil, false, nil
		}
		return resp, ok, err
	})
}

// presentedCertificate reports whether the caller showed a client certificate. Had it not verified, the
// authenticator would have failed; so an anonymous user with a certificate is kube-apiserver's front
// proxy vouching for system:anonymous, which is kube-apiserver's call to make.
func presentedCertificate(req *http.Request) bool {
	return req.TLS != nil && len(req.TLS.PeerCertificates) > 0
}
