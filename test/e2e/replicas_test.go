//go:build e2e

package e2e

// Extra triton-apiserver replicas and etcd members that a test starts, kills and restarts itself, next to
// the local control plane's own server: for leader failover and store faults (issue 8).

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	coordinationv1 "k8s.io/api/coordination/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/triton-io/triton/pkg/generated/clientset/versioned"
	"github.com/triton-io/triton/pkg/release/controller"
	"github.com/triton-io/triton/test/e2e/framework"
	"github.com/triton-io/triton/test/ports"
)

// leaseName is the controller's Lease.
var leaseName = controller.DefaultElection().Name

// process is a component a test started in its own process group.
type process struct {
	name string
	args []string
	env  []string
	log  string
	cmd  *exec.Cmd
	done chan struct{}
}

func (p *process) start(t *testing.T) {
	t.Helper()
	logFile, err := os.OpenFile(p.log, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	require.NoError(t, err)
	defer logFile.Close()
	p.cmd = exec.Command(p.args[0], p.args[1:]...)
	p.cmd.Env = append(os.Environ(), p.env...)
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	require.NoError(t, p.cmd.Start(), p.name)
	p.done = make(chan struct{})
	cmd, done := p.cmd, p.done
	go func() { _ = cmd.Wait(); close(done) }()
}

// alive reports whether the process still runs.
func (p *process) alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// signal sends sig to the process group and waits until the process is gone.
func (p *process) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if p.cmd == nil || !p.alive() {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, sig)
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
		t.Errorf("%s did not stop on %v", p.name, sig)
	}
}

// etcdMember is a single-member etcd of a test's own, with its data in a temporary directory that
// survives restarts.
type etcdMember struct {
	process
	url string
}

func startEtcd(t *testing.T, name string) *etcdMember {
	t.Helper()
	dir := t.TempDir()
	client, peer := ports.Free(t), ports.Free(t)
	m := &etcdMember{url: fmt.Sprintf("http://127.0.0.1:%d", client)}
	m.name = name
	m.log = filepath.Join(framework.Local, "logs", name+".log")
	m.args = []string{filepath.Join(framework.Root, "_output", "bin", "etcd"), "--name", name, "--data-dir", filepath.Join(dir, "data"),
		"--listen-client-urls", m.url, "--advertise-client-urls", m.url,
		"--listen-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", peer),
		"--initial-advertise-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", peer),
		"--initial-cluster", fmt.Sprintf("%s=http://127.0.0.1:%d", name, peer)}
	m.restart(t)
	t.Cleanup(func() { m.signal(t, syscall.SIGTERM) })
	return m
}

// restart starts the member (again) and waits until it is healthy.
func (m *etcdMember) restart(t *testing.T) {
	t.Helper()
	m.start(t)
	framework.WaitUntil(t, context.Background(), "etcd "+m.name+" to become healthy", func(context.Context) (struct{}, bool, string) {
		resp, err := http.Get(m.url + "/health")
		if err != nil {
			return struct{}{}, false, err.Error()
		}
		_ = resp.Body.Close() // the status is all a poll reads
		return struct{}{}, resp.StatusCode == http.StatusOK, resp.Status
	}, framework.Every(100*time.Millisecond), framework.Within(time.Minute))
}

// replica is one more triton-apiserver, on a port of its own, with the local server's credentials and
// extra flags (e.g. --etcd-servers), electing its controller's leader in a namespace of the test's.
type replica struct {
	process
	port int
	// secret is the replica's --cert-secret (the local server's, shared as in a real cluster, unless
	// flags name another) and ca the file of its CA bundle, read when the replica last became ready.
	secret, ca string
}

// startReplica starts a replica with the command line of the local server, another port, no embedded
// etcd, and flags (a flag the local server has, given again, takes its place); POD_NAMESPACE is
// leaseNamespace. It returns once /readyz answers 200.
func startReplica(t *testing.T, name, leaseNamespace string, flags ...string) *replica {
	t.Helper()
	r := newReplica(t, name, leaseNamespace, flags...)
	r.restart(t)
	return r
}

// newReplica is the replica startReplica starts, not started yet (stopped with SIGTERM at the test's end).
func newReplica(t *testing.T, name, leaseNamespace string, flags ...string) *replica {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(framework.Local, "triton-apiserver.args"))
	require.NoError(t, err)
	base := strings.Split(strings.TrimSpace(string(raw)), "\n")
	r := &replica{port: ports.Free(t), secret: tritonNamespace + "/" + tritonSecret}
	given := map[string]bool{}
	for i, f := range flags {
		if strings.HasPrefix(f, "--") {
			given[f] = true
			if f == "--cert-secret" && i+1 < len(flags) {
				r.secret = flags[i+1]
			}
		}
	}
	for i := 0; i < len(base); i++ {
		switch {
		case base[i] == "--secure-port":
			r.args = append(r.args, base[i], strconv.Itoa(r.port))
			i++
		case base[i] == "--etcd-data-dir" || given[base[i]]:
			i++
		default:
			r.args = append(r.args, base[i])
		}
	}
	// A replica is a second installation beside the local server, whose leader already keeps the resize
	// webhook's scale-out scope: two keepers would overwrite each other's list (resize.Scope), so a replica
	// keeps none unless the test says otherwise.
	if !given["--resize-webhook-configuration"] {
		r.args = append(r.args, "--resize-webhook-configuration", "")
	}
	r.args = append(r.args, flags...)
	r.name = name
	r.env = []string{"POD_NAMESPACE=" + leaseNamespace}
	r.log = filepath.Join(framework.Local, "logs", name+".log")
	t.Cleanup(func() { r.signal(t, syscall.SIGTERM) })
	return r
}

