package httpcheck

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/util/jsonpath"
)

// MaxBody is the largest answer read, in bytes; a larger one is an error.
const MaxBody = 64 << 10

// Client sends the GETs of http checks: no redirects (an answer that redirects is an error), no proxy, no
// credentials, each bounded by its timeout.
type Client struct {
	http    *http.Client
	timeout time.Duration
}

// NewClient returns a client whose every GET ends within timeout (10 s when zero).
func NewClient(timeout time.Duration) *Client {
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	return &Client{timeout: timeout, http: &http.Client{
		Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 2, IdleConnTimeout: 30 * time.Second,
			ResponseHeaderTimeout: timeout},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// CheckPath reports whether path can be asked of an endpoint: an absolute path, with a query if any, and
// nothing that names another host.
func CheckPath(path string) error {
	u, err := url.Parse(path)
	if err != nil {
		return err
	}
	if u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !strings.HasPrefix(path, "/") || strings.HasPrefix(path, "//") {
		return fmt.Errorf("%q is not a path: it must start with one / and name no scheme or host", path)
	}
	return nil
}

// Get sends GET http://addr<path> and returns the number the answer holds: the whole body, or the value
// jsonPath (client-go's JSONPath, for example {.errorRate}) picks from it. An answer that is not 200, is
// larger than MaxBody, or holds no single number there is an error.
func (c *Client) Get(ctx context.Context, addr, path, jsonPath string) (float64, error) {
	if err := CheckPath(path); err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: HTTP %d", path, resp.StatusCode)
	}
	if len(body) > MaxBody {
		return 0, fmt.Errorf("GET %s: the answer is larger than %d bytes", path, MaxBody)
	}
	return Pick(body, jsonPath)
}

// Pick returns the number jsonPath picks from body, a JSON document (the whole body when jsonPath is
// empty): a JSON number, or a string that is one.
func Pick(body []byte, jsonPath string) (float64, error) {
	var doc interface{}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return 0, fmt.Errorf("the answer is not JSON: %w", err)
	}
	value := doc
	if jsonPath != "" {
		jp := jsonpath.New("check")
		if err := jp.Parse(jsonPath); err != nil {
			return 0, fmt.Errorf("jsonPath %s: %w", jsonPath, err)
		}
		results, err := jp.FindResults(doc)
		if err != nil {
			return 0, fmt.Errorf("jsonPath %s: %w", jsonPath, err)
		}
		var found []interface{}
		for _, r := range results {
			for _, v := range r {
				found = append(found, v.Interface())
			}
		}
		if len(found) != 1 {
			return 0, fmt.Errorf("jsonPath %s picks %d values; one number is needed", jsonPath, len(found))
		}
		value = found[0]
	}
	switch v := value.(type) {
	case json.Number:
		return v.Float64()
	case string:
		n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || math.IsNaN(n) {
			return 0, fmt.Errorf("%q is not a number", v)
		}
		return n, nil
	default:
		return 0, fmt.Errorf("the value picked is %T, not a number", value)
	}
}
