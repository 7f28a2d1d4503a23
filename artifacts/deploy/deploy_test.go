// Package deploy tests the manifests of artifacts/deploy without a cluster: that kustomize renders them,
// and that the ValidatingAdmissionPolicies of write-limits.yaml, evaluated by k8s.io/apiserver's own
// admission code (the code kube-apiserver runs them with), let the server's service account make the
// writes the server makes and no others.
package deploy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/apiserver/pkg/admission"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/policy/generic"
	"k8s.io/apiserver/pkg/admission/plugin/policy/matching"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/cel/environment"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	k8stesting "k8s.io/client-go/testing"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/release/cloneset"
	"github.com/triton-io/triton/pkg/release/moves"
	"github.com/triton-io/triton/pkg/servingcert"
)

const (
	serviceAccount = "system:serviceaccount:triton-system:triton-apiserver"
	webhookName    = "triton-cloneset-resize"
	apiServiceName = "v1alpha1.releases.triton.io"
	scaleOut       = "cloneset-scale-out.releases.triton.io"
	// matchesTheServiceAccount is the write limits' condition: the service account triton-apiserver of
	// any namespace, so that they follow the install into a kustomize overlay's namespace.
	matchesTheServiceAccount = "request.userInfo.username.startsWith('system:serviceaccount:') && " +
		"request.userInfo.username.endsWith(':triton-apiserver')"
)

var (
	tritonUser = &user.DefaultInfo{Name: serviceAccount, Groups: []string{"system:serviceaccounts", "system:serviceaccounts:triton-system", "system:authenticated"}}
	adminUser  = &user.DefaultInfo{Name: "admin", Groups: []string{"system:masters", "system:authenticated"}}
	kruiseUser = &user.DefaultInfo{Name: "system:serviceaccount:kruise-system:kruise-manager", Groups: []string{"system:authenticated"}}

	podsGVR        = corev1.SchemeGroupVersion.WithResource("pods")
	podGVK         = corev1.SchemeGroupVersion.WithKind("Pod")
	secretsGVR     = corev1.SchemeGroupVersion.WithResource("secrets")
	leasesGVR      = coordinationv1.SchemeGroupVersion.WithResource("leases")
	webhooksGVR    = admissionregistrationv1.SchemeGroupVersion.WithResource("mutatingwebhookconfigurations")
	webhookGVK     = admissionregistrationv1.SchemeGroupVersion.WithKind("MutatingWebhookConfiguration")
	apiServicesGVK = schema.GroupVersionKind{Group: "apiregistration.k8s.io", Version: "v1", Kind: "APIService"}
)

// documents are the YAML documents of a manifest, as JSON.
func documents(t *testing.T, file string) [][]byte {
	t.Helper()
	raw, err := os.ReadFile(file)
	require.NoError(t, err)
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(raw)))
	var out [][]byte
	for {
		doc, err := reader.Read()
		if err != nil {
			break
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		j, err := yaml.YAMLToJSON(doc)
		require.NoError(t, err)
		if string(j) != "null" {
			out = append(out, j)
		}
	}
	return out
}

// TestKustomizeRendersTheBaseAndEveryComponent renders artifacts/deploy as `kubectl apply -k` does, alone
// and with each component, and finds the write limits and the NetworkPolicy in each.
func TestKustomizeRendersTheBaseAndEveryComponent(t *testing.T) {
	for name, components := range map[string][]string{
		"base":              nil,
		"high-availability": {"high-availability"},
		"own-certificate":   {"own-certificate"},
		"cert-manager+ha":   {"cert-manager", "high-availability"},
	} {
		t.Run(name, func(t *testing.T) {
			resources := render(t, components...)
			kinds := map[string][]string{}
			for _, r := range resources.Resources() {
				kinds[r.GetKind()] = append(kinds[r.GetKind()], r.GetName())
			}
			writeLimits := []string{"triton-apiserver-ca-bundles", "triton-apiserver-pod-writes", "triton-apiserver-own-namespace"}
			assert.Subset(t, kinds["ValidatingAdmissionPolicy"], writeLimits)
			assert.Subset(t, kinds["ValidatingAdmissionPolicyBinding"], writeLimits, "a binding for each policy")
			assert.Equal(t, []string{"triton-apiserver"}, kinds["NetworkPolicy"])
			assert.Contains(t, kinds["Deployment"], "triton-apiserver")
		})
	}
}

func copyDir(fs filesys.FileSystem, from, to string) error {
	return filepath.Walk(from, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		target := filepath.ToSlash(filepath.Join(to, rel))
		if info.IsDir() {
			return fs.MkdirAll(target)
		}
		if !strings.HasSuffix(path, ".yaml") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return fs.WriteFile(target, data)
	})
}

