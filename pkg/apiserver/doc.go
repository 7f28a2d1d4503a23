// Package apiserver assembles triton-apiserver: the scheme of releases.triton.io, its storage in etcd,
// and the generic API server that serves it.
package apiserver
