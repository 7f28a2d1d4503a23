package filters

import (
	"net/http"

	"k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/endpoints/responsewriter"
)

// WithActionsAnsweringOK makes the action subresources answer 200, not the 201 that k8s.io/apiserver
// gives every create: a call to releases/{verb} creates nothing, it moves an existing release (as the
// API contract has it: "pause on a paused release is 200 with no change"). isAction says which
// subresources are actions. It must run inside the handler chain, where the RequestInfo is known.
func WithActionsAnsweringOK(handler http.Handler, group, resource string, isAction func(subresource string) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		info, ok := request.RequestInfoFrom(req.Context())
		if ok && info.IsResourceRequest && info.Verb == "create" && info.APIGroup == group &&
			info.Resource == resource && isAction(info.Subresource) {
			w = responsewriter.WrapForHTTP1Or2(&createdAsOK{ResponseWriter: w})
		}
		handler.ServeHTTP(w, req)
	})
}

type createdAsOK struct{ http.ResponseWriter }

var _ responsewriter.UserProvidedDecorator = &createdAsOK{}

func (w *createdAsOK) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *createdAsOK) WriteHeader(code int) {
	if code == http.StatusCreated {
		code = http.StatusOK
	}
	w.ResponseWriter.WriteHeader(code)
}
