package validation

import (
	"encoding/json"
	"fmt"
	"strings"

	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/util/jsonpath"

	"github.com/triton-io/triton/pkg/analysis/condition"
	"github.com/triton-io/triton/pkg/analysis/httpcheck"
	"github.com/triton-io/triton/pkg/analysis/promql"
	"github.com/triton-io/triton/pkg/apis/releases"
)

// Bounds of an analysis: of a release's spec.strategy.analysis, of an AnalysisTemplate, and of what the
// server records of them in a release's status.
const (
	// MaxAnalysisChecks bounds the checks of a release (its own and its templates' together) and those of
	// an AnalysisTemplate.
	MaxAnalysisChecks = 10
	// MaxAnalysisTemplates bounds spec.strategy.analysis.templates.
	MaxAnalysisTemplates = 5
	// MaxQueryLength bounds a Prometheus query, in bytes.
	MaxQueryLength = 2048
	// MaxSuccessConditionLength bounds a successCondition, in bytes.
	MaxSuccessConditionLength = condition.MaxLength
	// MaxAnalysisLimit bounds failureLimit, errorLimit and podHealth.maxRestarts.
	MaxAnalysisLimit = 1000
	// maxRatioLength bounds podHealth.maxRatio's text ("1000.000").
	maxRatioLength = 8
	// MinIntervalSeconds and MaxIntervalSeconds bound analysis.intervalSeconds.
	MinIntervalSeconds = 1
	MaxIntervalSeconds = 3600
	// MaxBakeSeconds bounds analysis.bakeSeconds (a day).
	MaxBakeSeconds = 86400
	// MaxHTTPPathLength bounds http.path, in bytes.
	MaxHTTPPathLength = 1024
	// MaxJSONPathLength bounds http.jsonPath, in bytes.
	MaxJSONPathLength = 256
	// MaxAnalysisChecksBytes bounds a release's checks as JSON, its templates' included (what
	// status.analysisChecks holds), and an AnalysisTemplate's: with the rest of a Release at its bounds,
	// the Release still fits in etcd (see TestLargestReleaseFitsInEtcd).
	MaxAnalysisChecksBytes = 24 << 10

	// MaxMeasurements, MaxMeasurementValueLength and MaxAnalysisStatusBytes: see package releases.
	MaxMeasurements           = releases.MaxMeasurements
	MaxMeasurementValueLength = releases.MaxMeasurementValueLength
	MaxAnalysisStatusBytes    = releases.MaxAnalysisStatusBytes
	// MaxAnalysisMessageLength bounds the message of a measurement and of a check's status, in bytes.
	MaxAnalysisMessageLength = 512
)

// PrometheusNamespaceLabel is the label of a series that names its namespace, as the server's Prometheus
// client scopes queries with by default: a query whose matcher on it names another namespace than the
// release's is refused.
const PrometheusNamespaceLabel = "namespace"

var (
	measurementPhases           = []releases.AnalysisPhase{releases.AnalysisPassed, releases.AnalysisFailed, releases.AnalysisError}
	analysisPhases              = append([]releases.AnalysisPhase{releases.AnalysisRunning}, measurementPhases...)
	isSupportedMeasurementPhase = sets.New(measurementPhases...)
	isSupportedAnalysisPhase    = sets.New(analysisPhases...)
)

