package validation

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/triton-io/triton/pkg/apis/releases"
)

// --- builders ---

func promCheck(name, query string) releases.AnalysisCheck {
	return releases.AnalysisCheck{Name: name, Prometheus: &releases.PrometheusCheck{Query: query},
		SuccessCondition: "result < 0.01", ErrorLimit: ptr(int32(3))}
}

func httpCheck(name string) releases.AnalysisCheck {
	return releases.AnalysisCheck{Name: name, HTTP: &releases.HTTPCheck{Service: "web", Port: 8080, Path: "/stats?window=1m", JSONPath: "{.errorRate}"},
		SuccessCondition: "result < 0.05", ErrorLimit: ptr(int32(3))}
}

func podHealthCheck(name string) releases.AnalysisCheck {
	return releases.AnalysisCheck{Name: name, PodHealth: &releases.PodHealthCheck{MaxRestarts: ptr(int32(0))}, ErrorLimit: ptr(int32(3))}
}

// analysed is a valid Update release of namespace shop with an analysis of every kind of check, as it
// looks after defaulting.
func analysed() *releases.Release {
	r := validRelease(releases.ActionUpdate)
	r.Namespace = "shop"
	r.Spec.Strategy.Analysis = &releases.ReleaseAnalysis{
		Checks: []releases.AnalysisCheck{
			promCheck("errors", `sum(rate(http_requests_total{code=~"5..",namespace="${namespace}",pod=~"${cloneSet}-.*"}[1m])) / sum(rate(http_requests_total[1m]))`),
			httpCheck("stats"),
			podHealthCheck("pods"),
		},
		Templates:       []string{"slo", "latency.v2"},
		IntervalSeconds: ptr(int32(10)),
	}
	return r
}

// --- ValidateRelease: spec.strategy.analysis ---

