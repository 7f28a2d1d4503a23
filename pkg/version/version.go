package version

import (
	"runtime/debug"
	"strings"
)

// version is set by the linker; empty in a plain `go build` or `go install`.
var version string

// Get is the stamped version; without one, the module version `go install ...@v1.2.3` records, else the
// VCS revision the Go toolchain records, else "dev".
func Get() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	revision := Revision()
	if revision == "" {
		return "dev"
	}
	short, dirty := strings.CutSuffix(revision, "-dirty")
	if len(short) > 12 {
		short = short[:12]
	}
	if dirty {
		short += "-dirty"
	}
	return short
}

// Revision is the VCS revision the Go toolchain recorded in the binary, with "-dirty" for a modified
// tree; empty when it recorded none (a build outside a git checkout, or with -buildvcs=false).
func Revision() string {
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

// Header is the HTTP response header in which triton-apiserver says its version (Get) on every answer,
// which kube-apiserver passes on from behind its APIService: `kubectl release version` reads it.
const Header = "Triton-Version"
