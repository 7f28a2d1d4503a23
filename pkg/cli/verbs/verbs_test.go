package verbs

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8stesting "k8s.io/client-go/testing"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/generated/clientset/versioned/fake"
)

// Each verb is the subresource of its name, and nothing else is called.
func TestCallCreatesTheVerbsSubresource(t *testing.T) {
	for _, verb := range []string{"next", "pause", "resume", "cancel"} {
		t.Run(verb, func(t *testing.T) {
			cs := fake.NewSimpleClientset(&v1alpha1.Release{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "web"}})
			cs.ClearActions()
			_, _ = Call(t.Context(), cs.ReleasesV1alpha1().Releases("a"), verb, "web", &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{})
			require.Len(t, cs.Actions(), 1)
			a := cs.Actions()[0]
			assert.Equal(t, "create", a.GetVerb())
			assert.Equal(t, verb, a.GetSubresource())
			assert.Equal(t, "web", a.(k8stesting.CreateActionImpl).Name, "on the release named")
		})
	}
}

func TestCallRefusesAnUnknownVerb(t *testing.T) {
	cs := fake.NewSimpleClientset()
	_, err := Call(t.Context(), cs.ReleasesV1alpha1().Releases("a"), "promote", "web", &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{})
	assert.True(t, errors.Is(err, ErrUnknown), "%v", err)
	assert.Empty(t, cs.Actions())
}
