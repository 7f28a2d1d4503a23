//go:build e2e

package e2e

// Three triton-apiservers, each running one member of one embedded etcd cluster (--etcd-initial-cluster),
// as components/replicated-etcd installs them: a member is killed and another restarted while callers go
// on through the others.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/generated/clientset/versioned"
	"github.com/triton-io/triton/test/e2e/framework"
	"github.com/triton-io/triton/test/ports"
)

var clientURLLine = regexp.MustCompile(`"Embedded etcd started".*clientURL="(http://[^"]+)"`)

// memberClientURL is where the replica's member serves clients now (its log's last start).
func (r *replica) memberClientURL(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(r.log)
	require.NoError(t, err)
	m := clientURLLine.FindAllSubmatch(data, -1)
	require.NotEmpty(t, m, "%s logged no embedded etcd start", r.name)
	return string(m[len(m)-1][1])
}

// allowPeerCA lets triton-apiserver's service account keep the etcd peer CA's Secret in ns.
func allowPeerCA(t *testing.T, ctx context.Context, admin *framework.Cluster, ns, secret string) {
	t.Helper()
	_, err := admin.Kube.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "triton-etcd-peer-ca"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"create"}},
			{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{secret}, Verbs: []string{"get", "update"}},
		},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = admin.Kube.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "triton-etcd-peer-ca"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "triton-etcd-peer-ca"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: "triton-system", Name: "triton-apiserver"}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
}

// haCaller calls through whichever replicas are up, round robin, each call retried at most once (on
// another replica, after a pause): what a client behind the APIService's Service sees.
type haCaller struct {
	replicas []*replica
	clients  []versioned.Interface
	down     []atomic.Bool
	next     atomic.Int64

	mu        sync.Mutex
	calls     int
	retried   int
	failures  []string
	retryErrs []string
}

func newHACaller(replicas []*replica) *haCaller {
	c := &haCaller{replicas: replicas, down: make([]atomic.Bool, len(replicas))}
	for _, r := range replicas {
		c.clients = append(c.clients, r.client())
	}
	return c
}

func (c *haCaller) pick() versioned.Interface {
	for {
		i := int(c.next.Add(1)) % len(c.clients)
		if !c.down[i].Load() {
			return c.clients[i]
		}
	}
}

// call runs f through a replica that is up; on an error, once more through another. A 409 of the retry
// after an error counts as done (the first call may have been applied before its answer was lost).
func (c *haCaller) call(ctx context.Context, what string, f func(versioned.Interface) error) error {
	err := f(c.pick())
	c.mu.Lock()
	c.calls++
	c.mu.Unlock()
	if err == nil || apierrors.IsConflict(err) || ctx.Err() != nil {
		return err
	}
	first := err.Error()
	pause(ctx, 2*time.Second)
	err = f(c.pick())
	c.mu.Lock()
	defer c.mu.Unlock()
	c.retried++
	c.retryErrs = append(c.retryErrs, what+": "+first)
	if err != nil && !apierrors.IsConflict(err) && ctx.Err() == nil {
		c.failures = append(c.failures, fmt.Sprintf("%s: %s, then %v", what, first, err))
		return err
	}
	return nil
}

// drive calls get on every release and next when one awaits it, until ctx ends.
func (c *haCaller) drive(ctx context.Context, ns string, names func() []string) {
	for seq := 0; ctx.Err() == nil; seq++ {
		for _, name := range names() {
			var r *v1alpha1.Release
			if c.call(ctx, "get "+name, func(cl versioned.Interface) (err error) {
				r, err = cl.ReleasesV1alpha1().Releases(ns).Get(ctx, name, metav1.GetOptions{})
				return err
			}) != nil || r == nil || r.Status.Phase != v1alpha1.ReleaseProgressing {
				continue
			}
			batch := r.Status.CurrentBatch
			if batch < 1 || int(batch) > len(r.Status.Batches) {
				continue
			}
			phase := r.Status.Batches[batch-1].Phase
			if phase != v1alpha1.BatchSmoked && phase != v1alpha1.BatchBaked {
				continue
			}
			_ = c.call(ctx, fmt.Sprintf("next %s %d %s", name, batch, phase), func(cl versioned.Interface) error {
				_, err := cl.ReleasesV1alpha1().Releases(ns).Next(ctx, name,
					&v1alpha1.ReleaseRequest{ExpectedBatch: &batch, ExpectedPhase: phase, Reason: fmt.Sprintf("ha-%d", seq)},
					metav1.CreateOptions{})
				return err
			})
		}
		pause(ctx, 100*time.Millisecond)
	}
}

