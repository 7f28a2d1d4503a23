package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"

	"github.com/triton-io/triton/test/e2e/roles"
)

const (
	begin = "<!-- role-table:begin -->\n"
	end   = "<!-- role-table:end -->"
)

func main() {
	verify := flag.Bool("verify", false, "fail if the file's table is not the matrix's")
	flag.Parse()
	path := "docs/security.md"
	if flag.NArg() > 0 {
		path = flag.Arg(0)
	}
	if err := run(path, *verify); err != nil {
		fmt.Fprintln(os.Stderr, "role-table:", err)
		os.Exit(1)
	}
}

func run(path string, verify bool) error {
	old, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	i := bytes.Index(old, []byte(begin))
	j := bytes.Index(old, []byte(end))
	if i < 0 || j < i {
		return fmt.Errorf("%s has no %q ... %q markers", path, begin[:len(begin)-1], end)
	}
	updated := append(append(append([]byte{}, old[:i+len(begin)]...), roles.Markdown()...), old[j:]...)
	if bytes.Equal(old, updated) {
		return nil
	}
	if verify {
		return fmt.Errorf("the role table in %s is stale: run `go run ./hack/role-table`", path)
	}
	return os.WriteFile(path, updated, 0o644)
}
