//go:build bench

package main

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

// group is the API group the bare server serves the Release kinds under, beside the real
// releases.triton.io: its own APIService can then be registered next to the real one's.
const group = "bare.bench.triton.io"

var (
	version  = schema.GroupVersion{Group: group, Version: "v1alpha1"}
	internal = schema.GroupVersion{Group: group, Version: runtime.APIVersionInternal}

	scheme = runtime.NewScheme()
	codecs = serializer.NewCodecFactory(scheme)
)

// init registers the same Go types as pkg/apis/releases/install (internal and v1alpha1, with v1alpha1's
// generated conversions and defaults), under the bare group.
func init() {
	scheme.AddKnownTypes(internal, &releases.Release{}, &releases.ReleaseList{}, &releases.ReleaseRequest{})
	scheme.AddKnownTypes(version, &v1alpha1.Release{}, &v1alpha1.ReleaseList{}, &v1alpha1.ReleaseRequest{})
	metav1.AddToGroupVersion(scheme, version)
	utilruntime.Must(v1alpha1.RegisterConversions(scheme))
	utilruntime.Must(v1alpha1.RegisterDefaults(scheme))
	utilruntime.Must(scheme.AddFieldLabelConversionFunc(version.WithKind("Release"),
		func(label, value string) (string, string, error) {
			switch label {
			case "metadata.name", "metadata.namespace", "spec.cloneSetName", "status.phase":
				return label, value, nil
			}
			return "", "", fmt.Errorf("field label not supported: %s", label)
		}))
	utilruntime.Must(scheme.SetVersionPriority(version))
	// As pkg/apiserver: the generic server decodes options as an unversioned "v1".
	metav1.AddToGroupVersion(scheme, schema.GroupVersion{Version: "v1"})
	unversioned := schema.GroupVersion{Group: "", Version: "v1"}
	scheme.AddUnversionedTypes(unversioned, &metav1.Status{}, &metav1.APIVersions{}, &metav1.APIGroupList{},
		&metav1.APIGroup{}, &metav1.APIResourceList{})
}
