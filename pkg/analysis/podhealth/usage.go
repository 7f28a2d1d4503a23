package podhealth

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"
)

// ErrNotServed is why CPU and memory are not compared on a cluster that serves no metrics API.
var ErrNotServed = errors.New("the metrics API (metrics.k8s.io) is not served")

// ReadUsage reads the CPU and memory of the pods of namespace named in batch and in others from the
// metrics API (metrics.k8s.io, as metrics-server serves it): ErrNotServed where the cluster does not serve
// it (or client is nil).
func ReadUsage(ctx context.Context, client metricsclient.Interface, namespace string, batch, others []string) (Usage, Usage, error) {
	if client == nil {
		return Usage{}, Usage{}, ErrNotServed
	}
	list, err := client.MetricsV1beta1().PodMetricses(namespace).List(ctx, metav1.ListOptions{})
	if apierrors.IsNotFound(err) {
		return Usage{}, Usage{}, ErrNotServed
	}
	if err != nil {
		return Usage{}, Usage{}, fmt.Errorf("the metrics API: %w", err)
	}
	group := make(map[string]*Usage, len(batch)+len(others))
	var b, o Usage
	for _, name := range batch {
		group[name] = &b
	}
	for _, name := range others {
		group[name] = &o
	}
	for i := range list.Items {
		m := &list.Items[i]
		u := group[m.Name]
		if u == nil || len(m.Containers) == 0 {
			continue
		}
		u.Pods++
		for _, c := range m.Containers {
			u.CPUMilli += float64(c.Usage.Cpu().MilliValue())
			u.MemoryBytes += float64(c.Usage.Memory().Value())
		}
	}
	for _, u := range []*Usage{&b, &o} {
		if u.Pods > 0 {
			u.CPUMilli /= float64(u.Pods)
			u.MemoryBytes /= float64(u.Pods)
		}
	}
	return b, o, nil
}
