package httpcheck

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	kubefake "k8s.io/client-go/kubernetes/fake"
)

func pod(ns, name, ip string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("uid-" + name)},
		Status: corev1.PodStatus{PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}}}
}

func endpoint(addr, ns, podName string, ready bool) discoveryv1.Endpoint {
	ep := discoveryv1.Endpoint{Addresses: []string{addr}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}
	if podName != "" {
		ep.TargetRef = &corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: podName}
	}
	return ep
}

// The Service metrics of namespace shop: port "http" (80) served on 8080 by its pods.
func shop(endpoints ...discoveryv1.Endpoint) []runtime.Object {
	name, port := "http", int32(8080)
	return []runtime.Object{
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "metrics"},
			Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}}}},
		&discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "metrics-abc",
			Labels: map[string]string{discoveryv1.LabelServiceName: "metrics"}},
			AddressType: discoveryv1.AddressTypeIPv4, Ports: []discoveryv1.EndpointPort{{Name: &name, Port: &port}},
			Endpoints: endpoints},
		pod("shop", "web-1", "10.0.0.1"), pod("shop", "web-2", "10.0.0.2"), pod("bank", "vault", "10.0.9.9"),
	}
}

// Only addresses of ready pods of the namespace, as the pod itself has them: an EndpointSlice written by
// hand cannot send a check to another namespace's pod, to a pod's neighbour, or to an address with no pod.
func TestEndpointsAreOnlyThePodsOfTheNamespace(t *testing.T) {
	ctx := context.Background()
	deleting := pod("shop", "web-3", "10.0.0.3")
	now := metav1.Now()
	deleting.DeletionTimestamp, deleting.Finalizers = &now, []string{"example.com/hold"}
	objects := append(shop(
		endpoint("10.0.0.1", "shop", "web-1", true),
		endpoint("10.0.0.2", "", "web-2", true),       // the same namespace, implied
		endpoint("10.0.0.9", "shop", "web-1", true),   // not web-1's address
		endpoint("10.0.9.9", "bank", "vault", true),   // another namespace's pod
		endpoint("169.254.169.254", "", "", true),     // no pod at all: the cloud's metadata service
		endpoint("10.0.0.2", "shop", "missing", true), // a pod that does not exist
		endpoint("10.0.0.3", "shop", "web-3", true),   // being deleted
	), deleting)
	kube := kubefake.NewClientset(objects...)
	for _, port := range []intstr.IntOrString{intstr.FromString("http"), intstr.FromInt32(80)} {
		got, err := Endpoints(ctx, kube, "shop", "metrics", port)
		require.NoError(t, err)
		assert.Equal(t, []string{"10.0.0.1:8080", "10.0.0.2:8080"}, got, "port %s", port.String())
	}

	notReady := kubefake.NewClientset(shop(endpoint("10.0.0.1", "shop", "web-1", false))...)
	got, err := Endpoints(ctx, notReady, "shop", "metrics", intstr.FromString("http"))
	require.NoError(t, err)
	assert.Empty(t, got, "a pod that is not ready is not asked")

	_, err = Endpoints(ctx, kube, "shop", "metrics", intstr.FromInt32(8080))
	assert.Error(t, err, "8080 is the pods' port, not the Service's")
	_, err = Endpoints(ctx, kube, "shop", "nothing", intstr.FromInt32(80))
	assert.Error(t, err)
}

func TestGetPicksTheNumber(t *testing.T) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/stats":
			_, _ = fmt.Fprint(w, `{"errorRate": 0.002, "latency": {"p99": "120.5"}, "pods": [1, 2], "name": "web"}`)
		case "/plain":
			_, _ = fmt.Fprint(w, `42`)
		case "/moved":
			http.Redirect(w, r, "http://169.254.169.254/latest", http.StatusFound)
		case "/huge":
			_, _ = fmt.Fprint(w, `{"x": "`+strings.Repeat("a", MaxBody)+`"}`)
		case "/broken":
			http.Error(w, "down", http.StatusServiceUnavailable)
		case "/slow":
			<-r.Context().Done()
		}
	}))
	t.Cleanup(server.Close)
	addr := strings.TrimPrefix(server.URL, "http://")
	c := NewClient(300 * time.Millisecond)
	ctx := context.Background()

	for _, tc := range []struct {
		path, jsonPath string
		want           float64
	}{
		{"/stats", "{.errorRate}", 0.002},
		{"/stats", "{.latency.p99}", 120.5},
		{"/stats?window=1m", "{.errorRate}", 0.002},
		{"/plain", "", 42},
	} {
		got, err := c.Get(ctx, addr, tc.path, tc.jsonPath)
		require.NoError(t, err, "%s %s", tc.path, tc.jsonPath)
		assert.Equal(t, tc.want, got, "%s %s", tc.path, tc.jsonPath)
	}
	for _, tc := range []struct{ path, jsonPath, why string }{
		{"/stats", "{.pods[*]}", "two values"},
		{"/stats", "{.name}", "not a number"},
		{"/stats", "{.missing}", "nothing there"},
		{"/stats", "{.errorRate", "not a JSONPath"},
		{"/stats", "", "an object is not a number"},
		{"/moved", "", "a redirect is not followed"},
		{"/huge", "{.x}", "too large"},
		{"/broken", "", "not 200"},
		{"/slow", "", "the timeout"},
		{"http://169.254.169.254/latest", "", "not a path"},
		{"//169.254.169.254/latest", "", "not a path"},
		{"stats", "", "not absolute"},
	} {
		_, err := c.Get(ctx, addr, tc.path, tc.jsonPath)
		assert.Error(t, err, tc.why)
	}
}

func TestPickRefusesNaN(t *testing.T) {
	_, err := Pick([]byte(`{"v": "NaN"}`), "{.v}")
	assert.Error(t, err)
}
