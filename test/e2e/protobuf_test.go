//go:build e2e

package e2e

// Protobuf on the wire (issue 17): the group speaks protobuf through kube-apiserver as the built-in groups
// do, for reads, lists (also as the metadata-only lists kube-controller-manager asks for) and the verbs'
// bodies; the generated clientset asks for it first.

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/test/e2e/framework"
)

const protobufType = "application/vnd.kubernetes.protobuf"

// protobufMagic begins every Kubernetes protobuf body.
var protobufMagic = []byte("k8s\x00")

func TestTheGroupSpeaksProtobuf(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(2*time.Minute), framework.SmokedCanary())
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	r := s.Release
	scheme := runtime.NewScheme()
	require.NoError(t, v1alpha1.AddToScheme(scheme))
	metav1.AddToGroupVersion(scheme, v1alpha1.SchemeGroupVersion)
	pb := protobuf.NewSerializer(scheme, scheme)
	rest := admin.Releases.ReleasesV1alpha1().RESTClient()
	path := "/apis/releases.triton.io/v1alpha1/namespaces/" + ns + "/releases"

	// A read in protobuf decodes to the release the JSON clients see.
	raw, err := rest.Get().AbsPath(path, r.Name).SetHeader("Accept", protobufType).DoRaw(ctx)
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(raw, protobufMagic), "a protobuf body: %q", raw[:min(len(raw), 16)])
	obj, _, err := pb.Decode(raw, nil, nil)
	require.NoError(t, err)
	got, ok := obj.(*v1alpha1.Release)
	require.True(t, ok, "%T", obj)
	assert.Equal(t, r.Name, got.Name)
	assert.Equal(t, r.Spec.CloneSetName, got.Spec.CloneSetName)
	assert.Equal(t, r.Spec.Template.Spec.Containers[0].Image, got.Spec.Template.Spec.Containers[0].Image)
	assert.Equal(t, len(r.Status.Batches), len(got.Status.Batches))

	// A list, and the metadata-only list kube-controller-manager's namespace controller and garbage
	// collector ask for.
	raw, err = rest.Get().AbsPath(path).SetHeader("Accept", protobufType).DoRaw(ctx)
	require.NoError(t, err)
	obj, _, err = pb.Decode(raw, nil, nil)
	require.NoError(t, err)
	require.Len(t, obj.(*v1alpha1.ReleaseList).Items, 1)
	raw, err = rest.Get().AbsPath(path).
		SetHeader("Accept", protobufType+";as=PartialObjectMetadataList;g=meta.k8s.io;v=v1").DoRaw(ctx)
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(raw, protobufMagic))

	// A verb whose request body and answer are protobuf.
	var body bytes.Buffer
	require.NoError(t, pb.Encode(&v1alpha1.ReleaseRequest{
		TypeMeta:      metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "ReleaseRequest"},
		ExpectedBatch: framework.Int32(1),
	}, &body))
	raw, err = rest.Post().AbsPath(path, r.Name, "next").SetHeader("Content-Type", protobufType).
		SetHeader("Accept", protobufType).Body(body.Bytes()).DoRaw(ctx)
	require.NoError(t, err)
	obj, _, err = pb.Decode(raw, nil, nil)
	require.NoError(t, err)
	moved := obj.(*v1alpha1.Release)
	assert.Equal(t, v1alpha1.BatchBaking, moved.Status.Batches[0].Phase, "next pulled the canary in")

	// The typed clientset asks for protobuf first, and reads the same release.
	typed, err := admin.Releases.ReleasesV1alpha1().Releases(ns).Get(ctx, r.Name, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(1), typed.Status.CurrentBatch)
	assert.NotEqual(t, v1alpha1.BatchSmoked, typed.Status.Batches[0].Phase, "the canary moved on through the protobuf call")
}
