// +k8s:openapi-gen=true
// +k8s:deepcopy-gen=package
// +k8s:conversion-gen=github.com/triton-io/triton/pkg/apis/releases
// +k8s:defaulter-gen=TypeMeta
// +groupName=releases.triton.io
// +k8s:openapi-model-package=io.triton.releases.v1alpha1

// Package v1alpha1 is the v1alpha1 version of the releases.triton.io API:
// Releases that move OpenKruise CloneSets batch by batch.
package v1alpha1