func TestValidateReleaseAnalysis(t *testing.T) {
	const (
		analysis = "spec.strategy.analysis"
		check0   = analysis + ".checks[0]"
		check1   = analysis + ".checks[1]"
		check2   = analysis + ".checks[2]"
	)
	a := func(r *releases.Release) *releases.ReleaseAnalysis { return r.Spec.Strategy.Analysis }
	tests := []struct {
		name   string
		mutate func(r *releases.Release)
		want   []wantErr
	}{
		{name: "valid"},
		{name: "no analysis", mutate: func(r *releases.Release) { r.Spec.Strategy.Analysis = nil }},
		{name: "templates only", mutate: func(r *releases.Release) { a(r).Checks = nil }},
		{name: "checks only", mutate: func(r *releases.Release) { a(r).Templates = nil }},
		{name: "every placeholder", mutate: func(r *releases.Release) {
			a(r).Checks[0].Prometheus.Query = `sum(up{namespace="${namespace}",release="${release}",cloneset="${cloneSet}",batch="${batch}",revision="${revision}"}) > ${batch}`
		}},
		{name: "a query on several lines", mutate: func(r *releases.Release) {
			a(r).Checks[0].Prometheus.Query = "sum(rate(errors_total[1m]))\n  /\nsum(rate(requests_total[1m]))"
		}},
		{name: "a matcher that the namespace satisfies", mutate: func(r *releases.Release) {
			a(r).Checks[0].Prometheus.Query = `up{namespace=~"shop|other"}`
		}},
		{name: "a condition over a list", mutate: func(r *releases.Release) {
			a(r).Checks[0].SuccessCondition = "result.all(x, x < 0.01)"
		}},
		{name: "podHealth with a condition", mutate: func(r *releases.Release) { a(r).Checks[2].SuccessCondition = "result <= 1" }},
		{name: "http without jsonPath", mutate: func(r *releases.Release) { a(r).Checks[1].HTTP.JSONPath = "" }},
		{name: "limits at their bounds", mutate: func(r *releases.Release) {
			a(r).Checks[0].FailureLimit, a(r).Checks[0].ErrorLimit = MaxAnalysisLimit, ptr(int32(0))
			a(r).Checks[2].PodHealth.MaxRestarts = ptr(int32(MaxAnalysisLimit))
			a(r).IntervalSeconds, a(r).BakeSeconds = ptr(int32(MaxIntervalSeconds)), MaxBakeSeconds
		}},
		{name: "the most checks and templates", mutate: func(r *releases.Release) {
			a(r).Checks = nil
			for i := 0; i < MaxAnalysisChecks; i++ {
				a(r).Checks = append(a(r).Checks, promCheck(fmt.Sprintf("c%d", i), "up"))
			}
			a(r).Templates = []string{"a", "b", "c", "d", "e"}
		}},
		{name: "the longest query", mutate: func(r *releases.Release) {
			a(r).Checks[0].Prometheus.Query = `up{pod="` + strings.Repeat("a", MaxQueryLength-10) + `"}`
		}},
		{name: "background and dry run", mutate: func(r *releases.Release) { a(r).Checks[0].Background, a(r).Checks[1].DryRun = true, true }},
		// Blue/green: the checks run on the switch batch.
		{name: "blue/green", mutate: func(r *releases.Release) { blueGreen(r) }},

		{name: "empty analysis", mutate: func(r *releases.Release) { a(r).Checks, a(r).Templates = nil, nil },
			want: []wantErr{required(analysis + ".checks")}},
		{name: "too many checks", mutate: func(r *releases.Release) {
			for i := 0; i < MaxAnalysisChecks; i++ {
				a(r).Checks = append(a(r).Checks, podHealthCheck(fmt.Sprintf("more-%d", i)))
			}
		}, want: []wantErr{tooMany(analysis + ".checks")}},
		{name: "too many templates", mutate: func(r *releases.Release) { a(r).Templates = []string{"a", "b", "c", "d", "e", "f"} },
			want: []wantErr{tooMany(analysis + ".templates")}},
		{name: "template named twice", mutate: func(r *releases.Release) { a(r).Templates = []string{"slo", "slo"} },
			want: []wantErr{duplicate(analysis + ".templates[1]")}},
		{name: "template without a name", mutate: func(r *releases.Release) { a(r).Templates[1] = "" },
			want: []wantErr{required(analysis + ".templates[1]")}},
		{name: "template name not an object name", mutate: func(r *releases.Release) { a(r).Templates[0] = "SLO_1" },
			want: []wantErr{invalid(analysis + ".templates[0]")}},
		{name: "no interval", mutate: func(r *releases.Release) { a(r).IntervalSeconds = nil },
			want: []wantErr{required(analysis + ".intervalSeconds")}},
		{name: "zero interval", mutate: func(r *releases.Release) { a(r).IntervalSeconds = ptr(int32(0)) },
			want: []wantErr{invalid(analysis + ".intervalSeconds").with("between 1 and 3600")}},
		{name: "interval over an hour", mutate: func(r *releases.Release) { a(r).IntervalSeconds = ptr(int32(MaxIntervalSeconds + 1)) },
			want: []wantErr{invalid(analysis + ".intervalSeconds")}},
		{name: "negative bake", mutate: func(r *releases.Release) { a(r).BakeSeconds = -1 },
			want: []wantErr{invalid(analysis + ".bakeSeconds")}},
		{name: "bake over a day", mutate: func(r *releases.Release) { a(r).BakeSeconds = MaxBakeSeconds + 1 },
			want: []wantErr{invalid(analysis + ".bakeSeconds").with("between 0 and 86400")}},

		// A check's name.
		{name: "check without a name", mutate: func(r *releases.Release) { a(r).Checks[1].Name = "" },
			want: []wantErr{required(check1 + ".name")}},
		{name: "check name not a DNS label", mutate: func(r *releases.Release) { a(r).Checks[1].Name = "error.rate" },
			want: []wantErr{invalid(check1 + ".name")}},
		{name: "check name in capitals", mutate: func(r *releases.Release) { a(r).Checks[1].Name = "Errors" },
			want: []wantErr{invalid(check1 + ".name")}},
		{name: "check name twice", mutate: func(r *releases.Release) { a(r).Checks[2].Name = "errors" },
			want: []wantErr{duplicate(check2 + ".name")}},

		// What a check measures.
		{name: "nothing measured", mutate: func(r *releases.Release) { a(r).Checks[1].HTTP = nil },
			want: []wantErr{required(check1).with("one of prometheus, http or podHealth")}},
		{name: "two things measured", mutate: func(r *releases.Release) { a(r).Checks[0].HTTP = httpCheck("x").HTTP },
			want: []wantErr{forbidden(check0 + ".http").with("with prometheus")}},
		{name: "three things measured", mutate: func(r *releases.Release) {
			a(r).Checks[2].Prometheus = &releases.PrometheusCheck{Query: "up"}
			a(r).Checks[2].HTTP = httpCheck("x").HTTP
		}, want: []wantErr{forbidden(check2 + ".http"), forbidden(check2 + ".podHealth"), required(check2 + ".successCondition")}},

		// prometheus
		{name: "empty query", mutate: func(r *releases.Release) { a(r).Checks[0].Prometheus.Query = " " },
			want: []wantErr{required(check0 + ".prometheus.query")}},
		{name: "query too long", mutate: func(r *releases.Release) {
			a(r).Checks[0].Prometheus.Query = `up{pod="` + strings.Repeat("a", MaxQueryLength) + `"}`
		}, want: []wantErr{tooLong(check0 + ".prometheus.query")}},
		{name: "query that does not parse", mutate: func(r *releases.Release) { a(r).Checks[0].Prometheus.Query = "sum(rate(x[1m])" },
			want: []wantErr{invalid(check0 + ".prometheus.query")}},
		{name: "query of another namespace", mutate: func(r *releases.Release) {
			a(r).Checks[0].Prometheus.Query = `sum(rate(x[1m])) / sum(rate(y{namespace="payments"}[1m]))`
		}, want: []wantErr{invalid(check0 + ".prometheus.query").with(`not namespace "shop"`)}},
		{name: "query that excludes its own namespace", mutate: func(r *releases.Release) {
			a(r).Checks[0].Prometheus.Query = `up{namespace!="${namespace}"}`
		}, want: []wantErr{invalid(check0 + ".prometheus.query")}},
		{name: "query with an unknown placeholder", mutate: func(r *releases.Release) {
			a(r).Checks[0].Prometheus.Query = `up{pod="${pod}"} > ${threshold}`
		}, want: []wantErr{invalid(check0 + ".prometheus.query")}},
		{name: "query with an escape sequence", mutate: func(r *releases.Release) {
			a(r).Checks[0].Prometheus.Query = "up{pod=\"\x1b[2J\"}"
		}, want: []wantErr{invalid(check0 + ".prometheus.query").with("control characters")}},
		{name: "prometheus without a condition", mutate: func(r *releases.Release) { a(r).Checks[0].SuccessCondition = "" },
			want: []wantErr{required(check0 + ".successCondition")}},

		// http
		{name: "http without a service", mutate: func(r *releases.Release) { a(r).Checks[1].HTTP.Service = "" },
			want: []wantErr{required(check1 + ".http.service")}},
		{name: "http service not a name", mutate: func(r *releases.Release) { a(r).Checks[1].HTTP.Service = "web.shop.svc" },
			want: []wantErr{invalid(check1 + ".http.service")}},
		{name: "http service as a URL", mutate: func(r *releases.Release) { a(r).Checks[1].HTTP.Service = "http://evil.example" },
			want: []wantErr{invalid(check1 + ".http.service")}},
		{name: "http port 0", mutate: func(r *releases.Release) { a(r).Checks[1].HTTP.Port = 0 },
			want: []wantErr{invalid(check1 + ".http.port")}},
		{name: "http port past 65535", mutate: func(r *releases.Release) { a(r).Checks[1].HTTP.Port = 65536 },
			want: []wantErr{invalid(check1 + ".http.port").with("between 1 and 65535")}},
		{name: "http without a path", mutate: func(r *releases.Release) { a(r).Checks[1].HTTP.Path = "" },
			want: []wantErr{required(check1 + ".http.path")}},
		{name: "http path without its /", mutate: func(r *releases.Release) { a(r).Checks[1].HTTP.Path = "stats" },
			want: []wantErr{invalid(check1 + ".http.path").with("must start with /")}},
		{name: "http path naming a host", mutate: func(r *releases.Release) { a(r).Checks[1].HTTP.Path = "//evil.example/stats" },
			want: []wantErr{invalid(check1 + ".http.path")}},
		{name: "http path too long", mutate: func(r *releases.Release) { a(r).Checks[1].HTTP.Path = "/" + strings.Repeat("a", MaxHTTPPathLength) },
			want: []wantErr{tooLong(check1 + ".http.path")}},
		{name: "http path with a control character", mutate: func(r *releases.Release) { a(r).Checks[1].HTTP.Path = "/stats\r\nHost: evil" },
			want: []wantErr{invalid(check1 + ".http.path")}},
		{name: "jsonPath that does not parse", mutate: func(r *releases.Release) { a(r).Checks[1].HTTP.JSONPath = "{.errorRate" },
			want: []wantErr{invalid(check1 + ".http.jsonPath")}},
		{name: "jsonPath too long", mutate: func(r *releases.Release) {
			a(r).Checks[1].HTTP.JSONPath = "{." + strings.Repeat("a", MaxJSONPathLength) + "}"
		}, want: []wantErr{tooLong(check1 + ".http.jsonPath")}},
		{name: "http without a condition", mutate: func(r *releases.Release) { a(r).Checks[1].SuccessCondition = "" },
			want: []wantErr{required(check1 + ".successCondition")}},

		// podHealth
		{name: "podHealth without maxRestarts", mutate: func(r *releases.Release) { a(r).Checks[2].PodHealth.MaxRestarts = nil },
			want: []wantErr{required(check2 + ".podHealth.maxRestarts")}},
		{name: "negative maxRestarts", mutate: func(r *releases.Release) { a(r).Checks[2].PodHealth.MaxRestarts = ptr(int32(-1)) },
			want: []wantErr{invalid(check2 + ".podHealth.maxRestarts")}},
		{name: "maxRestarts over the bound", mutate: func(r *releases.Release) { a(r).Checks[2].PodHealth.MaxRestarts = ptr(int32(MaxAnalysisLimit + 1)) },
			want: []wantErr{invalid(check2 + ".podHealth.maxRestarts")}},
		{name: "maxRatio of 0", mutate: func(r *releases.Release) { a(r).Checks[2].PodHealth.MaxRatio = "0" },
			want: []wantErr{invalid(check2 + ".podHealth.maxRatio").with("greater than 0")}},
		{name: "negative maxRatio", mutate: func(r *releases.Release) { a(r).Checks[2].PodHealth.MaxRatio = "-1.5" },
			want: []wantErr{invalid(check2 + ".podHealth.maxRatio").with("a decimal")}},
		{name: "maxRatio with an exponent", mutate: func(r *releases.Release) { a(r).Checks[2].PodHealth.MaxRatio = "1e3" },
			want: []wantErr{invalid(check2 + ".podHealth.maxRatio").with("a decimal")}},
		{name: "maxRatio over the bound", mutate: func(r *releases.Release) { a(r).Checks[2].PodHealth.MaxRatio = "1000.5" },
			want: []wantErr{invalid(check2 + ".podHealth.maxRatio").with("at most 1000")}},
		{name: "maxRatio with a trailing point", mutate: func(r *releases.Release) { a(r).Checks[2].PodHealth.MaxRatio = "2." },
			want: []wantErr{invalid(check2 + ".podHealth.maxRatio").with("a decimal")}},
		{name: "maxRatio too long", mutate: func(r *releases.Release) { a(r).Checks[2].PodHealth.MaxRatio = "1.500000000" },
			want: []wantErr{tooLong(check2 + ".podHealth.maxRatio")}},
		{name: "maxRatio of terminal escapes", mutate: func(r *releases.Release) { a(r).Checks[2].PodHealth.MaxRatio = "\x1b[2J1" },
			want: []wantErr{invalid(check2 + ".podHealth.maxRatio").with("a decimal")}},
		{name: "maxRatio at the bounds", mutate: func(r *releases.Release) { a(r).Checks[2].PodHealth.MaxRatio = "1000" }},
		{name: "maxRatio of a thousandth", mutate: func(r *releases.Release) { a(r).Checks[2].PodHealth.MaxRatio = "0.001" }},

		// successCondition
		{name: "condition that does not compile", mutate: func(r *releases.Release) { a(r).Checks[0].SuccessCondition = "result <" },
			want: []wantErr{invalid(check0 + ".successCondition")}},
		{name: "condition that is not a bool", mutate: func(r *releases.Release) { a(r).Checks[0].SuccessCondition = "result + 1" },
			want: []wantErr{invalid(check0 + ".successCondition")}},
		{name: "condition that is a string", mutate: func(r *releases.Release) { a(r).Checks[0].SuccessCondition = `"ok"` },
			want: []wantErr{invalid(check0 + ".successCondition").with("not a condition")}},
		{name: "condition over an unknown variable", mutate: func(r *releases.Release) { a(r).Checks[2].SuccessCondition = "restarts < 2" },
			want: []wantErr{invalid(check2 + ".successCondition")}},
		{name: "condition too long", mutate: func(r *releases.Release) {
			a(r).Checks[0].SuccessCondition = "result < 1" + strings.Repeat(" ", MaxSuccessConditionLength)
		}, want: []wantErr{tooLong(check0 + ".successCondition")}},
		{name: "condition with a bidi override", mutate: func(r *releases.Release) { a(r).Checks[0].SuccessCondition = "result < 1 || \"\u202e\" == \"\"" },
			want: []wantErr{invalid(check0 + ".successCondition").with("bidirectional")}},

		// Limits.
		{name: "negative failureLimit", mutate: func(r *releases.Release) { a(r).Checks[0].FailureLimit = -1 },
			want: []wantErr{invalid(check0 + ".failureLimit")}},
		{name: "failureLimit over the bound", mutate: func(r *releases.Release) { a(r).Checks[0].FailureLimit = MaxAnalysisLimit + 1 },
			want: []wantErr{invalid(check0 + ".failureLimit").with("between 0 and 1000")}},
		{name: "no errorLimit", mutate: func(r *releases.Release) { a(r).Checks[1].ErrorLimit = nil },
			want: []wantErr{required(check1 + ".errorLimit")}},
		{name: "negative errorLimit", mutate: func(r *releases.Release) { a(r).Checks[1].ErrorLimit = ptr(int32(-1)) },
			want: []wantErr{invalid(check1 + ".errorLimit")}},
		{name: "errorLimit over the bound", mutate: func(r *releases.Release) { a(r).Checks[1].ErrorLimit = ptr(int32(MaxAnalysisLimit + 1)) },
			want: []wantErr{invalid(check1 + ".errorLimit")}},
		{name: "checks too large together", mutate: func(r *releases.Release) {
			a(r).Checks = nil
			for i := 0; i < MaxAnalysisChecks; i++ {
				// Characters JSON escapes: six bytes each.
				c := promCheck(fmt.Sprintf("c%d", i), `up{pod="`+strings.Repeat("<", 1000)+`"}`)
				a(r).Checks = append(a(r).Checks, c)
			}
		}, want: []wantErr{invalid(analysis + ".checks").with("at most 24576 bytes")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := analysed()
			if tc.mutate != nil {
				tc.mutate(r)
			}
			assertErrors(t, ValidateRelease(r), tc.want...)
		})
	}
}