// etcdLeader is the index of the replica whose member leads the cluster.
func etcdLeader(t *testing.T, ctx context.Context, replicas []*replica) int {
	t.Helper()
	for i, r := range replicas {
		c, err := clientv3.New(clientv3.Config{Endpoints: []string{r.memberClientURL(t)}, DialTimeout: 10 * time.Second,
			Logger: zap.NewNop()})
		require.NoError(t, err)
		st, err := c.Status(ctx, r.memberClientURL(t))
		require.NoError(t, errors.Join(err, c.Close()), r.name)
		if st.Leader == st.Header.MemberId {
			return i
		}
	}
	t.Fatal("no member leads")
	return -1
}

// The proof of components/replicated-etcd: three servers, one embedded etcd cluster of three members
// peering over TLS. One is SIGKILLed, comes back and rejoins; another is restarted as a rolling upgrade
// does; the third loses its data dir and is added again. Meanwhile a caller gets and drives releases through the servers that are up: no call fails beyond
// one retry, no release is lost, every release finishes Succeeded with its history, and the cluster ends
// with its three members healthy.
func TestReplicatedEtcd(t *testing.T) {
	start := time.Now()
	admin := framework.Connect(t, "admin")
	ns := framework.Namespace(t, admin)
	ctx := framework.Context(t, 4*time.Minute)
	allowLeaderElection(t, ctx, admin, ns)
	const caSecret = "triton-etcd-peer-ca"
	allowPeerCA(t, ctx, admin, ns, caSecret)

	names := []string{"triton-ha-0", "triton-ha-1", "triton-ha-2"}
	peers := make([]string, len(names))
	var initial []string
	for i, name := range names {
		peers[i] = fmt.Sprintf("127.0.0.1:%d", ports.Free(t))
		initial = append(initial, name+"=https://"+peers[i])
	}
	dataDirs := t.TempDir()
	var replicas []*replica
	for i, name := range names {
		replicas = append(replicas, newReplica(t, name, ns,
			"--etcd-data-dir", filepath.Join(dataDirs, name),
			"--etcd-initial-cluster", strings.Join(initial, ","),
			"--etcd-name", name,
			"--etcd-listen-peer-address", peers[i],
			"--etcd-peer-ca-secret", ns+"/"+caSecret))
	}
	// All at once, as a StatefulSet with podManagementPolicy Parallel starts them: none is ready before a
	// quorum runs.
	for _, r := range replicas {
		r.start(t)
	}
	for _, r := range replicas {
		r.waitReady(t, ctx)
	}
	t.Logf("three servers ready after %s", time.Since(start).Round(100*time.Millisecond))
	secret, err := admin.Kube.CoreV1().Secrets(ns).Get(ctx, caSecret, metav1.GetOptions{})
	require.NoError(t, err, "the members keep their peer CA in the Secret")
	assert.NotEmpty(t, secret.Data["ca.crt"])

	apps := fleet(t, ctx, admin, ns, 3, 3)
	caller := newHACaller(replicas)
	var mu sync.Mutex
	var created []string
	createRelease := func(name string) {
		t.Helper()
		require.NoError(t, caller.call(ctx, "create "+name, func(cl versioned.Interface) error {
			_, err := cl.ReleasesV1alpha1().Releases(ns).Create(ctx, manualUpdate(name, "app:v2"), metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				return nil // the first try was applied
			}
			return err
		}))
		mu.Lock()
		created = append(created, name)
		mu.Unlock()
	}
	current := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), created...)
	}
	driveCtx, stopDriving := context.WithCancel(ctx)
	driving := make(chan struct{})
	go func() {
		defer close(driving)
		caller.drive(driveCtx, ns, current)
	}()
	defer func() { stopDriving(); <-driving }()
	progressed := func(name string, batch int32) {
		t.Helper()
		framework.WaitRelease(t, ctx, &framework.Cluster{Releases: caller.pick()}, ns, name, fmt.Sprintf("batch %d", batch),
			func(r *v1alpha1.Release) bool { return r.Status.CurrentBatch >= batch || terminal(r) })
	}

	createRelease(apps[0])
	progressed(apps[0], 2)

	// 1. SIGKILL the server whose member leads etcd: the other two elect another and keep a quorum.
	k := etcdLeader(t, ctx, replicas)
	caller.down[k].Store(true)
	replicas[k].signal(t, syscall.SIGKILL)
	killed := time.Now()
	createRelease(apps[1])
	progressed(apps[1], 2)
	replicas[k].start(t)
	replicas[k].waitReady(t, ctx)
	caller.down[k].Store(false)
	t.Logf("the server of the etcd leader (%s) was killed, back and ready %s later", replicas[k].name,
		time.Since(killed).Round(100*time.Millisecond))

	// 2. A rolling upgrade's step: another one stops gracefully and starts again.
	u := (k + 1) % len(replicas)
	caller.down[u].Store(true)
	replicas[u].signal(t, syscall.SIGTERM)
	stopped := time.Now()
	createRelease(apps[2])
	replicas[u].start(t)
	replicas[u].waitReady(t, ctx)
	caller.down[u].Store(false)
	t.Logf("the restarted server (%s) was ready %s after it stopped", replicas[u].name, time.Since(stopped).Round(100*time.Millisecond))

	// 3. The third one loses its disk: it comes back empty, the running members add it again, and it gets
	// the data from the leader.
	l := (k + 2) % len(replicas)
	caller.down[l].Store(true)
	replicas[l].signal(t, syscall.SIGTERM)
	lost := time.Now()
	require.NoError(t, os.RemoveAll(filepath.Join(dataDirs, names[l])))
	replicas[l].start(t)
	replicas[l].waitReady(t, ctx)
	caller.down[l].Store(false)
	t.Logf("the server that lost its data dir (%s) was added again and ready %s after it stopped", replicas[l].name,
		time.Since(lost).Round(100*time.Millisecond))

	finished := framework.WaitUntil(t, ctx, "every release to finish", func(ctx context.Context) ([]*v1alpha1.Release, bool, string) {
		var finished []*v1alpha1.Release
		for _, name := range current() {
			r, err := replicas[2].client().ReleasesV1alpha1().Releases(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return nil, false, err.Error()
			}
			if !terminal(r) {
				return nil, false, fmt.Sprintf("%s: %s batch %d", name, r.Status.Phase, r.Status.CurrentBatch)
			}
			finished = append(finished, r)
		}
		return finished, true, ""
	}, framework.Every(250*time.Millisecond), framework.Within(2*time.Minute))
	stopDriving()
	<-driving

	// No release lost, each with its history, through every server.
	require.Len(t, finished, len(apps))
	allSucceeded(t, finished)
	noStepTwice(t, finished)
	for _, r := range replicas {
		list, err := r.client().ReleasesV1alpha1().Releases(ns).List(ctx, metav1.ListOptions{})
		require.NoError(t, err, r.name)
		require.Len(t, list.Items, len(apps), "%s lists every release", r.name)
		for _, item := range list.Items {
			assert.NotEmpty(t, item.Status.History, "%s: release %s has its history", r.name, item.Name)
		}
	}
	caller.mu.Lock()
	t.Logf("%d calls, %d retried once (%s), %d failed after the retry", caller.calls, caller.retried,
		strings.Join(caller.retryErrs, "; "), len(caller.failures))
	assert.Empty(t, caller.failures, "calls that failed beyond one retry")
	caller.mu.Unlock()

	// The killed member rejoined: three members, each serving with the cluster's leader.
	etcd, err := clientv3.New(clientv3.Config{Endpoints: []string{replicas[2].memberClientURL(t)}, DialTimeout: 10 * time.Second,
		Logger: zap.NewNop()})
	require.NoError(t, err)
	defer etcd.Close()
	members, err := etcd.MemberList(ctx)
	require.NoError(t, err)
	require.Len(t, members.Members, 3)
	for _, r := range replicas {
		st, err := etcd.Status(ctx, r.memberClientURL(t))
		require.NoError(t, err, "%s's member answers", r.name)
		assert.NotZero(t, st.Leader, "%s's member knows the leader", r.name)
		found := false
		for _, m := range members.Members {
			if m.ID == st.Header.MemberId {
				found = true
				assert.Equal(t, r.name, m.Name)
			}
		}
		assert.True(t, found, "%s's member is in the member list", r.name)
	}
	t.Logf("took %s", time.Since(start).Round(100*time.Millisecond))
}
