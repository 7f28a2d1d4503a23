//go:build e2e

package e2e

// Pull-out, proven on the EndpointSlices of a Service (kube-controller-manager's endpointslice controller):
// every pod a release replaces has left the Service's ready endpoints before kruise deletes it.

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

// endpointsWatch follows the Service's EndpointSlices and the pods, and records every pod that was still a
// ready endpoint when it got its deletion timestamp.
type endpointsWatch struct {
	mu         sync.Mutex
	ready      map[string]map[string]bool // slice name → ready endpoint IPs
	ip         map[string]string          // pod name → IP
	deleted    map[string]bool
	violations []string
	removed    int
	stop       chan struct{}
}

func (w *endpointsWatch) readyIP(ip string) bool {
	for _, ips := range w.ready {
		if ips[ip] {
			return true
		}
	}
	return false
}

func watchEndpoints(t *testing.T, c *cluster, ns, service string) *endpointsWatch {
	t.Helper()
	w := &endpointsWatch{ready: map[string]map[string]bool{}, ip: map[string]string{}, deleted: map[string]bool{}, stop: make(chan struct{})}
	factory := informers.NewSharedInformerFactoryWithOptions(c.kube, 0, informers.WithNamespace(ns))
	slices := factory.Discovery().V1().EndpointSlices().Informer()
	onSlice := func(obj interface{}) {
		s, ok := obj.(*discoveryv1.EndpointSlice)
		if !ok || s.Labels[discoveryv1.LabelServiceName] != service {
			return
		}
		ips := map[string]bool{}
		for _, e := range s.Endpoints {
			if e.Conditions.Ready != nil && *e.Conditions.Ready {
				for _, a := range e.Addresses {
					ips[a] = true
				}
			}
		}
		w.mu.Lock()
		w.ready[s.Name] = ips
		w.mu.Unlock()
	}
	_, err := slices.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: onSlice, UpdateFunc: func(_, obj interface{}) { onSlice(obj) },
		DeleteFunc: func(obj interface{}) {
			if s, ok := obj.(*discoveryv1.EndpointSlice); ok {
				w.mu.Lock()
				delete(w.ready, s.Name)
				w.mu.Unlock()
			}
		},
	})
	require.NoError(t, err)
	pods := factory.Core().V1().Pods().Informer()
	onPod := func(obj interface{}) {
		p, ok := obj.(*corev1.Pod)
		if !ok {
			if tomb, isTomb := obj.(cache.DeletedFinalStateUnknown); isTomb {
				p, ok = tomb.Obj.(*corev1.Pod)
			}
			if !ok {
				return
			}
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		if p.Status.PodIP != "" {
			w.ip[p.Name] = p.Status.PodIP
		}
		if p.DeletionTimestamp == nil || w.deleted[p.Name] {
			return
		}
		w.deleted[p.Name] = true
		w.removed++
		if ip := w.ip[p.Name]; ip != "" && w.readyIP(ip) && len(w.violations) < 10 {
			w.violations = append(w.violations, fmt.Sprintf("pod %s (%s) was deleted while a ready endpoint", p.Name, ip))
		}
	}
	_, err = pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: onPod, UpdateFunc: func(_, obj interface{}) { onPod(obj) }, DeleteFunc: onPod,
	})
	require.NoError(t, err)
	factory.Start(w.stop)
	factory.WaitForCacheSync(w.stop)
	t.Cleanup(func() {
		select {
		case <-w.stop:
		default:
			close(w.stop)
		}
	})
	return w
}

func TestPodsLeaveTheEndpointsBeforeKruiseDeletesThem(t *testing.T) {
	admin := connect(t, "admin")
	ns := namespace(t, admin)
	ctx := testContext(t, 3*time.Minute)
	nginx(t, ctx, admin, ns, 4)
	_, err := admin.kube.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "nginx"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "nginx"},
			Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(80)}}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	w := watchEndpoints(t, admin, ns, "nginx")
	waitFor(t, ctx, "4 ready endpoints", func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		n := 0
		for _, ips := range w.ready {
			n += len(ips)
		}
		return n == 4
	})

	r, err := admin.releases.ReleasesV1alpha1().Releases(ns).Create(ctx,
		updateTo("nginx:1.28", 1, intstr.FromInt32(2), v1alpha1.ModeAuto), metav1.CreateOptions{})
	require.NoError(t, err)
	// The canary waits for next at Smoked; Auto does the rest.
	nextUntilBaked(t, ctx, admin, ns, r.Name, 1)
	waitRelease(t, ctx, admin, ns, r.Name, "Succeeded", func(r *v1alpha1.Release) bool {
		return succeeded(r) || conditionIs(r, v1alpha1.ConditionAwaitingNext, metav1.ConditionTrue)
	})
	if got, _ := admin.releases.ReleasesV1alpha1().Releases(ns).Get(ctx, r.Name, metav1.GetOptions{}); !succeeded(got) {
		_, err = admin.releases.ReleasesV1alpha1().Releases(ns).Next(ctx, r.Name,
			&v1alpha1.ReleaseRequest{ExpectedBatch: one(got.Status.CurrentBatch)}, metav1.CreateOptions{})
		require.NoError(t, err)
		waitRelease(t, ctx, admin, ns, r.Name, "Succeeded", succeeded)
	}
	waitServing(t, ctx, admin, ns, 4, 4, "nginx:1.28")
	waitFor(t, ctx, "the new pods are the Service's 4 ready endpoints", func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		n := 0
		for _, ips := range w.ready {
			n += len(ips)
		}
		return n == 4
	})

	w.mu.Lock()
	defer w.mu.Unlock()
	assert.Equal(t, 4, w.removed, "kruise replaced the 4 old pods")
	assert.Empty(t, w.violations, "a pod left the endpoints only after kruise deleted it")
}
