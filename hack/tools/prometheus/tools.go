//go:build tools

// Package tools pins Prometheus, which hack/build-tools.sh builds for the local control plane: the
// Prometheus that analysis queries in the test bed.
package tools

import _ "github.com/prometheus/prometheus/cmd/prometheus"
