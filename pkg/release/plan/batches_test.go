package plan

import (
	"fmt"
	"math"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/triton-io/triton/pkg/apis/releases"
)

func i32(v int32) *int32 { return &v }

func intSize(v int) *intstr.IntOrString {
	s := intstr.FromInt32(int32(v))
	return &s
}

func pctSize(s string) *intstr.IntOrString {
	v := intstr.FromString(s)
	return &v
}

// b is a Pending batch; canary marks the canary batch.
func b(index, replicas, target int32, canary bool) releases.ReleaseBatch {
	return releases.ReleaseBatch{
		Index:    index,
		Canary:   canary,
		Replicas: replicas,
		Target:   target,
		Phase:    releases.BatchPending,
	}
}

func spec(action releases.ReleaseAction, replicas *int32, canary int32, size *intstr.IntOrString) *releases.ReleaseSpec {
	return &releases.ReleaseSpec{
		CloneSetName: "demo",
		Action:       action,
		Replicas:     replicas,
		Strategy:     releases.ReleaseStrategy{Canary: canary, BatchSize: size},
	}
}

func TestBatches(t *testing.T) {
	zero := []releases.ReleaseBatch{b(1, 0, 0, false)}
	tests := []struct {
		name     string
		spec     *releases.ReleaseSpec
		cloneSet int32
		want     []releases.ReleaseBatch
	}{
		{
			name:     "update canary 1 batchSize 1 over 3",
			spec:     spec(releases.ActionUpdate, nil, 1, intSize(1)),
			cloneSet: 3,
			want:     []releases.ReleaseBatch{b(1, 1, 1, true), b(2, 1, 2, false), b(3, 1, 3, false)},
		},
		{
			name:     "canary = all",
			spec:     spec(releases.ActionUpdate, nil, 4, intSize(1)),
			cloneSet: 4,
			want:     []releases.ReleaseBatch{b(1, 4, 4, true)},
		},
		{
			name:     "canary > total",
			spec:     spec(releases.ActionUpdate, nil, 10, intSize(2)),
			cloneSet: 3,
			want:     []releases.ReleaseBatch{b(1, 3, 3, true)},
		},
		{
			name:     "batchSize > replicas is one batch",
			spec:     spec(releases.ActionUpdate, nil, 0, intSize(50)),
			cloneSet: 6,
			want:     []releases.ReleaseBatch{b(1, 6, 6, false)},
		},
		{
			name:     "1% of 10 rounds up to 1 per batch",
			spec:     spec(releases.ActionUpdate, nil, 0, pctSize("1%")),
			cloneSet: 10,
			want: []releases.ReleaseBatch{
				b(1, 1, 1, false), b(2, 1, 2, false), b(3, 1, 3, false), b(4, 1, 4, false), b(5, 1, 5, false),
				b(6, 1, 6, false), b(7, 1, 7, false), b(8, 1, 8, false), b(9, 1, 9, false), b(10, 1, 10, false),
			},
		},
		{
			name:     "25% of 10",
			spec:     spec(releases.ActionUpdate, nil, 0, pctSize("25%")),
			cloneSet: 10,
			want:     []releases.ReleaseBatch{b(1, 3, 3, false), b(2, 3, 6, false), b(3, 3, 9, false), b(4, 1, 10, false)},
		},
		{
			name:     "50% of 5 with canary 1: percent of all changed pods",
			spec:     spec(releases.ActionUpdate, nil, 1, pctSize("50%")),
			cloneSet: 5,
			want:     []releases.ReleaseBatch{b(1, 1, 1, true), b(2, 3, 4, false), b(3, 1, 5, false)},
		},
		{
			name:     "absolute size with remainder",
			spec:     spec(releases.ActionUpdate, nil, 0, intSize(3)),
			cloneSet: 10,
			want:     []releases.ReleaseBatch{b(1, 3, 3, false), b(2, 3, 6, false), b(3, 3, 9, false), b(4, 1, 10, false)},
		},
		{
			name:     "absolute size with remainder after canary",
			spec:     spec(releases.ActionUpdate, nil, 2, intSize(4)),
			cloneSet: 11,
			want:     []releases.ReleaseBatch{b(1, 2, 2, true), b(2, 4, 6, false), b(3, 4, 10, false), b(4, 1, 11, false)},
		},
		{
			name:     "nil batchSize is 100%",
			spec:     spec(releases.ActionUpdate, nil, 0, nil),
			cloneSet: 7,
			want:     []releases.ReleaseBatch{b(1, 7, 7, false)},
		},
		{
			name:     "nil batchSize is 100% after canary",
			spec:     spec(releases.ActionUpdate, nil, 2, nil),
			cloneSet: 7,
			want:     []releases.ReleaseBatch{b(1, 2, 2, true), b(2, 5, 7, false)},
		},
		{
			name:     "scale to the same size changes nothing",
			spec:     spec(releases.ActionScale, i32(4), 1, intSize(1)),
			cloneSet: 4,
			want:     zero,
		},
		{
			name:     "update of a 0-replica CloneSet",
			spec:     spec(releases.ActionUpdate, nil, 1, intSize(1)),
			cloneSet: 0,
			want:     zero,
		},
		{
			name:     "create of 0",
			spec:     spec(releases.ActionCreate, i32(0), 0, nil),
			cloneSet: 0,
			want:     zero,
		},
		{
			name:     "create with nil replicas counts as 0",
			spec:     spec(releases.ActionCreate, nil, 1, intSize(1)),
			cloneSet: 0,
			want:     zero,
		},
		{
			name:     "create of 5 canary 1 batchSize 2",
			spec:     spec(releases.ActionCreate, i32(5), 1, intSize(2)),
			cloneSet: 0,
			want:     []releases.ReleaseBatch{b(1, 1, 1, true), b(2, 2, 3, false), b(3, 2, 5, false)},
		},
		{
			name:     "create ignores the CloneSet's replicas",
			spec:     spec(releases.ActionCreate, i32(2), 0, nil),
			cloneSet: 9,
			want:     []releases.ReleaseBatch{b(1, 2, 2, false)},
		},
		{
			name:     "scale out 3 to 7 batchSize 2",
			spec:     spec(releases.ActionScale, i32(7), 0, intSize(2)),
			cloneSet: 3,
			want:     []releases.ReleaseBatch{b(1, 2, 2, false), b(2, 2, 4, false)},
		},
		{
			name:     "scale in 7 to 3 batchSize 3",
			spec:     spec(releases.ActionScale, i32(3), 0, intSize(3)),
			cloneSet: 7,
			want:     []releases.ReleaseBatch{b(1, 3, 3, false), b(2, 1, 4, false)},
		},
		{
			name:     "scale in to 0 with canary",
			spec:     spec(releases.ActionScale, i32(0), 1, pctSize("50%")),
			cloneSet: 4,
			want:     []releases.ReleaseBatch{b(1, 1, 1, true), b(2, 2, 3, false), b(3, 1, 4, false)},
		},
		{
			name:     "scale with nil replicas counts as 0",
			spec:     spec(releases.ActionScale, nil, 0, nil),
			cloneSet: 3,
			want:     []releases.ReleaseBatch{b(1, 3, 3, false)},
		},
		{
			name:     "restart uses the CloneSet's replicas",
			spec:     spec(releases.ActionRestart, nil, 1, intSize(2)),
			cloneSet: 4,
			want:     []releases.ReleaseBatch{b(1, 1, 1, true), b(2, 2, 3, false), b(3, 1, 4, false)},
		},
		{
			name:     "rollback uses the CloneSet's replicas",
			spec:     spec(releases.ActionRollback, nil, 0, pctSize("40%")),
			cloneSet: 5,
			want:     []releases.ReleaseBatch{b(1, 2, 2, false), b(2, 2, 4, false), b(3, 1, 5, false)},
		},
		{
			name:     "malformed batchSize is treated as 100%",
			spec:     spec(releases.ActionUpdate, nil, 1, pctSize("abc")),
			cloneSet: 4,
			want:     []releases.ReleaseBatch{b(1, 1, 1, true), b(2, 3, 4, false)},
		},
		{
			name:     "batchSize 0 is at least 1",
			spec:     spec(releases.ActionUpdate, nil, 0, intSize(0)),
			cloneSet: 2,
			want:     []releases.ReleaseBatch{b(1, 1, 1, false), b(2, 1, 2, false)},
		},
		{
			name:     "negative canary is no canary",
			spec:     spec(releases.ActionUpdate, nil, -1, nil),
			cloneSet: 2,
			want:     []releases.ReleaseBatch{b(1, 2, 2, false)},
		},
		{
			name:     "nil spec is the zero plan",
			spec:     nil,
			cloneSet: 3,
			want:     zero,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Batches(tt.spec, tt.cloneSet)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestChangedPods(t *testing.T) {
	tests := []struct {
		name     string
		spec     *releases.ReleaseSpec
		cloneSet int32
		want     int32
	}{
		{"create", spec(releases.ActionCreate, i32(5), 0, nil), 2, 5},
		{"create nil replicas", spec(releases.ActionCreate, nil, 0, nil), 2, 0},
		{"update", spec(releases.ActionUpdate, nil, 0, nil), 6, 6},
		{"restart", spec(releases.ActionRestart, nil, 0, nil), 6, 6},
		{"rollback", spec(releases.ActionRollback, nil, 0, nil), 6, 6},
		{"scale out", spec(releases.ActionScale, i32(7), 0, nil), 3, 4},
		{"scale in", spec(releases.ActionScale, i32(3), 0, nil), 7, 4},
		{"scale same", spec(releases.ActionScale, i32(3), 0, nil), 3, 0},
		{"scale nil replicas", spec(releases.ActionScale, nil, 0, nil), 3, 3},
		{"scale extremes", spec(releases.ActionScale, i32(math.MaxInt32), 0, nil), 0, math.MaxInt32},
		{"unknown action", spec("Explode", i32(3), 0, nil), 3, 0},
		{"nil spec", nil, 3, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, ChangedPods(tt.spec, tt.cloneSet))
		})
	}
}

func TestBatchSize(t *testing.T) {
	tests := []struct {
		name    string
		size    *intstr.IntOrString
		changed int32
		want    int32
	}{
		{"nil is 100%", nil, 7, 7},
		{"nil of 0 is still 1", nil, 0, 1},
		{"int as is", intSize(3), 10, 3},
		{"int larger than changed as is", intSize(30), 10, 30},
		{"int 0 is 1", intSize(0), 10, 1},
		{"negative int is 1", intSize(-2), 10, 1},
		{"1% of 10 rounds up", pctSize("1%"), 10, 1},
		{"25% of 10 rounds up", pctSize("25%"), 10, 3},
		{"50% of 5 rounds up", pctSize("50%"), 5, 3},
		{"33% of 100 exact", pctSize("33%"), 100, 33},
		{"100% of 8", pctSize("100%"), 8, 8},
		{"0% is 1", pctSize("0%"), 8, 1},
		{"percent of 0 is 1", pctSize("50%"), 0, 1},
		{"malformed is 100%", pctSize("x%"), 9, 9},
		{"string without percent is 100%", pctSize("3"), 9, 9},
		{"huge percent clamps", pctSize("1000000%"), math.MaxInt32, math.MaxInt32},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, BatchSize(tt.size, tt.changed))
		})
	}
}

