//go:build bench

// Package bench measures what releases cost on the local control plane (`make up`), each number next to
// a baseline measured in the same run with the pairs interleaved. Run with `make bench`; the table is
// printed and written, with the raw samples, to _output/bench/.
package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	kruiseclient "github.com/openkruise/kruise-api/client/clientset/versioned"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/triton-io/triton/pkg/generated/clientset/versioned"
	"github.com/triton-io/triton/test/bench/stats"
)

var root = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}()

func localDir() string {
	if dir := os.Getenv("LOCAL_DIR"); dir != "" {
		return dir
	}
	return filepath.Join(root, "_output", "local")
}

// cluster is the admin's clients, unthrottled: the client must not be what is measured.
type cluster struct {
	config   *rest.Config
	kube     kubernetes.Interface
	kruise   kruiseclient.Interface
	releases versioned.Interface
	// letController gives the release controller's Lease back, once holdController took it.
	letController func()
	// scenariosRun counts the scenarios this run has finished.
	scenariosRun int
	// server reaches triton-apiserver's own /metrics and /debug/pprof.
	server *tritonServer
	// bareServer is the bare aggregated server, once a scenario has started it (c.bare).
	bareServer *bareServer
}

func connect(t *testing.T) *cluster {
	t.Helper()
	config, err := clientcmd.BuildConfigFromFlags("", filepath.Join(localDir(), "kubeconfig"))
	require.NoError(t, err, "the local control plane is not up: run `make up` first")
	config.QPS, config.Burst = 5000, 5000
	return &cluster{
		config:   config,
		kube:     kubernetes.NewForConfigOrDie(config),
		kruise:   kruiseclient.NewForConfigOrDie(config),
		releases: versioned.NewForConfigOrDie(config),
		server:   newTritonServer(t),
	}
}

func (c *cluster) namespace(t *testing.T, ctx context.Context, prefix string) string {
	t.Helper()
	ns, err := c.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.kube.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{}) })
	return ns.Name
}

// scenario measures one thing and returns its rows.
type scenario struct {
	name string
	run  func(t *testing.T, ctx context.Context, c *cluster) []stats.Row
}

var scenarios = []scenario{
	{"actions", actionLatency},
	{"reaction", controllerReaction},
	{"cancel", cancelLatency},
	{"rollout", wholeRollout},
	{"concurrent", concurrent},
	{"storage", storage},
	{"wire", wire},
	{"scale", scale},
	{"untouched", untouched},
	{"analysis", analysisCost},
	{"dashboard", dashboardCost},
}

// TestBench runs the scenarios named in BENCH (comma-separated; default all), prints the table and writes
// _output/bench/bench-<time>.json and _output/bench/latest.json.
func TestBench(t *testing.T) {
	c := connect(t)
	want := map[string]bool{}
	for _, n := range strings.Split(os.Getenv("BENCH"), ",") {
		if n = strings.TrimSpace(n); n != "" {
			want[n] = true
		}
	}
	var rows []stats.Row
	for _, s := range scenarios {
		if len(want) > 0 && !want[s.name] {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		start := time.Now()
		prof := startProfile(t, ctx, c.server, s.name)
		got := s.run(t, ctx, c)
		prof.end(t, ctx)
		cancel()
		c.scenariosRun++
		t.Logf("scenario %s: %d rows in %s", s.name, len(got), time.Since(start).Round(time.Second))
		rows = append(rows, got...)
	}
	host, _ := os.Hostname()
	report := map[string]interface{}{
		"time": time.Now().UTC().Format(time.RFC3339), "host": host, "cpus": runtime.NumCPU(), "go": runtime.Version(), "rows": rows,
	}
	// The tables first: a run's figures are never lost to the file.
	var table strings.Builder
	require.NoError(t, stats.Markdown(&table, rows))
	var goals strings.Builder
	require.NoError(t, stats.GoalsMarkdown(&goals, rows))
	fmt.Printf("\n%s\n%s\n", table.String(), goals.String())
	dir := filepath.Join(root, "_output", "bench")
	path, err := stats.WriteJSON(dir, "bench-"+time.Now().UTC().Format("20060102-150405"), report)
	require.NoError(t, err)
	_, err = stats.WriteJSON(dir, "latest", report)
	require.NoError(t, err)
	fmt.Printf("raw samples: %s\n", path)
}
