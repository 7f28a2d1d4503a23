//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/release/cloneset"
	"github.com/triton-io/triton/test/e2e/framework"
)

// A pipeline creates the next release the moment the previous one has Succeeded, before the controller
// has let go of the CloneSet. Every release runs on the template it asked for, and the CloneSet ends at the
// last one: a finished release never writes a CloneSet a newer release has taken over.
func TestBackToBackReleases(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(5*time.Minute))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	names := fleet(t, ctx, admin, ns, 1, 3)
	client := fastClient(admin)
	cluster := &framework.Cluster{Releases: client}
	rounds := sized(4, 10)
	for i := 2; i < 2+rounds; i++ {
		r := autoUpdate(names[0], fmt.Sprintf("app:v%d", i), 0)
		r.Name = fmt.Sprintf("%s-v%d", names[0], i)
		r.Spec.Strategy.Canary = 0
		all := intstr.FromString("100%")
		r.Spec.Strategy.BatchSize = &all
		_, err := client.ReleasesV1alpha1().Releases(ns).Create(ctx, r, metav1.CreateOptions{})
		require.NoError(t, err, "round %d", i)
		done := framework.WaitRelease(t, ctx, cluster, ns, r.Name, "Succeeded", func(r *v1alpha1.Release) bool { return terminal(r) })
		require.Equal(t, v1alpha1.ReleaseSucceeded, done.Status.Phase, "round %d: %+v", i, done.Status.Conditions)
		revisionKeepsTemplate(t, ctx, admin, ns, names[0], done.Status.CloneSet.RevisionBeforeRelease)
	}
	last := fmt.Sprintf("app:v%d", 1+rounds)
	cs := framework.WaitCloneSetNamed(t, ctx, admin, ns, names[0], "released with every pod updated", func(cs *kruiseappsv1alpha1.CloneSet) bool {
		return cs.Annotations[v1alpha1.OwnerAnnotation] == "" && cs.Status.ObservedGeneration == cs.Generation &&
			cs.Status.UpdatedReadyReplicas == 3
	})
	assert.Equal(t, last, cs.Spec.Template.Spec.Containers[0].Image, "the CloneSet's template is the last release's")
	live := framework.LivePodsOf(t, ctx, admin, ns, names[0])
	assert.Equal(t, 3, framework.CountImage(live, last), framework.PodSummary(live))
}

// revisionKeepsTemplate checks, once kruise has observed CloneSet name, that the revision kruise made of its
// template keeps it exactly as admission compares them (cloneset.RevisionHasTemplate), and that the one from
// before the release does not. So admission knows the update revision without waiting for kruise when
// only the update strategy changed since (the end of a release puts it back, and a busy kruise may take
// seconds to observe that): a pipeline's next release is not refused in the meantime.
func revisionKeepsTemplate(t *testing.T, ctx context.Context, admin *framework.Cluster, ns, name, before string) {
	t.Helper()
	cs := framework.WaitCloneSetNamed(t, ctx, admin, ns, name, "observed by kruise", func(cs *kruiseappsv1alpha1.CloneSet) bool {
		return cs.Status.ObservedGeneration == cs.Generation
	})
	for rev, keeps := range map[string]bool{cs.Status.UpdateRevision: true, before: false} {
		cr, err := admin.Kube.AppsV1().ControllerRevisions(ns).Get(ctx, rev, metav1.GetOptions{})
		require.NoError(t, err)
		same, err := cloneset.RevisionHasTemplate(cr, &cs.Spec.Template)
		require.NoError(t, err)
		assert.Equal(t, keeps, same, "revision %s keeps the template of CloneSet %s: %s", rev, name, cr.Data.Raw)
	}
}
