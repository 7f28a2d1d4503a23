package controller

import (
	"context"
	"os"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/klog/v2"
)

// Election is where the replicas of triton-apiserver elect the one that runs the controller: a
// coordination.k8s.io Lease.
type Election struct {
	Namespace string
	Name      string
	// LeaseDuration is how long a leader that stops renewing keeps the lease; another replica takes over
	// within about this long.
	LeaseDuration time.Duration
}

// DefaultElection is the Lease triton-system/triton-release-controller (the namespace from POD_NAMESPACE
// when set), 15 seconds.
func DefaultElection() Election {
	ns := os.Getenv("POD_NAMESPACE")
	if ns == "" {
		ns = "triton-system"
	}
	return Election{Namespace: ns, Name: "triton-release-controller", LeaseDuration: 15 * time.Second}
}

// RunWhileLeader runs run while this replica holds the lease, until ctx is done. A replica that loses
// the lease stops reconciling at once.
func RunWhileLeader(ctx context.Context, kube kubernetes.Interface, e Election, run func(ctx context.Context)) {
	host, _ := os.Hostname()
	identity := host + "_" + string(uuid.NewUUID())
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: e.Namespace, Name: e.Name},
		Client:     kube.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: identity},
	}
	for ctx.Err() == nil {
		leaderelection.RunOrDie(ctx, leaderelection.LeaderElectionConfig{
			Lock:            lock,
			LeaseDuration:   e.LeaseDuration,
			RenewDeadline:   e.LeaseDuration * 2 / 3,
			RetryPeriod:     e.LeaseDuration / 7,
			ReleaseOnCancel: true,
			Name:            e.Name,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(ctx context.Context) {
					klog.InfoS("Leading: running the release controller", "lease", e.Namespace+"/"+e.Name, "identity", identity)
					run(ctx)
				},
				OnStoppedLeading: func() {
					klog.InfoS("Stopped leading", "lease", e.Namespace+"/"+e.Name, "identity", identity)
				},
			},
		})
	}
}
