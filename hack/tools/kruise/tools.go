//go:build tools

// Package tools pins kruise-manager (OpenKruise v1.8.0, the real CloneSet controller and webhooks) for
// the local control plane. Its Kubernetes dependencies are pinned to v0.30.14, the release it builds with.
package tools

import (
	_ "github.com/openkruise/kruise"
)