// The NetworkPolicy lets in the server's port (the Deployment's containerPort and --secure-port) from
// anywhere, and nothing else.
func TestTheNetworkPolicyOpensOnlyTheServerPort(t *testing.T) {
	docs := documents(t, "networkpolicy.yaml")
	require.Len(t, docs, 1)
	var np struct {
		Spec struct {
			PodSelector metav1.LabelSelector `json:"podSelector"`
			PolicyTypes []string             `json:"policyTypes"`
			Ingress     []struct {
				From  []json.RawMessage `json:"from"`
				Ports []struct {
					Protocol string `json:"protocol"`
					Port     int    `json:"port"`
				} `json:"ports"`
			} `json:"ingress"`
		} `json:"spec"`
	}
	require.NoError(t, json.Unmarshal(docs[0], &np))
	assert.Equal(t, []string{"Ingress"}, np.Spec.PolicyTypes)
	require.Len(t, np.Spec.Ingress, 1)
	assert.Empty(t, np.Spec.Ingress[0].From, "from anywhere: kube-apiserver's address differs per distribution")
	require.Len(t, np.Spec.Ingress[0].Ports, 1)
	assert.Equal(t, "TCP", np.Spec.Ingress[0].Ports[0].Protocol)

	var deployment struct {
		Spec struct {
			Template struct {
				Metadata metav1.ObjectMeta `json:"metadata"`
				Spec     corev1.PodSpec    `json:"spec"`
			} `json:"template"`
		} `json:"spec"`
	}
	require.NoError(t, json.Unmarshal(documents(t, "deployment.yaml")[0], &deployment))
	selector, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
	require.NoError(t, err)
	assert.True(t, selector.Matches(labels.Set(deployment.Spec.Template.Metadata.Labels)), "it selects the Deployment's pods")
	container := deployment.Spec.Template.Spec.Containers[0]
	require.Len(t, container.Ports, 1)
	assert.Equal(t, int(container.Ports[0].ContainerPort), np.Spec.Ingress[0].Ports[0].Port)
	assert.Contains(t, container.Env, corev1.EnvVar{Name: "TRITON_SECURE_PORT", Value: strconv.Itoa(np.Spec.Ingress[0].Ports[0].Port)},
		"--secure-port, as its variable")
}

// ---------------------------------------------------------------------------------------------------
// The admission policies, evaluated by k8s.io/apiserver's ValidatingAdmissionPolicy plugin.

// compilePolicy is k8s.io/apiserver's (unexported) compilePolicy of the ValidatingAdmissionPolicy plugin
// (pkg/admission/plugin/policy/validating/plugin.go), with the same environment and expression kinds.
func compilePolicy(policy *validating.Policy) validating.Validator {
	hasParam := policy.Spec.ParamKind != nil
	optionalVars := plugincel.OptionalVariableDeclarations{HasParams: hasParam, HasAuthorizer: true}
	expressionOptionalVars := plugincel.OptionalVariableDeclarations{HasParams: hasParam, HasAuthorizer: false}
	failurePolicy := policy.Spec.FailurePolicy
	compiler, err := plugincel.NewCompositedCompiler(environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion()))
	if err != nil {
		return validating.NewValidator(nil, nil, nil, nil, failurePolicy, err)
	}
	variables := make([]plugincel.NamedExpressionAccessor, len(policy.Spec.Variables))
	for i, v := range policy.Spec.Variables {
		variables[i] = &validating.Variable{Name: v.Name, Expression: v.Expression}
	}
	compiler.CompileAndStoreVariables(variables, optionalVars, environment.StoredExpressions)
	var matcher matchconditions.Matcher
	if len(policy.Spec.MatchConditions) > 0 {
		conditions := make([]plugincel.ExpressionAccessor, len(policy.Spec.MatchConditions))
		for i := range policy.Spec.MatchConditions {
			conditions[i] = (*matchconditions.MatchCondition)(&policy.Spec.MatchConditions[i])
		}
		matcher = matchconditions.NewMatcher(compiler.CompileCondition(conditions, optionalVars, environment.StoredExpressions),
			failurePolicy, "policy", "validate", policy.Name)
	}
	validations := make([]plugincel.ExpressionAccessor, len(policy.Spec.Validations))
	messages := make([]plugincel.ExpressionAccessor, len(policy.Spec.Validations))
	for i, v := range policy.Spec.Validations {
		validations[i] = &validating.ValidationCondition{Expression: v.Expression, Message: v.Message, Reason: v.Reason}
		if v.MessageExpression != "" {
			messages[i] = &validating.MessageExpressionCondition{MessageExpression: v.MessageExpression}
		}
	}
	audit := make([]plugincel.ExpressionAccessor, len(policy.Spec.AuditAnnotations))
	for i, a := range policy.Spec.AuditAnnotations {
		audit[i] = &validating.AuditAnnotationCondition{Key: a.Key, ValueExpression: a.ValueExpression}
	}
	return validating.NewValidator(
		compiler.CompileCondition(validations, optionalVars, environment.StoredExpressions),
		matcher,
		compiler.CompileCondition(audit, optionalVars, environment.StoredExpressions),
		compiler.CompileCondition(messages, expressionOptionalVars, environment.StoredExpressions),
		failurePolicy,
		nil,
	)
}

// loadPolicies reads write-limits.yaml, with the defaults kube-apiserver gives what it stores.
func loadPolicies(t *testing.T) ([]*admissionregistrationv1.ValidatingAdmissionPolicy, []*admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
	t.Helper()
	var policies []*admissionregistrationv1.ValidatingAdmissionPolicy
	var bindings []*admissionregistrationv1.ValidatingAdmissionPolicyBinding
	all := admissionregistrationv1.AllScopes
	equivalent := admissionregistrationv1.Equivalent
	for _, doc := range documents(t, "write-limits.yaml") {
		var typeMeta metav1.TypeMeta
		require.NoError(t, json.Unmarshal(doc, &typeMeta))
		switch typeMeta.Kind {
		case "ValidatingAdmissionPolicy":
			p := &admissionregistrationv1.ValidatingAdmissionPolicy{}
			require.NoError(t, strictUnmarshal(doc, p), "write-limits.yaml: a field the API does not have")
			m := p.Spec.MatchConstraints
			require.NotNil(t, m)
			if m.NamespaceSelector == nil {
				m.NamespaceSelector = &metav1.LabelSelector{}
			}
			if m.ObjectSelector == nil {
				m.ObjectSelector = &metav1.LabelSelector{}
			}
			if m.MatchPolicy == nil {
				m.MatchPolicy = &equivalent
			}
			for i := range m.ResourceRules {
				if m.ResourceRules[i].Scope == nil {
					m.ResourceRules[i].Scope = &all
				}
			}
			policies = append(policies, p)
		case "ValidatingAdmissionPolicyBinding":
			b := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{}
			require.NoError(t, strictUnmarshal(doc, b), "write-limits.yaml: a field the API does not have")
			bindings = append(bindings, b)
		default:
			t.Fatalf("write-limits.yaml: unexpected kind %q", typeMeta.Kind)
		}
	}
	return policies, bindings
}

