package version

import "testing"

func TestGet(t *testing.T) {
	defer func(v string) { version = v }(version)
	version = "v1.2.3"
	if got := Get(); got != "v1.2.3" {
		t.Fatalf("a stamped version: got %q", got)
	}
	version = ""
	if got := Get(); got == "" {
		t.Fatal("no stamp: Get must still say something (the module version, the VCS revision, or dev)")
	}
}
