package resize

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	kruisefake "github.com/openkruise/kruise-api/client/clientset/versioned/fake"
	kruiseinformers "github.com/openkruise/kruise-api/client/informers/externalversions"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apiserver/pkg/admission"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/cel/environment"
	kubeinformers "k8s.io/client-go/informers"
	kubefake "k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

// kruise-api's generated informers do not tell client-go that a fake clientset cannot stream a watch-list
// (as pkg/release/caches' tests): without this their fakes never sync.
func TestMain(m *testing.M) {
	_ = os.Setenv("KUBE_FEATURE_WatchListClient", "false")
	os.Exit(m.Run())
}

func TestHeldExpression(t *testing.T) {
	assert.Equal(t, MatchNone, HeldExpression(nil), "no CloneSet held: no scale-out goes to the webhook")
	assert.Equal(t, "request.namespace + '/' + request.name in ['shop/nginx']", HeldExpression([]string{"shop/nginx"}))
	assert.Equal(t, HeldExpression([]string{"a/x", "b/y", "a/x"}), HeldExpression([]string{"b/y", "a/x"}),
		"the same set, in any order and with repeats, is the same expression: nothing to write")
	assert.Equal(t, "request.namespace + '/' + request.name in ['a/x', 'b/y']", HeldExpression([]string{"b/y", "a/x"}))

	keys := func(n, nameLength int) []string {
		out := make([]string, n)
		for i := range out {
			name := fmt.Sprintf("cs-%d-", i)
			out[i] = "ns/" + name + strings.Repeat("x", max(0, nameLength-len(name)))
		}
		return out
	}
	assert.NotEqual(t, MatchAll, HeldExpression(keys(MaxHeld, 10)), "MaxHeld short names are listed")
	assert.Equal(t, MatchAll, HeldExpression(keys(MaxHeld+1, 10)), "past MaxHeld, every scale-out matches")
	assert.Equal(t, MatchAll, HeldExpression(keys(MaxHeld, 253)), "past MaxExpressionLength, every scale-out matches")
	for _, bad := range []string{"shop/it's", "shop/a]", "noslash", "/x", "x/", `shop/a\'`, "Shop/x", "a/b/c"} {
		assert.Equal(t, MatchAll, HeldExpression([]string{"shop/nginx", bad}), "%q cannot be a name: match every scale-out", bad)
	}
	assert.LessOrEqual(t, len(HeldExpression(longestListed())), MaxExpressionLength)
	assert.NotEqual(t, MatchAll, HeldExpression(longestListed()))
}

// longestListed is a set of the longest names whose expression still lists them.
func longestListed() []string {
	var keys []string
	for i := 0; ; i++ {
		k := fmt.Sprintf("%s/%03d%s", strings.Repeat("n", 63), i, strings.Repeat("c", 250))
		if HeldExpression(append(keys, k)) == MatchAll {
			return keys
		}
		keys = append(keys, k)
	}
}

// The expressions, as kube-apiserver compiles (with its validation's environment for new expressions and
// strict cost) and evaluates them (its runtime budget for match conditions), beside webhook.yaml's
// scale-out condition: a scale-out of a held CloneSet matches, of any other does not.
func TestHeldExpressionAsKubeAPIServerEvaluatesIt(t *testing.T) {
	envs := environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion())
	compiler := plugincel.NewCompiler(envs)
	conditions := plugincel.NewConditionCompiler(envs)
	ignore := admissionregistrationv1.Ignore
	matches := func(t *testing.T, expression, namespace, name string, from, to int32) bool {
		t.Helper()
		accessors := []plugincel.ExpressionAccessor{
			&matchconditions.MatchCondition{Name: "scale-out", Expression: "object.spec.replicas > oldObject.spec.replicas"},
			&matchconditions.MatchCondition{Name: HeldCondition, Expression: expression},
		}
		for _, a := range accessors {
			result := compiler.CompileCELExpression(a, plugincel.OptionalVariableDeclarations{HasAuthorizer: true},
				environment.NewExpressions)
			require.Nil(t, result.Error, "%s compiles as kube-apiserver validates it", a.GetExpression())
		}
		m := matchconditions.NewMatcher(conditions.CompileCondition(accessors, plugincel.OptionalVariableDeclarations{HasAuthorizer: true},
			environment.StoredExpressions), &ignore, "webhook", "admit", ScaleOutWebhook)
		gvk := schema.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: "Scale"}
		scale := func(n int32) *autoscalingv1.Scale {
			s := &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace}, Spec: autoscalingv1.ScaleSpec{Replicas: n}}
			s.SetGroupVersionKind(gvk)
			return s
		}
		attrs := admission.NewAttributesRecord(scale(to), scale(from), gvk, namespace, name,
			schema.GroupVersionResource{Group: "apps.kruise.io", Version: "v1alpha1", Resource: "clonesets"}, "scale",
			admission.Update, &metav1.UpdateOptions{}, false, &user.DefaultInfo{Name: "hpa"})
		versioned, err := admission.NewVersionedAttributes(attrs, gvk, nil)
		require.NoError(t, err)
		result := m.Match(context.Background(), versioned, nil, nil)
		require.NoError(t, result.Error)
		return result.Matches
	}

	held := HeldExpression([]string{"shop/nginx", "web/api"})
	assert.True(t, matches(t, held, "shop", "nginx", 2, 4))
	assert.True(t, matches(t, held, "web", "api", 2, 4))
	assert.False(t, matches(t, held, "shop", "api", 2, 4), "another CloneSet, in a namespace where one is held")
	assert.False(t, matches(t, held, "shop", "nginx", 4, 2), "a scale-in")
	assert.False(t, matches(t, MatchNone, "shop", "nginx", 2, 4))
	assert.True(t, matches(t, MatchAll, "shop", "other", 2, 4))

	longest := longestListed()
	big := HeldExpression(longest)
	last := strings.Split(longest[len(longest)-1], "/")
	assert.True(t, matches(t, big, last[0], last[1], 2, 4), "the longest list compiles and runs within the budget")
	assert.False(t, matches(t, big, last[0], "other", 2, 4))
	many := make([]string, MaxHeld)
	for i := range many {
		many[i] = fmt.Sprintf("team-%d/app-%d", i, i)
	}
	assert.True(t, matches(t, HeldExpression(many), "team-499", "app-499", 2, 4), "MaxHeld CloneSets")
	assert.False(t, matches(t, HeldExpression(many), "team-499", "app-0", 2, 4))
}

