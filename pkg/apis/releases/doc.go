// +k8s:deepcopy-gen=package
// +groupName=releases.triton.io

// Package releases holds the internal (hub) version of the releases.triton.io API: the form the server
// validates and stores through. Clients use v1alpha1.
package releases
