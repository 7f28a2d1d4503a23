package servingcert

import (
	"context"
	"encoding/base64"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func store(client *fake.Clientset, now time.Time) *Store {
	return &Store{Client: client, Namespace: "triton-system", Name: "triton-apiserver-tls", Policy: policy,
		Now: func() time.Time { return now }}
}

func secretData(t *testing.T, client *fake.Clientset) map[string][]byte {
	t.Helper()
	s, err := client.CoreV1().Secrets("triton-system").Get(context.Background(), "triton-apiserver-tls", metav1.GetOptions{})
	require.NoError(t, err)
	return s.Data
}

func writes(client *fake.Clientset) int {
	n := 0
	for _, a := range client.Actions() {
		if a.GetVerb() == "create" || a.GetVerb() == "update" {
			n++
		}
	}
	return n
}

func TestEnsureCreatesTheSecretOnceAndThenLeavesItAlone(t *testing.T) {
	client := fake.NewClientset()
	b, err := store(client, t0).Ensure(context.Background())
	require.NoError(t, err)
	data := secretData(t, client)
	assert.Equal(t, b.Data(), data)
	assert.Equal(t, 1, writes(client))

	again, err := store(client, t0.Add(time.Hour)).Ensure(context.Background())
	require.NoError(t, err)
	assert.True(t, again.Cert.Equal(b.Cert))
	assert.Equal(t, 1, writes(client), "nothing due: no write")

	renewed, err := store(client, NextCheck(b)).Ensure(context.Background())
	require.NoError(t, err)
	assert.False(t, renewed.Cert.Equal(b.Cert))
	assert.Equal(t, 2, writes(client))
}

// Two replicas start at once: the one that loses the create serves what the winner wrote.
func TestEnsureLosingTheRaceServesTheWinnersCertificate(t *testing.T) {
	client := fake.NewClientset()
	var winner *Bundle
	client.PrependReactor("create", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if winner != nil {
			return false, nil, nil
		}
		// The other replica's create lands first.
		var err error
		winner, _, err = Renew(nil, policy, t0, never)
		require.NoError(t, err)
		require.NoError(t, client.Tracker().Add(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "triton-apiserver-tls", Namespace: "triton-system"},
			Data: winner.Data()}))
		return true, nil, apierrors.NewAlreadyExists(corev1.Resource("secrets"), "triton-apiserver-tls")
	})
	b, err := store(client, t0).Ensure(context.Background())
	require.NoError(t, err)
	assert.True(t, b.Cert.Equal(winner.Cert))
	assert.Equal(t, winner.Data(), secretData(t, client))
}

func TestEnsureReplacesASecretThatCannotServe(t *testing.T) {
	client := fake.NewClientset(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "triton-apiserver-tls", Namespace: "triton-system"},
		Data: map[string][]byte{"tls.crt": []byte("garbage"), "other": []byte("kept")}})
	b, err := store(client, t0).Ensure(context.Background())
	require.NoError(t, err)
	data := secretData(t, client)
	assert.Equal(t, b.Data()[CertKey], data[CertKey])
	assert.Equal(t, []byte("kept"), data["other"], "keys of others are left alone")
}

func apiService(bundle []byte) *unstructured.Unstructured {
	spec := map[string]interface{}{"group": "releases.triton.io", "version": "v1alpha1"}
	if bundle != nil {
		spec["caBundle"] = base64.StdEncoding.EncodeToString(bundle)
	}
	return &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
		"metadata": map[string]interface{}{"name": "v1alpha1.releases.triton.io"},
		"spec":     spec,
	}}
}

func injector(t *testing.T, apiservice *unstructured.Unstructured, webhookBundle []byte) (*Injector, *dynamicfake.FakeDynamicClient, *fake.Clientset) {
	t.Helper()
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{APIServiceResource: "APIServiceList"}, apiservice)
	kube := fake.NewClientset(&admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "triton-cloneset-resize"},
		Webhooks: []admissionregistrationv1.MutatingWebhook{
			{Name: "a.releases.triton.io", ClientConfig: admissionregistrationv1.WebhookClientConfig{CABundle: webhookBundle}},
			{Name: "b.releases.triton.io"},
		},
	})
	return &Injector{Dynamic: dyn, Kube: kube, APIServices: []string{"v1alpha1.releases.triton.io"}, Webhooks: []string{"triton-cloneset-resize"}}, dyn, kube
}

func injected(t *testing.T, i *Injector) (apiservice []byte, webhooks [][]byte) {
	t.Helper()
	ctx := context.Background()
	apiservice, _, err := i.apiServiceBundle(ctx, "v1alpha1.releases.triton.io")
	require.NoError(t, err)
	config, err := i.Kube.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, "triton-cloneset-resize", metav1.GetOptions{})
	require.NoError(t, err)
	for _, w := range config.Webhooks {
		webhooks = append(webhooks, w.ClientConfig.CABundle)
	}
	return apiservice, webhooks
}

func TestInjectFillsEveryCABundleAndTrustedSeesIt(t *testing.T) {
	b, _ := renew(t, nil, t0, never)
	i, _, _ := injector(t, apiService(nil), nil)
	ok, err := i.Trusted(context.Background(), b.CAs[0])
	require.NoError(t, err)
	assert.False(t, ok)

	require.NoError(t, i.Inject(context.Background(), b.CABundle()))
	apiservice, webhooks := injected(t, i)
	assert.Equal(t, b.CABundle(), apiservice)
	assert.Equal(t, [][]byte{b.CABundle(), b.CABundle()}, webhooks)
	ok, err = i.Trusted(context.Background(), b.CAs[0])
	require.NoError(t, err)
	assert.True(t, ok)
}

// A replica that has not yet read the newest Secret never puts an older CA bundle back.
func TestInjectNeverMovesACABundleBackwards(t *testing.T) {
	older, _ := renew(t, nil, t0, never)
	newer, _ := renew(t, nil, t0.Add(time.Hour), never)
	i, _, _ := injector(t, apiService(newer.CABundle()), newer.CABundle())
	require.NoError(t, i.Inject(context.Background(), older.CABundle()))
	apiservice, webhooks := injected(t, i)
	assert.Equal(t, newer.CABundle(), apiservice)
	assert.Equal(t, newer.CABundle(), webhooks[0])
	assert.Equal(t, older.CABundle(), webhooks[1], "the webhook that had none gets one")

	// A caBundle a GitOps tool emptied is filled again.
	i, _, _ = injector(t, apiService([]byte{}), nil)
	require.NoError(t, i.Inject(context.Background(), newer.CABundle()))
	apiservice, _ = injected(t, i)
	assert.Equal(t, newer.CABundle(), apiservice)
}