func TestMaxFailedPods(t *testing.T) {
	tests := []struct {
		name     string
		v        *intstr.IntOrString
		replicas int32
		want     int32
	}{
		{"nil is 0", nil, 10, 0},
		{"int as is", intSize(2), 10, 2},
		{"int larger than batch as is", intSize(20), 10, 20},
		{"int 0", intSize(0), 10, 0},
		{"negative int is 0", intSize(-1), 10, 0},
		{"percent rounds down", pctSize("25%"), 10, 2},
		{"small percent rounds down to 0", pctSize("10%"), 5, 0},
		{"50% of 5 rounds down", pctSize("50%"), 5, 2},
		{"100%", pctSize("100%"), 4, 4},
		{"percent of 0", pctSize("50%"), 0, 0},
		{"malformed is 0", pctSize("lots"), 10, 0},
		{"malformed percent is 0", pctSize("a%"), 10, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, MaxFailedPods(tt.v, tt.replicas))
		})
	}
}

// TestBatchesProperties checks the invariants of every plan over many (total, canary, batchSize) combinations.
func TestBatchesProperties(t *testing.T) {
	sizes := []*intstr.IntOrString{nil}
	for _, n := range []int{0, 1, 2, 3, 4, 5, 7, 10, 13, 50, 100} {
		sizes = append(sizes, intSize(n))
	}
	for _, p := range []string{"0%", "1%", "10%", "25%", "33%", "50%", "66%", "99%", "100%", "150%"} {
		sizes = append(sizes, pctSize(p))
	}
	actions := []releases.ReleaseAction{
		releases.ActionCreate, releases.ActionUpdate, releases.ActionScale, releases.ActionRestart, releases.ActionRollback,
	}

	checked := 0
	for total := int32(0); total <= 40; total++ {
		for canary := int32(0); canary <= total+2; canary++ {
			for _, size := range sizes {
				for _, action := range actions {
					s := spec(action, nil, canary, size)
					cloneSet := total
					switch action {
					case releases.ActionCreate:
						s.Replicas, cloneSet = i32(total), 0
					case releases.ActionScale:
						// alternate scale out and scale in by total pods
						if total%2 == 0 {
							s.Replicas, cloneSet = i32(3+total), 3
						} else {
							s.Replicas, cloneSet = i32(3), 3+total
						}
					}
					name := fmt.Sprintf("%s total=%d canary=%d size=%v", action, total, canary, size)
					if got := ChangedPods(s, cloneSet); got != total {
						t.Fatalf("%s: ChangedPods = %d", name, got)
					}
					got, err := Batches(s, cloneSet)
					if n := BatchCount(s, cloneSet); n > MaxBatches {
						if err == nil {
							t.Fatalf("%s: a plan of %d batches was made", name, n)
						}
						continue
					} else if err != nil || int64(len(got)) != n {
						t.Fatalf("%s: %d batches (BatchCount %d), err %v", name, len(got), n, err)
					}
					checkPlan(t, name, got, total, canary, size)
					checked++
				}
			}
		}
	}
	t.Logf("checked %d plans", checked)
}

