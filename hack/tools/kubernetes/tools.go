//go:build tools

// Package tools pins the Kubernetes binaries of the local control plane: kube-apiserver,
// kube-controller-manager, kube-scheduler and kubectl, built by hack/build-tools.sh.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
