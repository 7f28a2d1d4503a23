package main

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckFindsWhatNoLongerExists(t *testing.T) {
	require.NoError(t, os.Chdir("../.."))
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

func TestTheREADMEsCommandsCheckOut(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	makefile, err := os.ReadFile("Makefile")
	require.NoError(t, err)
	commands := Commands(string(readme))
	assert.Greater(t, len(commands), 50)
	assert.Empty(t, Check(commands, Targets(string(makefile))))
}

func TestSplit(t *testing.T) {
	words, err := Split(`kubectl get pods -o custom-columns='NAME:.metadata.name' "a b" c\ d # comment`)
	require.NoError(t, err)
	assert.Equal(t, []string{"kubectl", "get", "pods", "-o", "custom-columns=NAME:.metadata.name", "a b", "c d"}, words)
	_, err = Split(`echo 'open`)
	assert.Error(t, err)
}
