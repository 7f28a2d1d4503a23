// Command image makes the OCI image of triton-apiserver from Go code alone (no Docker, no base image):
// one layer holding the static binary, run as the non-root user 65532 with no shell.
//
// With -binary and -tag it writes one platform's image as a tarball in the `docker save` layout
// (go-containerregistry's tarball package), which `docker load`, `podman load`, `ctr import` and
// `kind load image-archive` read (make image):
//
//	go run ./hack/image -binary _output/image/triton-apiserver -tag triton-apiserver:v0.2.0 -o triton-apiserver.tar
//
// image index writes the multi-platform image of a release, an OCI image index of one image per platform,
// as an OCI layout directory tagged with the version, and prints its digest (make release):
//
//	go run ./hack/image index -binary linux/amd64=A -binary linux/arm64=B -version v0.2.0 -layout _output/release/image
//
// image push pushes that index, with every platform's image, to a registry with the credentials of
// `docker login` (or a credential helper), and prints the repository at the digest (make release-push):
//
//	go run ./hack/image push -layout _output/release/image -version v0.2.0 -repository ghcr.io/triton-io/triton-apiserver
package main
