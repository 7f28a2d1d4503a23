package deploy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// render builds artifacts/deploy with components, as `kubectl apply -k` of an overlay does.
func render(t *testing.T, components ...string) resmap.ResMap {
	t.Helper()
	here, err := filepath.Abs(".")
	require.NoError(t, err)
	fs := filesys.MakeFsInMemory()
	require.NoError(t, copyDir(fs, here, "/deploy"))
	k := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- ../deploy\n"
	if len(components) > 0 {
		k += "components:\n"
		for _, c := range components {
			k += "- ../deploy/components/" + c + "\n"
		}
	}
	require.NoError(t, fs.MkdirAll("/overlay"))
	require.NoError(t, fs.WriteFile("/overlay/kustomization.yaml", []byte(k)))
	resources, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fs, "/overlay")
	require.NoError(t, err)
	return resources
}

// renderedObject decodes the rendered object of kind and name into into; false when there is none.
func renderedObject(t *testing.T, resources resmap.ResMap, kind, name string, into any) bool {
	t.Helper()
	for _, r := range resources.Resources() {
		if r.GetKind() == kind && r.GetName() == name {
			data, err := r.MarshalJSON()
			require.NoError(t, err)
			require.NoError(t, json.Unmarshal(data, into))
			return true
		}
	}
	return false
}

func flagValues(args []string) map[string]string {
	values := map[string]string{}
	for _, a := range args {
		name, value, _ := strings.Cut(a, "=")
		values[name] = value
	}
	return values
}

// containerFlags are a container's flags, given as args or as TRITON_* variables (the server reads
// TRITON_SOME_FLAG as --some-flag when the command line does not give it).
func containerFlags(c corev1.Container) map[string]string {
	flags := flagValues(c.Args)
	for _, e := range c.Env {
		if name, ok := strings.CutPrefix(e.Name, "TRITON_"); ok && e.ValueFrom == nil {
			flag := "--" + strings.ToLower(strings.ReplaceAll(name, "_", "-"))
			if _, given := flags[flag]; !given {
				flags[flag] = e.Value
			}
		}
	}
	return flags
}

// envIndex is where the variable name is in env, or len(env).
func envIndex(env []corev1.EnvVar, name string) int {
	for i, e := range env {
		if e.Name == name {
			return i
		}
	}
	return len(env)
}

