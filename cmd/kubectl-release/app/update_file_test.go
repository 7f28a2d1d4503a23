package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8stesting "k8s.io/client-go/testing"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

// creates are the releases the plugin asked the fake server to create, with their options.
func creates(p *plugin) []k8stesting.CreateActionImpl {
	var out []k8stesting.CreateActionImpl
	for _, a := range p.releases.Actions() {
		if c, ok := a.(k8stesting.CreateActionImpl); ok && a.GetResource().Resource == "releases" && a.GetSubresource() == "" {
			out = append(out, c)
		}
	}
	return out
}

// writeFile writes content into a file of the test's and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	return path
}

func TestUpdateFromAFileReleasesItsTemplateWhole(t *testing.T) {
	file := writeFile(t, "cloneset.yaml", nginxManifest)
	for _, args := range [][]string{
		{"update", "nginx", "-f", file},
		{"update", "-f", file}, // the CloneSet the manifest names
		{"update", "--filename=" + file, "nginx"},
	} {
		p := newPlugin(t)
		code := p.run(append(args, "--mode", "Auto", "--batch-size", "50%", "--canary", "1", "--name", "nginx-v2")...)
		require.Equal(t, ExitOK, code, "%v: %s", args, p.errOut)
		assert.Equal(t, "release.releases.triton.io/nginx-v2 created\nFollow it: kubectl release status nginx-v2 -n shop -w\n", p.out.String(), "%v", args)

		require.Len(t, creates(p), 1, "%v", args)
		c := creates(p)[0]
		assert.Equal(t, "shop", c.GetNamespace())
		assert.Empty(t, c.CreateOptions.DryRun)
		r := c.Object.(*v1alpha1.Release)
		assert.Equal(t, "nginx", r.Spec.CloneSetName)
		assert.Equal(t, v1alpha1.ActionUpdate, r.Spec.Action)
		assert.Equal(t, v1alpha1.ModeAuto, r.Spec.Strategy.Mode)
		assert.Equal(t, int32(1), r.Spec.Strategy.Canary)
		assert.Equal(t, "50%", r.Spec.Strategy.BatchSize.String())
		m, err := decodeCloneSet([]byte(nginxManifest))
		require.NoError(t, err)
		assert.Equal(t, m.template, r.Spec.Template, "the manifest's template, whole")
		assert.Nil(t, r.Spec.Replicas, "the manifest's replicas are not the release's")
	}
}

func TestUpdateFromStdinAndJSON(t *testing.T) {
	p := newPlugin(t)
	p.o.streams.In = strings.NewReader(`{"apiVersion": "apps.kruise.io/v1alpha1", "kind": "CloneSet", "metadata": {"name": "web", "namespace": "other"},
 "spec": {"template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "web:2"}]}}}}`)
	require.Equal(t, ExitOK, p.run("update", "-f", "-", "--name", "web-2"), p.errOut.String())
	require.Len(t, creates(p), 1)
	c := creates(p)[0]
	assert.Equal(t, "other", c.GetNamespace(), "the manifest's namespace, as kubectl apply -f takes it")
	r := c.Object.(*v1alpha1.Release)
	assert.Equal(t, "web", r.Spec.CloneSetName)
	assert.Equal(t, []corev1.Container{{Name: "web", Image: "web:2"}}, r.Spec.Template.Spec.Containers)
	assert.Contains(t, p.out.String(), "kubectl release status web-2 -n other -w")
}

func TestUpdateFromAFileDryRunShowsThePlan(t *testing.T) {
	file := writeFile(t, "cloneset.yaml", nginxManifest)
	p := newPlugin(t)
	require.Equal(t, ExitOK, p.run("update", "nginx", "-f", file, "--canary", "1", "--name", "nginx-v2", "--dry-run=server"), p.errOut.String())
	require.Len(t, creates(p), 1)
	assert.Equal(t, []string{metav1.DryRunAll}, creates(p)[0].CreateOptions.DryRun)
	assert.Contains(t, p.out.String(), "Nothing was created: this is the server's plan (dry run).")
}

