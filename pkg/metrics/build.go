package metrics

import (
	"runtime"
	"runtime/debug"

	"k8s.io/component-base/metrics"

	"github.com/triton-io/triton/pkg/version"
)

var buildInfo = metrics.NewGaugeVec(&metrics.GaugeOpts{
	Namespace:      namespace,
	Name:           "build_info",
	Help:           "Always 1; its labels say which triton-apiserver this is: its version, the git commit it was built from (empty when unknown) and the Go version it was built with.",
	StabilityLevel: metrics.ALPHA,
}, []string{"version", "git_commit", "go_version"})

// setBuildInfo sets triton_build_info's one series.
func setBuildInfo() {
	buildInfo.WithLabelValues(version.Get(), gitCommit(), runtime.Version()).Set(1)
}

// gitCommit is the VCS revision the Go toolchain recorded in the binary, with "-dirty" for a modified
// tree; empty when it recorded none (a build outside a git checkout).
func gitCommit() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	revision, dirty := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if revision != "" && dirty {
		revision += "-dirty"
	}
	return revision
}
