package runner

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"

	"github.com/triton-io/triton/pkg/analysis/condition"
	"github.com/triton-io/triton/pkg/analysis/httpcheck"
	"github.com/triton-io/triton/pkg/analysis/podhealth"
	"github.com/triton-io/triton/pkg/analysis/prometheus"
	"github.com/triton-io/triton/pkg/analysis/promql"
	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

// MaxValue is the longest Value of a measurement, in bytes.
const MaxValue = 256

// MaxMessage is the longest Message of a measurement, in bytes.
const MaxMessage = 256

// ErrNoPrometheus is the Error of a prometheus check on a server that has no Prometheus.
var ErrNoPrometheus = errors.New("no Prometheus is configured: the server's --analysis-prometheus-address")

// Checks measures the checks of a release's analysis (the Measurer of the server's Runner):
//   - prometheus: the query, its placeholders substituted (Substitute), kept inside the release's namespace
//     and measured on the cluster admin's Prometheus;
//   - http: a GET to the first ready endpoint of the Service of the release's namespace;
//   - podHealth: the batch's pods against the CloneSet's pods not in the release, since the batch went into
//     traffic (podhealth.Judge); the number is the most restarts of one pod of the batch.
//
// The number measured is the successCondition's result. A measurement that cannot be taken or judged is an
// Error, never a pass. Its fields are set before its first use.
type Checks struct {
	// Prometheus measures prometheus checks; nil: they measure Error (ErrNoPrometheus).
	Prometheus *prometheus.Client
	// NamespaceLabel is the label that names a series' namespace, the one Prometheus scopes queries with;
	// "namespace" when empty. A query that selects another namespace on it is an Error.
	NamespaceLabel string
	// Kube reads the Services and EndpointSlices of http checks (and the pods of podHealth without Pods).
	Kube kubernetes.Interface
	// HTTP sends the GETs of http checks; nil: a client with httpcheck's defaults.
	HTTP *httpcheck.Client
	// Pods lists the pods of a namespace that selector matches (from a cache: they are only read); nil:
	// a list from Kube.
	Pods func(namespace string, selector labels.Selector) ([]*corev1.Pod, error)
	// Metrics reads the CPU and memory of podHealth checks' pods (metrics.k8s.io); nil: they are not
	// compared, and the measurement says so.
	Metrics metricsclient.Interface
	// Now is the clock of the measurements' times; nil: time.Now.
	Now func() time.Time

	httpOnce    sync.Once
	defaultHTTP *httpcheck.Client

	// inTraffic remembers each pod podHealth measured, per release and batch, to count what it did in
	// traffic.
	inTraffic podhealth.Tracker

	mu         sync.Mutex
	conditions map[string]*condition.Condition
}

var _ Measurer = (*Checks)(nil)

// maxConditions bounds the compiled conditions kept for reuse.
const maxConditions = 256

// Substitute replaces the placeholders of a prometheus check's query with what they stand for in release
// r and batch: ${namespace}, ${release}, ${cloneSet}, ${batch} (the batch's index) and ${revision} (the
// update revision of the release's CloneSet as last observed, empty before).
func Substitute(query string, r *releases.Release, batch int32) string {
	revision := ""
	if r.Status.CloneSet != nil {
		revision = r.Status.CloneSet.UpdateRevision
	}
	return strings.NewReplacer(
		"${namespace}", r.Namespace,
		"${release}", r.Name,
		"${cloneSet}", r.Spec.CloneSetName,
		"${batch}", strconv.Itoa(int(batch)),
		"${revision}", revision,
	).Replace(query)
}

// observation is what a check measured, before it is judged.
type observation struct {
	// result is the successCondition's result: a float64 or a []float64.
	result interface{}
	// shown is result as text.
	shown string
	// failed, when set, fails the measurement whatever the successCondition says (podHealth's maxRestarts).
	failed string
	// needsCondition: without a successCondition the measurement cannot be judged.
	needsCondition bool
	// note is the message of a measurement that passes.
	note string
}

