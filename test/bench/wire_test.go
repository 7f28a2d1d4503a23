//go:build bench

package bench

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/rest"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/generated/clientset/versioned"
	"github.com/triton-io/triton/test/bench/stats"
)

// wire: the same Releases created, read and listed through the generated clientset speaking protobuf (its
// default) and speaking JSON, interleaved, at 8 clients. The Releases stay Pending (the bench holds the
// controller's Lease).
func wire(t *testing.T, ctx context.Context, c *cluster) []stats.Row {
	var namespaces []string
	holdController(t, ctx, c, &namespaces)
	ns := c.namespace(t, ctx, "bench-wire")
	namespaces = append(namespaces, ns)
	jsonConfig := rest.CopyConfig(c.config)
	jsonConfig.ContentType = runtime.ContentTypeJSON
	jsonConfig.AcceptContentTypes = runtime.ContentTypeJSON
	protobuf := c.releases.ReleasesV1alpha1().Releases(ns)
	json := versioned.NewForConfigOrDie(jsonConfig).ReleasesV1alpha1().Releases(ns)
	client := func(pb bool) interface {
		Create(context.Context, *v1alpha1.Release, metav1.CreateOptions) (*v1alpha1.Release, error)
		Get(context.Context, string, metav1.GetOptions) (*v1alpha1.Release, error)
		List(context.Context, metav1.ListOptions) (*v1alpha1.ReleaseList, error)
	} {
		if pb {
			return protobuf
		}
		return json
	}
	name := func(i int, pb bool) string {
		if pb {
			return fmt.Sprintf("pb-%d", i)
		}
		return fmt.Sprintf("json-%d", i)
	}
	n, workers := objects(), 8
	replicas, size := int32(4), intstr.FromString("50%")
	ops := []struct {
		name  string
		count int
		op    func(i int, pb bool) error
	}{
		{"create", n, func(i int, pb bool) error {
			_, err := client(pb).Create(ctx, &v1alpha1.Release{
				ObjectMeta: metav1.ObjectMeta{Name: name(i, pb)},
				Spec: v1alpha1.ReleaseSpec{CloneSetName: "cs-" + name(i, pb), Action: v1alpha1.ActionCreate, Replicas: &replicas,
					Template: releaseTemplate(name(i, pb)),
					Strategy: v1alpha1.ReleaseStrategy{Canary: 1, BatchSize: &size, Mode: v1alpha1.ModeManual}},
			}, metav1.CreateOptions{})
			return err
		}},
		{"get", n, func(i int, pb bool) error {
			_, err := client(pb).Get(ctx, name(i, pb), metav1.GetOptions{})
			return err
		}},
		{"list", max(20, n/10), func(i int, pb bool) error {
			_, err := client(pb).List(ctx, metav1.ListOptions{})
			return err
		}},
	}
	var rows []stats.Row
	for _, o := range ops {
		pb, js := interleaved(t, workers, o.count, o.op)
		// A list returns both sides' Releases (2n).
		objects := 1.0
		if o.name == "list" {
			objects = float64(2 * n)
		}
		rows = append(rows, stats.Row{
			Scenario: "wire",
			Measured: stats.Series{Name: fmt.Sprintf("release %s ×%d, protobuf", o.name, workers), Samples: pb},
			Baseline: &stats.Series{Name: fmt.Sprintf("release %s ×%d, JSON", o.name, workers), Samples: js},
			Note:     "the generated clientset, protobuf (its default) against JSON",
			Values:   map[string]float64{"objects/s": throughput(pb, workers) * objects, "JSON objects/s": throughput(js, workers) * objects},
		})
	}
	list, err := protobuf.List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	require.Len(t, list.Items, 2*n, "both sides' Releases are stored")
	return rows
}

// releaseTemplate is the pod template the storage scenario's Releases carry too.
func releaseTemplate(app string) *corev1.PodTemplateSpec {
	return &corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example/app:1.0.0"}}},
	}
}