func strictUnmarshal(doc []byte, into interface{}) error {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	return dec.Decode(into)
}

// TestThePoliciesCompile: every expression compiles in the environment kube-apiserver uses to admit a new
// policy (no feature newer than it allows), and for storage; each policy has its binding, with Deny, and
// applies only to the service account.
func TestThePoliciesCompile(t *testing.T) {
	policies, bindings := loadPolicies(t)
	require.Len(t, policies, 3)
	for _, mode := range []environment.Type{environment.NewExpressions, environment.StoredExpressions} {
		for _, p := range policies {
			v := compilePolicy(p)
			require.NoError(t, v.CompileError(), p.Name)
			compiler, err := plugincel.NewCompositedCompiler(environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion()))
			require.NoError(t, err)
			vars := plugincel.OptionalVariableDeclarations{HasAuthorizer: true}
			for _, variable := range p.Spec.Variables {
				result := compiler.CompileAndStoreVariable(&validating.Variable{Name: variable.Name, Expression: variable.Expression}, vars, mode)
				require.Nil(t, result.Error, "%s: variable %s", p.Name, variable.Name)
			}
			for _, c := range p.Spec.MatchConditions {
				result := compiler.CompileCELExpression(&matchconditions.MatchCondition{Name: c.Name, Expression: c.Expression}, vars, mode)
				require.Nil(t, result.Error, "%s: match condition %s", p.Name, c.Name)
			}
			for _, c := range p.Spec.Validations {
				result := compiler.CompileCELExpression(&validating.ValidationCondition{Expression: c.Expression}, vars, mode)
				require.Nil(t, result.Error, "%s: %s", p.Name, c.Expression)
			}
		}
	}
	for _, p := range policies {
		require.NotNil(t, p.Spec.FailurePolicy)
		assert.Equal(t, admissionregistrationv1.Fail, *p.Spec.FailurePolicy, p.Name)
		require.NotEmpty(t, p.Spec.MatchConditions, p.Name)
		assert.Equal(t, "triton-apiserver", p.Spec.MatchConditions[0].Name, p.Name)
		assert.Equal(t, matchesTheServiceAccount, p.Spec.MatchConditions[0].Expression, p.Name)
		i := slices.IndexFunc(bindings, func(b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) bool {
			return b.Spec.PolicyName == p.Name
		})
		require.GreaterOrEqual(t, i, 0, "a binding for %s", p.Name)
		assert.Equal(t, []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny}, bindings[i].Spec.ValidationActions)
		assert.Nil(t, bindings[i].Spec.MatchResources, "everything the policy matches")
	}
}

type policyAdmission struct {
	tc *generic.PolicyTestContext[*validating.Policy, *validating.PolicyBinding, validating.Validator]
}

func newAdmission(t *testing.T) *policyAdmission {
	t.Helper()
	t.Cleanup(generic.SetPolicyRefreshIntervalForTests(10 * time.Millisecond))
	policies, bindings := loadPolicies(t)
	namespaces := []runtime.Object{}
	for _, name := range []string{"triton-system", "triton-test-ns", "shop", "e2e-rotation"} {
		namespaces = append(namespaces, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name,
			Labels: map[string]string{"kubernetes.io/metadata.name": name}}})
	}
	tc, cancel, err := generic.NewPolicyTestContext(t,
		validating.NewValidatingAdmissionPolicyAccessor,
		validating.NewValidatingAdmissionPolicyBindingAccessor,
		compilePolicy,
		func(a authorizer.UnconditionalAuthorizer, m *matching.Matcher, _ kubernetes.Interface) generic.Dispatcher[validating.PolicyHook] {
			return validating.NewDispatcher(a, generic.NewPolicyMatcher(m))
		},
		namespaces, []meta.RESTMapping{{Resource: corev1.SchemeGroupVersion.WithResource("namespaces"),
			GroupVersionKind: corev1.SchemeGroupVersion.WithKind("Namespace"), Scope: meta.RESTScopeRoot}})
	require.NoError(t, err)
	t.Cleanup(cancel)
	require.NoError(t, tc.Start())
	// Without their kind, the test context files them as its own policies and bindings.
	var objects []runtime.Object
	for _, p := range policies {
		p.TypeMeta = metav1.TypeMeta{}
		objects = append(objects, p)
	}
	for _, b := range bindings {
		b.TypeMeta = metav1.TypeMeta{}
		objects = append(objects, b)
	}
	require.NoError(t, tc.UpdateAndWait(objects...))
	return &policyAdmission{tc: tc}
}