func resizeConfig(conditions ...admissionregistrationv1.MatchCondition) *admissionregistrationv1.MutatingWebhookConfiguration {
	return &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: ConfigurationName, ResourceVersion: "1"},
		Webhooks: []admissionregistrationv1.MutatingWebhook{
			{Name: "cloneset-edit.releases.triton.io", MatchConditions: []admissionregistrationv1.MatchCondition{{Name: HeldCondition, Expression: "x"}},
				ClientConfig: admissionregistrationv1.WebhookClientConfig{CABundle: []byte("ca")}},
			{Name: ScaleOutWebhook, MatchConditions: conditions, ClientConfig: admissionregistrationv1.WebhookClientConfig{CABundle: []byte("ca")}},
		},
	}
}

func TestSetHeldCondition(t *testing.T) {
	scaleOut := admissionregistrationv1.MatchCondition{Name: "scale-out", Expression: "object.spec.replicas > oldObject.spec.replicas"}
	config := resizeConfig(scaleOut, admissionregistrationv1.MatchCondition{Name: HeldCondition, Expression: MatchAll})
	current, ok := HeldConditionOf(config)
	assert.True(t, ok)
	assert.Equal(t, MatchAll, current)
	assert.False(t, SetHeldCondition(config, MatchAll), "unchanged")
	assert.True(t, SetHeldCondition(config, MatchNone))
	assert.Equal(t, []admissionregistrationv1.MatchCondition{scaleOut, {Name: HeldCondition, Expression: MatchNone}}, config.Webhooks[1].MatchConditions)
	assert.Equal(t, "x", config.Webhooks[0].MatchConditions[0].Expression, "the edit webhook is not touched")
	assert.Equal(t, []byte("ca"), config.Webhooks[1].ClientConfig.CABundle, "nor the caBundle")

	config = resizeConfig(scaleOut)
	_, ok = HeldConditionOf(config)
	assert.False(t, ok)
	assert.True(t, SetHeldCondition(config, MatchNone), "an older webhook.yaml without the condition gets it")
	assert.Equal(t, []admissionregistrationv1.MatchCondition{scaleOut, {Name: HeldCondition, Expression: MatchNone}}, config.Webhooks[1].MatchConditions)

	other := resizeConfig()
	other.Webhooks = other.Webhooks[:1]
	assert.False(t, SetHeldCondition(other, MatchNone), "no scale-out webhook: nothing to scope")
}

