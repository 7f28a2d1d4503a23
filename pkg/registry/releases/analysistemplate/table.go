package analysistemplate

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/triton-io/triton/pkg/apis/releases"
)

// tableConvertor prints AnalysisTemplates for `kubectl get`.
type tableConvertor struct{}

var columns = []metav1.TableColumnDefinition{
	{Name: "Name", Type: "string", Format: "name", Description: "Name of the template."},
	{Name: "Checks", Type: "string", Description: "The names of the template's checks."},
	{Name: "Age", Type: "string", Description: "Time since the template was created."},
}

func (tableConvertor) ConvertToTable(ctx context.Context, obj runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	table := &metav1.Table{}
	if opt, ok := tableOptions.(*metav1.TableOptions); !ok || !opt.NoHeaders {
		// A copy: callers may change the table they get.
		table.ColumnDefinitions = append([]metav1.TableColumnDefinition(nil), columns...)
	}
	var items []releases.AnalysisTemplate
	switch t := obj.(type) {
	case *releases.AnalysisTemplate:
		items = []releases.AnalysisTemplate{*t}
		table.ResourceVersion = t.ResourceVersion
	case *releases.AnalysisTemplateList:
		items = t.Items
		table.ResourceVersion = t.ResourceVersion
		table.Continue = t.Continue
		table.RemainingItemCount = t.RemainingItemCount
	default:
		return nil, fmt.Errorf("cannot print %T as a table of analysis templates", obj)
	}
	now := time.Now()
	for i := range items {
		t := &items[i]
		table.Rows = append(table.Rows, metav1.TableRow{
			Cells:  []interface{}{t.Name, checkNames(t.Spec.Checks), age(t.CreationTimestamp, now)},
			Object: runtime.RawExtension{Object: t},
		})
	}
	return table, nil
}

// checkNames lists the checks by name: "errors,latency,pods", "<none>" without any.
func checkNames(checks []releases.AnalysisCheck) string {
	if len(checks) == 0 {
		return "<none>"
	}
	out := ""
	for i, c := range checks {
		if i > 0 {
			out += ","
		}
		out += c.Name
	}
	return out
}

func age(t metav1.Time, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}
