// Command image writes an OCI image of triton-apiserver as a tarball, from Go code alone (no Docker, no
// base image): one layer holding the static binary, run as the non-root user 65532 with no shell. The
// tarball is in the `docker save` layout (go-containerregistry's tarball package), which `docker load`,
// `podman load`, `ctr import` and `kind load image-archive` read.
//
//	go run ./hack/image -binary _output/image/triton-apiserver -tag triton-apiserver:v0.1.0 -o triton-apiserver.tar
package main
