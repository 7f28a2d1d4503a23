package failpoint

import (
	"os"
	"strings"
	"syscall"

	"k8s.io/klog/v2"
)

// Names of the failpoints.
const (
	// ActionAfterReleaseWrite: an action subresource has written the Release (the intent) and not yet
	// the CloneSet.
	ActionAfterReleaseWrite = "action-after-release-write"
)

var armed = parse(os.Getenv("TRITON_FAILPOINTS"))

func parse(v string) map[string]bool {
	out := map[string]bool{}
	for _, name := range strings.Split(v, ",") {
		if name = strings.TrimSpace(name); name != "" {
			out[name] = true
		}
	}
	return out
}

// Crash kills the process at once, as SIGKILL would, when the failpoint name is armed.
func Crash(name string) {
	if !armed[name] {
		return
	}
	klog.ErrorS(nil, "Failpoint: crashing", "failpoint", name)
	klog.Flush()
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // never returns
}