// A release's analysis is checked on update too, and cannot change.
func TestValidateReleaseUpdateAnalysis(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(r *releases.Release)
		want   []wantErr
	}{
		{name: "unchanged"},
		{name: "the pace may change", mutate: func(r *releases.Release) { r.Spec.Strategy.Mode = releases.ModeAuto }},
		{name: "a check changed", mutate: func(r *releases.Release) { r.Spec.Strategy.Analysis.Checks[0].FailureLimit = 2 },
			want: []wantErr{invalid("spec.strategy.analysis")}},
		{name: "a template added", mutate: func(r *releases.Release) {
			r.Spec.Strategy.Analysis.Templates = append(r.Spec.Strategy.Analysis.Templates, "more")
		},
			want: []wantErr{invalid("spec.strategy.analysis")}},
		{name: "analysis removed", mutate: func(r *releases.Release) { r.Spec.Strategy.Analysis = nil },
			want: []wantErr{invalid("spec.strategy.analysis")}},
		{name: "a bad change is reported as such too", mutate: func(r *releases.Release) { r.Spec.Strategy.Analysis.BakeSeconds = -1 },
			want: []wantErr{invalid("spec.strategy.analysis"), invalid("spec.strategy.analysis.bakeSeconds")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := analysed()
			r := old.DeepCopy()
			if tc.mutate != nil {
				tc.mutate(r)
			}
			assertErrors(t, ValidateReleaseUpdate(r, old), tc.want...)
		})
	}
	t.Run("added to a release without", func(t *testing.T) {
		old := validRelease(releases.ActionUpdate)
		r := old.DeepCopy()
		r.Spec.Strategy.Analysis = analysed().Spec.Strategy.Analysis
		assertErrors(t, ValidateReleaseUpdate(r, old), invalid("spec.strategy.analysis"))
	})
}

