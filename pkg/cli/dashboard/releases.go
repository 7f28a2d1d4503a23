package dashboard

import (
	"context"
	"fmt"
	"net/http"

	"k8s.io/apimachinery/pkg/api/validate/content"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

const (
	// listPage is the size of one List call: no answer of the API server is larger.
	listPage = 500
	// listMost is the most releases the fleet shows; past it the answer says it was cut.
	listMost = 10 * listPage
)

// fleet is the answer of GET /api/releases.
type fleet struct {
	Items []Summary `json:"items"`
	// Truncated is true when there were more than listMost releases: the first listMost are shown.
	Truncated bool `json:"truncated"`
}

// listReleases answers the summaries of the releases the user may list, in the dashboard's namespace or
// in all, the ones awaiting a next call first.
func (s *Server) listReleases(w http.ResponseWriter, r *http.Request) {
	f, err := s.fleet(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, f)
}

// fleet lists the releases page by page, so that no single answer, of the API server's or ours, is
// unbounded.
func (s *Server) fleet(ctx context.Context) (fleet, error) {
	f := fleet{Items: []Summary{}}
	opts := metav1.ListOptions{Limit: listPage}
	for {
		list, err := s.client.ReleasesV1alpha1().Releases(s.namespace).List(ctx, opts)
		if err != nil {
			return fleet{}, err
		}
		for i := range list.Items {
			if len(f.Items) == listMost {
				f.Truncated = true
				break
			}
			f.Items = append(f.Items, summarize(&list.Items[i]))
		}
		if f.Truncated || list.Continue == "" {
			break
		}
		opts.Continue = list.Continue
	}
	sortFleet(f.Items)
	return f, nil
}

// getRelease answers the whole release, as the API server has it.
func (s *Server) getRelease(w http.ResponseWriter, r *http.Request) {
	if rel, ok := s.readRelease(w, r); ok {
		writeJSON(w, http.StatusOK, rel)
	}
}

// readRelease reads the release the request's path names, with its kind, or answers why it cannot.
func (s *Server) readRelease(w http.ResponseWriter, r *http.Request) (*v1alpha1.Release, bool) {
	ns, name, ok := s.target(w, r)
	if !ok {
		return nil, false
	}
	rel, err := s.client.ReleasesV1alpha1().Releases(ns).Get(r.Context(), name, metav1.GetOptions{})
	if err != nil {
		writeError(w, err)
		return nil, false
	}
	// A typed client drops the kind; put it back, so that the answer reads as the API's own.
	rel.SetGroupVersionKind(v1alpha1.SchemeGroupVersion.WithKind("Release"))
	return rel, true
}

// releaseView is the answer of GET /api/releases/{namespace}/{name}/view: a release with what the page
// draws of it.
type releaseView struct {
	Release  *v1alpha1.Release `json:"release"`
	Timeline Timeline          `json:"timeline"`
	Pods     PodMap            `json:"pods"`
}

// viewRelease answers a release with its timeline and the pods of its CloneSet.
func (s *Server) viewRelease(w http.ResponseWriter, r *http.Request) {
	if rel, ok := s.readRelease(w, r); ok {
		writeJSON(w, http.StatusOK, releaseView{Release: rel, Timeline: timeline(rel, s.now()), Pods: podMap(r.Context(), s.pods, rel)})
	}
}

// target is the namespace and name in the request's path. It answers 400 for one that cannot be a
// name, and 404 for a namespace the dashboard does not show.
func (s *Server) target(w http.ResponseWriter, r *http.Request) (string, string, bool) {
	ns, name := r.PathValue("namespace"), r.PathValue("name")
	for _, v := range []string{ns, name} {
		if v == "" || len(content.IsPathSegmentName(v)) > 0 {
			writeMessage(w, http.StatusBadRequest, fmt.Sprintf("%q is not a valid name", v))
			return "", "", false
		}
	}
	if s.namespace != "" && ns != s.namespace {
		writeMessage(w, http.StatusNotFound, fmt.Sprintf("namespace %q is not the dashboard's (%q)", ns, s.namespace))
		return "", "", false
	}
	return ns, name, true
}
