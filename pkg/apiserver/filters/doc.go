// Package filters holds what triton-apiserver adds to k8s.io/apiserver's handler chain and
// authenticator to harden it as an aggregated API server.
package filters
