//go:build e2e

package framework

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

// UpdatedWatch polls the pods and the CloneSet in the background and records any moment at which more
// pods run image than the current batch allows (invariant 2 of the contract), and every partition the
// CloneSet has while the release owns it (only ever lowered while the release progresses). The test
// raises Allowed before it approves a batch.
type UpdatedWatch struct {
	Allowed    atomic.Int32 // how many pods may run image now
	mu         sync.Mutex
	worst      string
	partitions []int32
	stop       context.CancelFunc
	done       chan struct{}
}

// WatchUpdated starts an UpdatedWatch of the CloneSet "nginx" and its pods going to image, which allows
// none of them until the test sets Allowed; it stops when the test ends.
func WatchUpdated(t *testing.T, ctx context.Context, c *Cluster, ns, image string) *UpdatedWatch {
	w := &UpdatedWatch{done: make(chan struct{})}
	ctx, w.stop = context.WithCancel(ctx)
	go func() {
		defer close(w.done)
		// Sampled until stopped: the read is never done.
		Poll(ctx, func(ctx context.Context) (struct{}, bool, string) {
			allowed := w.Allowed.Load()
			list, err := c.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=nginx"})
			if err != nil {
				return struct{}{}, false, ""
			}
			// A batch the test approved while the list was on its way may show in it: the limit is the
			// larger of the two reads (a real excess stays, and the next poll sees it).
			allowed = max(allowed, w.Allowed.Load())
			if n := CountImage(list.Items, image); int32(n) > allowed {
				w.mu.Lock()
				if w.worst == "" {
					w.worst = fmt.Sprintf("%d pods at %s while the batch allows %d: %s", n, image, allowed, PodSummary(list.Items))
				}
				w.mu.Unlock()
			}
			cs, err := c.Kruise.AppsV1alpha1().CloneSets(ns).Get(ctx, "nginx", metav1.GetOptions{})
			if err != nil || cs.Annotations[v1alpha1.OwnerAnnotation] == "" || cs.Spec.UpdateStrategy.Partition == nil {
				return struct{}{}, false, ""
			}
			w.mu.Lock()
			if p := Partition(cs); len(w.partitions) == 0 || w.partitions[len(w.partitions)-1] != p {
				w.partitions = append(w.partitions, p)
			}
			w.mu.Unlock()
			return struct{}{}, false, ""
		}, Every(150*time.Millisecond))
	}()
	t.Cleanup(w.stop)
	return w
}

// Check stops the watch and fails the test if it saw more pods at image than allowed, or the partition
// go up.
func (w *UpdatedWatch) Check(t *testing.T) {
	t.Helper()
	w.stop()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	assert.Empty(t, w.worst, "the CloneSet had more updated pods than the current batch's target")
	for i := 1; i < len(w.partitions); i++ {
		assert.Less(t, w.partitions[i], w.partitions[i-1], "the partition went up while the release ran: %v", w.partitions)
	}
}
