//go:build e2e

package e2e

import (
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/test/e2e/framework"
)

// serveOnAddress makes ip (a kwok pod's address, say) reachable on this machine (the loopback device) and
// serves body on ip:port until the test ends; it counts the requests.
func serveOnAddress(t *testing.T, ip string, port int, body string) *atomic.Int64 {
	t.Helper()
	out, err := exec.Command("ip", "addr", "add", ip+"/32", "dev", "lo").CombinedOutput()
	require.NoError(t, err, "ip addr add %s/32 dev lo (the test needs root and iproute2): %s", ip, out)
	t.Cleanup(func() { _ = exec.Command("ip", "addr", "del", ip+"/32", "dev", "lo").Run() })
	return serve(t, net.JoinHostPort(ip, fmt.Sprint(port)), body)
}

// serve answers body on addr until the test ends, counting the requests.
func serve(t *testing.T, addr, body string) *atomic.Int64 {
	t.Helper()
	var requests atomic.Int64
	ln, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	server := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprint(w, body)
	})}
	go func() { _ = server.Serve(ln) }()
	t.Cleanup(func() { _ = server.Close() })
	return &requests
}

// An http check asks a ready endpoint of a Service of the release's namespace, one of its pods (served
// here on the pod's address), and the batch is Baked on the number it answers. A Service whose
// EndpointSlice, written by hand, names an address that is no pod of the namespace is never asked: its
// check measures Error.
func TestAnHTTPCheckAsksAPodOfTheNamespaceOnly(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(3*time.Minute), framework.CloneSet("nginx", 1))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	port := int32(8080)
	services := admin.Kube.CoreV1().Services(ns)
	_, err := services.Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "canary"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{v1alpha1.ReleaseLabel: "nginx-update"},
			Ports: []corev1.ServicePort{{Name: "http", Port: port, TargetPort: intstr.FromInt32(port)}}}}, metav1.CreateOptions{})
	require.NoError(t, err)
	// "outside": no selector, and an EndpointSlice written by hand that names an address of no pod (outside
	// the bed's pod range), where a server that would answer the same listens.
	outsideIP := fmt.Sprintf("10.255.%d.%d", time.Now().UnixNano()%250+1, time.Now().UnixNano()/7%250+1)
	outsidePort := int32(8081)
	outside := serveOnAddress(t, outsideIP, int(outsidePort), `{"errors": 0}`)
	_, err = services.Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "outside"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: port, TargetPort: intstr.FromInt32(outsidePort)}}}}, metav1.CreateOptions{})
	require.NoError(t, err)
	ready, name := true, "http"
	_, err = admin.Kube.DiscoveryV1().EndpointSlices(ns).Create(ctx, &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "outside-1", Labels: map[string]string{discoveryv1.LabelServiceName: "outside"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{outsideIP}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
		Ports:       []discoveryv1.EndpointPort{{Name: &name, Port: &outsidePort}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)

	errorLimit := int32(1000)
	check := func(name, service string, dryRun bool) v1alpha1.AnalysisCheck {
		return v1alpha1.AnalysisCheck{Name: name, HTTP: &v1alpha1.HTTPCheck{Service: service, Port: port, Path: "/health", JSONPath: "{.errors}"},
			SuccessCondition: "result == 0", ErrorLimit: &errorLimit, DryRun: dryRun}
	}
	rel := withAnalysis(framework.UpdateTo("nginx:1.28", 0, intstr.FromString("100%"), v1alpha1.ModeManual), 2,
		check("canary", "canary", false), check("outside", "outside", true))
	_, err = s.Releases.Create(ctx, rel, metav1.CreateOptions{})
	require.NoError(t, err)

	// The batch's pod, once it has an address: served on it.
	var ip string
	framework.WaitPods(t, ctx, admin, ns, "the new pod with an address", func(pods []corev1.Pod) bool {
		for _, p := range pods {
			if p.Spec.Containers[0].Image == "nginx:1.28" && p.Status.PodIP != "" {
				ip = p.Status.PodIP
				return true
			}
		}
		return false
	})
	canary := serveOnAddress(t, ip, int(port), `{"errors": 0}`)

	r := framework.WaitRelease(t, ctx, admin, ns, rel.Name, "batch 1 Baked", framework.BatchIs(1, v1alpha1.BatchBaked))
	assert.Positive(t, canary.Load(), "the pod was asked")
	byName := map[string]v1alpha1.AnalysisStatus{}
	for _, a := range r.Status.Batches[0].Analysis {
		byName[a.Name] = a
	}
	require.NotEmpty(t, byName["canary"].Measurements)
	assert.Equal(t, v1alpha1.AnalysisPassed, byName["canary"].Phase)
	assert.Equal(t, "0", byName["canary"].Measurements[len(byName["canary"].Measurements)-1].Value)
	require.NotEmpty(t, byName["outside"].Measurements)
	for _, m := range byName["outside"].Measurements {
		assert.Equal(t, v1alpha1.AnalysisError, m.Phase, "an address that is no pod of the namespace is never asked: %s", m.Message)
		assert.True(t, strings.Contains(m.Message, "no ready endpoint"), m.Message)
	}
	assert.Zero(t, outside.Load(), "nothing was sent to the address outside the namespace's pods")
}