// Scope keeps the condition listing the held CloneSets as they come and go, writes only when the list
// changes, and puts its list back when an apply of webhook.yaml overwrites it.
func TestScopeKeepsTheConditionListingTheHeldCloneSets(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	held := func(ns, name, owner string) *kruiseappsv1alpha1.CloneSet {
		cs := &kruiseappsv1alpha1.CloneSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: map[string]string{}}}
		if owner != "" {
			cs.Annotations[v1alpha1.OwnerAnnotation] = owner
		}
		return cs
	}
	kruise := kruisefake.NewSimpleClientset(held("shop", "nginx", "r1"), held("shop", "other", ""))
	kube := kubefake.NewClientset(resizeConfig(
		admissionregistrationv1.MatchCondition{Name: "scale-out", Expression: "object.spec.replicas > oldObject.spec.replicas"},
		admissionregistrationv1.MatchCondition{Name: HeldCondition, Expression: MatchAll}))
	kruiseFactory := kruiseinformers.NewSharedInformerFactory(kruise, 0)
	kubeFactory := kubeinformers.NewSharedInformerFactory(kube, 0)
	scope := &Scope{Kube: kube, Debounce: 10 * time.Millisecond,
		CloneSets: kruiseFactory.Apps().V1alpha1().CloneSets().Informer(),
		Configs:   kubeFactory.Admissionregistration().V1().MutatingWebhookConfigurations().Informer()}
	kruiseFactory.Start(ctx.Done())
	kubeFactory.Start(ctx.Done())
	done := make(chan struct{})
	go func() { scope.Run(ctx); close(done) }()

	configs := kube.AdmissionregistrationV1().MutatingWebhookConfigurations()
	expect := func(what, want string) {
		t.Helper()
		var last string
		err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
			config, err := configs.Get(ctx, ConfigurationName, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			last, _ = HeldConditionOf(config)
			return last == want, nil
		})
		require.NoError(t, err, "%s: want %q, last %q", what, want, last)
	}
	updates := func() int {
		n := 0
		for _, a := range kube.Actions() {
			if a.GetVerb() == "update" {
				n++
			}
		}
		return n
	}
	expect("the one held", HeldExpression([]string{"shop/nginx"}))
	assert.Equal(t, 1, updates())

	cloneSets := kruise.AppsV1alpha1().CloneSets("shop")
	_, err := cloneSets.Update(ctx, held("shop", "other", "r2"), metav1.UpdateOptions{})
	require.NoError(t, err)
	expect("a release takes another", HeldExpression([]string{"shop/nginx", "shop/other"}))

	// A change that leaves the list as it is writes nothing.
	before := updates()
	relabelled := held("shop", "other", "r2")
	relabelled.Labels = map[string]string{"a": "b"}
	_, err = cloneSets.Update(ctx, relabelled, metav1.UpdateOptions{})
	require.NoError(t, err)
	time.Sleep(200 * time.Millisecond)
	assert.Equal(t, before, updates(), "the same list: no write")

	// An apply of webhook.yaml puts MatchAll back: the list is written again.
	config, err := configs.Get(ctx, ConfigurationName, metav1.GetOptions{})
	require.NoError(t, err)
	SetHeldCondition(config, MatchAll)
	_, err = configs.Update(ctx, config, metav1.UpdateOptions{})
	require.NoError(t, err)
	expect("webhook.yaml applied again", HeldExpression([]string{"shop/nginx", "shop/other"}))

	_, err = cloneSets.Update(ctx, held("shop", "nginx", ""), metav1.UpdateOptions{})
	require.NoError(t, err)
	require.NoError(t, cloneSets.Delete(ctx, "other", metav1.DeleteOptions{}))
	expect("the releases ended, one CloneSet deleted", MatchNone)

	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return when its term ended")
	}
}

// A Scope told another configuration keeps that one and leaves the default one as it is: a second
// installation in a cluster scopes its own webhook, never the first one's.
func TestScopeKeepsOnlyTheConfigurationItIsGiven(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cs := &kruiseappsv1alpha1.CloneSet{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "nginx",
		Annotations: map[string]string{v1alpha1.OwnerAnnotation: "r1"}}}
	scaleOut := admissionregistrationv1.MatchCondition{Name: "scale-out", Expression: "object.spec.replicas > oldObject.spec.replicas"}
	first := resizeConfig(scaleOut, admissionregistrationv1.MatchCondition{Name: HeldCondition, Expression: MatchAll})
	second := resizeConfig(scaleOut, admissionregistrationv1.MatchCondition{Name: HeldCondition, Expression: MatchAll})
	second.Name = "triton-staging-resize"
	kruise := kruisefake.NewSimpleClientset(cs)
	kube := kubefake.NewClientset(first, second)
	kruiseFactory := kruiseinformers.NewSharedInformerFactory(kruise, 0)
	kubeFactory := kubeinformers.NewSharedInformerFactory(kube, 0)
	scope := &Scope{Configuration: second.Name, Kube: kube, Debounce: 10 * time.Millisecond,
		CloneSets: kruiseFactory.Apps().V1alpha1().CloneSets().Informer(),
		Configs:   kubeFactory.Admissionregistration().V1().MutatingWebhookConfigurations().Informer()}
	kruiseFactory.Start(ctx.Done())
	kubeFactory.Start(ctx.Done())
	go scope.Run(ctx)

	configs := kube.AdmissionregistrationV1().MutatingWebhookConfigurations()
	want := HeldExpression([]string{"shop/nginx"})
	var last string
	err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		config, err := configs.Get(ctx, second.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		last, _ = HeldConditionOf(config)
		return last == want, nil
	})
	require.NoError(t, err, "the configuration it was given: want %q, last %q", want, last)
	for _, a := range kube.Actions() {
		if u, ok := a.(clienttesting.UpdateAction); ok {
			assert.Equal(t, second.Name, u.GetObject().(metav1.Object).GetName(), "only the configuration it was given is written")
		}
	}
	config, err := configs.Get(ctx, ConfigurationName, metav1.GetOptions{})
	require.NoError(t, err)
	current, _ := HeldConditionOf(config)
	assert.Equal(t, MatchAll, current, "the default configuration is left as it was")
}
