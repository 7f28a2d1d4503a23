// Package httpcheck measures an analysis check that asks a Service of the release's namespace: a GET to
// one of its ready endpoints, resolved through its EndpointSlices to addresses of pods of that namespace
// only, with no redirects, bounded in time and size, the value picked from the JSON answer.
package httpcheck

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
)

// Endpoints returns the addresses (host:port) that a GET to port of Service service in namespace ns may go
// to: the ready endpoints of its EndpointSlices whose address is an IP of the pod of ns the endpoint names,
// a pod that is not being deleted. An endpoint with no pod behind it, a pod of another namespace or an
// address the pod does not have (an EndpointSlice written by hand can say anything) is left out, so a
// check never reaches an address outside the namespace's pods. port is the Service's port, by name or
// number; the address carries the port its endpoints serve it on.
func Endpoints(ctx context.Context, kube kubernetes.Interface, ns, service string, port intstr.IntOrString) ([]string, error) {
	svc, err := kube.CoreV1().Services(ns).Get(ctx, service, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("service %s/%s does not exist", ns, service)
	}
	if err != nil {
		return nil, err
	}
	sp, ok := servicePort(svc, port)
	if !ok {
		return nil, fmt.Errorf("service %s/%s has no port %s", ns, service, port.String())
	}
	slices, err := kube.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{
		LabelSelector: discoveryv1.LabelServiceName + "=" + service})
	if err != nil {
		return nil, err
	}
	pods := map[string]*corev1.Pod{}
	var out []string
	for i := range slices.Items {
		slice := &slices.Items[i]
		if slice.AddressType != discoveryv1.AddressTypeIPv4 && slice.AddressType != discoveryv1.AddressTypeIPv6 {
			continue
		}
		target, ok := slicePort(slice, sp.Name)
		if !ok {
			continue
		}
		for _, ep := range slice.Endpoints {
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			ref := ep.TargetRef
			if ref == nil || ref.Kind != "Pod" || (ref.Namespace != "" && ref.Namespace != ns) {
				continue
			}
			pod, seen := pods[ref.Name]
			if !seen {
				pod, err = kube.CoreV1().Pods(ns).Get(ctx, ref.Name, metav1.GetOptions{})
				if apierrors.IsNotFound(err) {
					pod, err = nil, nil
				}
				if err != nil {
					return nil, err
				}
				pods[ref.Name] = pod
			}
			if pod == nil || pod.DeletionTimestamp != nil || (ref.UID != "" && ref.UID != pod.UID) {
				continue
			}
			for _, addr := range ep.Addresses {
				if hasIP(pod, addr) {
					out = append(out, net.JoinHostPort(addr, strconv.Itoa(int(target))))
				}
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// servicePort finds port of svc by its name, or by its number.
func servicePort(svc *corev1.Service, port intstr.IntOrString) (corev1.ServicePort, bool) {
	for _, p := range svc.Spec.Ports {
		if p.Protocol != "" && p.Protocol != corev1.ProtocolTCP {
			continue
		}
		if (port.Type == intstr.String && p.Name == port.StrVal) || (port.Type == intstr.Int && p.Port == port.IntVal) {
			return p, true
		}
	}
	return corev1.ServicePort{}, false
}

// slicePort is the port the endpoints of slice serve the Service's port name on (kube-proxy's mapping).
func slicePort(slice *discoveryv1.EndpointSlice, name string) (int32, bool) {
	for _, p := range slice.Ports {
		if p.Port == nil || (p.Protocol != nil && *p.Protocol != corev1.ProtocolTCP) {
			continue
		}
		pname := ""
		if p.Name != nil {
			pname = *p.Name
		}
		if pname == name {
			return *p.Port, true
		}
	}
	return 0, false
}

func hasIP(pod *corev1.Pod, addr string) bool {
	ip := net.ParseIP(addr)
	if ip == nil {
		return false
	}
	for _, p := range pod.Status.PodIPs {
		if have := net.ParseIP(p.IP); have != nil && have.Equal(ip) {
			return true
		}
	}
	return pod.Status.PodIP != "" && net.ParseIP(pod.Status.PodIP).Equal(ip)
}
