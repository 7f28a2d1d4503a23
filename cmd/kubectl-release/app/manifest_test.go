package app

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// nginxManifest is a CloneSet manifest as a pipeline renders it, at image.
const nginxManifest = `apiVersion: apps.kruise.io/v1alpha1
kind: CloneSet
metadata:
  name: nginx
  labels: {app: nginx}
spec:
  replicas: 3
  selector:
    matchLabels: {app: nginx}
  template:
    metadata:
      labels: {app: nginx}
      annotations: {build: "1234"}
    spec:
      containers:
      - name: nginx
        image: nginx:1.28
        ports: [{containerPort: 80}]
        resources: {limits: {cpu: 100m, memory: 64Mi}}
        readinessProbe: {httpGet: {path: /, port: 80}, periodSeconds: 5}
  updateStrategy: {type: ReCreate, partition: 1}
`

func TestDecodeCloneSetTakesTheTemplateWhole(t *testing.T) {
	m, err := decodeCloneSet([]byte(nginxManifest))
	require.NoError(t, err)
	assert.Equal(t, "nginx", m.name)
	assert.Empty(t, m.namespace)
	assert.Equal(t, map[string]string{"app": "nginx"}, m.template.Labels)
	assert.Equal(t, map[string]string{"build": "1234"}, m.template.Annotations)
	require.Len(t, m.template.Spec.Containers, 1)
	c := m.template.Spec.Containers[0]
	assert.Equal(t, "nginx:1.28", c.Image)
	assert.Equal(t, int32(80), c.Ports[0].ContainerPort)
	assert.True(t, resource.MustParse("100m").Equal(c.Resources.Limits["cpu"]), "%v", c.Resources.Limits)
	assert.Equal(t, intstr.FromInt32(80), c.ReadinessProbe.HTTPGet.Port)
	assert.Equal(t, int32(5), c.ReadinessProbe.PeriodSeconds)
}

func TestDecodeCloneSetReadsJSON(t *testing.T) {
	m, err := decodeCloneSet([]byte(`{
	"apiVersion": "apps.kruise.io/v1alpha1", "kind": "CloneSet",
	"metadata": {"name": "web", "namespace": "shop"},
	"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "web:2"}]}}}
}`))
	require.NoError(t, err)
	assert.Equal(t, "web", m.name)
	assert.Equal(t, "shop", m.namespace)
	assert.Equal(t, "web:2", m.template.Spec.Containers[0].Image)
}

// A bad file is refused with what is wrong with it.
func TestDecodeCloneSetRefusesBadFiles(t *testing.T) {
	for _, tc := range []struct {
		name, file, err string
	}{
		{"not YAML", "apiVersion: apps.kruise.io/v1alpha1\nkind: CloneSet\n  metadata: [\n", "is not YAML or JSON"},
		{"broken JSON", `{"apiVersion": "apps.kruise.io/v1alpha1", "kind": `, "is not YAML or JSON"},
		{"empty", "", "is empty: want a CloneSet"},
		{"only comments", "# nothing\n---\n", "is empty: want a CloneSet"},
		{"a string", "just some text\n", "is not a manifest: want a CloneSet, found a string"},
		{"a list", "- a\n- b\n", "found a list"},
		{"a Deployment", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: nginx}\nspec: {template: {spec: {containers: [{name: a, image: b}]}}}\n",
			"holds a Deployment of apps/v1: want kind CloneSet, apiVersion apps.kruise.io/v1alpha1"},
		{"another group's CloneSet", "apiVersion: apps/v1\nkind: CloneSet\n", "holds a CloneSet of apps/v1"},
		{"no apiVersion", "kind: CloneSet\nmetadata: {name: nginx}\n", "holds a CloneSet without an apiVersion"},
		{"no kind", "metadata: {name: nginx}\n", "holds no kind"},
		{"a Release", "apiVersion: releases.triton.io/v1alpha1\nkind: Release\nmetadata: {name: x}\n", "holds a Release of releases.triton.io/v1alpha1"},
		{"no template", "apiVersion: apps.kruise.io/v1alpha1\nkind: CloneSet\nmetadata: {name: nginx}\nspec: {replicas: 3}\n", "has no spec.template"},
		{"no spec", "apiVersion: apps.kruise.io/v1alpha1\nkind: CloneSet\nmetadata: {name: nginx}\n", "has no spec.template"},
		{"no containers", "apiVersion: apps.kruise.io/v1alpha1\nkind: CloneSet\nmetadata: {name: nginx}\nspec: {template: {metadata: {labels: {app: nginx}}}}\n", "has a spec.template without containers"},
		{"a misspelt field", "apiVersion: apps.kruise.io/v1alpha1\nkind: CloneSet\nmetadata: {name: nginx}\nspec: {template: {spec: {containers: [{name: nginx, image: nginx:1.28, imagePullPolcy: Always}]}}}\n",
			`has a bad spec.template: unknown field "spec.template.spec.containers[0].imagePullPolcy"`},
		{"a wrong type", "apiVersion: apps.kruise.io/v1alpha1\nkind: CloneSet\nmetadata: {name: nginx}\nspec: {template: {spec: {containers: nginx}}}\n", "has a bad spec.template: spec.template.spec.containers is a string, want []v1.Container"},
		{"two objects", nginxManifest + "---\napiVersion: v1\nkind: Service\nmetadata: {name: nginx}\n", "holds 2 objects: want one CloneSet alone"},
	} {
		_, err := decodeCloneSet([]byte(tc.file))
		require.Error(t, err, tc.name)
		assert.Contains(t, err.Error(), tc.err, tc.name)
	}
}

// Fields outside the template are not read strictly: a newer OpenKruise's fields do not stop a release.
func TestDecodeCloneSetIgnoresWhatItDoesNotUse(t *testing.T) {
	m, err := decodeCloneSet([]byte(nginxManifest + "  someFutureField: {x: 1}\nstatus: {replicas: 3, updateRevision: nginx-abc}\n"))
	require.NoError(t, err)
	assert.Equal(t, "nginx:1.28", m.template.Spec.Containers[0].Image)
}
