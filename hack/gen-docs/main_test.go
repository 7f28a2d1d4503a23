/*
Copyright The Triton Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The reference depends on the code alone: not on the home directory, the environment or the run.
func TestTheReferenceIsDeterministic(t *testing.T) {
	first, err := Generate()
	require.NoError(t, err)
	t.Setenv("HOME", t.TempDir())
	t.Setenv("TRITON_SECURE_PORT", "9443")
	t.Setenv("POD_NAMESPACE", "elsewhere")
	second, err := Generate()
	require.NoError(t, err)
	require.Equal(t, len(first), len(second))
	for name, page := range first {
		assert.True(t, bytes.Equal(page, second[name]), "%s differs between runs", name)
		assert.NotContains(t, string(page), os.Getenv("HOME"), name)
	}
}

func TestTheAPIReferenceHasEveryTypeAndField(t *testing.T) {
	api, err := APIReference()
	require.NoError(t, err)
	text := string(api)
	for _, want := range []string{
		"## Release\n", "## ReleaseSpec\n", "## ReleaseStrategy\n", "## BlueGreenStrategy\n", "## ReleaseStatus\n",
		"## ReleaseBatch\n", "## BatchPod\n", "## CloneSetObservation\n", "## ReleaseHistoryEntry\n",
		"## ReleaseList\n", "## ReleaseRequest\n",
		"## ReleaseAnalysis\n", "## AnalysisCheck\n", "## AnalysisStatus\n", "## Measurement\n",
		"## AnalysisTemplate\n", "## AnalysisTemplateSpec\n", "## AnalysisTemplateList\n",
		"| `analysisChecks` | [][AnalysisCheck](#analysischeck) |",
		"| `cloneSetName` (required) | string |", "| `strategy` | [ReleaseStrategy](#releasestrategy) |",
		"| `batchSize` | integer or string |", "| `template` | `PodTemplateSpec` (core/v1) |",
		"| `expectedBatch` | integer (int32) |", "`Smoked`: all its pods are ContainersReady",
	} {
		assert.Contains(t, text, want)
	}
	assert.Less(t, strings.Index(text, "## ReleaseSpec\n"), strings.Index(text, "## ReleaseStatus\n"), "Go's field order")
}

func TestTheCLIReferenceHasEveryCommand(t *testing.T) {
	files, err := Generate()
	require.NoError(t, err)
	for _, name := range []string{"kubectl_release.md", "kubectl_release_next.md", "kubectl_release_status.md",
		"kubectl_release_update.md", "kubectl_release_completion.md", "triton-apiserver.md", "README.md"} {
		assert.Contains(t, files, cliDir+"/"+name)
	}
	assert.NotContains(t, files, cliDir+"/kubectl_release_help.md", "cobra's help command is not documented")
	next := string(files[cliDir+"/kubectl_release_next.md"])
	assert.Contains(t, next, "--expected-batch int32")
	assert.Contains(t, next, "## Options inherited from parent commands")
	assert.Contains(t, next, "[kubectl release](kubectl_release.md)")
	assert.Contains(t, string(files[cliDir+"/triton-apiserver.md"]), "--etcd-servers")
}

// -verify fails on a stale page and on a page no command makes; without it, both are put right.
func TestVerifyFindsStalePages(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, run(root, false))
	require.NoError(t, run(root, true))
	page := filepath.Join(root, cliDir, "kubectl_release_next.md")
	require.NoError(t, os.WriteFile(page, []byte("edited by hand\n"), 0o644))
	extra := filepath.Join(root, cliDir, "kubectl_release_gone.md")
	require.NoError(t, os.WriteFile(extra, []byte("a removed command\n"), 0o644))
	err := run(root, true)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "kubectl_release_next.md")
	assert.Contains(t, err.Error(), "kubectl_release_gone.md")
	require.NoError(t, run(root, false))
	require.NoError(t, run(root, true))
	assert.NoFileExists(t, extra)
}
