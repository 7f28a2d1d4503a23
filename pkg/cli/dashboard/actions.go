package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/cli/verbs"
)

// maxBody bounds a call's body: three small fields.
const maxBody = 64 << 10

// actionBody is the body of POST /api/releases/{namespace}/{name}/{verb}. The preconditions go through to
// the server, which refuses with 409 a call made on a release that moved since the page showed it.
type actionBody struct {
	// ExpectedBatch is the batch the page showed; required for next and promote, so that a stale page
	// can never approve the wrong batch.
	ExpectedBatch *int32 `json:"expectedBatch"`
	// ExpectedPhase is the current batch's phase the page showed (Smoked, Baked, ...); optional.
	ExpectedPhase string `json:"expectedPhase"`
	// Reason goes into the release's history.
	Reason string `json:"reason"`
}

// pageVerbs are the calls the page may make; promote is next to the last batch.
var pageVerbs = map[string]bool{"next": true, "pause": true, "resume": true, "cancel": true, "promote": true}

// act performs a verb on a release and answers the release as the server answered it, or the server's
// refusal with its own status code.
func (s *Server) act(w http.ResponseWriter, r *http.Request) {
	verb := r.PathValue("verb")
	if !pageVerbs[verb] {
		writeMessage(w, http.StatusNotFound, fmt.Sprintf("no such call %q: next, pause, resume, cancel or promote", verb))
		return
	}
	ns, name, ok := s.target(w, r)
	if !ok {
		return
	}
	body, err := decodeBody(w, r)
	if err != nil {
		writeMessage(w, http.StatusBadRequest, "the body: "+err.Error())
		return
	}
	if (verb == "next" || verb == "promote") && body.ExpectedBatch == nil {
		writeMessage(w, http.StatusBadRequest, verb+" needs expectedBatch: the batch the page shows, so that it moves on only that one")
		return
	}
	if body.ExpectedBatch != nil && *body.ExpectedBatch < 0 {
		writeMessage(w, http.StatusBadRequest, "expectedBatch must not be negative")
		return
	}
	req := &v1alpha1.ReleaseRequest{
		ExpectedBatch: body.ExpectedBatch,
		ExpectedPhase: v1alpha1.BatchPhase(body.ExpectedPhase),
		Reason:        body.Reason,
	}
	rel, err := s.call(r.Context(), ns, name, verb, req)
	if err != nil {
		writeError(w, err)
		return
	}
	rel.SetGroupVersionKind(v1alpha1.SchemeGroupVersion.WithKind("Release"))
	writeJSON(w, http.StatusOK, rel)
}

// errNoPlan refuses a promote of a release that has no batches yet: there is no last batch to go to.
var errNoPlan = errors.New("has no batches yet: nothing to promote to")

// call performs verb. promote reads the release first and asks for its last batch; expectedBatch still
// goes with it, so that a release that moved between the read and the call is refused.
func (s *Server) call(ctx context.Context, ns, name, verb string, req *v1alpha1.ReleaseRequest) (*v1alpha1.Release, error) {
	releases := s.client.ReleasesV1alpha1().Releases(ns)
	opts := metav1.CreateOptions{}
	if verb == "promote" {
		rel, err := releases.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		last := int32(len(rel.Status.Batches))
		if last == 0 {
			return nil, apierrors.NewConflict(v1alpha1.Resource("releases"), name, errNoPlan)
		}
		req.ToBatch = &last
		verb = "next"
	}
	return verbs.Call(ctx, releases, verb, name, req, opts)
}

// decodeBody reads the call's body strictly: one JSON object of the known fields, bounded. An empty body
// is an empty object (pause, resume and cancel need nothing).
func decodeBody(w http.ResponseWriter, r *http.Request) (actionBody, error) {
	var body actionBody
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		if errors.Is(err, io.EOF) {
			return actionBody{}, nil
		}
		return actionBody{}, err
	}
	if dec.More() {
		return actionBody{}, errors.New("more than one JSON value")
	}
	return body, nil
}