// Measure takes one measurement of d.Check for d.Batch of r.
func (c *Checks) Measure(ctx context.Context, r *releases.Release, d Due) releases.Measurement {
	m := releases.Measurement{Time: metav1.NewTime(c.now())}
	var obs observation
	var err error
	switch check := d.Check; {
	case check.Prometheus != nil:
		obs, err = c.prometheus(ctx, r, d.Batch, check.Prometheus)
	case check.HTTP != nil:
		obs, err = c.http(ctx, r, check.HTTP)
	case check.PodHealth != nil:
		obs, err = c.podHealth(ctx, r, d.Batch, check.PodHealth, m.Time.Time)
	default:
		err = errors.New("the check says nothing to measure")
	}
	if err != nil {
		return withMessage(m, releases.AnalysisError, errorText(err))
	}
	m.Value = clip(obs.shown, MaxValue, "")
	if obs.failed != "" {
		return withMessage(m, releases.AnalysisFailed, obs.failed)
	}
	expr := d.Check.SuccessCondition
	if expr == "" {
		if obs.needsCondition {
			return withMessage(m, releases.AnalysisError, "the check has no successCondition")
		}
		return withMessage(m, releases.AnalysisPassed, obs.note)
	}
	cond, err := c.condition(expr)
	if err != nil {
		return withMessage(m, releases.AnalysisError, "successCondition: "+err.Error())
	}
	holds, err := cond.Holds(obs.result)
	switch {
	case err != nil:
		return withMessage(m, releases.AnalysisError, err.Error())
	case !holds:
		return withMessage(m, releases.AnalysisFailed, fmt.Sprintf("%s is false", expr))
	}
	return withMessage(m, releases.AnalysisPassed, obs.note)
}

func (c *Checks) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Checks) prometheus(ctx context.Context, r *releases.Release, batch int32, p *releases.PrometheusCheck) (observation, error) {
	if c.Prometheus == nil {
		return observation{}, ErrNoPrometheus
	}
	label := c.NamespaceLabel
	if label == "" {
		label = "namespace"
	}
	query := Substitute(p.Query, r, batch)
	// Measure adds the namespace to every selector; a selector of another namespace would read nothing,
	// which says "no data" where the query is wrong.
	if err := promql.Check(query, label, r.Namespace); err != nil {
		return observation{}, fmt.Errorf("query: %w", err)
	}
	result, err := c.Prometheus.Measure(ctx, query, r.Namespace)
	if err != nil {
		return observation{}, fmt.Errorf("prometheus: %w", err)
	}
	return observation{result: result.Value(), shown: result.String(), needsCondition: true}, nil
}

func (c *Checks) http(ctx context.Context, r *releases.Release, h *releases.HTTPCheck) (observation, error) {
	if c.Kube == nil {
		return observation{}, errors.New("the server has no client of the cluster for http checks")
	}
	addrs, err := httpcheck.Endpoints(ctx, c.Kube, r.Namespace, h.Service, intstr.FromInt32(h.Port))
	if err != nil {
		return observation{}, err
	}
	if len(addrs) == 0 {
		return observation{}, fmt.Errorf("no ready endpoint of service %s", h.Service)
	}
	client := c.HTTP
	if client == nil {
		c.httpOnce.Do(func() { c.defaultHTTP = httpcheck.NewClient(0) })
		client = c.defaultHTTP
	}
	v, err := client.Get(ctx, addrs[0], h.Path, h.JSONPath)
	if err != nil {
		return observation{}, err
	}
	return observation{result: v, shown: strconv.FormatFloat(v, 'g', -1, 64), needsCondition: true}, nil
}

