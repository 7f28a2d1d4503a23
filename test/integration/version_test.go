package integration

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/rest"

	"github.com/triton-io/triton/pkg/version"
)

// The server says its version in a header of every answer: the discovery document kubectl release
// version reads, an error, and an answer to a caller it does not know.
func TestEveryAnswerSaysTheServersVersion(t *testing.T) {
	ctx := testContext(t)
	authenticated, err := rest.HTTPClientFor(shared.config)
	require.NoError(t, err)
	anonymous, err := rest.HTTPClientFor(&rest.Config{Host: shared.config.Host, TLSClientConfig: rest.TLSClientConfig{Insecure: true}})
	require.NoError(t, err)
	for _, tc := range []struct {
		client *http.Client
		path   string
		code   int
	}{
		{authenticated, "/apis/releases.triton.io/v1alpha1", http.StatusOK},
		{authenticated, "/apis/releases.triton.io/v1alpha1/namespaces/" + namespace(t) + "/releases/none", http.StatusNotFound},
		{anonymous, "/apis/releases.triton.io/v1alpha1", http.StatusUnauthorized},
	} {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, shared.config.Host+tc.path, nil)
		require.NoError(t, err)
		resp, err := tc.client.Do(req)
		require.NoError(t, err, tc.path)
		require.NoError(t, resp.Body.Close())
		assert.Equal(t, tc.code, resp.StatusCode, tc.path)
		assert.Equal(t, version.Get(), resp.Header.Get(version.Header), "%s: %d", tc.path, tc.code)
	}
}