// Every mistake in the file or the flags is refused with exit 2, before anything is sent.
func TestUpdateFromAFileRefusesMistakesBeforeSending(t *testing.T) {
	good := writeFile(t, "cloneset.yaml", nginxManifest)
	inShop := writeFile(t, "shop.yaml", strings.Replace(nginxManifest, "  name: nginx\n", "  name: nginx\n  namespace: shop\n", 1))
	inOther := writeFile(t, "other.yaml", strings.Replace(nginxManifest, "  name: nginx\n", "  name: nginx\n  namespace: other\n", 1))
	unnamed := writeFile(t, "unnamed.yaml", strings.Replace(nginxManifest, "  name: nginx\n", "", 1))
	deployment := writeFile(t, "deployment.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: nginx}\nspec: {template: {spec: {containers: [{name: nginx, image: nginx:1.28}]}}}\n")
	noTemplate := writeFile(t, "empty.yaml", "apiVersion: apps.kruise.io/v1alpha1\nkind: CloneSet\nmetadata: {name: nginx}\nspec: {replicas: 3}\n")
	notYAML := writeFile(t, "broken.yaml", "kind: CloneSet\n  spec: [\n")
	for _, tc := range []struct {
		name string
		args []string
		err  string
	}{
		{"a name that is not the manifest's", []string{"update", "web", "-f", good}, "CLONESET is web but " + good + " is CloneSet nginx: they must be the same"},
		{"-f and --image", []string{"update", "nginx", "-f", good, "--image", "nginx=nginx:1.29"}, "--image and -f exclude each other"},
		{"no name anywhere", []string{"update", "-f", unnamed}, unnamed + " has no metadata.name: name the CloneSet"},
		{"a Deployment", []string{"update", "nginx", "-f", deployment}, deployment + " holds a Deployment of apps/v1: want kind CloneSet, apiVersion apps.kruise.io/v1alpha1"},
		{"no template", []string{"update", "nginx", "-f", noTemplate}, noTemplate + " has no spec.template"},
		{"not YAML", []string{"update", "nginx", "-f", notYAML}, notYAML + " is not YAML or JSON"},
		{"no such file", []string{"update", "nginx", "-f", filepath.Join(t.TempDir(), "missing.yaml")}, "missing.yaml: no such file"},
		{"-n against the manifest", []string{"-n", "shop", "update", "nginx", "-f", inOther}, inOther + " names namespace other but -n says shop"},
		{"a bad strategy flag", []string{"update", "-f", good, "--mode", "Sometimes"}, "--mode must be Manual or Auto"},
		{"--wait with a dry run", []string{"update", "-f", good, "--wait", "--dry-run=server"}, "--wait and --dry-run=server exclude each other"},
		{"--timeout without --wait", []string{"update", "-f", good, "--timeout", "1m"}, "--timeout limits a wait: give --wait too"},
		{"a negative --timeout", []string{"update", "-f", good, "--wait", "--timeout", "-1s"}, "--timeout must not be negative"},
		{"neither --image nor -f", []string{"update", "nginx"}, "update needs at least one --image CONTAINER=IMAGE, or -f CLONESET.yaml"},
		{"nothing at all", []string{"update"}, "update needs a CLONESET and --image CONTAINER=IMAGE, or -f CLONESET.yaml"},
		{"two CloneSets", []string{"update", "nginx", "web", "-f", good}, "accepts at most 1 arg"},
	} {
		p := newPlugin(t)
		assert.Equal(t, ExitUsage, p.run(tc.args...), "%s: %s", tc.name, p.errOut)
		assert.Contains(t, p.errOut.String(), tc.err, tc.name)
		assert.Equal(t, 1, strings.Count(p.errOut.String(), "\n"), "%s: one line: %q", tc.name, p.errOut)
		assert.Empty(t, p.releases.Actions(), "%s: nothing sent", tc.name)
		assert.Empty(t, p.kruise.Actions(), "%s: nothing sent", tc.name)
		assert.Empty(t, p.out.String(), tc.name)
	}
	// The same namespace in the manifest and -n is no conflict.
	p := newPlugin(t)
	require.Equal(t, ExitOK, p.run("-n", "shop", "update", "-f", inShop, "--name", "x"), p.errOut.String())
}
