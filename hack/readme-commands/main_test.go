package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// repoRoot is the repository's root, from this package's directory (the tests run there).
var repoRoot = func() string {
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	return filepath.Join(wd, "..", "..")
}()

func TestCheckFindsWhatNoLongerExists(t *testing.T) {
	require.NoError(t, os.Chdir(repoRoot))
	readme := "```sh\n" +
		"make up    # fine\n" +
		"make nosuch\n" +
		"kubectl release next nginx-update --expected-batch 1 -o name\n" +
		"kubectl release nxt nginx-update\n" +
		"kubectl release next nginx-update --no-such-flag\n" +
		"kubectl apply -k artifacts/nope\n" +
		"go install github.com/triton-io/triton/cmd/kubectl-nothing@latest\n" +
		"triton-apiserver --cert-secret=x --no-such-flag\n" +
		"```\n```console\n" +
		"$ echo '{\"a\":\n    \"b\"}' > x.json\n" +
		"$ kubectl release status cloneset/nginx -w\n" +
		"not a command\n" +
		"```\n"
	commands := Commands(readme)
	require.Len(t, commands, 10)
	assert.Equal(t, 12, commands[8].Line, "the echo, with its continuation")
	problems := strings.Join(Check(commands, map[string]bool{"up": true}), "\n")
	for _, want := range []string{
		`no make target "nosuch"`,
		"line 5:", // nxt
		"unknown flag: --no-such-flag",
		"artifacts/nope does not exist",
		"no package github.com/triton-io/triton/cmd/kubectl-nothing",
		"line 9:", // triton-apiserver's unknown flag
	} {
		assert.Contains(t, problems, want)
	}
	for _, fine := range []string{"line 2:", "line 4:", "line 12:", "line 14:"} {
		assert.NotContains(t, problems, fine)
	}
}

func TestInlineCommandsAreCheckedByName(t *testing.T) {
	require.NoError(t, os.Chdir(repoRoot))
	doc := "Run `make test`, then `make nosuch`; `kubectl release next NAME --expected-batch N` moves it,\n" +
		"`kubectl release nxt NAME` does not, nor does `kubectl release next NAME --no-such-flag`.\n" +
		"| `kubectl release status NAME -w` | `triton-apiserver --etcd-servers URL` | `triton-apiserver --nope` |\n" +
		"`BENCH=actions make bench` and `make` alone, `kubectl release` alone, `kubectl get pods` are prose.\n" +
		"```text\nkubectl release nxt inside a text block is not checked\n```\n"
	commands := Commands(doc)
	var texts []string
	for _, c := range commands {
		assert.True(t, c.Inline, c.Text)
		texts = append(texts, c.Text)
	}
	assert.Equal(t, []string{"make test", "make nosuch", "kubectl release next NAME --expected-batch N",
		"kubectl release nxt NAME", "kubectl release next NAME --no-such-flag", "kubectl release status NAME -w",
		"triton-apiserver --etcd-servers URL", "triton-apiserver --nope", "BENCH=actions make bench"}, texts)
	problems := strings.Join(Check(commands, map[string]bool{"test": true, "bench": true}), "\n")
	for _, want := range []string{`no make target "nosuch"`, `nxt`, "--no-such-flag", "--nope"} {
		assert.Contains(t, problems, want)
	}
	assert.Len(t, Check(commands, map[string]bool{"test": true, "bench": true}), 4, problems)
}

func TestTheDocsCommandsCheckOut(t *testing.T) {
	require.NoError(t, os.Chdir(repoRoot))
	makefile, err := os.ReadFile("Makefile")
	require.NoError(t, err)
	docs, err := filepath.Glob("docs/*.md")
	require.NoError(t, err)
	total := 0
	for _, path := range append([]string{"README.md"}, docs...) {
		text, err := os.ReadFile(path)
		require.NoError(t, err)
		commands := Commands(string(text))
		total += len(commands)
		assert.Empty(t, Check(commands, Targets(string(makefile))), path)
	}
	assert.Greater(t, total, 50)
}

func TestSplit(t *testing.T) {
	words, err := Split(`kubectl get pods -o custom-columns='NAME:.metadata.name' "a b" c\ d # comment`)
	require.NoError(t, err)
	assert.Equal(t, []string{"kubectl", "get", "pods", "-o", "custom-columns=NAME:.metadata.name", "a b", "c d"}, words)
	_, err = Split(`echo 'open`)
	assert.Error(t, err)
}
