package deploy

// Users' kustomize overlays: a `namespace:` of their own is followed everywhere the manifests name the
// namespace, and the components patch the Deployment by name, so they hold when an overlay adds or
// reorders flags, containers or volumes.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/cel/environment"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// testNamespace is the namespace of the overlays below.
const testNamespace = "triton-test-ns"

// combinations are the base and the components, alone and together, as users combine them.
var combinations = map[string][]string{
	"base":                              nil,
	"high-availability":                 {"high-availability"},
	"own-certificate":                   {"own-certificate"},
	"cert-manager":                      {"cert-manager"},
	"cert-manager+high-availability":    {"cert-manager", "high-availability"},
	"own-certificate+high-availability": {"own-certificate", "high-availability"},
}

// clusterScoped are the kinds of the manifests that have no namespace.
var clusterScoped = []string{"Namespace", "ClusterRole", "ClusterRoleBinding", "APIService", "MutatingWebhookConfiguration",
	"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding"}

// overlay is a kustomization of a user's: the deploy directory as a resource (or the layer under it,
// from), with components and a namespace ("": none) and the extra lines given.
func overlay(from, namespace string, components []string, extra string) string {
	k := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- " + from + "\n"
	if namespace != "" {
		k += "namespace: " + namespace + "\n"
	}
	if len(components) > 0 {
		k += "components:\n"
		for _, c := range components {
			k += "- ../deploy/components/" + c + "\n"
		}
	}
	return k + extra
}

// build renders kustomizations (directory name to kustomization.yaml, next to a copy of this directory
// as /deploy) as `kubectl apply -k` renders the last, /<top>, does, and returns the objects.
func build(t *testing.T, top string, kustomizations map[string]string) []*unstructured.Unstructured {
	t.Helper()
	here, err := filepath.Abs(".")
	require.NoError(t, err)
	fs := filesys.MakeFsInMemory()
	require.NoError(t, copyDir(fs, here, "/deploy"))
	for dir, k := range kustomizations {
		require.NoError(t, fs.MkdirAll("/"+dir))
		require.NoError(t, fs.WriteFile("/"+dir+"/kustomization.yaml", []byte(k)))
	}
	resources, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fs, "/"+top)
	require.NoError(t, err)
	var objects []*unstructured.Unstructured
	for _, r := range resources.Resources() {
		m, err := r.Map()
		require.NoError(t, err)
		objects = append(objects, &unstructured.Unstructured{Object: m})
	}
	return objects
}

func find(t *testing.T, objects []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objects {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	t.Fatalf("no %s %s", kind, name)
	return nil
}

func into(t *testing.T, o *unstructured.Unstructured, typed any) {
	t.Helper()
	raw, err := json.Marshal(o.Object)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, typed))
}

// TestANamespaceOverrideIsFollowedEverywhere renders the base and the components under an overlay's
// `namespace: triton-test-ns`: no object or string names triton-system any more, each reference to the
// server's Service, service account and certificate names the new namespace, and kruise's own service
// account (kruise-system) is left as it is.
func TestANamespaceOverrideIsFollowedEverywhere(t *testing.T) {
	for name, components := range combinations {
		for _, namespace := range []string{testNamespace, ""} {
			want := namespace
			if want == "" {
				want = "triton-system"
			}
			t.Run(name+" in "+want, func(t *testing.T) {
				objects := build(t, "overlay", map[string]string{"overlay": overlay("../deploy", namespace, components, "")})
				checkNamespace(t, objects, want, components)
			})
		}
	}
}

