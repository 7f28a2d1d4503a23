//go:build bench

package bench

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// tritonServer reaches triton-apiserver's own endpoints (/metrics, /debug/pprof) on the local control
// plane, as kube-apiserver's front proxy would ask for system:masters.
type tritonServer struct {
	client *http.Client
	base   string
}

func newTritonServer(t *testing.T) *tritonServer {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(localDir(), "triton-apiserver.args"))
	require.NoError(t, err)
	base := ""
	args := strings.Split(strings.TrimSpace(string(raw)), "\n")
	for i, a := range args {
		if a == "--secure-port" && i+1 < len(args) {
			base = "https://127.0.0.1:" + args[i+1]
		}
	}
	require.NotEmpty(t, base, "no --secure-port in triton-apiserver.args")
	return serverAt(t, base)
}

// serverAt reaches an aggregated server of the local control plane at base (https://host:port) as
// kube-apiserver's front proxy does.
func serverAt(t *testing.T, base string) *tritonServer {
	t.Helper()
	pki := filepath.Join(localDir(), "pki")
	cert, err := tls.LoadX509KeyPair(filepath.Join(pki, "front-proxy-client.crt"), filepath.Join(pki, "front-proxy-client.key"))
	require.NoError(t, err)
	// Loopback to the local control plane's own server: the bench measures, it does not check the server's
	// certificate (the e2e tests do).
	return &tritonServer{base: base, client: &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{Certificates: []tls.Certificate{cert}, InsecureSkipVerify: true}}}}
}

func (s *tritonServer) get(ctx context.Context, path string) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Remote-User", "admin")
	req.Header.Set("X-Remote-Group", "system:masters")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		_ = resp.Body.Close() // the status is the error reported
		return nil, fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return resp.Body, nil
}

// metrics reads /metrics: each sample's value by its series as written ("name{labels}").
func (s *tritonServer) metrics(t *testing.T, ctx context.Context) metricValues {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	body, err := s.get(ctx, "/metrics")
	require.NoError(t, err)
	defer body.Close()
	out := metricValues{}
	lines := bufio.NewScanner(body)
	lines.Buffer(make([]byte, 1<<20), 1<<20)
	for lines.Scan() {
		line := lines.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		require.NoError(t, err, line)
		out[line[:i]] = v
	}
	require.NoError(t, lines.Err())
	return out
}

type metricValues map[string]float64

// since scrapes /metrics again for the figures between before and now, and fails the run if the server
// restarted meanwhile (its counters started again from 0: nothing between the two scrapes adds up).
func (s *tritonServer) since(t *testing.T, ctx context.Context, before metricValues) metricValues {
	t.Helper()
	after := s.metrics(t, ctx)
	const started = "process_start_time_seconds"
	if was, now := before[started], after[started]; was != now {
		t.Fatalf("the server at %s restarted during the scenario (started at %.0f, now at %.0f): its figures are not "+
			"comparable; run the scenario again", s.base, was, now)
	}
	return after
}

// sum adds the samples of a metric (every label set whose labels include each of labels, written as
// `key="value"`), or of one series when name has its labels.
func (m metricValues) sum(name string, labels ...string) float64 {
	total := 0.0
	for series, v := range m {
		if series != name && !strings.HasPrefix(series, name+"{") {
			continue
		}
		all := true
		for _, l := range labels {
			all = all && strings.Contains(series, l)
		}
		if all {
			total += v
		}
	}
	return total
}

// reconciles is how many reconciles the controller has made.
func (m metricValues) reconciles() float64 {
	return m.sum("triton_release_controller_reconcile_duration_seconds_count")
}

// profiler takes triton-apiserver's CPU profile while a scenario runs, in segments of profileSegment
// (the server's /debug/pprof/profile takes a fixed time), its blocking and mutex profiles at the start
// and the end (with --contention-profiling; `go tool pprof -base start end` shows the scenario's share),
// and its heap at the start and the end (`go tool pprof -sample_index=inuse_space` shows what it holds). Files go to _output/bench/profiles/<scenario>-*.pprof. On with BENCH_PROFILE=1.
type profiler struct {
	server *tritonServer
	dir    string
	name   string
	stop   chan struct{}
	wg     sync.WaitGroup
}

const profileSegment = 10 * time.Second

func startProfile(t *testing.T, ctx context.Context, server *tritonServer, scenario string) *profiler {
	t.Helper()
	if os.Getenv("BENCH_PROFILE") == "" {
		return nil
	}
	p := &profiler{server: server, dir: filepath.Join(root, "_output", "bench", "profiles"), name: scenario, stop: make(chan struct{})}
	require.NoError(t, os.MkdirAll(p.dir, 0o755))
	p.snapshot(t, ctx, "start")
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for i := 0; ; i++ {
			select {
			case <-p.stop:
				return
			default:
			}
			path := fmt.Sprintf("/debug/pprof/profile?seconds=%d", int(profileSegment/time.Second))
			if err := p.save(ctx, path, fmt.Sprintf("%s-cpu-%03d.pprof", p.name, i)); err != nil {
				t.Logf("profile %s: %v", p.name, err)
				return
			}
		}
	}()
	return p
}