// admit runs the validating policies on a request as kube-apiserver makes it: nil when admitted.
func (a *policyAdmission) admit(op admission.Operation, gvk schema.GroupVersionKind, gvr schema.GroupVersionResource, subresource string,
	obj, old runtime.Object, who user.Info) error {
	some := obj
	if some == nil {
		some = old
	}
	m, err := meta.Accessor(some)
	if err != nil {
		return err
	}
	attr := admission.NewAttributesRecord(obj, old, gvk, m.GetNamespace(), m.GetName(), gvr, subresource, op, nil, false, who)
	return a.tc.Plugin.Dispatch(a.tc, attr, admission.NewObjectInterfacesFromScheme(clientgoscheme.Scheme))
}

// stored gives an object what kube-apiserver gives what it stores.
func stored(m metav1.Object) {
	m.SetUID(types.UID("uid-" + m.GetName()))
	m.SetResourceVersion("42")
	m.SetGeneration(1)
	m.SetCreationTimestamp(metav1.NewTime(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)))
	m.SetManagedFields([]metav1.ManagedFieldsEntry{{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationApply, APIVersion: "v1"}})
}

// resizeWebhook is artifacts/deploy/webhook.yaml as kube-apiserver stores it.
func resizeWebhook(t *testing.T) *admissionregistrationv1.MutatingWebhookConfiguration {
	t.Helper()
	docs := documents(t, "webhook.yaml")
	require.Len(t, docs, 1)
	config := &admissionregistrationv1.MutatingWebhookConfiguration{}
	require.NoError(t, json.Unmarshal(docs[0], config))
	require.Equal(t, webhookName, config.Name)
	stored(config)
	config.Labels = map[string]string{"app.kubernetes.io/part-of": "triton"}
	return config
}

// apiService is artifacts/deploy/apiservice.yaml as kube-apiserver stores it (unstructured: its type is
// kube-aggregator's).
func apiService(t *testing.T) *unstructured.Unstructured {
	t.Helper()
	docs := documents(t, "apiservice.yaml")
	require.Len(t, docs, 1)
	obj := &unstructured.Unstructured{}
	require.NoError(t, obj.UnmarshalJSON(docs[0]))
	stored(obj)
	obj.SetLabels(map[string]string{"app.kubernetes.io/part-of": "triton"})
	require.NoError(t, unstructured.SetNestedField(obj.Object, []interface{}{map[string]interface{}{"type": "Available", "status": "True"}},
		"status", "conditions"))
	return obj
}

// The server's own writes to its webhook configuration and APIService, made by servingcert.Injector against
// a fake kube-apiserver that runs the policies on each update, are admitted.
func TestTheCABundleInjectorsWritesAreAdmitted(t *testing.T) {
	a := newAdmission(t)
	ctx := context.Background()
	b, _, err := servingcert.Renew(nil, servingcert.Policy{CAValidity: time.Hour * 24, CertValidity: time.Hour,
		Hosts: servingcert.Hosts("triton-system", "triton-apiserver")}, time.Now(), nil)
	require.NoError(t, err)

	kube := fake.NewClientset(resizeWebhook(t))
	var updates int
	kube.PrependReactor("update", "mutatingwebhookconfigurations", func(action k8stesting.Action) (bool, runtime.Object, error) {
		updates++
		obj := action.(k8stesting.UpdateAction).GetObject()
		old, err := kube.Tracker().Get(webhooksGVR, "", webhookName)
		require.NoError(t, err)
		return admitOrFail(a.admit(admission.Update, webhookGVK, webhooksGVR, "", obj, old, tritonUser))
	})
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{servingcert.APIServiceResource: "APIServiceList"}, apiService(t))
	dyn.PrependReactor("update", "apiservices", func(action k8stesting.Action) (bool, runtime.Object, error) {
		updates++
		obj := action.(k8stesting.UpdateAction).GetObject()
		old, err := dyn.Tracker().Get(servingcert.APIServiceResource, "", apiServiceName)
		require.NoError(t, err)
		return admitOrFail(a.admit(admission.Update, apiServicesGVK, servingcert.APIServiceResource, "", obj, old, tritonUser))
	})
	injector := &servingcert.Injector{Dynamic: dyn, Kube: kube, APIServices: []string{apiServiceName}, Webhooks: []string{webhookName}}
	require.NoError(t, injector.Inject(ctx, b.CABundle()))
	assert.Equal(t, 2, updates)
	ok, err := injector.Trusted(ctx, b.CAs[0])
	require.NoError(t, err)
	assert.True(t, ok, "the CA was injected everywhere")

	// A new CA, as at a rotation: the caBundle changes again.
	next, _, err := servingcert.Renew(nil, servingcert.Policy{CAValidity: time.Hour * 24, CertValidity: time.Hour,
		Hosts: servingcert.Hosts("triton-system", "triton-apiserver")}, time.Now().Add(time.Minute), nil)
	require.NoError(t, err)
	require.NoError(t, injector.Inject(ctx, append(next.CABundle(), b.CABundle()...)))
	assert.Equal(t, 4, updates)
}

// admitOrFail is a reactor's answer: on to the tracker when admitted, the error when refused.
func admitOrFail(err error) (bool, runtime.Object, error) {
	if err != nil {
		return true, nil, err
	}
	return false, nil, nil
}

