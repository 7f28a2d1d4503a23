//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/test/e2e/framework"
)

func TestAPIServiceAvailableAndDiscoveryAnswers(t *testing.T) {
	t.Parallel()
	admin := framework.Connect(t, "admin")
	ctx := framework.Context(t, 5*time.Second)
	framework.WaitUntil(t, ctx, "APIService Available and discovery of releases.triton.io/v1alpha1 within 5s", func(ctx context.Context) (struct{}, bool, string) {
		out, err := admin.Kubectl(ctx, "get", "apiservice", "v1alpha1.releases.triton.io",
			"-o", `jsonpath={.status.conditions[?(@.type=="Available")].status}`)
		if err != nil || strings.TrimSpace(out) != "True" {
			return struct{}{}, false, "APIService Available: " + out
		}
		resources, err := admin.Kube.Discovery().ServerResourcesForGroupVersion(v1alpha1.SchemeGroupVersion.String())
		if err != nil {
			return struct{}{}, false, err.Error()
		}
		return struct{}{}, len(resources.APIResources) > 0, fmt.Sprintf("%d resources", len(resources.APIResources))
	}, framework.Every(100*time.Millisecond))

	resources, err := admin.Kube.Discovery().ServerResourcesForGroupVersion(v1alpha1.SchemeGroupVersion.String())
	require.NoError(t, err)
	var names []string
	for _, r := range resources.APIResources {
		names = append(names, r.Name)
	}
	assert.Contains(t, names, "releases")
	assert.Contains(t, names, "releases/status")
}

func TestKubectlGetReleasesPrintsTheTable(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(time.Minute), framework.CloneSet("nginx", 3))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx
	out, err := admin.Kubectl(ctx, "-n", ns, "create", "-f", filepath.Join(framework.Root, "artifacts/examples/update.yaml"))
	require.NoError(t, err, out)

	out, err = admin.Kubectl(ctx, "-n", ns, "get", "releases")
	require.NoError(t, err, out)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2, out)
	assert.Equal(t, []string{"NAME", "CLONESET", "ACTION", "PHASE", "BATCH", "UPDATED", "AGE"}, strings.Fields(lines[0]))
	row := strings.Fields(lines[1])
	assert.Equal(t, []string{"nginx-update", "nginx", "Update"}, row[:3])
	assert.Contains(t, []string{string(v1alpha1.ReleasePending), string(v1alpha1.ReleaseProgressing)}, row[3])
	// 3 pods: a canary of 1, then 50% (2): two batches.
	assert.Regexp(t, `^[01]/2$`, row[4])
	assert.Regexp(t, `^\d/3$`, row[5])

	out, err = admin.Kubectl(ctx, "-n", ns, "get", "rel", "-o", "wide")
	require.NoError(t, err, out)
	assert.Equal(t, []string{"NAME", "CLONESET", "ACTION", "PHASE", "BATCH", "UPDATED", "AGE", "MODE", "PAUSED"},
		strings.Fields(strings.Split(out, "\n")[0]))
	assert.Contains(t, out, "Auto")
}

// Each example in a namespace of its own (one release at a time per CloneSet), with the CloneSet it
// needs: none for Create; 5 pods with two revisions for the others.
func TestKubectlCreateEveryExample(t *testing.T) {
	t.Parallel()
	admin := framework.Connect(t, "admin")
	ctx := framework.Context(t, 2*time.Minute)
	examples, err := filepath.Glob(filepath.Join(framework.Root, "artifacts/examples/*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, examples)
	for _, file := range examples {
		ns := framework.Namespace(t, admin)
		if filepath.Base(file) != "create.yaml" {
			framework.Nginx(t, ctx, admin, ns, 5)
			_, err := admin.Kruise.AppsV1alpha1().CloneSets(ns).Patch(ctx, "nginx", types.MergePatchType,
				[]byte(`{"spec":{"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:1.27.1"}]}}}}`), metav1.PatchOptions{})
			require.NoError(t, err)
			framework.WaitCloneSet(t, ctx, admin, ns, "nginx", func(s kruiseappsv1alpha1.CloneSetStatus) bool {
				return s.UpdatedReadyReplicas == 5 && s.ObservedGeneration == 2
			})
		}
		out, err := admin.Kubectl(ctx, "-n", ns, "create", "-f", file)
		require.NoError(t, err, "kubectl create -f %s: %s", file, out)
		assert.Contains(t, out, "release.releases.triton.io/", file)
		list, err := admin.Releases.ReleasesV1alpha1().Releases(ns).List(ctx, metav1.ListOptions{})
		require.NoError(t, err)
		require.Len(t, list.Items, 1)
		assert.NotEmpty(t, list.Items[0].Status.Batches, "%s: the plan is computed on create", file)
	}
}

func TestKubectlExplain(t *testing.T) {
	t.Parallel()
	admin := framework.Connect(t, "admin")
	ctx := framework.Context(t, time.Minute)
	out, err := admin.Kubectl(ctx, "explain", "release.spec.strategy")
	require.NoError(t, err, out)
	assert.Contains(t, out, "releases.triton.io")
	for _, field := range []string{"canary", "batchSize", "mode", "batchIntervalSeconds", "noPullIn", "progressDeadlineSeconds",
		"maxFailedPods", "type", "blueGreen", "maxSurge", "onFailure"} {
		assert.Contains(t, out, field)
	}
	assert.Contains(t, out, "Size of the first batch, the canary")

	out, err = admin.Kubectl(ctx, "explain", "release.spec.strategy.blueGreen")
	require.NoError(t, err, out)
	for _, field := range []string{"previewReplicas", "autoPromote", "scaleDownDelaySeconds"} {
		assert.Contains(t, out, field)
	}
	out, err = admin.Kubectl(ctx, "explain", "release.status")
	require.NoError(t, err, out)
	assert.Contains(t, out, "promoted")
}

func TestKubectlGetWatchSeesAChange(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(time.Minute))
	admin, ns, ctx := s.Admin, s.Namespace, s.Ctx

	cmd := exec.CommandContext(ctx, framework.KubectlBinary, "--kubeconfig", admin.Kubeconfig, "-n", ns, "get", "releases", "-w", "--output-watch-events")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	lines := make(chan string)
	go func() {
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			lines <- s.Text()
		}
		close(lines)
	}()

	// kubectl lists, then watches from the list's resourceVersion: the release shows up either way.
	framework.Nginx(t, ctx, admin, ns, 1)
	r := &v1alpha1.Release{
		ObjectMeta: metav1.ObjectMeta{Name: "watched"},
		Spec:       v1alpha1.ReleaseSpec{CloneSetName: "nginx", Action: v1alpha1.ActionRestart},
	}
	created := false
	deadline := time.After(45 * time.Second)
	var seen []string
	for {
		if !created {
			_, err := admin.Releases.ReleasesV1alpha1().Releases(ns).Create(ctx, r, metav1.CreateOptions{})
			require.NoError(t, err)
			created = true
		}
		select {
		case line, ok := <-lines:
			require.True(t, ok, "kubectl get -w ended; saw %q", seen)
			seen = append(seen, line)
			if strings.Contains(line, "watched") {
				fields := strings.Fields(line)
				assert.Equal(t, "ADDED", fields[0])
				assert.Contains(t, fields, "Restart")
				// And a change to it. The controller writes the status meanwhile, so read and write again
				// on a conflict, as any client of a live object must.
				err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
					got, err := admin.Releases.ReleasesV1alpha1().Releases(ns).Get(ctx, "watched", metav1.GetOptions{})
					if err != nil {
						return err
					}
					got.Spec.Strategy.Mode = v1alpha1.ModeAuto
					_, err = admin.Releases.ReleasesV1alpha1().Releases(ns).Update(ctx, got, metav1.UpdateOptions{})
					return err
				})
				require.NoError(t, err)
				for line := range lines {
					if strings.HasPrefix(line, "MODIFIED") && strings.Contains(line, "watched") {
						return
					}
				}
				t.Fatal("kubectl get -w ended before it saw the update")
			}
		case <-deadline:
			t.Fatalf("kubectl get -w did not show the new release within 45s; saw %q", seen)
		}
	}
}

