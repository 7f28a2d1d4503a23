package release

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/triton-io/triton/pkg/apis/releases"
)

// printedRelease is a running release created 42 minutes ago, as `kubectl get` would see it.
func printedRelease(name string) *releases.Release {
	r := storedRelease()
	r.Name = name
	r.CreationTimestamp = metav1.NewTime(time.Now().Add(-42 * time.Minute))
	return r
}

func convert(t *testing.T, obj runtime.Object, opts runtime.Object) *metav1.Table {
	t.Helper()
	table, err := tableConvertor{}.ConvertToTable(context.Background(), obj, opts)
	require.NoError(t, err)
	require.NotNil(t, table)
	return table
}

func TestTableColumns(t *testing.T) {
	table := convert(t, printedRelease("web-1"), nil)

	type col struct {
		name     string
		priority int32
	}
	var got []col
	for _, c := range table.ColumnDefinitions {
		got = append(got, col{c.Name, c.Priority})
	}
	want := []col{
		{"Name", 0}, {"CloneSet", 0}, {"Action", 0}, {"Phase", 0}, {"Batch", 0}, {"Updated", 0}, {"Age", 0},
		{"Mode", 1}, {"Paused", 1},
	}
	assert.Equal(t, want, got, "kubectl get shows the priority-0 columns, -o wide adds Mode and Paused")
	assert.Equal(t, "name", table.ColumnDefinitions[0].Format, "the first column is the object's name")
	for _, c := range table.ColumnDefinitions {
		assert.NotEmpty(t, c.Description, "column %s needs a description", c.Name)
	}
}

func TestTableReleaseWithStatus(t *testing.T) {
	r := printedRelease("web-1")
	table := convert(t, r, &metav1.TableOptions{})

	require.Len(t, table.ColumnDefinitions, 9, "headers are printed unless NoHeaders")
	require.Len(t, table.Rows, 1)
	row := table.Rows[0]
	assert.Equal(t, []interface{}{
		"web-1",       // NAME
		"web",         // CLONESET
		"Update",      // ACTION
		"Progressing", // PHASE
		"2/2",         // BATCH: currentBatch/len(batches)
		"1/4",         // UPDATED: updatedReady/replicas
		"42m",         // AGE
		"Manual",      // MODE
		false,         // PAUSED
	}, row.Cells)
	// The row carries the object, so kubectl can print it in other formats.
	got, ok := row.Object.Object.(*releases.Release)
	require.True(t, ok, "row object is %T", row.Object.Object)
	assert.Equal(t, "web-1", got.Name)
	assert.Equal(t, "5", table.ResourceVersion)
}

func TestTableCells(t *testing.T) {
	tests := []struct {
		name   string
		change func(r *releases.Release)
		want   []interface{}
	}{
		{
			name: "paused CloneSet, auto mode, first batch",
			change: func(r *releases.Release) {
				r.Status.Phase = releases.ReleasePaused
				r.Status.CurrentBatch = 1
				r.Status.CloneSet.Paused = true
				r.Status.CloneSet.UpdatedReadyReplicas = 0
				r.Spec.Strategy.Mode = releases.ModeAuto
			},
			want: []interface{}{"web-1", "web", "Update", "Paused", "1/2", "0/4", "42m", "Auto", true},
		},
		{
			name: "no CloneSet observed yet",
			change: func(r *releases.Release) {
				r.Status = releases.ReleaseStatus{Phase: releases.ReleasePending, Batches: r.Status.Batches}
			},
			want: []interface{}{"web-1", "web", "Update", "Pending", "0/2", "<none>", "42m", "Manual", false},
		},
		{
			name: "no status at all and no creation time",
			change: func(r *releases.Release) {
				r.Status = releases.ReleaseStatus{}
				r.CreationTimestamp = metav1.Time{}
			},
			want: []interface{}{"web-1", "web", "Update", "<none>", "0/0", "<none>", "<unknown>", "Manual", false},
		},
		{
			name: "created three hours ago",
			change: func(r *releases.Release) {
				r.CreationTimestamp = metav1.NewTime(time.Now().Add(-3*time.Hour - 20*time.Minute))
			},
			want: []interface{}{"web-1", "web", "Update", "Progressing", "2/2", "1/4", "3h20m", "Manual", false},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := printedRelease("web-1")
			tc.change(r)
			table := convert(t, r, nil)
			require.Len(t, table.Rows, 1)
			assert.Equal(t, tc.want, table.Rows[0].Cells)
		})
	}
}

func TestTableReleaseList(t *testing.T) {
	a, b := printedRelease("web-1"), printedRelease("web-2")
	b.Spec.CloneSetName = "api"
	b.Status.CloneSet = nil
	remaining := int64(3)
	list := &releases.ReleaseList{
		ListMeta: metav1.ListMeta{ResourceVersion: "77", Continue: "next-page", RemainingItemCount: &remaining},
		Items:    []releases.Release{*a, *b},
	}

	table := convert(t, list, nil)

	assert.Equal(t, "77", table.ResourceVersion)
	assert.Equal(t, "next-page", table.Continue, "kubectl needs the continue token to page")
	require.NotNil(t, table.RemainingItemCount)
	assert.Equal(t, int64(3), *table.RemainingItemCount)
	require.Len(t, table.ColumnDefinitions, 9)
	require.Len(t, table.Rows, 2, "one row per release")
	assert.Equal(t, []interface{}{"web-1", "web", "Update", "Progressing", "2/2", "1/4", "42m", "Manual", false}, table.Rows[0].Cells)
	assert.Equal(t, []interface{}{"web-2", "api", "Update", "Progressing", "2/2", "<none>", "42m", "Manual", false}, table.Rows[1].Cells)
	for i, row := range table.Rows {
		got, ok := row.Object.Object.(*releases.Release)
		require.True(t, ok, "row %d object is %T", i, row.Object.Object)
		assert.Equal(t, list.Items[i].Name, got.Name)
	}

	empty := convert(t, &releases.ReleaseList{ListMeta: metav1.ListMeta{ResourceVersion: "78"}}, nil)
	assert.Empty(t, empty.Rows)
	assert.Equal(t, "78", empty.ResourceVersion)
	assert.Len(t, empty.ColumnDefinitions, 9, "an empty list still has headers")
}

func TestTableNoHeaders(t *testing.T) {
	table := convert(t, printedRelease("web-1"), &metav1.TableOptions{NoHeaders: true})
	assert.Empty(t, table.ColumnDefinitions)
	require.Len(t, table.Rows, 1, "the rows are still printed")
	assert.Len(t, table.Rows[0].Cells, 9)
	assert.Equal(t, "web-1", table.Rows[0].Cells[0])
}

func TestTableUnsupportedObject(t *testing.T) {
	table, err := tableConvertor{}.ConvertToTable(context.Background(), &releases.ReleaseRequest{}, nil)
	assert.Error(t, err)
	assert.Nil(t, table)
}
