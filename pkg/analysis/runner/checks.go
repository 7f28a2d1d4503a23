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

	"github.com/triton-io/triton/pkg/analysis/condition"
	"github.com/triton-io/triton/pkg/analysis/httpcheck"
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
//   - podHealth: the most container restarts of one pod of the batch since it went into traffic.
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
	// Now is the clock of the measurements' times; nil: time.Now.
	Now func() time.Time

	httpOnce    sync.Once
	defaultHTTP *httpcheck.Client

	mu         sync.Mutex
	conditions map[string]*condition.Condition
	// baselines are the restarts of each pod of a batch when podHealth first saw it in traffic, by
	// release UID, batch and pod UID.
	baselines map[string]baseline
}

// baseline is the restarts of one pod when podHealth first measured it, and when it last did.
type baseline struct {
	restarts int32
	seen     time.Time
}

// maxBaselines bounds the pods whose restarts podHealth remembers; past it, those not measured for an
// hour are forgotten.
const maxBaselines = 100_000

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
}

// Measure takes one measurement of d.Check for d.Batch of r.
func (c *Checks) Measure(ctx context.Context, r *releases.Release, d Due) releases.Measurement {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	m := releases.Measurement{Time: metav1.NewTime(now())}
	var obs observation
	var err error
	switch check := d.Check; {
	case check.Prometheus != nil:
		obs, err = c.prometheus(ctx, r, d.Batch, check.Prometheus)
	case check.HTTP != nil:
		obs, err = c.http(ctx, r, check.HTTP)
	case check.PodHealth != nil:
		obs, err = c.podHealth(ctx, r, d.Batch, check.PodHealth)
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
		m.Phase = releases.AnalysisPassed
		return m
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
	m.Phase = releases.AnalysisPassed
	return m
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

func (c *Checks) podHealth(ctx context.Context, r *releases.Release, batch int32, p *releases.PodHealthCheck) (observation, error) {
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
	sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	worst, most := "", int32(-1)
	for _, pod := range pods {
		if n := c.restartsInTraffic(r, batch, pod); n > most {
			worst, most = pod.Name, n
		}
	}
	obs := observation{result: float64(most), shown: strconv.Itoa(int(most))}
	limit := int32(0)
	if p.MaxRestarts != nil {
		limit = *p.MaxRestarts
	}
	if most > limit {
		obs.failed = fmt.Sprintf("pod %s restarted %d times; at most %d", worst, most, limit)
	}
	return obs, nil
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

// restartsInTraffic is how often pod restarted since podHealth first measured it for this batch, that is
// since the batch went into traffic: a restart before (an in-place update restarts the containers it
// changes, and kubelet counts that) is not the new version failing. The count is kept in memory: after a
// leader change, the new leader counts from its own first measurement.
func (c *Checks) restartsInTraffic(r *releases.Release, batch int32, pod *corev1.Pod) int32 {
	id := string(pod.UID)
	if id == "" {
		id = pod.Namespace + "/" + pod.Name
	}
	key := fmt.Sprintf("%s/%d/%s", r.UID, batch, id)
	n := restarts(pod)
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.baselines == nil {
		c.baselines = map[string]baseline{}
	}
	b, ok := c.baselines[key]
	if !ok {
		if len(c.baselines) >= maxBaselines {
			for k, old := range c.baselines {
				if now.Sub(old.seen) > time.Hour {
					delete(c.baselines, k)
				}
			}
		}
		b = baseline{restarts: n}
	}
	b.seen = now
	c.baselines[key] = b
	return max(n-b.restarts, 0)
}

// restarts is a pod's container restarts: those of its containers and its init containers.
func restarts(pod *corev1.Pod) int32 {
	var n int32
	for _, s := range pod.Status.InitContainerStatuses {
		n += s.RestartCount
	}
	for _, s := range pod.Status.ContainerStatuses {
		n += s.RestartCount
	}
	return n
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
