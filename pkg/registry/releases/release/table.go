package release

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/triton-io/triton/pkg/apis/releases"
)

// tableConvertor prints Releases for `kubectl get`.
type tableConvertor struct{}

var columns = []metav1.TableColumnDefinition{
	{Name: "Name", Type: "string", Format: "name", Description: "Name of the release."},
	{Name: "CloneSet", Type: "string", Description: "The CloneSet the release changes."},
	{Name: "Action", Type: "string", Description: "Create, Update, Scale, Restart or Rollback."},
	{Name: "Phase", Type: "string", Description: "Pending, Progressing, Paused, Succeeded, Failed or Canceled."},
	{Name: "Batch", Type: "string", Description: "The current batch and how many batches the plan has."},
	{Name: "Updated", Type: "string", Description: "Ready pods at the new revision, and the CloneSet's replicas."},
	{Name: "Age", Type: "string", Description: "Time since the release was created."},
	{Name: "Mode", Type: "string", Priority: 1, Description: "Manual or Auto."},
	{Name: "Paused", Type: "boolean", Priority: 1, Description: "Whether the CloneSet's update is paused."},
}

func (tableConvertor) ConvertToTable(ctx context.Context, obj runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	table := &metav1.Table{}
	if opt, ok := tableOptions.(*metav1.TableOptions); !ok || !opt.NoHeaders {
		// A copy: callers may change the table they get.
		table.ColumnDefinitions = append([]metav1.TableColumnDefinition(nil), columns...)
	}
	var items []releases.Release
	switch t := obj.(type) {
	case *releases.Release:
		items = []releases.Release{*t}
		table.ResourceVersion = t.ResourceVersion
	case *releases.ReleaseList:
		items = t.Items
		table.ResourceVersion = t.ResourceVersion
		table.Continue = t.Continue
		table.RemainingItemCount = t.RemainingItemCount
	default:
		return nil, fmt.Errorf("cannot print %T as a table of releases", obj)
	}
	now := time.Now()
	for i := range items {
		r := &items[i]
		table.Rows = append(table.Rows, metav1.TableRow{
			Cells:  cells(r, now),
			Object: runtime.RawExtension{Object: r},
		})
	}
	return table, nil
}

func cells(r *releases.Release, now time.Time) []interface{} {
	updated := "<none>"
	paused := false
	if cs := r.Status.CloneSet; cs != nil {
		updated = fmt.Sprintf("%d/%d", cs.UpdatedReadyReplicas, cs.Replicas)
		paused = cs.Paused
	}
	phase := string(r.Status.Phase)
	if phase == "" {
		phase = "<none>"
	}
	return []interface{}{
		r.Name,
		r.Spec.CloneSetName,
		string(r.Spec.Action),
		phase,
		fmt.Sprintf("%d/%d", r.Status.CurrentBatch, len(r.Status.Batches)),
		updated,
		age(r.CreationTimestamp, now),
		string(r.Spec.Strategy.Mode),
		paused,
	}
}

func age(t metav1.Time, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}
