// Package failpoint lets tests crash the server at chosen moments, to prove that a crash anywhere leaves
// Releases and CloneSets able to agree again.
//
// Failpoints exist only in a binary built with the build tag failpoints (make build GOTAGS=failpoints, as
// hack/test-e2e.sh builds the test control plane's server). There they are armed by the environment
// variable TRITON_FAILPOINTS (a comma-separated list of names); unset, Crash does nothing. Without the tag
// (make build, make image, make dist) Crash is an empty function the compiler inlines away, and
// TRITON_FAILPOINTS is never read.
package failpoint
