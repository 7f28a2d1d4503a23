package failpoint

// Names of the failpoints.
const (
	// ActionAfterReleaseWrite: an action subresource has written the Release (the intent) and not yet
	// the CloneSet.
	ActionAfterReleaseWrite = "action-after-release-write"
)

// EnvVar arms failpoints in a binary built with the tag failpoints: a comma-separated list of names.
const EnvVar = "TRITON_FAILPOINTS"
