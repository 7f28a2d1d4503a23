package promql

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestScopeAddsTheNamespaceToEverySelector(t *testing.T) {
	for _, tc := range []struct{ query, scoped string }{
		{`http_requests_total`, `http_requests_total{namespace="shop"}`},
		{`http_requests_total{code="500"}`, `http_requests_total{code="500",namespace="shop"}`},
		{`sum(rate(http_requests_total{code=~"5.."}[1m])) / sum(rate(http_requests_total[1m]))`,
			`sum(rate(http_requests_total{code=~"5..",namespace="shop"}[1m])) / sum(rate(http_requests_total{namespace="shop"}[1m]))`},
		{`{__name__=~".+"}`, `{__name__=~".+",namespace="shop"}`},
		{`max_over_time(up[5m:30s])`, `max_over_time(up{namespace="shop"}[5m:30s])`},
		{`histogram_quantile(0.99, sum by (le) (rate(latency_bucket[5m] offset 1m)))`,
			`histogram_quantile(0.99, sum by (le) (rate(latency_bucket{namespace="shop"}[5m] offset 1m)))`},
		{`up or on() vector(0)`, `up{namespace="shop"} or on () vector(0)`},
		{`label_replace(up, "namespace", "other", "", "")`, `label_replace(up{namespace="shop"}, "namespace", "other", "", "")`},
		// A matcher of the query on the label stays: both must hold.
		{`up{namespace="other"}`, `up{namespace="other",namespace="shop"}`},
		{`up{namespace=~".*"}`, `up{namespace="shop",namespace=~".*"}`},
		{`vector(1)`, `vector(1)`},
		{`1 + 1`, `1 + 1`},
	} {
		t.Run(tc.query, func(t *testing.T) {
			got, err := Scope(tc.query, "namespace", "shop")
			require.NoError(t, err)
			assert.Equal(t, tc.scoped, got)
		})
	}
}

func TestScopeRefusesWhatDoesNotParse(t *testing.T) {
	for _, q := range []string{``, `sum(`, `up{namespace="shop"`, `up}`, "up\x00"} {
		_, err := Scope(q, "namespace", "shop")
		assert.Error(t, err, "%q", q)
	}
}

// A matcher that the release's namespace does not satisfy is refused before it is stored: scoped, it
// would read nothing, and it says the query was written for another namespace.
func TestCheckRefusesAMatcherOnAnotherNamespace(t *testing.T) {
	for _, tc := range []struct {
		query string
		ok    bool
	}{
		{`up`, true},
		{`up{namespace="shop"}`, true},
		{`up{namespace=~"shop|other"}`, true},
		{`up{namespace!="other"}`, true},
		{`up{namespace="other"}`, false},
		{`up{namespace!="shop"}`, false},
		{`sum(rate(x[1m])) / sum(rate(y{namespace=~"oth.*"}[1m]))`, false},
		{`up{pod="shop"}`, true},
		{`sum(`, false},
	} {
		err := Check(tc.query, "namespace", "shop")
		assert.Equal(t, tc.ok, err == nil, "%s: %v", tc.query, err)
	}
}
