//go:build e2e

// Package e2e tests triton-apiserver on the local control plane that hack/local-up.sh brings up: a real
// etcd, kube-apiserver, kube-scheduler, kruise-manager and kwok, with triton-apiserver behind an
// APIService. Run with `make test-e2e`. The tests are written with package framework (test/e2e/framework):
// connect, a namespace of the test's own, CloneSets, releases and the waits.
//
// A test that works only in namespaces of its own and changes nothing shared calls t.Parallel first; one
// that stops or restarts a component of the bed, changes something cluster-wide or measures the bed's
// server must not. The rule in full is in framework's package doc.
package e2e
