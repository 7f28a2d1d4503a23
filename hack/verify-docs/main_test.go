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
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLeftoversAreFound(t *testing.T) {
	for _, line := range []string{
		"after issue 12, the gate moved",
		"Issue #7 collected them",
		"fixed in #123",
		"(#45)",
		"measured in session 12",
		"step 3 of the work",
		"at commit d558b35",
		"see 74da3b14b0c0f658b3bb8d2def5094686d0e9095",
		"the contract in ../shared/design/release-api.md",
	} {
		assert.NotEmpty(t, Leftovers(line), line)
	}
}

func TestLeftoversSparesWhatIsNoHistory(t *testing.T) {
	for _, line := range []string{
		"replicas: 2147483647, 1,334,523 bytes",
		"a word like defaced or accede",
		"kubectl release rollback nginx --to-revision nginx-5d4b9c7f8",
		"[link](#the-verbs) and ## 1. Heading",
		"a session of the shell",
		"step 2: pull it in",
		"sha256 and md5 are names, not hashes",
	} {
		assert.Empty(t, Leftovers(line), line)
	}
}

func TestSlugIsGitHubs(t *testing.T) {
	for heading, slug := range map[string]string{
		"Why Triton, and not OpenKruise Rollouts or Argo Rollouts": "why-triton-and-not-openkruise-rollouts-or-argo-rollouts",
		"Blue/green: `strategy.type: BlueGreen`":                   "bluegreen-strategytype-bluegreen",
		"The resize webhook's caller":                              "the-resize-webhooks-caller",
		"Reliability: what is broken on purpose":                   "reliability-what-is-broken-on-purpose",
		"status cloneset/NAME":                                     "status-clonesetname",
	} {
		assert.Equal(t, slug, Slug(heading))
	}
}

func TestLinksAndAnchorsMustResolve(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "docs"), 0o755))
	write := func(name, text string) {
		require.NoError(t, os.WriteFile(filepath.Join(root, name), []byte(text), 0o644))
	}
	write("LICENSE", "")
	write("docs/a.md", "# A\n\n## The verbs\n\n## The verbs\n\n```\n## not a heading\n```\n")
	write("README.md", strings.Join([]string{
		"[fine](docs/a.md#the-verbs) [second](docs/a.md#the-verbs-1) [file](LICENSE) [web](https://example.com/x)",
		"[missing file](docs/b.md) [missing anchor](docs/a.md#nope) [code](docs/a.md#not-a-heading)",
		"[outside](../shared/x.md)",
		"```", "[in a block](docs/nothing.md)", "```",
	}, "\n"))
	text, err := os.ReadFile(filepath.Join(root, "README.md"))
	require.NoError(t, err)
	problems := strings.Join(Links(root, "README.md", string(text)), "\n")
	assert.Contains(t, problems, "docs/b.md")
	assert.Contains(t, problems, "docs/a.md#nope")
	assert.Contains(t, problems, "docs/a.md#not-a-heading")
	assert.Contains(t, problems, "../shared/x.md")
	assert.NotContains(t, problems, "the-verbs")
	assert.NotContains(t, problems, "nothing.md")
	assert.Equal(t, 4, strings.Count(problems, "\n")+1, problems)
}

func TestReadmeLengthIsChecked(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "docs"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "README.md"), []byte(strings.Repeat("line\n", MaxReadmeLines+1)), 0o644))
	problems, err := Check(root)
	require.NoError(t, err)
	assert.Contains(t, strings.Join(problems, "\n"), "201 lines")
}

// The README's picture of `kubectl release status` is what the plugin prints: a change of the view
// (a column, a hint) fails make verify until the picture is redrawn.
func TestTheReadmesStatusPictureIsThePlugins(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	assert.Empty(t, StatusPicture(string(readme)))
	changed := strings.Replace(string(readme), "PULLED IN", "IN TRAFFIC", 1)
	assert.NotEmpty(t, StatusPicture(changed))
}

// The repository's README.md and docs/ pass: no work-log leftovers, every link resolves.
func TestTheDocsPass(t *testing.T) {
	problems, err := Check("../..")
	require.NoError(t, err)
	assert.Empty(t, problems)
}