// validateReleaseAnalysis validates spec.strategy.analysis of a release in namespace, on create and
// update. Whether its templates exist, and whether their checks and the release's together stay within
// MaxAnalysisChecks with unique names, is known only when the templates are read, at create (see
// pkg/registry/releases/release).
//
// Analysis is allowed with every strategy type: with BlueGreen its checks run on the switch batch, once
// green is in traffic (the preview has no traffic to measure).
func validateReleaseAnalysis(a *releases.ReleaseAnalysis, namespace string, fldPath *field.Path) field.ErrorList {
	if a == nil {
		return nil
	}
	var allErrs field.ErrorList
	checksPath := fldPath.Child("checks")
	if len(a.Checks) == 0 && len(a.Templates) == 0 {
		allErrs = append(allErrs, field.Required(checksPath, "an analysis needs checks, or templates that have them"))
	}
	allErrs = append(allErrs, validateAnalysisChecks(a.Checks, namespace, checksPath)...)

	templatesPath := fldPath.Child("templates")
	if len(a.Templates) > MaxAnalysisTemplates {
		allErrs = append(allErrs, field.TooMany(templatesPath, len(a.Templates), MaxAnalysisTemplates))
	}
	seen := sets.New[string]()
	for i, name := range a.Templates {
		idxPath := templatesPath.Index(i)
		if seen.Has(name) {
			allErrs = append(allErrs, field.Duplicate(idxPath, name))
			continue
		}
		seen.Insert(name)
		if name == "" {
			allErrs = append(allErrs, field.Required(idxPath, "the name of an AnalysisTemplate in the release's namespace"))
			continue
		}
		allErrs = append(allErrs, dns1123Subdomain(name, idxPath)...)
	}

	intervalPath := fldPath.Child("intervalSeconds")
	if a.IntervalSeconds == nil {
		allErrs = append(allErrs, field.Required(intervalPath, "defaults to 10"))
	} else {
		allErrs = append(allErrs, inRange(*a.IntervalSeconds, MinIntervalSeconds, MaxIntervalSeconds, intervalPath)...)
	}
	allErrs = append(allErrs, inRange(a.BakeSeconds, 0, MaxBakeSeconds, fldPath.Child("bakeSeconds"))...)
	return allErrs
}

