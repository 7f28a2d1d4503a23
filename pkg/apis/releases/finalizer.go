package releases

// CleanupFinalizer is on every admitted Release: deleting the release leaves its CloneSet sound first. A
// running release is canceled (as `cancel` does), and the finalizer goes once the CloneSet no longer
// carries the release's annotation, hooks, pause or pinned partition.
const CleanupFinalizer = "releases.triton.io/cloneset-cleanup"