func TestTheWebhookConfigurationAllowsOnlyCABundles(t *testing.T) {
	a := newAdmission(t)
	old := resizeWebhook(t)
	bundle := []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
	withBundle := func(config *admissionregistrationv1.MutatingWebhookConfiguration) *admissionregistrationv1.MutatingWebhookConfiguration {
		c := config.DeepCopy()
		for i := range c.Webhooks {
			c.Webhooks[i].ClientConfig.CABundle = bundle
		}
		return c
	}
	scaleOutIndex := slices.IndexFunc(old.Webhooks, func(w admissionregistrationv1.MutatingWebhook) bool { return w.Name == scaleOut })
	require.GreaterOrEqual(t, scaleOutIndex, 0, "webhook.yaml has the scale-out webhook")
	setHeld := func(c *admissionregistrationv1.MutatingWebhookConfiguration, expression string) {
		w := &c.Webhooks[scaleOutIndex]
		for j := range w.MatchConditions {
			if w.MatchConditions[j].Name == "held-by-a-release" {
				w.MatchConditions[j].Expression = expression
				return
			}
		}
		w.MatchConditions = append(w.MatchConditions, admissionregistrationv1.MatchCondition{Name: "held-by-a-release", Expression: expression})
	}
	update := func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
		c.ResourceVersion = "43"
		c.Generation = 2
		c.ManagedFields = append(c.ManagedFields, metav1.ManagedFieldsEntry{Manager: "triton-apiserver", Operation: metav1.ManagedFieldsOperationUpdate})
	}

	allowed := map[string]func(*admissionregistrationv1.MutatingWebhookConfiguration){
		"caBundle set": func(c *admissionregistrationv1.MutatingWebhookConfiguration) {},
		"one caBundle only": func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
			c.Webhooks[0].ClientConfig.CABundle = nil
		},
		"the held list of the scale-out webhook": func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
			setHeld(c, "request.namespace + '/' + request.name in ['shop/nginx']")
		},
	}
	for name, edit := range allowed {
		c := withBundle(old)
		edit(c)
		update(c)
		assert.NoError(t, a.admit(admission.Update, webhookGVK, webhooksGVR, "", c, old, tritonUser), name)
	}
	// From a caBundle to another, and a held list to another.
	from := withBundle(old)
	setHeld(from, "false")
	to := withBundle(from)
	to.Webhooks[1].ClientConfig.CABundle = append([]byte(nil), bundle[:len(bundle)-1]...)
	setHeld(to, "request.namespace + '/' + request.name in ['shop/a', 'shop/b']")
	assert.NoError(t, a.admit(admission.Update, webhookGVK, webhooksGVR, "", to, from, tritonUser))

	refused := map[string]func(*admissionregistrationv1.MutatingWebhookConfiguration){
		"retargeted at Secrets": func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
			c.Webhooks[0].Rules[0].Resources = []string{"secrets"}
			c.Webhooks[0].Rules[0].APIGroups = []string{""}
		},
		"another service": func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
			c.Webhooks[0].ClientConfig.Service.Name = "evil"
		},
		"a URL": func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
			u := "https://evil.example/"
			c.Webhooks[1].ClientConfig.URL = &u
			c.Webhooks[1].ClientConfig.Service = nil
		},
		"failurePolicy": func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
			fail := admissionregistrationv1.Fail
			c.Webhooks[0].FailurePolicy = &fail
		},
		"a namespaceSelector": func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
			c.Webhooks[0].NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"a": "b"}}
		},
		"the edit webhook's match conditions": func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
			c.Webhooks[0].MatchConditions = c.Webhooks[0].MatchConditions[:1]
		},
		"the edit webhook's held-by-a-release": func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
			c.Webhooks[0].MatchConditions[0].Expression = "true"
		},
		"another match condition of the scale-out webhook": func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
			c.Webhooks[scaleOutIndex].MatchConditions[0].Expression = "true"
		},
		"a webhook added": func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
			w := c.Webhooks[0].DeepCopy()
			w.Name = "secrets.evil.example"
			c.Webhooks = append(c.Webhooks, *w)
		},
		"a webhook removed": func(c *admissionregistrationv1.MutatingWebhookConfiguration) { c.Webhooks = c.Webhooks[:1] },
		"webhooks swapped": func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
			c.Webhooks[0], c.Webhooks[1] = c.Webhooks[1], c.Webhooks[0]
		},
		"a label": func(c *admissionregistrationv1.MutatingWebhookConfiguration) { c.Labels["evil"] = "true" },
		"an annotation": func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
			c.Annotations = map[string]string{"a": "b"}
		},
		"a finalizer": func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
			c.Finalizers = []string{"evil.example/keep"}
		},
		"an owner": func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
			c.OwnerReferences = []metav1.OwnerReference{{Name: "x"}}
		},
		"timeout":          func(c *admissionregistrationv1.MutatingWebhookConfiguration) { c.Webhooks[0].TimeoutSeconds = nil },
		"sideEffects":      func(c *admissionregistrationv1.MutatingWebhookConfiguration) { c.Webhooks[0].SideEffects = nil },
		"reinvocation":     func(c *admissionregistrationv1.MutatingWebhookConfiguration) { c.Webhooks[0].ReinvocationPolicy = nil },
		"no webhooks left": func(c *admissionregistrationv1.MutatingWebhookConfiguration) { c.Webhooks = nil },
	}
	for name, edit := range refused {
		c := withBundle(old)
		edit(c)
		update(c)
		err := a.admit(admission.Update, webhookGVK, webhooksGVR, "", c, old, tritonUser)
		if assert.Error(t, err, name) {
			assert.Contains(t, err.Error(), "triton-apiserver may", name)
		}
		// Anyone else: not this policy's business.
		assert.NoError(t, a.admit(admission.Update, webhookGVK, webhooksGVR, "", c, old, adminUser), "%s, by an admin", name)
	}

	// Nothing created or deleted.
	assert.Error(t, a.admit(admission.Create, webhookGVK, webhooksGVR, "", withBundle(old), nil, tritonUser))
	assert.Error(t, a.admit(admission.Delete, webhookGVK, webhooksGVR, "", nil, old, tritonUser))
	assert.NoError(t, a.admit(admission.Delete, webhookGVK, webhooksGVR, "", nil, old, adminUser))

	// Another webhook configuration (the e2e rotation test's): the caBundle only, as well.
	other := old.DeepCopy()
	other.Name = "triton-e2e-rotation-shop"
	other.Webhooks = other.Webhooks[1:]
	other.Webhooks[0].MatchConditions = nil
	assert.NoError(t, a.admit(admission.Update, webhookGVK, webhooksGVR, "", withBundle(other), other, tritonUser))
}

