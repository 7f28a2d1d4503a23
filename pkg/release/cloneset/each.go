package cloneset

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/util/workqueue"
)

// PodWrites is how many pod writes of one step (holding, labelling, pulling in or out) are in flight at
// once. A step's writes are independent of each other (each is one pod's own label or condition), so a
// reconcile that finds five new pods waits for about one round trip, not five.
const PodWrites = 8

// eachPod calls write(i) for every pods[i], at most PodWrites at once (client-go's ParallelizeUntil), and
// returns once all are done. A pod gone meanwhile (NotFound) is no error. Of the other errors, the one of
// the first pod in pods' order is returned, with what and the pod's name; the other pods' writes are made
// all the same (each is level triggered: the next reconcile makes what is still missing). Writes that
// ctx's end kept from starting report its error.
func eachPod(ctx context.Context, pods []*corev1.Pod, what string, write func(ctx context.Context, i int) error) error {
	errs := make([]error, len(pods))
	workqueue.ParallelizeUntil(ctx, PodWrites, len(pods), func(i int) { errs[i] = write(ctx, i) })
	for i, err := range errs {
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("%s pod %s: %w", what, pods[i].Name, err)
		}
	}
	if len(pods) > 0 {
		return ctx.Err()
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
