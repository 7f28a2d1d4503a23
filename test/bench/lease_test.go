//go:build bench

package bench

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	coordinationclient "k8s.io/client-go/kubernetes/typed/coordination/v1"

	"github.com/triton-io/triton/pkg/release/controller"
)

// benchHolder is the holder the bench writes in the controller's Lease.
const benchHolder = "bench"

// holdController takes the release controller's Lease for the bench, so that the stored Releases (Create
// releases of CloneSets that do not exist) stay Pending and make no CloneSets. c.letController gives it back:
// it deletes what the bench stored in namespaces first, then the Lease; it runs at the end of the run at
// the latest. The function returned gives the Lease back and nothing else: for Releases the controller
// may have (finished ones).
func holdController(t *testing.T, ctx context.Context, c *cluster, namespaces *[]string) (giveBack func()) {
	t.Helper()
	leases := c.kube.CoordinationV1().Leases("triton-system")
	name := controller.DefaultElection().Name
	now := metav1.NewMicroTime(time.Now())
	require.NoError(t, wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		l, err := leases.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			l = &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: name}}
			l.Spec.HolderIdentity, l.Spec.LeaseDurationSeconds, l.Spec.AcquireTime, l.Spec.RenewTime = ptr(benchHolder), ptr(int32(3600)), &now, &now
			_, err = leases.Create(ctx, l, metav1.CreateOptions{})
			return err == nil, nil
		}
		if err != nil {
			return false, nil
		}
		l.Spec.HolderIdentity, l.Spec.LeaseDurationSeconds, l.Spec.AcquireTime, l.Spec.RenewTime = ptr(benchHolder), ptr(int32(3600)), &now, &now
		_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
		return err == nil, nil
	}), "taking the controller's Lease")
	var once sync.Once
	previous := c.letController
	c.letController = func() {
		once.Do(func() {
			ctx := context.Background()
			dyn := dynamic.NewForConfigOrDie(c.config)
			for _, ns := range *namespaces {
				_ = dyn.Resource(releasesGVR).Namespace(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
			}
			giveLeaseBack(ctx, leases, name)
		})
		if previous != nil {
			previous()
		}
	}
	t.Cleanup(c.letController)
	// The server cannot renew a Lease the bench holds; it stops reconciling once its renewals have failed
	// for its renew deadline, which a leader's lease duration bounds (that is what lets another replica
	// take over). Nothing outside the server shows the moment, so the bench waits that long (3 s, as it
	// did before, let a server running 10 s more start the bench's Pending releases).
	time.Sleep(controller.DefaultElection().LeaseDuration)
	return func() { giveLeaseBack(context.Background(), leases, name) }
}

// giveLeaseBack deletes the controller's Lease while the bench holds it (never the server's own); the
// server takes it again at its next try.
func giveLeaseBack(ctx context.Context, leases coordinationclient.LeaseInterface, name string) {
	l, err := leases.Get(ctx, name, metav1.GetOptions{})
	if err != nil || l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != benchHolder {
		return
	}
	_ = leases.Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &l.ResourceVersion}})
}

// controllerBack gives the controller its Lease back, if the bench holds it (the Releases stored meanwhile
// deleted first), and waits until the server runs it again and no Release is being deleted.
func controllerBack(t *testing.T, ctx context.Context, c *cluster) {
	t.Helper()
	if c.letController != nil {
		c.letController()
	}
	waitController(t, ctx, c)
}

// waitController waits until the server runs the controller (not the bench holding its Lease) and no
// Release is being deleted.
func waitController(t *testing.T, ctx context.Context, c *cluster) {
	t.Helper()
	leases := c.kube.CoordinationV1().Leases("triton-system")
	require.NoError(t, wait.PollUntilContextTimeout(ctx, time.Second, 10*time.Minute, true, func(ctx context.Context) (bool, error) {
		l, err := leases.Get(ctx, controller.DefaultElection().Name, metav1.GetOptions{})
		if err != nil || l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity == benchHolder {
			return false, nil
		}
		list, err := c.releases.ReleasesV1alpha1().Releases("").List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		for _, r := range list.Items {
			if r.DeletionTimestamp != nil {
				return false, nil
			}
		}
		return true, nil
	}), "the controller running again, with no Release being deleted")
}