// snapshot saves the blocking and mutex profiles as they stand (both cumulative since the server
// started), and the heap.
func (p *profiler) snapshot(t *testing.T, ctx context.Context, when string) {
	for _, kind := range []string{"block", "mutex", "heap"} {
		if err := p.save(ctx, "/debug/pprof/"+kind, fmt.Sprintf("%s-%s-%s.pprof", p.name, kind, when)); err != nil {
			t.Logf("profile %s: %v", p.name, err)
		}
	}
}

func (p *profiler) save(ctx context.Context, path, file string) error {
	body, err := p.server.get(ctx, path)
	if err != nil {
		return err
	}
	defer body.Close()
	f, err := os.Create(filepath.Join(p.dir, file))
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, body); err != nil {
		_ = f.Close() // the copy's error is the one to report
		return err
	}
	return f.Close()
}

// end waits for the CPU segment under way and takes the closing snapshots.
func (p *profiler) end(t *testing.T, ctx context.Context) {
	if p == nil {
		return
	}
	close(p.stop)
	p.wg.Wait()
	p.snapshot(t, ctx, "end")
	t.Logf("profiles of %s in %s", p.name, p.dir)
}

// served reports whether the scrape has any series of the metric name.
func (m metricValues) served(name string) bool {
	for series := range m {
		if series == name || strings.HasPrefix(series, name+"{") || strings.HasPrefix(series, name+"_") {
			return true
		}
	}
	return false
}

// addWait adds to values, as "<server><what>s" and "<server>mean ms of a <what>", how many observations a
// histogram metric (seconds) had between two scrapes and their mean (when it had any). It reports whether
// the server serves the metric.
func addWait(values map[string]float64, server, what string, before, after metricValues, name string, labels ...string) bool {
	if !after.served(name + "_count") {
		return false
	}
	n := after.sum(name+"_count", labels...) - before.sum(name+"_count", labels...)
	values[server+what+"s"] = n
	if n > 0 {
		values[server+"mean ms of a "+what] = (after.sum(name+"_sum", labels...) - before.sum(name+"_sum", labels...)) / n * 1000
	}
	return true
}

// serverWaits adds what triton-apiserver (and the bare server, when it runs) waited for between two
// scrapes of each: their watch caches' waits to be fresh for a read of releases (a consistent list waits
// for the cache to reach etcd's revision) and, when served, triton-apiserver's waits for client-go's rate
// limiter of its kube-apiserver clients. It returns a note of what is not served.
func serverWaits(values map[string]float64, before, after, bareBefore, bareAfter metricValues) string {
	const readWait = "apiserver_watch_cache_read_wait_seconds"
	addWait(values, "", "watch cache read wait", before, after, readWait, `group="releases.triton.io"`)
	// The bare server's histogram has no series until its first wait: none is 0.
	if bareAfter != nil && !addWait(values, "bare: ", "watch cache read wait", bareBefore, bareAfter, readWait, `group="`+bareGroup+`"`) {
		values["bare: watch cache read waits"] = 0
	}
	if !addWait(values, "", "client rate limiter wait", before, after, "rest_client_rate_limiter_duration_seconds") {
		return "client rate limiter waits: not served"
	}
	return ""
}

// deltas is how much each series of a counter grew between two scrapes, by its labels as written
// between the braces with the quotes left out (`client=calls`; "" for a series without labels).
func deltas(before, after metricValues, name string) map[string]float64 {
	out := map[string]float64{}
	for series, v := range after {
		labels, ok := strings.CutPrefix(series, name)
		if !ok || (labels != "" && !strings.HasPrefix(labels, "{")) {
			continue
		}
		out[strings.ReplaceAll(strings.Trim(labels, "{}"), `"`, "")] = v - before[series]
	}
	return out
}

// writeConflicts counts the CloneSet writes that met a conflict (labelled by verb, or by the server's
// client that wrote).
const writeConflicts = "triton_release_cloneset_write_conflicts_total"

// conflicts adds to values the CloneSet write conflicts between two scrapes: of verb when the counter is
// labelled by verb (and verb is set), else each of its series over the scenario. It reports whether the
// server serves the counter.
func conflicts(values map[string]float64, before, after metricValues, verb string) bool {
	if !after.served(writeConflicts) {
		return false
	}
	grew := deltas(before, after, writeConflicts)
	if verb != "" {
		byVerb, n := false, 0.0
		for labels, d := range grew {
			if strings.Contains(labels, "verb=") {
				byVerb = true
				if strings.Contains(labels, "verb="+verb) {
					n += d
				}
			}
		}
		if byVerb {
			values["CloneSet write conflicts"] = n
			return true
		}
	}
	for labels, d := range grew {
		key := "CloneSet write conflicts over the scenario"
		if labels != "" {
			key += ", " + labels
		}
		values[key] = d
	}
	return true
}
