// Package version is the version of triton-apiserver and kubectl-release, stamped at build time from git
// (`make build`, `make image`: -ldflags "-X github.com/triton-io/triton/pkg/version.version=...").
package version