func checkNamespace(t *testing.T, objects []*unstructured.Unstructured, want string, components []string) {
	t.Helper()
	all, err := yaml.Marshal(func() []map[string]any {
		var out []map[string]any
		for _, o := range objects {
			out = append(out, o.Object)
		}
		return out
	}())
	require.NoError(t, err)
	text := string(all)
	if want != "triton-system" {
		assert.NotContains(t, text, "triton-system", "an object still names triton-system")
	}
	assert.NotContains(t, text, "$(", "a kustomize var left unresolved")
	assert.Contains(t, text, "system:serviceaccount:kruise-system:kruise-manager", "kruise's own account stays")

	roles := map[string]bool{}
	for _, o := range objects {
		if o.GetKind() == "Role" {
			roles[o.GetNamespace()+"/"+o.GetName()] = true
		}
	}
	for _, o := range objects {
		id := o.GetKind() + " " + o.GetName()
		if slices.Contains(clusterScoped, o.GetKind()) {
			if o.GetKind() == "Namespace" {
				assert.Equal(t, want, o.GetName())
			}
		} else {
			assert.Equal(t, want, o.GetNamespace(), id)
		}
		switch o.GetKind() {
		case "RoleBinding", "ClusterRoleBinding":
			var b rbacv1.RoleBinding
			into(t, o, &b)
			for _, s := range b.Subjects {
				if s.Kind == "ServiceAccount" {
					assert.Equal(t, want, s.Namespace, "%s: its subject %s", id, s.Name)
				}
			}
			// A RoleBinding grants its Role's rights in its own namespace: one the overlay moved away from
			// its Role (kube-system's, say) would grant nothing.
			if b.RoleRef.Kind == "Role" {
				assert.True(t, roles[b.Namespace+"/"+b.RoleRef.Name], "%s: its Role %s is not in %s", id, b.RoleRef.Name, b.Namespace)
			}
		case "APIService":
			ns, _, _ := unstructured.NestedString(o.Object, "spec", "service", "namespace")
			assert.Equal(t, want, ns, id)
		case "MutatingWebhookConfiguration":
			var c admissionregistrationv1.MutatingWebhookConfiguration
			into(t, o, &c)
			for _, w := range c.Webhooks {
				assert.Equal(t, want, w.ClientConfig.Service.Namespace, "%s: %s", id, w.Name)
			}
		case "Deployment":
			var d appsv1.Deployment
			into(t, o, &d)
			env := d.Spec.Template.Spec.Containers[0].Env
			i := slices.IndexFunc(env, func(e corev1.EnvVar) bool { return e.Name == "POD_NAMESPACE" })
			require.GreaterOrEqual(t, i, 0, "POD_NAMESPACE")
			assert.Equal(t, "metadata.namespace", env[i].ValueFrom.FieldRef.FieldPath)
		}
	}
	if slices.Contains(components, "cert-manager") {
		cert := find(t, objects, "Certificate", "triton-apiserver")
		dnsNames, _, _ := unstructured.NestedStringSlice(cert.Object, "spec", "dnsNames")
		// The bare name is the monitoring component's serverName, the same in every namespace.
		assert.Equal(t, []string{"triton-apiserver", "triton-apiserver." + want + ".svc", "triton-apiserver." + want + ".svc.cluster.local"}, dnsNames)
		for _, kind := range []string{"APIService", "MutatingWebhookConfiguration"} {
			for _, o := range objects {
				if o.GetKind() == kind {
					assert.Equal(t, want+"/triton-apiserver", o.GetAnnotations()["cert-manager.io/inject-ca-from"], "%s %s", kind, o.GetName())
				}
			}
		}
	}
}

