//go:build failpoints

package failpoint

import (
	"os"
	"strings"
	"syscall"

	"k8s.io/klog/v2"
)

// Enabled reports whether this binary has failpoints (built with the tag failpoints).
const Enabled = true

var armed = parse(os.Getenv(EnvVar))

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