// --- ValidateAnalysisTemplate ---

func validAnalysisTemplate() *releases.AnalysisTemplate {
	return &releases.AnalysisTemplate{
		ObjectMeta: metav1.ObjectMeta{Name: "slo", Namespace: "shop", ResourceVersion: "1"},
		Spec: releases.AnalysisTemplateSpec{Checks: []releases.AnalysisCheck{
			promCheck("error-rate", `sum(rate(http_requests_total{code=~"5..",pod=~"${cloneSet}-.*"}[1m]))`),
			httpCheck("stats"),
			podHealthCheck("pods"),
		}},
	}
}

func TestValidateAnalysisTemplate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(t *releases.AnalysisTemplate)
		want   []wantErr
	}{
		{name: "valid"},
		{name: "the most checks", mutate: func(at *releases.AnalysisTemplate) {
			at.Spec.Checks = nil
			for i := 0; i < MaxAnalysisChecks; i++ {
				at.Spec.Checks = append(at.Spec.Checks, podHealthCheck(fmt.Sprintf("c%d", i)))
			}
		}},
		{name: "no name", mutate: func(at *releases.AnalysisTemplate) { at.Name = "" }, want: []wantErr{required("metadata.name")}},
		{name: "bad name", mutate: func(at *releases.AnalysisTemplate) { at.Name = "SLO" }, want: []wantErr{invalid("metadata.name")}},
		{name: "no namespace", mutate: func(at *releases.AnalysisTemplate) { at.Namespace = "" }, want: []wantErr{required("metadata.namespace")}},
		{name: "no checks", mutate: func(at *releases.AnalysisTemplate) { at.Spec.Checks = nil }, want: []wantErr{required("spec.checks")}},
		{name: "too many checks", mutate: func(at *releases.AnalysisTemplate) {
			for i := 0; i < MaxAnalysisChecks; i++ {
				at.Spec.Checks = append(at.Spec.Checks, podHealthCheck(fmt.Sprintf("more-%d", i)))
			}
		}, want: []wantErr{tooMany("spec.checks")}},
		{name: "check name twice", mutate: func(at *releases.AnalysisTemplate) { at.Spec.Checks[1].Name = "error-rate" },
			want: []wantErr{duplicate("spec.checks[1].name")}},
		{name: "query of another namespace", mutate: func(at *releases.AnalysisTemplate) {
			at.Spec.Checks[0].Prometheus.Query = `up{namespace="payments"}`
		}, want: []wantErr{invalid("spec.checks[0].prometheus.query")}},
		{name: "a bad check", mutate: func(at *releases.AnalysisTemplate) { at.Spec.Checks[2].PodHealth = nil },
			want: []wantErr{required("spec.checks[2]")}},
		{name: "a bad condition", mutate: func(at *releases.AnalysisTemplate) { at.Spec.Checks[1].SuccessCondition = "result <" },
			want: []wantErr{invalid("spec.checks[1].successCondition")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			at := validAnalysisTemplate()
			if tc.mutate != nil {
				tc.mutate(at)
			}
			assertErrors(t, ValidateAnalysisTemplate(at), tc.want...)
		})
	}
}