// checkPlan uses plain comparisons rather than testify: it runs ~100k times.
func checkPlan(t *testing.T, name string, got []releases.ReleaseBatch, total, canary int32, size *intstr.IntOrString) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("%s: %s\nplan: %+v", name, fmt.Sprintf(format, args...), got)
	}
	if len(got) == 0 {
		fail("empty plan")
	}
	if total == 0 {
		if !reflect.DeepEqual(got, []releases.ReleaseBatch{b(1, 0, 0, false)}) {
			fail("want the single zero batch")
		}
		return
	}
	wantCanary := min(canary, total)
	if wantCanary > 0 && (!got[0].Canary || got[0].Replicas != wantCanary) {
		fail("first batch is not a canary of %d", wantCanary)
	}
	if wantCanary >= total && len(got) != 1 {
		fail("canary takes all pods, want 1 batch")
	}
	bs := BatchSize(size, total)
	var sum, prev int32
	for i, batch := range got {
		isLast := i == len(got)-1
		switch {
		case batch.Index != int32(i+1):
			fail("batch %d has index %d", i, batch.Index)
		case batch.Phase != releases.BatchPending:
			fail("batch %d has phase %q", i, batch.Phase)
		case batch.Canary != (i == 0 && wantCanary > 0):
			fail("batch %d canary = %v", i, batch.Canary)
		case batch.Replicas < 1:
			fail("batch %d has %d replicas", i, batch.Replicas)
		case batch.Target <= prev:
			fail("batch %d target %d not above %d", i, batch.Target, prev)
		case batch.Target != sum+batch.Replicas:
			fail("batch %d target %d is not cumulative (%d)", i, batch.Target, sum+batch.Replicas)
		case !batch.Canary && batch.Replicas > bs:
			fail("batch %d has %d replicas, more than batch size %d", i, batch.Replicas, bs)
		case !batch.Canary && !isLast && batch.Replicas != bs:
			fail("batch %d has %d replicas, want batch size %d", i, batch.Replicas, bs)
		case batch.Pods != nil || batch.StartedAt != nil || batch.SmokedAt != nil || batch.BakedAt != nil:
			fail("batch %d has progress set", i)
		}
		sum += batch.Replicas
		prev = batch.Target
	}
	if sum != total {
		fail("sum of replicas %d, want %d", sum, total)
	}
	if got[len(got)-1].Target != total {
		fail("last target %d, want %d", got[len(got)-1].Target, total)
	}
}