func TestTheAPIServiceAllowsOnlyItsCABundle(t *testing.T) {
	a := newAdmission(t)
	old := apiService(t)
	withBundle := func() *unstructured.Unstructured {
		c := old.DeepCopy()
		require.NoError(t, unstructured.SetNestedField(c.Object, "LS0tLS1CRUdJTg==", "spec", "caBundle"))
		c.SetResourceVersion("43")
		return c
	}
	gvr := servingcert.APIServiceResource
	assert.NoError(t, a.admit(admission.Update, apiServicesGVK, gvr, "", withBundle(), old, tritonUser))
	changed := withBundle()
	require.NoError(t, unstructured.SetNestedField(changed.Object, "b3RoZXI=", "spec", "caBundle"))
	assert.NoError(t, a.admit(admission.Update, apiServicesGVK, gvr, "", changed, withBundle(), tritonUser), "one caBundle for another")

	refused := map[string]func(*unstructured.Unstructured){
		"another service": func(c *unstructured.Unstructured) {
			require.NoError(t, unstructured.SetNestedField(c.Object, "evil", "spec", "service", "name"))
		},
		"no service (served locally)": func(c *unstructured.Unstructured) { unstructured.RemoveNestedField(c.Object, "spec", "service") },
		"insecureSkipTLSVerify": func(c *unstructured.Unstructured) {
			require.NoError(t, unstructured.SetNestedField(c.Object, true, "spec", "insecureSkipTLSVerify"))
		},
		"the priority": func(c *unstructured.Unstructured) {
			require.NoError(t, unstructured.SetNestedField(c.Object, int64(20000), "spec", "groupPriorityMinimum"))
		},
		"a label": func(c *unstructured.Unstructured) { c.SetLabels(map[string]string{"evil": "true"}) },
	}
	for name, edit := range refused {
		c := withBundle()
		edit(c)
		assert.Error(t, a.admit(admission.Update, apiServicesGVK, gvr, "", c, old, tritonUser), name)
		assert.NoError(t, a.admit(admission.Update, apiServicesGVK, gvr, "", c, old, adminUser), "%s, by an admin", name)
	}
	assert.Error(t, a.admit(admission.Delete, apiServicesGVK, gvr, "", nil, old, tritonUser))
	assert.Error(t, a.admit(admission.Create, apiServicesGVK, gvr, "", withBundle(), nil, tritonUser))
}

// pod is a pod of a CloneSet as kruise makes it, with triton's gate.
func pod() *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "nginx-abcde", Namespace: "shop",
			Labels:          map[string]string{"app": "nginx", "controller-revision-hash": "nginx-7d9f", v1alpha1.HoldLabel: "true"},
			Annotations:     map[string]string{"kubectl.kubernetes.io/restartedAt": "yesterday"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps.kruise.io/v1alpha1", Kind: "CloneSet", Name: "nginx", UID: "cs-uid"}},
		},
		Spec: corev1.PodSpec{
			Containers:     []corev1.Container{{Name: "nginx", Image: "nginx:1.27"}},
			ReadinessGates: []corev1.PodReadinessGate{{ConditionType: v1alpha1.ReadinessGate}, {ConditionType: "KruisePodReady"}},
		},
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning, PodIP: "10.244.0.7", PodIPs: []corev1.PodIP{{IP: "10.244.0.7"}}, QOSClass: corev1.PodQOSBestEffort,
			Conditions: []corev1.PodCondition{
				{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
				{Type: "KruisePodReady", Status: corev1.ConditionTrue, Message: "[]"},
				{Type: corev1.ContainersReady, Status: corev1.ConditionTrue},
				{Type: corev1.PodReady, Status: corev1.ConditionFalse},
			},
		},
	}
	stored(p)
	return p
}