// A template's checks may change (no release that exists changes with them); its name may not.
func TestValidateAnalysisTemplateUpdate(t *testing.T) {
	old := validAnalysisTemplate()
	changed := old.DeepCopy()
	changed.Spec.Checks = changed.Spec.Checks[:1]
	changed.Spec.Checks[0].FailureLimit = 3
	assertErrors(t, ValidateAnalysisTemplateUpdate(changed, old))

	renamed := old.DeepCopy()
	renamed.Name = "other"
	assertErrors(t, ValidateAnalysisTemplateUpdate(renamed, old), invalid("metadata.name"))

	bad := old.DeepCopy()
	bad.Spec.Checks[0].Prometheus.Query = "sum("
	assertErrors(t, ValidateAnalysisTemplateUpdate(bad, old), invalid("spec.checks[0].prometheus.query"))
}

// --- status ---

// analysedStatus is validStatus with the resolved checks and the analysis of its first two batches.
func analysedStatus() releases.ReleaseStatus {
	s := validStatus()
	s.AnalysisChecks = analysed().Spec.Strategy.Analysis.Checks
	now := metav1.NewTime(time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC))
	s.Batches[0].Analysis = []releases.AnalysisStatus{{Name: "errors", Phase: releases.AnalysisPassed, PassingSince: &now,
		Measurements: []releases.Measurement{{Time: now, Value: "0.001", Phase: releases.AnalysisPassed}}}}
	s.Batches[1].Analysis = []releases.AnalysisStatus{{Name: "errors", Phase: releases.AnalysisRunning, Failures: 1, ConsecutiveErrors: 1,
		Message: "waiting", Measurements: []releases.Measurement{
			{Time: now, Value: "0.2", Phase: releases.AnalysisFailed, Message: "0.2 is not < 0.01"},
			{Time: now, Phase: releases.AnalysisError, Message: "no data"},
		}}}
	return s
}

