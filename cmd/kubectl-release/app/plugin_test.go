package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	kruiseclient "github.com/openkruise/kruise-api/client/clientset/versioned"
	kruisefake "github.com/openkruise/kruise-api/client/clientset/versioned/fake"
	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/generated/clientset/versioned"
	"github.com/triton-io/triton/pkg/generated/clientset/versioned/fake"
)

// syncBuffer is a buffer the command writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// kubeconfig writes a kubeconfig whose context's namespace is shop, for a server at server, and points
// KUBECONFIG at it.
func kubeconfig(t *testing.T, server string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, os.WriteFile(path, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: {server: %q}
users:
- name: test
  user: {token: t}
contexts:
- name: test
  context: {cluster: test, user: test, namespace: shop}
current-context: test
`, server)), 0o600))
	t.Setenv("KUBECONFIG", path)
	return path
}

// plugin is the command line with fake clientsets.
type plugin struct {
	o        *options
	out      *syncBuffer
	errOut   *syncBuffer
	releases *fake.Clientset
	kruise   *kruisefake.Clientset
}

func newPlugin(t *testing.T, objects ...runtime.Object) *plugin {
	t.Helper()
	kubeconfig(t, "https://127.0.0.1:9")
	var releases, clonesets []runtime.Object
	for _, obj := range objects {
		if _, ok := obj.(*kruiseappsv1alpha1.CloneSet); ok {
			clonesets = append(clonesets, obj)
		} else {
			releases = append(releases, obj)
		}
	}
	p := &plugin{out: &syncBuffer{}, errOut: &syncBuffer{},
		releases: fake.NewSimpleClientset(releases...), kruise: kruisefake.NewSimpleClientset(clonesets...)}
	p.o = newOptions(genericiooptions.IOStreams{In: strings.NewReader(""), Out: p.out, ErrOut: p.errOut})
	p.o.releaseClient = func() (versioned.Interface, error) { return p.releases, nil }
	p.o.kruiseClient = func() (kruiseclient.Interface, error) { return p.kruise, nil }
	p.o.kubeClient = func() (kubernetes.Interface, error) { return kubefake.NewClientset(), nil }
	return p
}

func (p *plugin) run(args ...string) int {
	return p.runContext(context.Background(), args...)
}

func (p *plugin) runContext(ctx context.Context, args ...string) int {
	return run(ctx, p.o, args)
}

func release(ns, name, cloneSet string, created time.Time) *v1alpha1.Release {
	return &v1alpha1.Release{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, CreationTimestamp: metav1.NewTime(created)},
		Spec:       v1alpha1.ReleaseSpec{CloneSetName: cloneSet, Action: v1alpha1.ActionUpdate},
		Status:     v1alpha1.ReleaseStatus{Phase: v1alpha1.ReleaseProgressing},
	}
}

func cloneSet(ns, name, owner string) *kruiseappsv1alpha1.CloneSet {
	cs := &kruiseappsv1alpha1.CloneSet{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	if owner != "" {
		cs.Annotations = map[string]string{v1alpha1.OwnerAnnotation: owner}
	}
	return cs
}

// completions are the values a __complete answer offers, without descriptions, and its directive line.
func completions(out string) ([]string, string) {
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	var values []string
	for _, l := range lines[:len(lines)-1] {
		value, _, _ := strings.Cut(l, "\t")
		values = append(values, value)
	}
	return values, lines[len(lines)-1]
}

var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func TestCompletionListsReleasesOfTheNamespace(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"status", ""}, []string{"nginx-update", "nginx-v2"}},
		{[]string{"status", "nginx-u"}, []string{"nginx-update"}},
		{[]string{"-n", "other", "status", ""}, []string{"web"}},
		{[]string{"status", "--namespace=other", ""}, []string{"web"}},
		{[]string{"next", ""}, []string{"nginx-update", "nginx-v2"}},
		{[]string{"pause", ""}, []string{"nginx-update", "nginx-v2"}},
		{[]string{"resume", ""}, []string{"nginx-update", "nginx-v2"}},
		{[]string{"cancel", ""}, []string{"nginx-update", "nginx-v2"}},
		{[]string{"promote", ""}, []string{"nginx-update", "nginx-v2"}},
		{[]string{"history", ""}, []string{"nginx-update", "nginx-v2"}},
		{[]string{"status", "nginx-update", ""}, nil},
		{[]string{"status", "cloneset/"}, []string{"cloneset/api", "cloneset/nginx"}},
		{[]string{"status", "cs/n"}, []string{"cs/nginx"}},
		{[]string{"update", ""}, []string{"api", "nginx"}},
		{[]string{"scale", "ng"}, []string{"nginx"}},
		{[]string{"restart", ""}, []string{"api", "nginx"}},
		{[]string{"rollback", ""}, []string{"api", "nginx"}},
		{[]string{"completion", ""}, []string{"bash", "zsh", "fish", "powershell"}},
	} {
		p := newPlugin(t,
			release("shop", "nginx-v2", "nginx", t0), release("shop", "nginx-update", "nginx", t0),
			release("other", "web", "web", t0),
			cloneSet("shop", "nginx", "nginx-update"), cloneSet("shop", "api", ""), cloneSet("other", "web", ""))
		code := p.run(append([]string{cobra.ShellCompRequestCmd}, tc.args...)...)
		require.Equal(t, ExitOK, code, "%v: %s", tc.args, p.errOut)
		values, directive := completions(p.out.String())
		assert.Equal(t, tc.want, values, "%v", tc.args)
		assert.Equal(t, ":4", directive, "%v: no file completion", tc.args)
	}
}

func TestCompletionDescribesWhatItOffers(t *testing.T) {
	p := newPlugin(t, release("shop", "nginx-update", "nginx", t0), cloneSet("shop", "nginx", "nginx-update"))
	require.Equal(t, ExitOK, p.run(cobra.ShellCompRequestCmd, "status", ""))
	assert.Contains(t, p.out.String(), "nginx-update\tUpdate of CloneSet nginx, Progressing\n")
	p.out.b.Reset()
	require.Equal(t, ExitOK, p.run(cobra.ShellCompRequestCmd, "update", ""))
	assert.Contains(t, p.out.String(), "nginx\t0 replicas, release nginx-update running\n")
}

// A cluster that does not answer completes nothing, soon.
func TestCompletionGivesUpOnASlowServer(t *testing.T) {
	defer func(d time.Duration) { completionTimeout = d }(completionTimeout)
	completionTimeout = 300 * time.Millisecond
	release := make(chan struct{})
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer server.Close()
	defer close(release)
	p := newPlugin(t)
	p.o.releaseClient = func() (versioned.Interface, error) { return versioned.NewForConfig(&rest.Config{Host: server.URL}) }

	start := time.Now()
	code := p.run(cobra.ShellCompRequestCmd, "status", "")
	assert.Equal(t, ExitOK, code)
	assert.Less(t, time.Since(start), 3*time.Second)
	assert.Equal(t, ":4\n", p.out.String())
}

func TestArgsAsKubectlComplete(t *testing.T) {
	assert.Equal(t, []string{"status", "web"}, Args([]string{"/usr/local/bin/kubectl-release", "status", "web"}))
	assert.Equal(t, []string{"__complete", "status", ""}, Args([]string{"/usr/local/bin/kubectl_complete-release", "status", ""}))
	assert.Equal(t, []string{"__complete", "-n", "x", ""}, Args([]string{"kubectl_complete-release", "-n", "x", ""}))
	assert.Equal(t, []string{"__complete"}, Args([]string{`C:\bin\kubectl_complete-release.exe`}))
	assert.Empty(t, Args(nil))
}

// Started as kubectl_complete-release (the name kubectl runs), the plugin completes, against the cluster
// and namespace of the kubeconfig and flags it is given.
func TestMainAsKubectlCompleteAsksTheCluster(t *testing.T) {
	var paths []string
	var mu sync.Mutex
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		list := v1alpha1.ReleaseList{TypeMeta: metav1.TypeMeta{APIVersion: "releases.triton.io/v1alpha1", Kind: "ReleaseList"}}
		if r.URL.Path == "/apis/releases.triton.io/v1alpha1/namespaces/shop/releases" {
			list.Items = []v1alpha1.Release{*release("shop", "nginx-update", "nginx", t0)}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(list)
	}))
	defer server.Close()
	path := kubeconfig(t, server.URL)
	t.Setenv("KUBECONFIG", "")

	var out, errOut bytes.Buffer
	streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
	code := Main(context.Background(), []string{"/home/me/bin/kubectl_complete-release", "--kubeconfig", path, "status", ""}, streams)
	require.Equal(t, ExitOK, code, errOut.String())
	values, directive := completions(out.String())
	assert.Equal(t, []string{"nginx-update"}, values)
	assert.Equal(t, ":4", directive)

	out.Reset()
	code = Main(context.Background(), []string{"kubectl_complete-release", "--kubeconfig", path, "-n", "other", "next", ""}, streams)
	require.Equal(t, ExitOK, code, errOut.String())
	assert.Equal(t, ":4\n", out.String())
	assert.Equal(t, []string{"/apis/releases.triton.io/v1alpha1/namespaces/shop/releases",
		"/apis/releases.triton.io/v1alpha1/namespaces/other/releases"}, paths)

	// The same binary under its own name runs commands.
	out.Reset()
	code = Main(context.Background(), []string{"kubectl-release", "completion", "bash"}, streams)
	require.Equal(t, ExitOK, code, errOut.String())
	assert.Contains(t, out.String(), "complete -o default -F __start_kubectl-release kubectl-release")
}

func TestCompletionScripts(t *testing.T) {
	for shell, want := range map[string]string{
		"bash":       "complete -o default -F __start_kubectl-release kubectl-release",
		"zsh":        "#compdef kubectl-release",
		"fish":       "complete -c kubectl-release",
		"powershell": "Register-ArgumentCompleter -CommandName 'kubectl-release'",
	} {
		p := newPlugin(t)
		require.Equal(t, ExitOK, p.run("completion", shell), p.errOut.String())
		assert.Contains(t, p.out.String(), want, shell)
	}
	p := newPlugin(t)
	assert.Equal(t, ExitUsage, p.run("completion", "tcsh"))
	assert.Equal(t, ExitUsage, p.run("completion"))
}

// answer makes the fake server answer a verb's call with r, and records the subresources called.
func answer(p *plugin, r *v1alpha1.Release, called *[]string) {
	p.releases.PrependReactor("create", "releases", func(action k8stesting.Action) (bool, runtime.Object, error) {
		if action.GetSubresource() == "" {
			return false, nil, nil
		}
		*called = append(*called, action.GetSubresource())
		return true, r.DeepCopy(), nil
	})
}

func moved(name string) *v1alpha1.Release {
	r := release("shop", name, "nginx", t0)
	r.Status.CurrentBatch = 2
	r.Status.Batches = []v1alpha1.ReleaseBatch{{Index: 1, Canary: true, Replicas: 1, Phase: v1alpha1.BatchBaked},
		{Index: 2, Replicas: 2, Phase: v1alpha1.BatchSmoking}, {Index: 3, Replicas: 2}}
	return r
}

func TestVerbsPrintTheReleaseWithOutput(t *testing.T) {
	for _, verb := range []string{"next", "pause", "resume", "cancel", "promote"} {
		subresource := verb
		if verb == "promote" {
			subresource = "next"
		}
		p := newPlugin(t, release("shop", "nginx-update", "nginx", t0))
		var called []string
		answer(p, moved("nginx-update"), &called)

		require.Equal(t, ExitOK, p.run(verb, "nginx-update", "-o", "name"), "%s: %s", verb, p.errOut)
		assert.Equal(t, "release.releases.triton.io/nginx-update\n", p.out.String(), verb)

		p.out.b.Reset()
		require.Equal(t, ExitOK, p.run(verb, "nginx-update", "-o", "json"), "%s: %s", verb, p.errOut)
		var got map[string]interface{}
		require.NoError(t, json.Unmarshal([]byte(p.out.String()), &got), verb)
		assert.Equal(t, "releases.triton.io/v1alpha1", got["apiVersion"], verb)
		assert.Equal(t, "Release", got["kind"], verb)
		assert.EqualValues(t, 2, got["status"].(map[string]interface{})["currentBatch"], verb)

		p.out.b.Reset()
		require.Equal(t, ExitOK, p.run(verb, "nginx-update", "-o", "jsonpath={.status.batches[1].phase}"), "%s: %s", verb, p.errOut)
		assert.Equal(t, "Smoking", p.out.String(), verb)

		// Without -o, the one line it always printed.
		p.out.b.Reset()
		require.Equal(t, ExitOK, p.run(verb, "nginx-update"), "%s: %s", verb, p.errOut)
		assert.Equal(t, "release.releases.triton.io/nginx-update "+subresource+": Progressing, batch 2 of 3 Smoking\n", p.out.String(), verb)

		assert.Equal(t, []string{subresource, subresource, subresource, subresource}, called, verb)
		assert.Equal(t, ExitUsage, p.run(verb, "nginx-update", "-o", "wide"), verb)
		assert.Len(t, called, 4, "%s: a bad -o calls nothing", verb)
	}
}

func TestNextWaitWithOutputPrintsTheReleaseWhenTheWaitEnds(t *testing.T) {
	done := moved("nginx-update")
	done.Status.Phase = v1alpha1.ReleaseSucceeded
	p := newPlugin(t, done)
	var called []string
	answer(p, moved("nginx-update"), &called)
	require.Equal(t, ExitOK, p.run("next", "nginx-update", "--wait", "-o", "jsonpath={.status.phase}"), p.errOut.String())
	assert.Equal(t, "Succeeded", p.out.String())
}

func history(name string) *v1alpha1.Release {
	r := release("shop", name, "nginx", t0)
	r.Status.History = []v1alpha1.ReleaseHistoryEntry{
		{Action: "start", User: "triton-controller", Time: metav1.NewTime(t0), ToBatch: 1, ToPhase: "Progressing/Smoking"},
		{Action: "next", User: "alice", Time: metav1.NewTime(t0.Add(time.Minute)), FromBatch: 1, FromPhase: "Progressing/Smoked",
			ToBatch: 1, ToPhase: "Progressing/Baking", Reason: "canary looks good"},
	}
	return r
}

func TestHistoryOutput(t *testing.T) {
	p := newPlugin(t, history("nginx-update"))
	require.Equal(t, ExitOK, p.run("history", "nginx-update", "-o", "json"), p.errOut.String())
	var list struct {
		APIVersion string
		Kind       string
		Items      []v1alpha1.ReleaseHistoryEntry
	}
	require.NoError(t, json.Unmarshal([]byte(p.out.String()), &list), p.out.String())
	assert.Equal(t, "v1", list.APIVersion)
	assert.Equal(t, "List", list.Kind)
	for i := range list.Items {
		list.Items[i].Time = metav1.NewTime(list.Items[i].Time.UTC())
	}
	assert.Equal(t, history("nginx-update").Status.History, list.Items)

	p.out.b.Reset()
	require.Equal(t, ExitOK, p.run("history", "nginx-update", "-o", "name"), p.errOut.String())
	assert.Equal(t, "release.releases.triton.io/nginx-update\n", p.out.String())

	p.out.b.Reset()
	require.Equal(t, ExitOK, p.run("history", "nginx-update", "-o", "jsonpath={.items[*].user}"), p.errOut.String())
	assert.Equal(t, "triton-controller alice", p.out.String())

	p.out.b.Reset()
	require.Equal(t, ExitOK, p.run("history", "nginx-update", "-o", "yaml"), p.errOut.String())
	assert.Contains(t, p.out.String(), "kind: List\n")
	assert.Contains(t, p.out.String(), "reason: canary looks good\n")

	// Without -o, the table.
	p.out.b.Reset()
	require.Equal(t, ExitOK, p.run("history", "nginx-update"), p.errOut.String())
	assert.Regexp(t, `(?m)^TIME\s+USER\s+ACTION`, p.out.String())
	assert.Regexp(t, `alice\s+next\s+1 Progressing/Smoked\s+1 Progressing/Baking\s+canary looks good`, p.out.String())
}

func TestStatusOfACloneSet(t *testing.T) {
	objects := []runtime.Object{
		// nginx: nginx-v2 runs on it, though nginx-v3 (refused, say) is newer.
		cloneSet("shop", "nginx", "nginx-v2"),
		release("shop", "nginx-v1", "nginx", t0), release("shop", "nginx-v2", "nginx", t0.Add(time.Hour)),
		release("shop", "nginx-v3", "nginx", t0.Add(2*time.Hour)),
		// api: nothing runs; api-v2 is its newest release; web-v9 is newer but another CloneSet's.
		cloneSet("shop", "api", ""),
		release("shop", "api-v2", "api", t0.Add(time.Hour)), release("shop", "api-v1", "api", t0),
		release("shop", "web-v9", "web", t0.Add(3*time.Hour)),
		// stale: its annotation names a release that is gone.
		cloneSet("shop", "stale", "stale-v9"), release("shop", "stale-v1", "stale", t0),
		// gone: no CloneSet any more, but a release of it.
		release("shop", "gone-v1", "gone", t0),
		// lonely: a CloneSet without releases.
		cloneSet("shop", "lonely", ""),
		// elsewhere: in another namespace.
		release("other", "api-v7", "api", t0.Add(5*time.Hour)),
	}
	for _, tc := range []struct {
		arg  string
		want string
	}{
		{"cloneset/nginx", "nginx-v2"},
		{"clonesets/nginx", "nginx-v2"},
		{"cs/nginx", "nginx-v2"},
		{"cloneset/api", "api-v2"},
		{"cloneset/stale", "stale-v1"},
		{"cloneset/gone", "gone-v1"},
		{"nginx-v1", "nginx-v1"},
		{"release/nginx-v3", "nginx-v3"},
		{"release.releases.triton.io/nginx-v3", "nginx-v3"},
	} {
		p := newPlugin(t, objects...)
		require.Equal(t, ExitOK, p.run("status", tc.arg, "-o", "name"), "%s: %s", tc.arg, p.errOut)
		assert.Equal(t, "release.releases.triton.io/"+tc.want+"\n", p.out.String(), tc.arg)
	}

	p := newPlugin(t, objects...)
	require.Equal(t, ExitOK, p.run("status", "cs/api"), p.errOut.String())
	assert.Contains(t, p.out.String(), "Release shop/api-v2: Update of CloneSet api")

	p = newPlugin(t, objects...)
	assert.Equal(t, ExitNotFound, p.run("status", "cloneset/lonely"))
	assert.Equal(t, "error: no release for CloneSet lonely in namespace shop\n", p.errOut.String())
	p = newPlugin(t, objects...)
	assert.Equal(t, ExitNotFound, p.run("status", "cloneset/nothing", "-w"))
	assert.Contains(t, p.errOut.String(), "no release for CloneSet nothing")

	for _, bad := range []string{"deployment/nginx", "cloneset/"} {
		p = newPlugin(t, objects...)
		assert.Equal(t, ExitUsage, p.run("status", bad), bad)
	}
}

// Every command shows how it is used.
func TestEveryCommandHasAnExample(t *testing.T) {
	var walk func(*cobra.Command)
	count := 0
	walk = func(c *cobra.Command) {
		count++
		assert.NotEmpty(t, strings.TrimSpace(c.Example), "%s has no Example", c.CommandPath())
		for _, line := range strings.Split(c.Example, "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "cat ") {
				continue
			}
			assert.Regexp(t, `^(kubectl release |kubectl-release |source <\(kubectl-release |ln -s kubectl-release )`, line, c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(NewCommand(genericiooptions.NewTestIOStreamsDiscard()))
	assert.GreaterOrEqual(t, count, 16)
}

// The commands that name a release or a CloneSet complete it.
func TestEveryCommandWithAnArgumentCompletesIt(t *testing.T) {
	for _, c := range NewCommand(genericiooptions.NewTestIOStreamsDiscard()).Commands() {
		switch c.Name() {
		case "version", "plan", "dashboard":
			continue
		case "completion":
			assert.NotEmpty(t, c.ValidArgs)
			continue
		}
		assert.NotNil(t, c.ValidArgsFunction, c.Name())
	}
}

// ansi matches the terminal control the screen writes.
var ansi = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`)

func batches(n int) []v1alpha1.ReleaseBatch {
	var out []v1alpha1.ReleaseBatch
	for i := 1; i <= n; i++ {
		out = append(out, v1alpha1.ReleaseBatch{Index: int32(i), Replicas: 1, Target: int32(i), Phase: v1alpha1.BatchPending})
	}
	return out
}

// watching runs status -w until the test cancels it, with a fake watch the test drives.
func watching(t *testing.T, p *plugin, args ...string) (w *watch.FakeWatcher, cancel func() int) {
	w = watch.NewFake()
	p.releases.PrependWatchReactor("releases", k8stesting.DefaultWatchReactor(w, nil))
	ctx, stop := context.WithCancel(context.Background())
	code := make(chan int, 1)
	go func() { code <- p.runContext(ctx, args...) }()
	return w, func() int {
		stop()
		select {
		case c := <-code:
			return c
		case <-time.After(10 * time.Second):
			t.Fatal("status -w did not stop")
			return -1
		}
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("never: " + what)
}

func TestStatusWatchOnATerminalFitsItAndStopsQuietly(t *testing.T) {
	r := release("shop", "nginx-update", "nginx", t0)
	r.Status.Batches = batches(30)
	r.Status.CurrentBatch = 12
	p := newPlugin(t, r)
	var mu sync.Mutex
	width, height := 60, 16
	p.o.terminal = func(io.Writer) (bool, int, int) {
		mu.Lock()
		defer mu.Unlock()
		return true, width, height
	}
	w, stop := watching(t, p, "status", "nginx-update", "-w")
	eventually(t, "the first view", func() bool { return strings.Contains(p.out.String(), "Waiting for:") })

	next := r.DeepCopy()
	next.Status.CurrentBatch = 13
	w.Modify(next)
	eventually(t, "a redraw", func() bool { return strings.Contains(p.out.String(), "> 13") })
	assert.Equal(t, ExitInterrupted, stop(), "Ctrl-C: exit 130")
	assert.Empty(t, p.errOut.String(), "Ctrl-C on a terminal: nothing said")

	out := p.out.String()
	assert.True(t, strings.HasPrefix(out, hideCursor), "%q", out)
	assert.True(t, strings.HasSuffix(out, clearLine+showCursor), "the cursor back, the ^C line cleared: %q", out)
	// Each view: the escape sequences that move back up, then at most height-1 lines of at most width.
	views := regexp.MustCompile(`\r\x1b\[\d+A\x1b\[J`).Split(strings.TrimPrefix(out, hideCursor), -1)
	require.Len(t, views, 2, "%q", out)
	for _, v := range views {
		v = ansi.ReplaceAllString(strings.TrimSuffix(v, clearLine+showCursor), "")
		lines := strings.Split(strings.TrimSuffix(v, "\n"), "\n")
		assert.LessOrEqual(t, len(lines), height-1, v)
		for _, l := range lines {
			assert.LessOrEqual(t, len([]rune(l)), width, l)
		}
		assert.Contains(t, v, "batches not shown", v)
		assert.Contains(t, v, "Waiting for:", v)
	}
	// How far it moved up is how many lines it had drawn.
	first := ansi.ReplaceAllString(views[0], "")
	assert.Contains(t, out, fmt.Sprintf("\r\x1b[%dA\x1b[J", strings.Count(first, "\n")))
	assert.Contains(t, views[1], "> 13")
}

func TestStatusWatchRedrawsAtTheNewSize(t *testing.T) {
	r := release("shop", "nginx-update", "nginx", t0)
	r.Status.Batches = batches(30)
	r.Status.CurrentBatch = 3
	width, height := 100, 40
	var out bytes.Buffer
	s := &screen{out: &out, terminal: true, size: func() (int, int) { return width, height }}
	require.NoError(t, s.show(r))
	assert.NotContains(t, out.String(), "not shown")
	out.Reset()
	require.NoError(t, s.redraw())
	assert.Empty(t, out.String(), "same size, same view: nothing drawn")
	width, height = 30, 10
	require.NoError(t, s.redraw())
	assert.True(t, strings.HasPrefix(out.String(), clearScreen), "%q", out.String())
	lines := strings.Split(strings.TrimSuffix(strings.TrimPrefix(out.String(), clearScreen), "\n"), "\n")
	assert.Len(t, lines, 9)
	for _, l := range lines {
		assert.LessOrEqual(t, len([]rune(l)), 30, l)
	}
	assert.Contains(t, out.String(), "> 3 ")
	assert.Contains(t, out.String(), "  ... 28 of 30 batches not sh…")
}

func TestStatusWatchPipedPrintsEachState(t *testing.T) {
	r := release("shop", "nginx-update", "nginx", t0)
	r.Status.Batches = batches(3)
	r.Status.CurrentBatch = 1
	p := newPlugin(t, r)
	w, stop := watching(t, p, "status", "nginx-update", "-w")
	eventually(t, "the first view", func() bool { return strings.Contains(p.out.String(), "Waiting for:") })
	next := r.DeepCopy()
	next.Status.CurrentBatch = 2
	w.Modify(next)
	eventually(t, "the second view", func() bool { return strings.Count(p.out.String(), "Waiting for:") == 2 })
	assert.Equal(t, ExitInterrupted, stop(), "stopped before the release ended: not done")
	assert.Equal(t, "error: interrupted while watching release nginx-update; the release goes on as it is, nothing was canceled\n", p.errOut.String())
	assert.NotContains(t, p.out.String(), "\x1b[")
	assert.Contains(t, p.out.String(), "Phase: Progressing, batch 1 of 3")
	assert.Contains(t, p.out.String(), "Phase: Progressing, batch 2 of 3")
}

func TestStatusWatchEndsWithTheRelease(t *testing.T) {
	r := release("shop", "nginx-update", "nginx", t0)
	r.Status.Phase = v1alpha1.ReleaseCanceled
	p := newPlugin(t, r)
	assert.Equal(t, ExitReleaseFailed, p.run("status", "nginx-update", "-w"))
	assert.Equal(t, "error: release nginx-update is Canceled\n", p.errOut.String())
}