// The components patch the Deployment with strategic-merge patches only (containers, env and volumes by
// name): no JSON patch, whose array indexes point at another flag or volume once an overlay adds one.
func TestTheComponentsHaveNoJSONPatches(t *testing.T) {
	dirs, err := filepath.Glob("components/*/kustomization.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, dirs)
	for _, file := range dirs {
		raw, err := os.ReadFile(file)
		require.NoError(t, err)
		var k struct {
			Patches []struct {
				Path  string `json:"path"`
				Patch string `json:"patch"`
			} `json:"patches"`
			PatchesJSON6902 []any `json:"patchesJson6902"`
		}
		require.NoError(t, yaml.Unmarshal(raw, &k), file)
		assert.Empty(t, k.PatchesJSON6902, file)
		for i, p := range k.Patches {
			body := []byte(p.Patch)
			if p.Path != "" {
				body, err = os.ReadFile(filepath.Join(filepath.Dir(file), p.Path))
				require.NoError(t, err)
			}
			var anything any
			require.NoError(t, yaml.Unmarshal(body, &anything), "%s: patch %d", file, i)
			_, isList := anything.([]any)
			assert.False(t, isList, "%s: patch %d is a JSON patch", file, i)
		}
	}
}

// A user's overlay that puts a sidecar, an environment variable and a volume before the server's, and a
// flag of its own, under the components (in a layer above it): each component still patches the
// server's container, flags and volumes, and leaves the user's alone.
func TestTheComponentsHoldUnderAnOverlayThatReorders(t *testing.T) {
	userLayer := overlay("../deploy", "", nil, `patches:
- target:
    kind: Deployment
    name: triton-apiserver
  patch: |-
    - op: add
      path: /spec/template/spec/containers/0
      value: {name: sidecar, image: sidecar:1, env: [{name: TRITON_ETCD_SERVERS, value: not-the-server}]}
    - op: add
      path: /spec/template/spec/containers/1/env/0
      value: {name: TRITON_KUBE_API_QPS, value: "50"}
    - op: add
      path: /spec/template/spec/volumes/0
      value: {name: scratch, emptyDir: {}}
    - op: add
      path: /spec/template/spec/containers/1/volumeMounts/0
      value: {name: scratch, mountPath: /scratch}
`)
	for _, components := range [][]string{{"high-availability"}, {"own-certificate"}, {"cert-manager", "high-availability"}} {
		t.Run(strings.Join(components, "+"), func(t *testing.T) {
			objects := build(t, "top", map[string]string{
				"user": userLayer,
				"top":  overlay("../user", testNamespace, components, ""),
			})
			var d appsv1.Deployment
			into(t, find(t, objects, "Deployment", "triton-apiserver"), &d)
			spec := d.Spec.Template.Spec
			require.Len(t, spec.Containers, 2)
			container := func(name string) corev1.Container {
				i := slices.IndexFunc(spec.Containers, func(c corev1.Container) bool { return c.Name == name })
				require.GreaterOrEqual(t, i, 0, name)
				return spec.Containers[i]
			}
			sidecar, server := container("sidecar"), container("triton-apiserver")
			assert.Equal(t, []corev1.EnvVar{{Name: "TRITON_ETCD_SERVERS", Value: "not-the-server"}}, sidecar.Env, "the sidecar is left alone")
			assert.Equal(t, "triton-apiserver", d.Spec.Template.Annotations["kubectl.kubernetes.io/default-container"],
				"kubectl logs and exec find the server whatever the containers' order")
			env := map[string]string{}
			for _, e := range server.Env {
				env[e.Name] = e.Value
			}
			mounts := map[string]string{}
			for _, m := range server.VolumeMounts {
				mounts[m.Name] = m.MountPath
			}
			volumes := map[string]bool{}
			for _, v := range spec.Volumes {
				volumes[v.Name] = true
			}
			assert.Equal(t, "50", env["TRITON_KUBE_API_QPS"], "the user's flag stays")
			assert.Equal(t, "/scratch", mounts["scratch"], "the user's mount stays")
			assert.True(t, volumes["scratch"], "the user's volume stays")
			assert.Equal(t, "8443", env["TRITON_SECURE_PORT"])
			for m := range mounts {
				assert.True(t, volumes[m], "the mount %s has its volume", m)
			}
			if slices.Contains(components, "high-availability") {
				assert.Equal(t, int32(2), *d.Spec.Replicas)
				assert.Equal(t, "https://etcd.example:2379", env["TRITON_ETCD_SERVERS"])
				assert.NotContains(t, env, "TRITON_ETCD_DATA_DIR")
				assert.NotContains(t, mounts, "etcd")
				assert.False(t, volumes["etcd"])
				assert.Equal(t, int32(24), server.StartupProbe.FailureThreshold)
			} else {
				assert.Equal(t, "/var/lib/triton-apiserver/etcd", env["TRITON_ETCD_DATA_DIR"])
				assert.Equal(t, "/var/lib/triton-apiserver", mounts["etcd"])
			}
			if slices.Contains(components, "own-certificate") || slices.Contains(components, "cert-manager") {
				assert.Equal(t, "/etc/triton/tls/tls.crt", env["TRITON_TLS_CERT_FILE"])
				assert.Equal(t, "/etc/triton/tls/tls.key", env["TRITON_TLS_PRIVATE_KEY_FILE"])
				for _, gone := range []string{"TRITON_CERT_SECRET", "TRITON_CA_BUNDLE_APISERVICES", "TRITON_CA_BUNDLE_WEBHOOKS"} {
					assert.NotContains(t, env, gone)
				}
				assert.Equal(t, "/etc/triton/tls", mounts["tls"])
			} else {
				assert.Equal(t, "triton-apiserver-tls", env["TRITON_CERT_SECRET"])
			}
			checkNamespace(t, objects, testNamespace, components)
		})
	}
}

// The resize webhook skips the server's own CloneSet writes, whatever namespace it is installed in, and
// no one else's: not another service account that is merely called triton-apiserver, nor an admin's.
func TestTheResizeWebhookSkipsOnlyTheServersOwnWrites(t *testing.T) {
	config := resizeWebhook(t)
	edit := config.Webhooks[0]
	require.Equal(t, "cloneset-edit.releases.triton.io", edit.Name)
	envs := environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion())
	var accessors []plugincel.ExpressionAccessor
	for i := range edit.MatchConditions {
		c := &matchconditions.MatchCondition{Name: edit.MatchConditions[i].Name, Expression: edit.MatchConditions[i].Expression}
		result := plugincel.NewCompiler(envs).CompileCELExpression(c, plugincel.OptionalVariableDeclarations{HasAuthorizer: true}, environment.NewExpressions)
		require.Nil(t, result.Error, "%s compiles as kube-apiserver validates it", c.Name)
		accessors = append(accessors, c)
	}
	matcher := matchconditions.NewMatcher(plugincel.NewConditionCompiler(envs).CompileCondition(accessors,
		plugincel.OptionalVariableDeclarations{HasAuthorizer: true}, environment.StoredExpressions), edit.FailurePolicy, "webhook", "admit", edit.Name)

	// RBAC as rbac.yaml grants it: the server's account (in the namespace it is installed in) may update
	// the webhook configuration; an admin may do anything.
	rbac := func(installedIn string) authorizer.AuthorizerFunc {
		return func(_ context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
			u := a.GetUser()
			if slices.Contains(u.GetGroups(), "system:masters") {
				return authorizer.DecisionAllow, "", nil
			}
			if u.GetName() == "system:serviceaccount:"+installedIn+":triton-apiserver" && a.GetVerb() == "update" &&
				a.GetAPIGroup() == "admissionregistration.k8s.io" && a.GetResource() == "mutatingwebhookconfigurations" &&
				a.GetName() == webhookName {
				return authorizer.DecisionAllow, "", nil
			}
			return authorizer.DecisionNoOpinion, "", nil
		}
	}
	gvk := schema.GroupVersionKind{Group: "apps.kruise.io", Version: "v1alpha1", Kind: "CloneSet"}
	cloneSet := func(replicas int64) *unstructured.Unstructured {
		c := &unstructured.Unstructured{}
		c.SetGroupVersionKind(gvk)
		c.SetNamespace("shop")
		c.SetName("nginx")
		c.SetAnnotations(map[string]string{"releases.triton.io/release": "nginx-update"})
		require.NoError(t, unstructured.SetNestedField(c.Object, replicas, "spec", "replicas"))
		return c
	}
	sentToTheWebhook := func(installedIn, who string, groups ...string) bool {
		attrs := admission.NewAttributesRecord(cloneSet(5), cloneSet(3), gvk, "shop", "nginx",
			gvk.GroupVersion().WithResource("clonesets"), "", admission.Update, &metav1.UpdateOptions{}, false,
			&user.DefaultInfo{Name: who, Groups: groups})
		versioned, err := admission.NewVersionedAttributes(attrs, gvk, nil)
		require.NoError(t, err)
		result := matcher.Match(context.Background(), versioned, nil, rbac(installedIn))
		require.NoError(t, result.Error)
		return result.Matches
	}
	for _, ns := range []string{"triton-system", testNamespace} {
		assert.False(t, sentToTheWebhook(ns, "system:serviceaccount:"+ns+":triton-apiserver"), "the server installed in %s", ns)
		assert.True(t, sentToTheWebhook(ns, "system:serviceaccount:shop:triton-apiserver"), "a tenant's account called triton-apiserver, with the server in %s", ns)
		assert.True(t, sentToTheWebhook(ns, "admin", "system:masters"), "an admin")
		assert.True(t, sentToTheWebhook(ns, "alice"), "a user")
	}
	assert.True(t, sentToTheWebhook("triton-system", fmt.Sprintf("system:serviceaccount:%s:triton-apiserver-other", "triton-system")))
}