// podServer is a fake kube-apiserver for pods that applies patches as kube-apiserver does (a JSON merge
// patch, or a strategic merge patch; on pods/status the spec stays the stored one) and runs the policies
// on the result before it stores it.
func podServer(t *testing.T, a *policyAdmission, who user.Info, pods ...*corev1.Pod) *fake.Clientset {
	t.Helper()
	objects := make([]runtime.Object, len(pods))
	for i, p := range pods {
		objects[i] = p
	}
	client := fake.NewClientset(objects...)
	client.PrependReactor("patch", "pods", func(action k8stesting.Action) (bool, runtime.Object, error) {
		patch := action.(k8stesting.PatchAction)
		current, err := client.Tracker().Get(podsGVR, patch.GetNamespace(), patch.GetName())
		if err != nil {
			return true, nil, err
		}
		old := current.(*corev1.Pod)
		raw, err := json.Marshal(old)
		require.NoError(t, err)
		var patched []byte
		switch patch.GetPatchType() {
		case types.MergePatchType:
			patched, err = jsonpatch.MergePatch(raw, patch.GetPatch())
		case types.StrategicMergePatchType:
			patched, err = strategicpatch.StrategicMergePatch(raw, patch.GetPatch(), corev1.Pod{})
		default:
			t.Fatalf("unexpected patch type %s", patch.GetPatchType())
		}
		require.NoError(t, err)
		updated := &corev1.Pod{}
		require.NoError(t, json.Unmarshal(patched, updated))
		if updated.ResourceVersion != old.ResourceVersion {
			return true, nil, apierrors.NewConflict(corev1.Resource("pods"), old.Name, nil)
		}
		if patch.GetSubresource() == "status" {
			updated.Spec = old.Spec
			updated.OwnerReferences = old.OwnerReferences
		} else {
			updated.Status = old.Status
		}
		updated.ManagedFields = append(updated.ManagedFields, metav1.ManagedFieldsEntry{Manager: "triton-apiserver", Operation: metav1.ManagedFieldsOperationUpdate})
		if err := a.admit(admission.Update, podGVK, podsGVR, patch.GetSubresource(), updated, old, who); err != nil {
			return true, nil, err
		}
		updated.ResourceVersion = old.ResourceVersion + "1"
		return true, updated, client.Tracker().Update(podsGVR, updated, updated.Namespace)
	})
	return client
}

// The server's own pod writes (cloneset.Driver: the release and batch labels, the hold label, the readiness
// gate, triton's key in KruisePodReady), made against a fake kube-apiserver that runs the policies, are
// admitted.
func TestTheServersPodWritesAreAdmitted(t *testing.T) {
	a := newAdmission(t)
	ctx := context.Background()
	p := pod()
	client := podServer(t, a, tritonUser, p)
	d := &cloneset.Driver{Kube: client}
	get := func() *corev1.Pod {
		got, err := client.CoreV1().Pods("shop").Get(ctx, p.Name, metav1.GetOptions{})
		require.NoError(t, err)
		return got
	}

	require.NoError(t, d.SetReleaseLabels(ctx, moves.LabelChange{Pod: get(), Release: "nginx-update", Batch: "1"}))
	assert.Equal(t, "nginx-update", get().Labels[v1alpha1.ReleaseLabel])
	require.NoError(t, d.SetGate(ctx, get(), true, false))
	assert.True(t, moves.PulledIn(get()))
	require.NoError(t, d.SetNotReadyKey(ctx, get(), true, false))
	assert.True(t, moves.HasNotReadyKey(get()))
	require.NoError(t, d.SetNotReadyKey(ctx, get(), false, false))
	assert.False(t, moves.HasNotReadyKey(get()))
	require.NoError(t, d.SetGate(ctx, get(), false, false))
	assert.False(t, moves.PulledIn(get()))
	require.NoError(t, d.SetHold(ctx, get(), false))
	assert.NotContains(t, get().Labels, v1alpha1.HoldLabel)
	require.NoError(t, d.SetHold(ctx, get(), true))
	require.NoError(t, d.SetReleaseLabels(ctx, moves.LabelChange{Pod: get()}))
	assert.NotContains(t, get().Labels, v1alpha1.ReleaseLabel)
	assert.Equal(t, p.Spec, get().Spec)
	assert.Equal(t, p.Annotations, get().Annotations)

	// A pod without labels at all, on its way out (kruise deletes it).
	bare := pod()
	bare.Name, bare.Labels = "bare", nil
	now := metav1.Now()
	bare.DeletionTimestamp = &now
	client = podServer(t, a, tritonUser, bare)
	d = &cloneset.Driver{Kube: client}
	require.NoError(t, d.SetHold(ctx, bare, true))
	require.NoError(t, d.SetGate(ctx, bare, false, false))
}