func (r *replica) url() string { return fmt.Sprintf("https://127.0.0.1:%d", r.port) }

// restart starts the replica (again) and waits until it is ready.
func (r *replica) restart(t *testing.T) {
	t.Helper()
	r.start(t)
	r.waitReady(t, context.Background())
}

// waitReady waits until the replica answers /readyz with 200 (with an embedded etcd cluster: its member
// is in a quorum).
func (r *replica) waitReady(t *testing.T, ctx context.Context) {
	t.Helper()
	admin := framework.Connect(t, "admin")
	ns, name, _ := strings.Cut(r.secret, "/")
	var client *http.Client
	exited := framework.WaitUntil(t, ctx, r.name+" to become ready", func(ctx context.Context) (bool, bool, string) {
		if !r.alive() {
			return true, true, "exited" // nothing more to wait for
		}
		if client == nil {
			// The replica makes (or reads) its Secret before it listens.
			if _, err := admin.Kube.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{}); err != nil {
				return false, false, err.Error()
			}
			r.ca = secretCA(t, r.secret)
			client = httpsClient(t, r.ca, nil)
		}
		resp, err := client.Get(r.url() + "/readyz")
		if err != nil {
			return false, false, err.Error()
		}
		_ = resp.Body.Close() // the status is all a poll reads
		return false, resp.StatusCode == http.StatusOK, resp.Status
	}, framework.Every(100*time.Millisecond), framework.Within(2*time.Minute))
	require.False(t, exited, "%s did not become ready: it exited; see %s", r.name, r.log)
}

// client is a release client that talks to the replica directly, as kube-apiserver's front proxy does:
// its client certificate and the identity headers of admin (system:masters).
func (r *replica) client() versioned.Interface {
	config := &rest.Config{
		Host: r.url(),
		TLSClientConfig: rest.TLSClientConfig{
			CAFile:   r.ca,
			CertFile: pkiFile("front-proxy-client.crt"),
			KeyFile:  pkiFile("front-proxy-client.key"),
		},
		QPS: 200, Burst: 400,
		WrapTransport: func(rt http.RoundTripper) http.RoundTripper {
			return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
				req = req.Clone(req.Context())
				req.Header.Set("X-Remote-User", "admin")
				req.Header.Set("X-Remote-Group", "system:masters")
				return rt.RoundTrip(req)
			})
		},
	}
	return versioned.NewForConfigOrDie(config)
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// allowLeaderElection lets triton-apiserver's service account hold its Lease in ns, as
// artifacts/deploy/rbac.yaml does in triton-system.
func allowLeaderElection(t *testing.T, ctx context.Context, admin *framework.Cluster, ns string) {
	t.Helper()
	_, err := admin.Kube.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "triton-leader-election"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"},
			Verbs: []string{"get", "create", "update"}}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = admin.Kube.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "triton-leader-election"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "triton-leader-election"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: "triton-system", Name: "triton-apiserver"}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
}

// waitLease waits until the controller's Lease in ns is held by someone ok accepts and returns it.
func waitLease(t *testing.T, ctx context.Context, admin *framework.Cluster, ns, what string, ok func(*coordinationv1.Lease) bool) *coordinationv1.Lease {
	t.Helper()
	return framework.WaitUntil(t, ctx, "lease: "+what, func(ctx context.Context) (*coordinationv1.Lease, bool, string) {
		l, err := admin.Kube.CoordinationV1().Leases(ns).Get(ctx, leaseName, metav1.GetOptions{})
		if err != nil {
			return nil, false, err.Error()
		}
		return l, l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity != "" && ok(l), fmt.Sprintf("%+v", l)
	}, framework.Every(100*time.Millisecond), framework.Within(2*time.Minute))
}

// localPID is the process id hack/local-up.sh (or startLocal) recorded for a component.
func localPID(t *testing.T, name string) int {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(framework.Local, "pids", name+".pid"))
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	require.NoError(t, err)
	return pid
}

func localAlive(t *testing.T, name string) bool { return alive(localPID(t, name)) }

// stopLocal sends sig to a component of the local control plane (its process group) and waits until it
// is gone.
func stopLocal(t *testing.T, ctx context.Context, name string, sig syscall.Signal) {
	t.Helper()
	pid := localPID(t, name)
	_ = syscall.Kill(-pid, sig)
	framework.WaitUntil(t, ctx, fmt.Sprintf("%s to stop on %v", name, sig), func(context.Context) (struct{}, bool, string) {
		return struct{}{}, !alive(pid), fmt.Sprintf("pid %d still runs", pid)
	}, framework.Every(50*time.Millisecond), framework.Within(30*time.Second))
}

// startLocal starts a component of the local control plane again with the command line hack/local-up.sh
// recorded, plus env, appending to its log, and records its pid so that make down stops it.
func startLocal(t *testing.T, name string, env ...string) *process {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(framework.Local, name+".args"))
	require.NoError(t, err)
	p := &process{name: name, args: strings.Split(strings.TrimSpace(string(raw)), "\n"), env: env,
		log: filepath.Join(framework.Local, "logs", name+".log")}
	p.start(t)
	require.NoError(t, os.WriteFile(filepath.Join(framework.Local, "pids", name+".pid"), []byte(strconv.Itoa(p.cmd.Process.Pid)), 0o644))
	return p
}
