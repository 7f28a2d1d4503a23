package cloneset

import (
	"context"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// PodWrites is how many pod writes of one step (holding, labelling, pulling in or out) are in flight at
// once. A step's writes are independent of each other (each is one pod's own label or condition), so a
// reconcile that finds five new pods waits for about one round trip, not five.
const PodWrites = 8

// eachPod calls write for every pod, at most PodWrites at once, and returns once all are done. A pod gone
// meanwhile (NotFound) is no error. Of the other errors, the one of the first pod in pods' order is
// returned, with what and the pod's name; the other pods' writes are made all the same (each is level
// triggered: the next reconcile makes what is still missing).
func eachPod(ctx context.Context, pods []*corev1.Pod, what string, write func(context.Context, *corev1.Pod) error) error {
	errs := make([]error, len(pods))
	if len(pods) == 1 {
		errs[0] = write(ctx, pods[0])
	} else {
		slots := make(chan struct{}, PodWrites)
		var wg sync.WaitGroup
		for i, p := range pods {
			slots <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-slots }()
				errs[i] = write(ctx, p)
			}()
		}
		wg.Wait()
	}
	for i, err := range errs {
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("%s pod %s: %w", what, pods[i].Name, err)
		}
	}
	return nil
}

// pointers are the pods of a slice, in order, for eachPod.
func pointers(pods []corev1.Pod) []*corev1.Pod {
	out := make([]*corev1.Pod, len(pods))
	for i := range pods {
		out[i] = &pods[i]
	}
	return out
}
