package install

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/apitesting/roundtrip"

	"github.com/triton-io/triton/pkg/apis/releases/fuzzer"
)

// TestRoundTripTypes fills internal objects at random, converts them to v1alpha1, encodes them as JSON and
// back (defaulting on decode, as the server does) and expects the same object. There is no protobuf
// generated for this group, so only JSON is tested.
func TestRoundTripTypes(t *testing.T) {
	roundtrip.RoundTripTestForAPIGroup(t, Install, fuzzer.Funcs)
}
