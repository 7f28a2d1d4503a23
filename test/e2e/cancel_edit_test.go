//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/test/e2e/framework"
)

// An edit of the CloneSet made after a cancel is never undone by the canceled release: 25 times, an image
// edit, a Restart release at once, a cancel after 0-600 ms (sometimes before the controller's start has
// landed), then the next edit and release, which must start from that edit. Before the fix, a cancel that
// came before the start's CloneSet write found nothing to let go of, and the start's write, still in
// flight, took the CloneSet back; its cancel then put the template from before over the next edit
// (2 of 25 iterations failed, twice in a row).
func TestAnEditAfterACancelIsNeverUndone(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(8*time.Minute), framework.CloneSet("nginx", 2))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	rels := s.Releases
	canceled := "" // the release canceled last
	for i := 0; i < 25; i++ {
		image := fmt.Sprintf("nginx:1.27.%d", i+1)
		name := fmt.Sprintf("restart-%d", i)
		err := editThenRestart(t, ctx, admin, ns, image, name)
		if apierrors.IsConflict(err) && strings.Contains(err.Error(), "kruise has not observed it yet") {
			t.Logf("%s: 409, kruise had not observed the edit yet", name)
			continue
		}
		if canceled != "" && apierrors.IsConflict(err) && strings.Contains(err.Error(), "release "+canceled+" was canceled and its pods are still leaving traffic") {
			// The release canceled before is not marked Reverted yet (the controller marks one canceled
			// before its start landed on its next reconcile). Once it is, the create goes ahead, and the
			// check below says whether that release undid the edit meanwhile.
			t.Logf("%s: 409, %s not Reverted yet", name, canceled)
			framework.WaitRelease(t, ctx, admin, ns, canceled, "Reverted", func(r *v1alpha1.Release) bool {
				return framework.ConditionIs(r, v1alpha1.ConditionReverted, metav1.ConditionTrue)
			})
			err = createRestart(ctx, admin, ns, name)
		}
		require.NoError(t, err)
		r, err := rels.Get(ctx, name, metav1.GetOptions{})
		require.NoError(t, err)
		rev, err := admin.Kube.AppsV1().ControllerRevisions(ns).Get(ctx, r.Status.CloneSet.RevisionBeforeRelease, metav1.GetOptions{})
		require.NoError(t, err)
		cs := framework.GetCloneSet(t, ctx, admin, ns)
		if !strings.Contains(string(rev.Data.Raw), image) {
			t.Errorf("%s: recorded revision %s, which is not the edit to %s; the CloneSet has %s (generation %d, observed %d, update revision %s)",
				name, rev.Name, image, cs.Spec.Template.Spec.Containers[0].Image, cs.Generation, cs.Status.ObservedGeneration, cs.Status.UpdateRevision)
		}
		time.Sleep(time.Duration(i%4) * 200 * time.Millisecond) // cancel at varied moments of the start, on purpose
		_, err = rels.Cancel(ctx, name, &v1alpha1.ReleaseRequest{}, metav1.CreateOptions{})
		require.NoError(t, err)
		canceled = name
		framework.WaitReleased(t, ctx, admin, ns)
	}
}

// editThenRestart sets the image of CloneSet nginx in ns and, at once, creates the Manual Restart release
// name of it (one batch of 100%); it returns the create's error.
func editThenRestart(t *testing.T, ctx context.Context, admin *framework.Cluster, ns, image, name string) error {
	t.Helper()
	_, err := admin.Kruise.AppsV1alpha1().CloneSets(ns).Patch(ctx, "nginx", types.MergePatchType,
		[]byte(fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":"nginx","image":%q}]}}}}`, image)), metav1.PatchOptions{})
	require.NoError(t, err)
	return createRestart(ctx, admin, ns, name)
}

// createRestart creates the Manual Restart release name of CloneSet nginx in ns (one batch of 100%).
func createRestart(ctx context.Context, admin *framework.Cluster, ns, name string) error {
	size := intstr.FromString("100%")
	_, err := admin.Releases.ReleasesV1alpha1().Releases(ns).Create(ctx, &v1alpha1.Release{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.ReleaseSpec{CloneSetName: "nginx", Action: v1alpha1.ActionRestart,
			Strategy: v1alpha1.ReleaseStrategy{BatchSize: &size, Mode: v1alpha1.ModeManual}},
	}, metav1.CreateOptions{})
	return err
}