func TestTypedClientThroughKubeAPIServer(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(time.Minute), framework.CloneSet("nginx", 1))
	ctx := s.Ctx
	releases := s.Releases
	replicas := int32(3)
	created, err := releases.Create(ctx, &v1alpha1.Release{
		ObjectMeta: metav1.ObjectMeta{Name: "web-scale"},
		Spec:       v1alpha1.ReleaseSpec{CloneSetName: "nginx", Action: v1alpha1.ActionScale, Replicas: &replicas},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.ReleasePending, created.Status.Phase)
	assert.Len(t, created.Status.Batches, 1, "scale 1 to 3 in one batch of 100%")
	assert.Equal(t, v1alpha1.ModeManual, created.Spec.Strategy.Mode)

	got, err := releases.Get(ctx, "web-scale", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, created.UID, got.UID)

	// Invalid input through the aggregator: 422 with the field, nothing stored.
	_, err = releases.Create(ctx, &v1alpha1.Release{
		ObjectMeta: metav1.ObjectMeta{Name: "bad"},
		Spec:       v1alpha1.ReleaseSpec{CloneSetName: "nginx", Action: v1alpha1.ActionScale},
	}, metav1.CreateOptions{})
	require.True(t, apierrors.IsInvalid(err), "want 422, got %v", err)
	assert.Contains(t, err.Error(), "spec.replicas")
	_, err = releases.Get(ctx, "bad", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err))

	// A release for a CloneSet that does not exist: 422 naming the field.
	_, err = releases.Create(ctx, &v1alpha1.Release{
		ObjectMeta: metav1.ObjectMeta{Name: "ghost"},
		Spec:       v1alpha1.ReleaseSpec{CloneSetName: "ghost", Action: v1alpha1.ActionRestart},
	}, metav1.CreateOptions{})
	require.True(t, apierrors.IsInvalid(err), "want 422, got %v", err)
	assert.Contains(t, err.Error(), "spec.cloneSetName")

	require.NoError(t, releases.Delete(ctx, "web-scale", metav1.DeleteOptions{}))
}

func TestUserWithoutRoleIsForbidden(t *testing.T) {
	t.Parallel()
	s := framework.Setup(t, framework.Timeout(time.Minute))
	ns, ctx := s.Namespace, s.Ctx
	bob := framework.Connect(t, "bob")
	_, err := bob.Releases.ReleasesV1alpha1().Releases(ns).List(ctx, metav1.ListOptions{})
	assert.True(t, apierrors.IsForbidden(err), "bob lists releases: want 403, got %v", err)
	_, err = bob.Releases.ReleasesV1alpha1().Releases(ns).Create(ctx, &v1alpha1.Release{
		ObjectMeta: metav1.ObjectMeta{Name: "nope"},
		Spec:       v1alpha1.ReleaseSpec{CloneSetName: "web", Action: v1alpha1.ActionRestart},
	}, metav1.CreateOptions{})
	assert.True(t, apierrors.IsForbidden(err), "bob creates a release: want 403, got %v", err)
	out, err := bob.Kubectl(ctx, "-n", ns, "get", "releases")
	assert.Error(t, err)
	assert.Contains(t, out, `User "bob" cannot list resource "releases" in API group "releases.triton.io"`)
}