// components/replicated-etcd: a StatefulSet of three members of one embedded etcd cluster in the
// Deployment's place, found by the headless Service triton-apiserver-peers, with the pod the base
// Deployment has (image, identity, security, probes, server flags), and the rest of the install as it is.
func TestReplicatedEtcdComponent(t *testing.T) {
	base := render(t)
	ha := render(t, "replicated-etcd")

	var deployment appsv1.Deployment
	require.True(t, renderedObject(t, base, "Deployment", "triton-apiserver", &deployment))
	assert.False(t, renderedObject(t, ha, "Deployment", "triton-apiserver", &appsv1.Deployment{}), "the StatefulSet replaces the Deployment")
	assert.False(t, renderedObject(t, ha, "PersistentVolumeClaim", "triton-apiserver-etcd", &corev1.PersistentVolumeClaim{}),
		"each member has a claim of its own")

	var sts appsv1.StatefulSet
	require.True(t, renderedObject(t, ha, "StatefulSet", "triton-apiserver", &sts))
	require.NotNil(t, sts.Spec.Replicas)
	assert.Equal(t, int32(3), *sts.Spec.Replicas)
	assert.Equal(t, appsv1.ParallelPodManagement, sts.Spec.PodManagementPolicy, "the members start together")
	assert.Equal(t, appsv1.RollingUpdateStatefulSetStrategyType, sts.Spec.UpdateStrategy.Type)
	assert.Equal(t, "triton-apiserver-peers", sts.Spec.ServiceName)
	assert.Equal(t, deployment.Spec.Selector, sts.Spec.Selector, "the Service and APIService find the same pods")
	require.Len(t, sts.Spec.VolumeClaimTemplates, 1)
	assert.Equal(t, "etcd", sts.Spec.VolumeClaimTemplates[0].Name)
	require.NotNil(t, sts.Spec.Template.Spec.Affinity)
	assert.NotEmpty(t, sts.Spec.Template.Spec.Affinity.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution)

	// The pod is the Deployment's.
	pod, dpod := sts.Spec.Template.Spec, deployment.Spec.Template.Spec
	assert.Equal(t, dpod.ServiceAccountName, pod.ServiceAccountName)
	assert.Equal(t, dpod.PriorityClassName, pod.PriorityClassName)
	assert.Equal(t, dpod.SecurityContext, pod.SecurityContext)
	require.Len(t, pod.Containers, 1)
	c, dc := pod.Containers[0], dpod.Containers[0]
	assert.Equal(t, dc.Image, c.Image, "the same image as the Deployment (the component's images: must follow the base's)")
	assert.Equal(t, dc.SecurityContext, c.SecurityContext)
	assert.Equal(t, dc.ReadinessProbe, c.ReadinessProbe)
	assert.Equal(t, dc.LivenessProbe, c.LivenessProbe)
	assert.Equal(t, dc.Resources, c.Resources)
	assert.Equal(t, dpod.EnableServiceLinks, pod.EnableServiceLinks)
	// Every flag of the Deployment's is the StatefulSet's too, each given as an arg or as its TRITON_*
	// variable; the member's own flags come from the pod's name and namespace.
	flags, dflags := containerFlags(c), containerFlags(dc)
	require.NotEmpty(t, dflags)
	for name, value := range dflags {
		assert.Equal(t, value, flags[name], "the Deployment's %s", name)
	}
	assert.Equal(t, "$(POD_NAME)", flags["--etcd-name"])
	members := strings.Split(flags["--etcd-initial-cluster"], ",")
	require.Len(t, members, 3)
	for i, m := range members {
		name, peer, _ := strings.Cut(m, "=")
		assert.Equal(t, "triton-apiserver-"+string(rune('0'+i)), name)
		assert.Equal(t, "https://"+name+".triton-apiserver-peers.$(POD_NAMESPACE).svc:2380", peer,
			"found through the headless Service in the pod's namespace, whatever it is")
	}
	fields := map[string]string{}
	for i, e := range c.Env {
		if e.ValueFrom != nil {
			fields[e.Name] = e.ValueFrom.FieldRef.FieldPath
		} else if strings.Contains(e.Value, "$(") {
			// The kubelet expands $(VAR) only for variables defined earlier in the list.
			for _, ref := range []string{"POD_NAME", "POD_NAMESPACE"} {
				if strings.Contains(e.Value, "$("+ref+")") {
					assert.Less(t, envIndex(c.Env, ref), i, "%s refers to %s, which must come before it", e.Name, ref)
				}
			}
		}
	}
	assert.Equal(t, map[string]string{"POD_NAMESPACE": "metadata.namespace", "POD_NAME": "metadata.name"}, fields)
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m.MountPath
	}
	assert.Equal(t, "/var/lib/triton-apiserver", mounts["etcd"])
	assert.True(t, strings.HasPrefix(flags["--etcd-data-dir"], mounts["etcd"]+"/"), "the data dir is on the claim")

	var peers corev1.Service
	require.True(t, renderedObject(t, ha, "Service", "triton-apiserver-peers", &peers))
	assert.Equal(t, corev1.ClusterIPNone, peers.Spec.ClusterIP)
	assert.True(t, peers.Spec.PublishNotReadyAddresses, "members find each other before they are ready")
	require.Len(t, peers.Spec.Ports, 1)
	assert.Equal(t, int32(2380), peers.Spec.Ports[0].Port)
	assert.Equal(t, sts.Spec.Selector.MatchLabels, peers.Spec.Selector)

	var pdb policyv1.PodDisruptionBudget
	require.True(t, renderedObject(t, ha, "PodDisruptionBudget", "triton-apiserver", &pdb))
	require.NotNil(t, pdb.Spec.MaxUnavailable)
	assert.Equal(t, 1, pdb.Spec.MaxUnavailable.IntValue())

	var np networkingv1.NetworkPolicy
	require.True(t, renderedObject(t, ha, "NetworkPolicy", "triton-apiserver-peers", &np))
	require.Len(t, np.Spec.Ingress, 1)
	assert.Equal(t, int32(2380), np.Spec.Ingress[0].Ports[0].Port.IntVal, "the peer port, from the members only")
	assert.Equal(t, sts.Spec.Selector.MatchLabels, np.Spec.Ingress[0].From[0].PodSelector.MatchLabels)

	// The Service and the APIService stay as they are.
	for _, kind := range []string{"Service", "APIService"} {
		for _, r := range base.Resources() {
			if r.GetKind() != kind {
				continue
			}
			other, err := ha.GetById(r.OrgId())
			require.NoError(t, err, "%s %s", kind, r.GetName())
			want, _ := r.MarshalJSON()
			got, _ := other.MarshalJSON()
			assert.JSONEq(t, string(want), string(got), "%s %s", kind, r.GetName())
		}
	}

	// The server may create the peer CA's Secret, by name; the Lease rule is the base's.
	var basePolicy, policy admissionregistrationv1.ValidatingAdmissionPolicy
	require.True(t, renderedObject(t, base, "ValidatingAdmissionPolicy", "triton-apiserver-own-namespace", &basePolicy))
	require.True(t, renderedObject(t, ha, "ValidatingAdmissionPolicy", "triton-apiserver-own-namespace", &policy))
	require.Len(t, policy.Spec.Validations, len(basePolicy.Spec.Validations))
	assert.Contains(t, policy.Spec.Validations[0].Expression, "'triton-apiserver-peer-ca'")
	assert.Contains(t, policy.Spec.Validations[0].Expression, "'triton-apiserver-tls'")
	assert.Equal(t, basePolicy.Spec.Validations[1:], policy.Spec.Validations[1:])
	assert.Equal(t, basePolicy.Spec.MatchConstraints, policy.Spec.MatchConstraints)
	assert.Equal(t, basePolicy.Spec.MatchConditions, policy.Spec.MatchConditions)
	var role struct {
		Rules []struct {
			Resources, ResourceNames, Verbs []string
		}
	}
	require.True(t, renderedObject(t, ha, "Role", "triton-apiserver-peer-ca", &role))
	require.Len(t, role.Rules, 1)
	assert.Equal(t, []string{"triton-apiserver-peer-ca"}, role.Rules[0].ResourceNames, "only its Secret, by name")
	assert.Equal(t, flags["--etcd-peer-ca-secret"], "triton-apiserver-peer-ca")
}

// Every patch of the component names its target; none reaches into a list by index.
func TestReplicatedEtcdPatchesHaveNoIndex(t *testing.T) {
	data, err := os.ReadFile("components/replicated-etcd/kustomization.yaml")
	require.NoError(t, err)
	for _, line := range strings.Split(string(data), "\n") {
		assert.NotRegexp(t, `path: .*/[0-9]+(/|$)`, line, "a patch by index")
	}
	assert.NotContains(t, string(data), "op: ", "strategic merge patches and deletions only")
}
