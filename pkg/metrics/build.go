package metrics

import (
	"runtime"

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
	buildInfo.WithLabelValues(version.Get(), version.Revision(), runtime.Version()).Set(1)
}