func TestPodsAllowOnlyTheServersLabelsAndConditions(t *testing.T) {
	a := newAdmission(t)
	old := pod()
	refused := map[string]func(*corev1.Pod){
		"the image":             func(p *corev1.Pod) { p.Spec.Containers[0].Image = "evil:latest" },
		"activeDeadlineSeconds": func(p *corev1.Pod) { s := int64(1); p.Spec.ActiveDeadlineSeconds = &s },
		"a toleration":          func(p *corev1.Pod) { p.Spec.Tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpExists}} },
		"the app label":         func(p *corev1.Pod) { p.Labels["app"] = "payments" },
		"a label of its own":    func(p *corev1.Pod) { p.Labels["evil"] = "true" },
		"a label removed":       func(p *corev1.Pod) { delete(p.Labels, "controller-revision-hash") },
		"an annotation":         func(p *corev1.Pod) { p.Annotations["evil"] = "true" },
		"a finalizer":           func(p *corev1.Pod) { p.Finalizers = []string{"evil.example/keep"} },
		"the owner":             func(p *corev1.Pod) { p.OwnerReferences = nil },
	}
	for name, edit := range refused {
		p := old.DeepCopy()
		edit(p)
		err := a.admit(admission.Update, podGVK, podsGVR, "", p, old, tritonUser)
		if assert.Error(t, err, name) {
			assert.Contains(t, err.Error(), "triton-apiserver may", name)
		}
		assert.NoError(t, a.admit(admission.Update, podGVK, podsGVR, "", p, old, kruiseUser), "%s, by kruise", name)
	}
	statusRefused := map[string]func(*corev1.Pod){
		"the pod IP":     func(p *corev1.Pod) { p.Status.PodIP, p.Status.PodIPs = "10.0.0.1", []corev1.PodIP{{IP: "10.0.0.1"}} },
		"the phase":      func(p *corev1.Pod) { p.Status.Phase = corev1.PodFailed },
		"Ready":          func(p *corev1.Pod) { p.Status.Conditions[3].Status = corev1.ConditionTrue },
		"ContainerReady": func(p *corev1.Pod) { p.Status.Conditions = slices.Delete(p.Status.Conditions, 2, 3) },
		"a condition of its own": func(p *corev1.Pod) {
			p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: "evil", Status: corev1.ConditionTrue})
		},
		"a label, through status": func(p *corev1.Pod) { p.Labels["app"] = "payments" },
	}
	for name, edit := range statusRefused {
		p := old.DeepCopy()
		edit(p)
		assert.Error(t, a.admit(admission.Update, podGVK, podsGVR, "status", p, old, tritonUser), name)
		assert.NoError(t, a.admit(admission.Update, podGVK, podsGVR, "status", p, old, kruiseUser), "%s, by kruise", name)
	}
	// Its own conditions, in any order with the others.
	p := old.DeepCopy()
	p.Status.Conditions[1].Status, p.Status.Conditions[1].Message = corev1.ConditionFalse, `[{"userAgent":"triton"}]`
	p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: v1alpha1.ReadinessGate, Status: corev1.ConditionTrue})
	assert.NoError(t, a.admit(admission.Update, podGVK, podsGVR, "status", p, old, tritonUser))
}

func TestItCreatesOnlyItsSecretAndLeaseInItsNamespace(t *testing.T) {
	a := newAdmission(t)
	secretGVK := corev1.SchemeGroupVersion.WithKind("Secret")
	leaseGVK := coordinationv1.SchemeGroupVersion.WithKind("Lease")
	secret := func(ns, name string, kind corev1.SecretType) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Type: kind}
	}
	lease := func(ns, name string) *coordinationv1.Lease {
		return &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	}
	assert.NoError(t, a.admit(admission.Create, secretGVK, secretsGVR, "", secret("triton-system", "triton-apiserver-tls", corev1.SecretTypeTLS), nil, tritonUser))
	assert.Error(t, a.admit(admission.Create, secretGVK, secretsGVR, "", secret("triton-system", "other", corev1.SecretTypeTLS), nil, tritonUser))
	assert.Error(t, a.admit(admission.Create, secretGVK, secretsGVR, "", secret("triton-system", "triton-apiserver-tls", corev1.SecretTypeOpaque), nil, tritonUser))
	token := secret("triton-system", "triton-apiserver-token", corev1.SecretTypeServiceAccountToken)
	token.Annotations = map[string]string{corev1.ServiceAccountNameKey: "triton-apiserver"}
	assert.Error(t, a.admit(admission.Create, secretGVK, secretsGVR, "", token, nil, tritonUser), "no long-lived token for itself")
	assert.NoError(t, a.admit(admission.Create, secretGVK, secretsGVR, "", token, nil, adminUser))
	assert.NoError(t, a.admit(admission.Create, secretGVK, secretsGVR, "", secret("e2e-rotation", "rotating-tls", corev1.SecretTypeTLS), nil, tritonUser),
		"another namespace is RBAC's to allow or not (the e2e tests' replicas)")

	assert.NoError(t, a.admit(admission.Create, leaseGVK, leasesGVR, "", lease("triton-system", "triton-release-controller"), nil, tritonUser))
	assert.Error(t, a.admit(admission.Create, leaseGVK, leasesGVR, "", lease("triton-system", "other"), nil, tritonUser))
	assert.NoError(t, a.admit(admission.Create, leaseGVK, leasesGVR, "", lease("shop", "triton-release-controller"), nil, tritonUser))

	// Installed in another namespace (a kustomize overlay's): the same limits, in that namespace.
	moved := &user.DefaultInfo{Name: "system:serviceaccount:triton-test-ns:triton-apiserver",
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:triton-test-ns", "system:authenticated"}}
	assert.NoError(t, a.admit(admission.Create, secretGVK, secretsGVR, "", secret("triton-test-ns", "triton-apiserver-tls", corev1.SecretTypeTLS), nil, moved))
	assert.Error(t, a.admit(admission.Create, secretGVK, secretsGVR, "", secret("triton-test-ns", "other", corev1.SecretTypeTLS), nil, moved))
	assert.Error(t, a.admit(admission.Create, leaseGVK, leasesGVR, "", lease("triton-test-ns", "other"), nil, moved))
	assert.NoError(t, a.admit(admission.Create, secretGVK, secretsGVR, "", secret("triton-system", "other", corev1.SecretTypeTLS), nil, moved),
		"triton-system is not its namespace")
	assert.NoError(t, a.admit(admission.Create, secretGVK, secretsGVR, "", secret("triton-test-ns", "other", corev1.SecretTypeTLS), nil, adminUser))
	podUpdate := pod()
	podUpdate.Labels["app"] = "payments"
	assert.Error(t, a.admit(admission.Update, podGVK, podsGVR, "", podUpdate, pod(), moved), "its pod writes are limited too")
}
