// Package fuzzer holds the fill functions that make randomly filled releases.triton.io objects fit for the
// round-trip test (internal -> v1alpha1 -> JSON -> v1alpha1 -> internal).
//
// The codec defaults what it decodes, so every field that v1alpha1 defaults must already hold a value the
// defaulting leaves alone; otherwise the object coming back differs from the one that went in. That
// covers the Release's own defaults (strategy, Create's selector) and the k8s.io/api/core/v1 defaults that
// defaulter-gen pulled in for the pod template (port protocol, probe gRPC service, volume sources, env
// file keys). Enums are drawn from their sets and IntOrStrings in the forms the API accepts, so the
// fuzzed objects also look like real ones.
package fuzzer
