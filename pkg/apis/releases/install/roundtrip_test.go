package install

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/apitesting/roundtrip"

	"github.com/triton-io/triton/pkg/apis/releases/fuzzer"
)

// TestRoundTripTypes fills internal objects at random, converts them to v1alpha1, encodes them as JSON and
// back (defaulting on decode, as the server does) and expects the same object.
func TestRoundTripTypes(t *testing.T) {
	roundtrip.RoundTripTestForAPIGroup(t, Install, fuzzer.Funcs)
}

// TestRoundTripProtobuf does the same through protobuf, as the server and the clientset speak it: every
// field of every kind survives the trip (a field go-to-protobuf missed would not).
func TestRoundTripProtobuf(t *testing.T) {
	roundtrip.RoundTripProtobufTestForAPIGroup(t, Install, fuzzer.Funcs)
}
