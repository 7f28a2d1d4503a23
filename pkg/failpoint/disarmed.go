//go:build !failpoints

package failpoint

// Enabled reports whether this binary has failpoints (built with the tag failpoints).
const Enabled = false

// Crash does nothing: this binary was built without the tag failpoints, and TRITON_FAILPOINTS is not read.
// The compiler inlines the empty call away.
func Crash(string) {}
