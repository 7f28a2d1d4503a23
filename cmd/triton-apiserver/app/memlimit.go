package app

import (
	"log/slog"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/go-logr/logr"
	"k8s.io/klog/v2"
)

// memoryLimitRatio is the share of the container's memory limit the Go heap may grow to before the
// collector works harder: the rest is for the embedded etcd's own memory, stacks and the runtime.
const memoryLimitRatio = 0.9

// setMemoryLimit sets the Go runtime's soft memory limit (GOMEMLIMIT) to memoryLimitRatio of the memory
// limit of the container (its cgroup), so that the heap's growth between collections (by default as
// much again as is live) does not carry the server past its limit into an OOM kill. A GOMEMLIMIT set in
// the environment wins; with no limit (outside a container), none is set.
func setMemoryLimit() { setMemoryLimitFrom(memlimit.FromCgroup) }

// setMemoryLimitFrom is setMemoryLimit with the limit from provider.
func setMemoryLimitFrom(provider memlimit.Provider) {
	_, _ = memlimit.Set(
		memlimit.WithRatio(memoryLimitRatio),
		memlimit.WithProvider(provider),
		memlimit.WithLogger(slog.New(logr.ToSlogHandler(klog.Background()))),
	)
}