func (c *Checks) podHealth(ctx context.Context, r *releases.Release, batch int32, p *releases.PodHealthCheck, now time.Time) (observation, error) {
	value := strconv.Itoa(int(batch))
	if blueGreen(r) {
		value = v1alpha1.PreviewBatch
	}
	selector := labels.SelectorFromSet(labels.Set{v1alpha1.ReleaseLabel: r.Name, v1alpha1.BatchLabel: value})
	pods, err := c.pods(ctx, r.Namespace, selector)
	if err != nil {
		return observation{}, err
	}
	if len(pods) == 0 {
		return observation{}, fmt.Errorf("no pod of batch %d yet", batch)
	}
	all, err := c.pods(ctx, r.Namespace, labels.Everything())
	if err != nil {
		return observation{}, err
	}
	others := notInRelease(r, all)

	// Every pod is counted from the check's first look at it for this batch: the batch's from when it went
	// into traffic, the others' over the same time.
	window := fmt.Sprintf("%s/%d", r.UID, batch)
	in := podhealth.Input{Batch: make([]podhealth.Counts, len(pods)), Others: make([]podhealth.Counts, len(others))}
	for i, pod := range pods {
		in.Batch[i] = c.inTraffic.Observe(window, pod, now)
	}
	for i, pod := range others {
		in.Others[i] = c.inTraffic.Observe(window, pod, now)
	}

	limits := podhealth.Limits{}
	if p.MaxRestarts != nil {
		limits.MaxRestarts = *p.MaxRestarts
	}
	if p.MaxRatio != "" {
		if limits.MaxRatio, err = releases.ParseRatio(p.MaxRatio); err != nil {
			return observation{}, fmt.Errorf("maxRatio: %w", err)
		}
	}
	if len(others) > 0 {
		in.BatchUsage, in.OthersUsage, err = podhealth.ReadUsage(ctx, c.Metrics, r.Namespace, podNames(pods), podNames(others))
		switch {
		case errors.Is(err, podhealth.ErrNotServed):
			in.UsageSkipped = err.Error()
		case err != nil && limits.MaxRatio > 0:
			// maxRatio asks for CPU and memory to be judged: a metrics API that does not answer cannot.
			return observation{}, err
		case err != nil:
			in.UsageSkipped = errorText(err)
		}
	}
	res := podhealth.Judge(in, limits)
	return observation{result: float64(res.MostRestarts), shown: strconv.Itoa(int(res.MostRestarts)),
		failed: res.Failed, note: res.Summary}, nil
}

// notInRelease is those of pods that the release's CloneSet controls and that are not in the release (nor
// on their way out).
func notInRelease(r *releases.Release, pods []*corev1.Pod) []*corev1.Pod {
	var out []*corev1.Pod
	for _, pod := range pods {
		owner := metav1.GetControllerOf(pod)
		if owner == nil || owner.Kind != "CloneSet" || owner.Name != r.Spec.CloneSetName ||
			!strings.HasPrefix(owner.APIVersion, "apps.kruise.io/") || pod.DeletionTimestamp != nil ||
			pod.Labels[v1alpha1.ReleaseLabel] == r.Name {
			continue
		}
		out = append(out, pod)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func podNames(pods []*corev1.Pod) []string {
	out := make([]string, len(pods))
	for i, p := range pods {
		out[i] = p.Name
	}
	return out
}

// pods lists the pods of namespace that selector matches: Pods, else a list from Kube.
func (c *Checks) pods(ctx context.Context, namespace string, selector labels.Selector) ([]*corev1.Pod, error) {
	if c.Pods != nil {
		return c.Pods(namespace, selector)
	}
	if c.Kube == nil {
		return nil, errors.New("the server has no client of the cluster for podHealth checks")
	}
	list, err := c.Kube.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
	if err != nil {
		return nil, err
	}
	out := make([]*corev1.Pod, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out, nil
}

// blueGreen reports whether r brings its pods up as green beside blue, which are labelled with the batch
// "preview" rather than an index (as plan.BlueGreen says: BlueGreen, for the actions that change the
// template).
func blueGreen(r *releases.Release) bool {
	switch r.Spec.Action {
	case releases.ActionUpdate, releases.ActionRestart, releases.ActionRollback:
		return r.Spec.Strategy.Type == releases.StrategyBlueGreen
	}
	return false
}

// condition compiles expr, once: the checks of a release are measured again and again.
func (c *Checks) condition(expr string) (*condition.Condition, error) {
	c.mu.Lock()
	cond := c.conditions[expr]
	c.mu.Unlock()
	if cond != nil {
		return cond, nil
	}
	cond, err := condition.Compile(expr)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.conditions == nil || len(c.conditions) >= maxConditions {
		c.conditions = map[string]*condition.Condition{}
	}
	c.conditions[expr] = cond
	c.mu.Unlock()
	return cond, nil
}

func withMessage(m releases.Measurement, phase releases.AnalysisPhase, message string) releases.Measurement {
	m.Phase = phase
	m.Message = clip(message, MaxMessage, "...")
	return m
}

// errorText is err's message, without the URL an error of net/http repeats (the Prometheus address is the
// admin's; the endpoint's address says nothing the rest does not).
func errorText(err error) string {
	var u *url.Error
	if errors.As(err, &u) && u.Err != nil {
		text := err.Error()
		if i := strings.Index(text, u.Error()); i >= 0 {
			return text[:i] + u.Op + ": " + u.Err.Error()
		}
	}
	return err.Error()
}

// clip makes s fit a status field (releases.Clip).
func clip(s string, limit int, more string) string { return releases.Clip(s, limit, more) }