// ValidateAnalysisTemplate validates an AnalysisTemplate on create.
func ValidateAnalysisTemplate(t *releases.AnalysisTemplate) field.ErrorList {
	allErrs := apimachineryvalidation.ValidateObjectMeta(&t.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	allErrs = append(allErrs, validateAnalysisTemplateSpec(&t.Spec, t.Namespace, field.NewPath("spec"))...)
	return allErrs
}

// ValidateAnalysisTemplateUpdate validates an update of an AnalysisTemplate. Its checks may change: a
// release copies them when it is created, so no release that exists changes with them.
func ValidateAnalysisTemplateUpdate(newT, oldT *releases.AnalysisTemplate) field.ErrorList {
	allErrs := apimachineryvalidation.ValidateObjectMetaUpdate(&newT.ObjectMeta, &oldT.ObjectMeta, field.NewPath("metadata"))
	allErrs = append(allErrs, validateAnalysisTemplateSpec(&newT.Spec, newT.Namespace, field.NewPath("spec"))...)
	return allErrs
}

func validateAnalysisTemplateSpec(spec *releases.AnalysisTemplateSpec, namespace string, fldPath *field.Path) field.ErrorList {
	checksPath := fldPath.Child("checks")
	if len(spec.Checks) == 0 {
		return field.ErrorList{field.Required(checksPath, "a template needs at least one check")}
	}
	return validateAnalysisChecks(spec.Checks, namespace, checksPath)
}

// validateAnalysisChecks validates a list of checks: at most MaxAnalysisChecks, of at most
// MaxAnalysisChecksBytes together, names unique, each check sound.
func validateAnalysisChecks(checks []releases.AnalysisCheck, namespace string, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if len(checks) > MaxAnalysisChecks {
		allErrs = append(allErrs, field.TooMany(fldPath, len(checks), MaxAnalysisChecks))
	}
	if n := AnalysisChecksBytes(checks); n > MaxAnalysisChecksBytes {
		allErrs = append(allErrs, field.Invalid(fldPath, fmt.Sprintf("%d bytes", n), fmt.Sprintf(
			"the checks together may be at most %d bytes as JSON (the server keeps them in the release's status)", MaxAnalysisChecksBytes)))
	}
	seen := sets.New[string]()
	for i := range checks {
		c := &checks[i]
		idxPath := fldPath.Index(i)
		if c.Name != "" && seen.Has(c.Name) {
			allErrs = append(allErrs, field.Duplicate(idxPath.Child("name"), c.Name))
		}
		seen.Insert(c.Name)
		allErrs = append(allErrs, ValidateAnalysisCheck(c, namespace, idxPath)...)
	}
	return allErrs
}

// ValidateAnalysisCheck validates one check of a release, or of a template, in namespace: its name, that
// it measures exactly one thing, and what it measures and how it is judged.
func ValidateAnalysisCheck(c *releases.AnalysisCheck, namespace string, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	namePath := fldPath.Child("name")
	if c.Name == "" {
		allErrs = append(allErrs, field.Required(namePath, "a name unique in the release"))
	} else {
		for _, msg := range validation.IsDNS1123Label(c.Name) {
			allErrs = append(allErrs, field.Invalid(namePath, c.Name, msg))
		}
	}

	// Exactly one source: the first one set is the check's, any other is refused.
	var source string
	for _, s := range []struct {
		name string
		set  bool
	}{{"prometheus", c.Prometheus != nil}, {"http", c.HTTP != nil}, {"podHealth", c.PodHealth != nil}} {
		switch {
		case !s.set:
		case source == "":
			source = s.name
		default:
			allErrs = append(allErrs, field.Forbidden(fldPath.Child(s.name), fmt.Sprintf(
				"may not be set with %s: a check measures one thing (make two checks)", source)))
		}
	}
	if source == "" {
		allErrs = append(allErrs, field.Required(fldPath, "one of prometheus, http or podHealth: what the check measures"))
	}
	if c.Prometheus != nil {
		allErrs = append(allErrs, validatePrometheusCheck(c.Prometheus, namespace, fldPath.Child("prometheus"))...)
	}
	if c.HTTP != nil {
		allErrs = append(allErrs, validateHTTPCheck(c.HTTP, fldPath.Child("http"))...)
	}
	if c.PodHealth != nil {
		restartsPath := fldPath.Child("podHealth", "maxRestarts")
		if c.PodHealth.MaxRestarts == nil {
			allErrs = append(allErrs, field.Required(restartsPath, "defaults to 0"))
		} else {
			allErrs = append(allErrs, inRange(*c.PodHealth.MaxRestarts, 0, MaxAnalysisLimit, restartsPath)...)
		}
		ratioPath := fldPath.Child("podHealth", "maxRatio")
		if ratio := c.PodHealth.MaxRatio; len(ratio) > maxRatioLength {
			allErrs = append(allErrs, field.TooLong(ratioPath, "", maxRatioLength))
		} else if ratio != "" {
			if _, err := releases.ParseRatio(ratio); err != nil {
				allErrs = append(allErrs, field.Invalid(ratioPath, ratio, err.Error()))
			}
		}
	}

	conditionPath := fldPath.Child("successCondition")
	switch {
	case c.SuccessCondition == "" && (c.Prometheus != nil || c.HTTP != nil):
		allErrs = append(allErrs, field.Required(conditionPath, "a CEL expression over result that is true when a measurement passes, for example `result < 0.01`"))
	case c.SuccessCondition == "":
	case len(c.SuccessCondition) > MaxSuccessConditionLength:
		allErrs = append(allErrs, field.TooLong(conditionPath, "", MaxSuccessConditionLength))
	default:
		if errs := validateText(c.SuccessCondition, conditionPath); len(errs) > 0 {
			allErrs = append(allErrs, errs...)
		} else if _, err := condition.Compile(c.SuccessCondition); err != nil {
			allErrs = append(allErrs, field.Invalid(conditionPath, c.SuccessCondition, fmt.Sprintf("not a condition over result: %v", err)))
		}
	}

	allErrs = append(allErrs, inRange(c.FailureLimit, 0, MaxAnalysisLimit, fldPath.Child("failureLimit"))...)
	errorLimitPath := fldPath.Child("errorLimit")
	if c.ErrorLimit == nil {
		allErrs = append(allErrs, field.Required(errorLimitPath, "defaults to 3"))
	} else {
		allErrs = append(allErrs, inRange(*c.ErrorLimit, 0, MaxAnalysisLimit, errorLimitPath)...)
	}
	return allErrs
}

// queryStandIns are the placeholders a query may name, with what stands in for each while it is checked:
// values that parse wherever the real ones would (a name, a label value, a number for the batch). The
// namespace is the release's own, so that a matcher on it holds.
var queryStandIns = []string{"${release}", "release", "${cloneSet}", "cloneset", "${batch}", "1", "${revision}", "revision"}

func validatePrometheusCheck(p *releases.PrometheusCheck, namespace string, fldPath *field.Path) field.ErrorList {
	queryPath := fldPath.Child("query")
	switch {
	case strings.TrimSpace(p.Query) == "":
		return field.ErrorList{field.Required(queryPath, "a PromQL query")}
	case len(p.Query) > MaxQueryLength:
		return field.ErrorList{field.TooLong(queryPath, "", MaxQueryLength)}
	}
	if errs := validateText(p.Query, queryPath); len(errs) > 0 {
		return errs
	}
	query := strings.NewReplacer(append([]string{"${namespace}", namespace}, queryStandIns...)...).Replace(p.Query)
	label := PrometheusNamespaceLabel
	if namespace == "" {
		// The namespace is not known (a release checked outside a request): the query must parse, and
		// which namespace it names is checked once it is (no matcher has an empty label name).
		label = ""
	}
	if err := promql.Check(query, label, namespace); err != nil {
		return field.ErrorList{field.Invalid(queryPath, p.Query, err.Error())}
	}
	return nil
}

func validateHTTPCheck(h *releases.HTTPCheck, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	servicePath := fldPath.Child("service")
	if h.Service == "" {
		allErrs = append(allErrs, field.Required(servicePath, "the name of a Service in the release's namespace"))
	} else {
		// A Service's name is a DNS-1035 label: one that is not names no Service.
		for _, msg := range validation.IsDNS1035Label(h.Service) {
			allErrs = append(allErrs, field.Invalid(servicePath, h.Service, msg))
		}
	}
	allErrs = append(allErrs, inRange(h.Port, 1, 65535, fldPath.Child("port"))...)

	pathPath := fldPath.Child("path")
	switch {
	case h.Path == "":
		allErrs = append(allErrs, field.Required(pathPath, "the path to GET, starting with /"))
	case len(h.Path) > MaxHTTPPathLength:
		allErrs = append(allErrs, field.TooLong(pathPath, "", MaxHTTPPathLength))
	case !strings.HasPrefix(h.Path, "/"):
		allErrs = append(allErrs, field.Invalid(pathPath, h.Path, "must start with /"))
	default:
		if errs := validatePrintable(h.Path, pathPath); len(errs) > 0 {
			allErrs = append(allErrs, errs...)
		} else if err := httpcheck.CheckPath(h.Path); err != nil {
			allErrs = append(allErrs, field.Invalid(pathPath, h.Path, err.Error()))
		}
	}

	jsonPathPath := fldPath.Child("jsonPath")
	switch {
	case h.JSONPath == "":
	case len(h.JSONPath) > MaxJSONPathLength:
		allErrs = append(allErrs, field.TooLong(jsonPathPath, "", MaxJSONPathLength))
	default:
		if errs := validatePrintable(h.JSONPath, jsonPathPath); len(errs) > 0 {
			allErrs = append(allErrs, errs...)
		} else if err := jsonpath.New("check").Parse(h.JSONPath); err != nil {
			allErrs = append(allErrs, field.Invalid(jsonPathPath, h.JSONPath, fmt.Sprintf("not a JSONPath template (such as {.errorRate}): %v", err)))
		}
	}
	return allErrs
}

// --- status ---

// AnalysisChecksBytes is the size of checks as JSON, as MaxAnalysisChecksBytes counts it.
func AnalysisChecksBytes(checks []releases.AnalysisCheck) int {
	if len(checks) == 0 {
		return 0
	}
	raw, err := json.Marshal(checks)
	if err != nil {
		return 0
	}
	return len(raw)
}

// AnalysisStatusBytes: see releases.AnalysisStatusBytes.
func AnalysisStatusBytes(batches []releases.ReleaseBatch) int {
	return releases.AnalysisStatusBytes(batches)
}

// validateAnalysisStatus checks what the server records of the analysis in a status: the resolved checks
// and each batch's results within their bounds, phases known.
func validateAnalysisStatus(s *releases.ReleaseStatus, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	checksPath := fldPath.Child("analysisChecks")
	if len(s.AnalysisChecks) > MaxAnalysisChecks {
		allErrs = append(allErrs, field.TooMany(checksPath, len(s.AnalysisChecks), MaxAnalysisChecks))
	}
	if n := AnalysisChecksBytes(s.AnalysisChecks); n > MaxAnalysisChecksBytes {
		allErrs = append(allErrs, field.Invalid(checksPath, fmt.Sprintf("%d bytes", n), fmt.Sprintf("may be at most %d bytes as JSON", MaxAnalysisChecksBytes)))
	}
	batchesPath := fldPath.Child("batches")
	for i := range s.Batches {
		analysisPath := batchesPath.Index(i).Child("analysis")
		results := s.Batches[i].Analysis
		if len(results) > MaxAnalysisChecks {
			allErrs = append(allErrs, field.TooMany(analysisPath, len(results), MaxAnalysisChecks))
		}
		for j := range results {
			allErrs = append(allErrs, validateAnalysisResult(&results[j], analysisPath.Index(j))...)
		}
	}
	if n := AnalysisStatusBytes(s.Batches); n > MaxAnalysisStatusBytes {
		allErrs = append(allErrs, field.Invalid(batchesPath, fmt.Sprintf("%d bytes of analysis", n), fmt.Sprintf(
			"the analysis of every batch together may be at most %d bytes as JSON: keep fewer measurements in the batches before the current one",
			MaxAnalysisStatusBytes)))
	}
	return allErrs
}

func validateAnalysisResult(r *releases.AnalysisStatus, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if r.Name == "" {
		allErrs = append(allErrs, field.Required(fldPath.Child("name"), "the name of the check"))
	}
	if r.Phase != "" && !isSupportedAnalysisPhase.Has(r.Phase) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("phase"), r.Phase, analysisPhases))
	}
	if r.Failures < 0 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("failures"), r.Failures, "must be greater than or equal to 0"))
	}
	if r.ConsecutiveErrors < 0 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("consecutiveErrors"), r.ConsecutiveErrors, "must be greater than or equal to 0"))
	}
	if len(r.Message) > MaxAnalysisMessageLength {
		allErrs = append(allErrs, field.TooLong(fldPath.Child("message"), "", MaxAnalysisMessageLength))
	}
	measurementsPath := fldPath.Child("measurements")
	if len(r.Measurements) > MaxMeasurements {
		allErrs = append(allErrs, field.TooMany(measurementsPath, len(r.Measurements), MaxMeasurements))
	}
	for i := range r.Measurements {
		m, idxPath := &r.Measurements[i], measurementsPath.Index(i)
		if !isSupportedMeasurementPhase.Has(m.Phase) {
			allErrs = append(allErrs, field.NotSupported(idxPath.Child("phase"), m.Phase, measurementPhases))
		}
		if len(m.Value) > MaxMeasurementValueLength {
			allErrs = append(allErrs, field.TooLong(idxPath.Child("value"), "", MaxMeasurementValueLength))
		}
		if len(m.Message) > MaxAnalysisMessageLength {
			allErrs = append(allErrs, field.TooLong(idxPath.Child("message"), "", MaxAnalysisMessageLength))
		}
	}
	return allErrs
}

// validateAnalysisChecksUnchanged: the checks a release runs are resolved once, when it is created, and
// never change after.
func validateAnalysisChecksUnchanged(newC, oldC []releases.AnalysisCheck, fldPath *field.Path) field.ErrorList {
	return unchanged(newC, oldC, fldPath, "may not change: the checks of a release are resolved once, when it is created")
}

// --- helpers ---

// inRange is an Invalid error unless minimum <= v <= maximum.
func inRange(v int32, minimum, maximum int, fldPath *field.Path) field.ErrorList {
	if int(v) < minimum || int(v) > maximum {
		return field.ErrorList{field.Invalid(fldPath, v, fmt.Sprintf("must be between %d and %d", minimum, maximum))}
	}
	return nil
}

// validateText is validatePrintable for text written on several lines (a query, a condition): a line
// feed is allowed besides a tab.
func validateText(s string, fldPath *field.Path) field.ErrorList {
	return printable(s, true, fldPath)
}
