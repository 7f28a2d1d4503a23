//go:build tools

// Package tools pins the code generators in go.mod so hack/update-codegen.sh
// runs the same versions on every machine.
package tools

import (
	_ "k8s.io/code-generator"
)