func TestValidateReleaseStatusAnalysis(t *testing.T) {
	const b1 = "status.batches[1].analysis[0]"
	tests := []struct {
		name   string
		mutate func(s *releases.ReleaseStatus)
		want   []wantErr
	}{
		{name: "valid"},
		{name: "every phase of a check", mutate: func(s *releases.ReleaseStatus) {
			for _, p := range analysisPhases {
				s.Batches[2].Analysis = append(s.Batches[2].Analysis, releases.AnalysisStatus{Name: string(p), Phase: p})
			}
		}},
		{name: "the most measurements", mutate: func(s *releases.ReleaseStatus) {
			m := s.Batches[1].Analysis[0].Measurements[0]
			s.Batches[1].Analysis[0].Measurements = nil
			for i := 0; i < MaxMeasurements; i++ {
				s.Batches[1].Analysis[0].Measurements = append(s.Batches[1].Analysis[0].Measurements, m)
			}
		}},

		{name: "too many resolved checks", mutate: func(s *releases.ReleaseStatus) {
			for i := 0; i < MaxAnalysisChecks; i++ {
				s.AnalysisChecks = append(s.AnalysisChecks, podHealthCheck(fmt.Sprintf("more-%d", i)))
			}
		}, want: []wantErr{tooMany("status.analysisChecks")}},
		{name: "too many results", mutate: func(s *releases.ReleaseStatus) {
			for i := 0; i <= MaxAnalysisChecks; i++ {
				s.Batches[2].Analysis = append(s.Batches[2].Analysis, releases.AnalysisStatus{Name: fmt.Sprintf("c%d", i)})
			}
		}, want: []wantErr{tooMany("status.batches[2].analysis")}},
		{name: "result without a name", mutate: func(s *releases.ReleaseStatus) { s.Batches[1].Analysis[0].Name = "" },
			want: []wantErr{required(b1 + ".name")}},
		{name: "unknown phase", mutate: func(s *releases.ReleaseStatus) { s.Batches[1].Analysis[0].Phase = "Baked" },
			want: []wantErr{notSupported(b1 + ".phase")}},
		{name: "negative failures", mutate: func(s *releases.ReleaseStatus) { s.Batches[1].Analysis[0].Failures = -1 },
			want: []wantErr{invalid(b1 + ".failures")}},
		{name: "negative errors", mutate: func(s *releases.ReleaseStatus) { s.Batches[1].Analysis[0].ConsecutiveErrors = -1 },
			want: []wantErr{invalid(b1 + ".consecutiveErrors")}},
		{name: "message too long", mutate: func(s *releases.ReleaseStatus) {
			s.Batches[1].Analysis[0].Message = strings.Repeat("m", MaxAnalysisMessageLength+1)
		}, want: []wantErr{tooLong(b1 + ".message")}},
		{name: "too many measurements", mutate: func(s *releases.ReleaseStatus) {
			for i := 0; i < MaxMeasurements; i++ {
				s.Batches[1].Analysis[0].Measurements = append(s.Batches[1].Analysis[0].Measurements, s.Batches[1].Analysis[0].Measurements[0])
			}
		}, want: []wantErr{tooMany(b1 + ".measurements")}},
		{name: "measurement without a phase", mutate: func(s *releases.ReleaseStatus) { s.Batches[1].Analysis[0].Measurements[0].Phase = "" },
			want: []wantErr{notSupported(b1 + ".measurements[0].phase")}},
		{name: "a measurement is never Running", mutate: func(s *releases.ReleaseStatus) {
			s.Batches[1].Analysis[0].Measurements[1].Phase = releases.AnalysisRunning
		}, want: []wantErr{notSupported(b1 + ".measurements[1].phase")}},
		{name: "value too long", mutate: func(s *releases.ReleaseStatus) {
			s.Batches[1].Analysis[0].Measurements[0].Value = strings.Repeat("9", MaxMeasurementValueLength+1)
		}, want: []wantErr{tooLong(b1 + ".measurements[0].value")}},
		{name: "measurement message too long", mutate: func(s *releases.ReleaseStatus) {
			s.Batches[1].Analysis[0].Measurements[1].Message = strings.Repeat("m", MaxAnalysisMessageLength+1)
		}, want: []wantErr{tooLong(b1 + ".measurements[1].message")}},
		{name: "analysis of every batch over its budget", mutate: func(s *releases.ReleaseStatus) {
			now := metav1.Now()
			m := releases.Measurement{Time: now, Value: strings.Repeat("9", MaxMeasurementValueLength), Phase: releases.AnalysisFailed,
				Message: strings.Repeat("m", MaxAnalysisMessageLength)}
			for i := range s.Batches {
				s.Batches[i].Analysis = nil
				for c := 0; c < MaxAnalysisChecks; c++ {
					r := releases.AnalysisStatus{Name: fmt.Sprintf("c%d", c)}
					for j := 0; j < MaxMeasurements; j++ {
						r.Measurements = append(r.Measurements, m)
					}
					s.Batches[i].Analysis = append(s.Batches[i].Analysis, r)
				}
			}
		}, want: []wantErr{invalid("status.batches").with("at most 40960 bytes")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := analysedStatus()
			if tc.mutate != nil {
				tc.mutate(&s)
			}
			assertErrors(t, ValidateReleaseStatus(&s, field.NewPath("status")), tc.want...)
		})
	}
}

