// Package build makes the triton-apiserver image: an empty base, one layer with the binary, a config that
// runs it as user 65532.
package build
