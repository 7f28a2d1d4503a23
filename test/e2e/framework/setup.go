//go:build e2e

package framework

// A test's start in one call: a namespace of its own, its CloneSets, and a release of them.

import (
	"context"
	"testing"
	"time"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	releasesclient "github.com/triton-io/triton/pkg/generated/clientset/versioned/typed/releases/v1alpha1"
)

// defaultTimeout is how long a test set up without Timeout may take.
const defaultTimeout = 3 * time.Minute

// Fixture is what Setup made for a test.
type Fixture struct {
	Admin     *Cluster        // the control plane as admin
	Namespace string          // the test's own namespace, deleted when the test ends
	Ctx       context.Context // the test's context, ended at the test's timeout
	// Releases is the release client of Namespace, as admin.
	Releases releasesclient.ReleaseInterface
	// CloneSet is the first CloneSet Setup made, as it was once its pods were all Ready, before any
	// release; nil without a CloneSet option.
	CloneSet *kruiseappsv1alpha1.CloneSet
	// Release is the release Setup created: as the create answered, or as it was when its first batch
	// reached the Phase waited for; nil without a Release option.
	Release *v1alpha1.Release
}

// SetupOption adds to what Setup makes.
type SetupOption func(*setup)

type setup struct {
	timeout   time.Duration
	cloneSets []cloneSetSpec
	release   *v1alpha1.Release
	phase     v1alpha1.BatchPhase
}

type cloneSetSpec struct {
	name     string
	replicas int32
	opts     []CloneSetOption
}

// Timeout gives the test d instead of 3 minutes: the test's context ends then.
func Timeout(d time.Duration) SetupOption { return func(s *setup) { s.timeout = d } }

// CloneSet has Setup make the CloneSet name of replicas pods (NewCloneSet with opts) and wait until its
// pods are all Ready (MakeCloneSet). CloneSets are made in the order given.
func CloneSet(name string, replicas int32, opts ...CloneSetOption) SetupOption {
	return func(s *setup) { s.cloneSets = append(s.cloneSets, cloneSetSpec{name, replicas, opts}) }
}

// Release has Setup create rel, after the CloneSets.
func Release(rel *v1alpha1.Release) SetupOption { return func(s *setup) { s.release = rel } }

// Phase has Setup wait, once it has created the release, until the release's first batch is phase:
// Smoked (a canary waiting for next to pull it in), or Baked.
func Phase(phase v1alpha1.BatchPhase) SetupOption { return func(s *setup) { s.phase = phase } }

// SmokedCanary is the tutorial's CloneSet with 2 pods and the Manual release nginx-update of it (canary 1,
// then the rest), its canary Smoked: waiting for next. What CanaryAwaitingNext makes.
func SmokedCanary() SetupOption {
	return func(s *setup) {
		CloneSet("nginx", 2)(s)
		Release(canaryRelease())(s)
		Phase(v1alpha1.BatchSmoked)(s)
	}
}

// Setup connects as admin, makes the test a namespace of its own and a context, and then what opts say,
// in this order: the CloneSets (each waited for until its pods are Ready), the release, and the wait for
// its first batch's phase. For example, the tutorial's CloneSet of 4 pods and a Manual update of it whose
// canary waits for next:
//
//	s := framework.Setup(t, framework.CloneSet("nginx", 4),
//		framework.Release(framework.UpdateTo("nginx:1.28", 1, intstr.FromInt32(1), v1alpha1.ModeManual)),
//		framework.Phase(v1alpha1.BatchSmoked))
//	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
func Setup(t *testing.T, opts ...SetupOption) *Fixture {
	t.Helper()
	o := setup{timeout: defaultTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	if o.phase != "" && o.release == nil {
		t.Fatal("framework.Phase without framework.Release: no release to wait for")
	}
	admin := Connect(t, "admin")
	ns := Namespace(t, admin)
	ctx := Context(t, o.timeout)
	f := &Fixture{Admin: admin, Namespace: ns, Ctx: ctx, Releases: admin.Releases.ReleasesV1alpha1().Releases(ns)}
	for _, cs := range o.cloneSets {
		MakeCloneSet(t, ctx, admin, ns, cs.name, cs.replicas, cs.opts...)
		if f.CloneSet == nil {
			made, err := admin.Kruise.AppsV1alpha1().CloneSets(ns).Get(ctx, cs.name, metav1.GetOptions{})
			require.NoError(t, err)
			f.CloneSet = made
		}
	}
	if o.release != nil {
		f.Release = startRelease(t, ctx, admin, ns, o.release, o.phase)
	}
	return f
}
