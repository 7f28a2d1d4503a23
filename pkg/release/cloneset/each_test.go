package cloneset

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func namedPods(n int) []*corev1.Pod {
	pods := make([]*corev1.Pod, n)
	for i := range pods {
		pods[i] = &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: fmt.Sprintf("pod-%d", i)}}
	}
	return pods
}

// A step's pod writes are in flight together: five writes that each wait until all five have started
// finish (one after the other, the first would wait for ever), and never more than PodWrites at once.
func TestOneStepsPodWritesAreMadeTogether(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pods := namedPods(5)
	var started sync.WaitGroup
	started.Add(len(pods))
	err := eachPod(ctx, pods, "holding", func(ctx context.Context, _ int) error {
		started.Done()
		all := make(chan struct{})
		go func() { started.Wait(); close(all) }()
		select {
		case <-all:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("only some writes were in flight: %w", ctx.Err())
		}
	})
	require.NoError(t, err)

	var now, most atomic.Int32
	pods = namedPods(3 * PodWrites)
	require.NoError(t, eachPod(ctx, pods, "holding", func(ctx context.Context, _ int) error {
		n := now.Add(1)
		defer now.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); {
			m = most.Load()
		}
		time.Sleep(time.Millisecond) // long enough for the others to start, if they may
		return nil
	}))
	assert.LessOrEqual(t, most.Load(), int32(PodWrites))
}

// Every pod is written even when one write fails; the error names the first failed pod in order; a pod
// gone meanwhile is no error.
func TestAFailedPodWriteDoesNotStopTheOthers(t *testing.T) {
	pods := namedPods(4)
	gone := apierrors.NewNotFound(schema.GroupResource{Resource: "pods"}, "pod-0")
	var mu sync.Mutex
	written := map[string]bool{}
	err := eachPod(context.Background(), pods, "pulling in", func(ctx context.Context, i int) error {
		p := pods[i]
		mu.Lock()
		written[p.Name] = true
		mu.Unlock()
		switch p.Name {
		case "pod-0":
			return gone
		case "pod-2", "pod-3":
			return errors.New("conflict")
		}
		return nil
	})
	require.Error(t, err)
	assert.Equal(t, "pulling in pod pod-2: conflict", err.Error())
	assert.Len(t, written, 4)

	assert.NoError(t, eachPod(context.Background(), pods[:1], "pulling in", func(context.Context, int) error { return gone }))
	assert.NoError(t, eachPod(context.Background(), nil, "pulling in", func(context.Context, int) error { return errors.New("never") }))
}
