// Package failpoint lets tests crash the server at chosen moments, to prove that a crash anywhere leaves
// Releases and CloneSets able to agree again. Failpoints are armed only by the environment variable
// TRITON_FAILPOINTS (a comma-separated list of names); unset, Crash does nothing.
package failpoint
