// Package prometheus measures an analysis check's query on the cluster admin's Prometheus: the query is
// kept inside the release's namespace (package promql) before it is sent, and the answer, bounded in time
// and size, is a number or a list of numbers for the check's successCondition.
package prometheus

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/transport"

	"github.com/triton-io/triton/pkg/analysis/promql"
)

// MaxAnswer is the largest answer read from Prometheus, in bytes; a larger one is an error.
const MaxAnswer = 1 << 20

// MaxSamples is the most samples a vector may have to be measured.
const MaxSamples = 1000

// Options say where Prometheus is and how to reach it: the cluster admin's, from the server's flags.
type Options struct {
	// Address is Prometheus's base URL (http or https), for example https://prometheus.monitoring:9090.
	Address string
	// CAFile verifies Prometheus's certificate (https); empty: the system's roots.
	CAFile string
	// BearerTokenFile is sent as the bearer token, read again when it changes (a projected token).
	BearerTokenFile string
	// NamespaceLabel is the label that names a series' namespace; "namespace" when empty.
	NamespaceLabel string
	// Timeout bounds one query; 10 s when zero.
	Timeout time.Duration
}

// Client queries one Prometheus.
type Client struct {
	base    *url.URL
	http    *http.Client
	label   string
	timeout time.Duration
}

// New returns a client of the Prometheus o names.
func New(o Options) (*Client, error) {
	base, err := url.Parse(o.Address)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("prometheus address %q: an http or https URL is needed", o.Address)
	}
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, err
		}
		tlsConfig.RootCAs = x509.NewCertPool()
		if !tlsConfig.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no certificate", o.CAFile)
		}
	}
	var rt http.RoundTripper = &http.Transport{TLSClientConfig: tlsConfig, Proxy: http.ProxyFromEnvironment,
		MaxIdleConnsPerHost: 4, IdleConnTimeout: 90 * time.Second}
	if o.BearerTokenFile != "" {
		if rt, err = transport.NewBearerAuthWithRefreshRoundTripper("", o.BearerTokenFile, rt); err != nil {
			return nil, err
		}
	}
	c := &Client{base: base, label: o.NamespaceLabel, timeout: o.Timeout, http: &http.Client{
		Transport: rt,
		// Prometheus answers a query itself; a redirect would send the query (and the token) elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	if c.label == "" {
		c.label = "namespace"
	}
	if c.timeout == 0 {
		c.timeout = 10 * time.Second
	}
	return c, nil
}

// Result is what a query measured: a number, or the numbers of a vector of more than one sample (in the
// order of their series' labels).
type Result struct {
	Number float64
	List   []float64
}

// Value is the result as a successCondition takes it: a float64, or a []float64.
func (r Result) Value() interface{} {
	if r.List != nil {
		return r.List
	}
	return r.Number
}

// String shows the result: the number, or the list (its first 10 numbers).
func (r Result) String() string {
	if r.List == nil {
		return strconv.FormatFloat(r.Number, 'g', -1, 64)
	}
	var parts []string
	for i, v := range r.List {
		if i == 10 {
			parts = append(parts, fmt.Sprintf("... %d in all", len(r.List)))
			break
		}
		parts = append(parts, strconv.FormatFloat(v, 'g', -1, 64))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// ErrNoData is a query that measured nothing: an empty vector, or NaN (a ratio of nothing to nothing). It
// cannot pass a check.
var ErrNoData = errors.New("no data")

// Measure runs query, kept inside namespace, as an instant query now.
func (c *Client) Measure(ctx context.Context, query, namespace string) (Result, error) {
	scoped, err := promql.Scope(query, c.label, namespace)
	if err != nil {
		return Result{}, fmt.Errorf("query: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	endpoint := c.base.JoinPath("api", "v1", "query")
	form := url.Values{"query": {scoped}, "timeout": {c.timeout.String()}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return Result{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.http.Do(req)
	if err != nil {
		return Result{}, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxAnswer+1))
	if err != nil {
		return Result{}, err
	}
	if len(body) > MaxAnswer {
		return Result{}, fmt.Errorf("the answer is larger than %d bytes", MaxAnswer)
	}
	return parse(resp.StatusCode, body)
}

// answer is Prometheus's answer to an instant query.
type answer struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	Data      struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	} `json:"data"`
}

type sample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]interface{}    `json:"value"`
}

func parse(code int, body []byte) (Result, error) {
	var a answer
	if err := json.Unmarshal(body, &a); err != nil {
		return Result{}, fmt.Errorf("HTTP %d: not an answer of Prometheus", code)
	}
	if a.Status != "success" {
		return Result{}, fmt.Errorf("HTTP %d: %s: %s", code, a.ErrorType, a.Error)
	}
	switch a.Data.ResultType {
	case "scalar":
		var v [2]interface{}
		if err := json.Unmarshal(a.Data.Result, &v); err != nil {
			return Result{}, err
		}
		n, err := number(v[1])
		return Result{Number: n}, err
	case "vector":
		var samples []sample
		if err := json.Unmarshal(a.Data.Result, &samples); err != nil {
			return Result{}, err
		}
		switch {
		case len(samples) == 0:
			return Result{}, fmt.Errorf("%w: the query's vector is empty", ErrNoData)
		case len(samples) > MaxSamples:
			return Result{}, fmt.Errorf("the query's vector has %d samples; at most %d", len(samples), MaxSamples)
		case len(samples) == 1:
			n, err := number(samples[0].Value[1])
			return Result{Number: n}, err
		}
		sort.Slice(samples, func(i, j int) bool { return key(samples[i].Metric) < key(samples[j].Metric) })
		list := make([]float64, len(samples))
		for i, s := range samples {
			n, err := number(s.Value[1])
			if err != nil {
				return Result{}, err
			}
			list[i] = n
		}
		return Result{List: list}, nil
	default:
		return Result{}, fmt.Errorf("the query's answer is a %s; a check needs a scalar or an instant vector", a.Data.ResultType)
	}
}

// number reads a sample's value, which Prometheus writes as a string; NaN is no data.
func number(v interface{}) (float64, error) {
	s, ok := v.(string)
	if !ok {
		return 0, fmt.Errorf("a sample's value %v is not a number", v)
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("a sample's value %q is not a number", s)
	}
	if math.IsNaN(n) {
		return 0, fmt.Errorf("%w: the query's value is NaN", ErrNoData)
	}
	return n, nil
}

// key orders series by their labels.
func key(m map[string]string) string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		b.WriteString(k + "=" + m[k] + ",")
	}
	return b.String()
}
