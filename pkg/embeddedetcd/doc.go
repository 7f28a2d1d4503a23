// Package embeddedetcd runs a single-member etcd inside the server process, so that one
// triton-apiserver replica needs no etcd cluster of its own. Its data lives in a directory and
// survives restarts.
package embeddedetcd
