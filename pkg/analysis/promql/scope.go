// Package promql keeps a PromQL query inside one namespace: the namespace's matcher is added to every
// selector of the query through Prometheus's own parser (never by editing the text), as prom-label-proxy
// does, so that a tenant's query reads only the series of its own namespace.
package promql

import (
	"fmt"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// Scope returns query with label="namespace" added to every selector in it (those in range vectors,
// subqueries and function arguments too). A matcher of the query on label stays beside the new one: both
// must hold, so no selector reads a series of another namespace. A query that does not parse is an error.
func Scope(query, label, namespace string) (string, error) {
	expr, err := parser.ParseExpr(query)
	if err != nil {
		return "", err
	}
	scope, err := labels.NewMatcher(labels.MatchEqual, label, namespace)
	if err != nil {
		return "", err
	}
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		if vs, ok := node.(*parser.VectorSelector); ok {
			vs.LabelMatchers = append(vs.LabelMatchers, scope)
		}
		return nil
	})
	return expr.String(), nil
}

// Check reports what in query cannot be kept inside namespace: a query that does not parse, or a matcher
// on label that namespace does not satisfy (it names another namespace: scoped, that selector would read
// nothing). For admission, before the query is stored.
func Check(query, label, namespace string) error {
	expr, err := parser.ParseExpr(query)
	if err != nil {
		return err
	}
	var outside error
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		vs, ok := node.(*parser.VectorSelector)
		if !ok || outside != nil {
			return nil
		}
		for _, m := range vs.LabelMatchers {
			if m.Name == label && !m.Matches(namespace) {
				outside = fmt.Errorf("selector %s reads %s, not namespace %q: a release's queries read only its own namespace", vs, m, namespace)
				return nil
			}
		}
		return nil
	})
	return outside
}
