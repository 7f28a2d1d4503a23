package dashboard

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/triton-io/triton/pkg/cli/view"
)

// message is the body of every error of the API.
type message struct {
	Message string `json:"message"`
}

// writeJSON answers v as JSON. The encoder escapes <, > and & too, so that no string of the server's can
// be read as markup even by a careless reader.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// writeMessage answers an error as {"message": ...}, in one printable line: it may quote what a caller
// sent (a name, a reason), and the page may show it anywhere.
func writeMessage(w http.ResponseWriter, code int, text string) {
	writeJSON(w, code, message{Message: cleanLine(text)})
}

// writeError answers an error of the API server with its own status code (404, 403, 409, 422, ...) and
// message; any other error (the cluster out of reach) is a 502: the dashboard itself is fine. The
// cluster's 401 (the kubeconfig's credentials expired or refused) is a 502 too: a 401 from the dashboard
// means the page's token is wrong, which is another matter.
func writeError(w http.ResponseWriter, err error) {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		s := status.Status()
		code := int(s.Code)
		if code < 400 || code > 599 {
			code = http.StatusInternalServerError
		}
		text := s.Message
		if text == "" {
			text = err.Error()
		}
		if code == http.StatusUnauthorized {
			code, text = http.StatusBadGateway, "the cluster did not accept your credentials (401): "+text
		}
		writeMessage(w, code, text)
		return
	}
	writeMessage(w, http.StatusBadGateway, err.Error())
}

// cleanLine is s on one line with every control character and terminal escape made visible.
func cleanLine(s string) string {
	return view.Printable(strings.Join(strings.Fields(s), " "))
}