func TestBatchesLargeSizeDoesNotOverflow(t *testing.T) {
	got, err := Batches(spec(releases.ActionUpdate, nil, 1, intSize(math.MaxInt32)), math.MaxInt32)
	require.NoError(t, err)
	assert.Equal(t, []releases.ReleaseBatch{
		b(1, 1, 1, true),
		b(2, math.MaxInt32-1, math.MaxInt32, false),
	}, got)
}

// The largest numbers the schema allows size nothing: a plan of more than MaxBatches batches is refused
// before it is built, for every action.
func TestBatchesRefusesMoreThanMaxBatches(t *testing.T) {
	huge := int32(math.MaxInt32)
	for _, tt := range []struct {
		name     string
		spec     *releases.ReleaseSpec
		cloneSet int32
		want     int64
	}{
		{"Create of MaxInt32 in batches of 1", spec(releases.ActionCreate, i32(huge), 0, intSize(1)), 0, int64(huge)},
		{"Scale out to MaxInt32 in batches of 1", spec(releases.ActionScale, i32(huge), 0, intSize(1)), 1, int64(huge) - 1},
		{"Scale in from MaxInt32 in batches of 1", spec(releases.ActionScale, i32(0), 0, intSize(1)), huge, int64(huge)},
		{"Update of MaxInt32 pods in batches of 1, canary 1", spec(releases.ActionUpdate, nil, 1, intSize(1)), huge, int64(huge)},
		{"Restart in batches of 1%", spec(releases.ActionRestart, nil, 0, pctSize("1%")), 1000, 100},
		{"Rollback, one more than the limit", spec(releases.ActionRollback, nil, 0, intSize(1)), MaxBatches + 1, MaxBatches + 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, BatchCount(tt.spec, tt.cloneSet))
			got, err := Batches(tt.spec, tt.cloneSet)
			if tt.want <= MaxBatches {
				require.NoError(t, err)
				assert.Len(t, got, int(tt.want))
				return
			}
			var tooMany *TooManyBatches
			require.ErrorAs(t, err, &tooMany)
			assert.Equal(t, tt.want, tooMany.Batches)
			assert.Nil(t, got)
			assert.Contains(t, err.Error(), "at most 200 batches")
		})
	}
	// Exactly the limit is a plan.
	got, err := Batches(spec(releases.ActionUpdate, nil, 0, intSize(1)), MaxBatches)
	require.NoError(t, err)
	assert.Len(t, got, MaxBatches)
}