// The checks a release runs are resolved once, at create: no status write changes them, and the results
// of each batch may.
func TestValidateReleaseStatusTransitionKeepsTheChecks(t *testing.T) {
	old := analysedStatus()
	results := old.DeepCopy()
	results.Batches[1].Analysis[0].Phase = releases.AnalysisFailed
	results.Batches[2].Analysis = []releases.AnalysisStatus{{Name: "errors", Phase: releases.AnalysisRunning}}
	assertErrors(t, ValidateReleaseStatusTransition(results, &old, field.NewPath("status")))

	changed := old.DeepCopy()
	changed.AnalysisChecks[0].SuccessCondition = "true"
	assertErrors(t, ValidateReleaseStatusTransition(changed, &old, field.NewPath("status")), invalid("status.analysisChecks"))

	dropped := old.DeepCopy()
	dropped.AnalysisChecks = nil
	assertErrors(t, ValidateReleaseStatusTransition(dropped, &old, field.NewPath("status")), invalid("status.analysisChecks"))

	none := validStatus()
	added := none.DeepCopy()
	added.AnalysisChecks = old.AnalysisChecks
	assertErrors(t, ValidateReleaseStatusTransition(added, &none, field.NewPath("status")), invalid("status.analysisChecks"))
}

func TestAnalysisBytes(t *testing.T) {
	assert.Zero(t, AnalysisChecksBytes(nil))
	assert.Zero(t, AnalysisStatusBytes(validStatus().Batches))
	s := analysedStatus()
	assert.Greater(t, AnalysisChecksBytes(s.AnalysisChecks), 300)
	assert.Greater(t, AnalysisStatusBytes(s.Batches), 200)
}
