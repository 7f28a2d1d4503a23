//go:build e2e

package e2e

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/triton-io/triton/test/e2e/framework"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Issue 8, item 5: many releases on as many CloneSets (kwok pods) at once, every step driven by concurrent
// `next` calls through kube-apiserver: all finish, nothing acknowledged is lost, no step is taken twice, no
// CloneSet is ever ahead of its batch; the test reports the verb's latency (p50/p99). 200 releases in make
// test-reliability, 40 in make test.
func TestLoadConcurrentReleases(t *testing.T) {
	t.Parallel()
	admin := framework.Connect(t, "admin")
	ns := framework.Namespace(t, admin)
	releaseCount := sized(40, 200)
	ctx := framework.Context(t, time.Duration(5+releaseCount/20)*time.Minute)
	names := fleet(t, ctx, admin, ns, releaseCount, 2)
	partitions := logPartitions(t, ctx, admin, ns, false)
	client := fastClient(admin)
	start := time.Now()
	for _, name := range names {
		_, err := client.ReleasesV1alpha1().Releases(ns).Create(ctx, manualUpdate(name, "app:v2"), metav1.CreateOptions{})
		require.NoError(t, err)
	}
	created := time.Since(start)
	drive := newDriver(client, ns)
	finished, err := drive.run(ctx, 32, names)
	require.NoError(t, err)
	t.Logf("load: %d releases created in %s, all finished %s after the first was created; %s",
		releaseCount, created.Round(100*time.Millisecond), time.Since(start).Round(100*time.Millisecond), drive.summary())

	drive.onlyUnavailable(t)
	allSucceeded(t, finished)
	drive.checkHistory(t, finished)
	noStepTwice(t, finished)
	partitions.check(t, finished)
}
