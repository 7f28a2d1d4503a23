package render

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const digest = "sha256:2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"

var deploy = filepath.Join("..", "..", "..", "artifacts", "deploy")

// install.yaml: the real manifests, every triton-apiserver container at the image by digest, nothing
// left at a tag, the header first.
func TestTheInstallManifestPinsTheImageByDigest(t *testing.T) {
	image := "registry.example:5000/triton/triton-apiserver@" + digest
	out, err := Render(Options{Dir: deploy, Image: image, Header: "triton-apiserver v9.9.9\nline two"})
	require.NoError(t, err)
	s := string(out)
	assert.True(t, strings.HasPrefix(s, "# triton-apiserver v9.9.9\n# line two\napiVersion: v1\nkind: Namespace\n"), s[:200])
	assert.Contains(t, s, "image: "+image+"\n")
	assert.NotContains(t, s, "ghcr.io/triton-io/triton-apiserver:", "no tag left")
	assert.Contains(t, s, "kind: APIService")
}

// A component is added; one that does not exist is an error, not a manifest without it.
func TestComponents(t *testing.T) {
	image := "ghcr.io/triton-io/triton-apiserver@" + digest
	out, err := Render(Options{Dir: deploy, Image: image, Components: []string{"high-availability"}})
	require.NoError(t, err)
	assert.Contains(t, string(out), "kind: PodDisruptionBudget")
	assert.Contains(t, string(out), "image: "+image+"\n")

	_, err = Render(Options{Dir: deploy, Image: image, Components: []string{"no-such-component"}})
	assert.ErrorContains(t, err, `component "no-such-component"`)
}

// Only an image by digest: a tag could be moved after the release.
func TestTheImageMustBeADigest(t *testing.T) {
	for _, image := range []string{"ghcr.io/triton-io/triton-apiserver:v0.2.0", "triton-apiserver@" + digest, "ghcr.io/x@sha256:12"} {
		_, err := Render(Options{Dir: deploy, Image: image})
		assert.Error(t, err, image)
	}
}

// A container of the image that the image transformer did not reach (here: named by another tag in a
// resource of its own) fails the render instead of shipping unpinned.
func TestAContainerLeftAtATagFailsTheRender(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644))
	}
	write("kustomization.yaml", "resources:\n- job.yaml\nimages:\n- name: triton-apiserver\n  newName: ghcr.io/triton-io/triton-apiserver\n  newTag: v0.2.0\n")
	write("job.yaml", "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: j\nspec:\n  template:\n    spec:\n"+
		"      containers:\n      - name: a\n        image: triton-apiserver\n"+
		"      initContainers:\n      - name: b\n        image: docker.io/someone/triton-apiserver:latest\n")
	_, err := Render(Options{Dir: dir, Image: "ghcr.io/triton-io/triton-apiserver@" + digest})
	assert.ErrorContains(t, err, "container b runs docker.io/someone/triton-apiserver:latest")
}
