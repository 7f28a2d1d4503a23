package main

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

// The krew manifest template (artifacts/krew/release.yaml) that hack/dist.sh fills in: a Plugin named
// release, with the four platforms dist.sh builds, each pointing at its archive on the GitHub release.
func TestKrewManifestTemplate(t *testing.T) {
	raw, err := os.ReadFile("../../artifacts/krew/release.yaml")
	require.NoError(t, err)
	var manifest struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name string `json:"name"`
		} `json:"metadata"`
		Spec struct {
			Version          string `json:"version"`
			Homepage         string `json:"homepage"`
			ShortDescription string `json:"shortDescription"`
			Description      string `json:"description"`
			Caveats          string `json:"caveats"`
			Platforms        []struct {
				Selector struct {
					MatchLabels map[string]string `json:"matchLabels"`
				} `json:"selector"`
				URI    string `json:"uri"`
				SHA256 string `json:"sha256"`
				Bin    string `json:"bin"`
			} `json:"platforms"`
		} `json:"spec"`
	}
	require.NoError(t, yaml.UnmarshalStrict(raw, &manifest))
	assert.Equal(t, "krew.googlecontainertools.github.com/v1alpha2", manifest.APIVersion)
	assert.Equal(t, "Plugin", manifest.Kind)
	assert.Equal(t, "release", manifest.Metadata.Name)
	assert.Equal(t, "${VERSION}", manifest.Spec.Version)
	assert.NotEmpty(t, manifest.Spec.ShortDescription)

	var platforms []string
	for _, p := range manifest.Spec.Platforms {
		os, arch := p.Selector.MatchLabels["os"], p.Selector.MatchLabels["arch"]
		platforms = append(platforms, os+"/"+arch)
		assert.Equal(t, fmt.Sprintf("https://github.com/triton-io/triton/releases/download/${VERSION}/kubectl-release_${VERSION}_%s_%s.tar.gz", os, arch), p.URI)
		assert.Equal(t, fmt.Sprintf("${SHA256_%s_%s}", os, arch), p.SHA256)
		assert.Equal(t, "kubectl-release", p.Bin)
	}
	assert.Equal(t, []string{"linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64"}, platforms)

	script, err := os.ReadFile("../../hack/dist.sh")
	require.NoError(t, err)
	assert.Contains(t, string(script), "PLATFORMS=("+strings.Join(platforms, " ")+")", "dist.sh builds what the manifest lists")
}
