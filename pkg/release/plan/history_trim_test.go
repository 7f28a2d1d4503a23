package plan

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases"
)

func entry(i int, user string) releases.ReleaseHistoryEntry {
	return releases.ReleaseHistoryEntry{Action: fmt.Sprintf("a%d", i), User: user, FromBatch: int32(i), ToBatch: int32(i + 1),
		Time: metav1.NewTime(time.Unix(int64(i), 0)), FromPhase: fmt.Sprintf("from %d", i), ToPhase: fmt.Sprintf("to %d", i)}
}

// checkTrimmed checks what trimHistory promises of a history made of the appended entries, in order.
func checkTrimmed(t *testing.T, h, appended []releases.ReleaseHistoryEntry) {
	t.Helper()
	require.LessOrEqual(t, len(h), HistoryLimit)
	if len(appended) > HistoryLimit {
		require.Len(t, h, HistoryLimit, "trimmed to exactly the limit")
	}
	for i := 0; i < historyHead && i < len(appended); i++ {
		assert.Equal(t, appended[i], h[i], "first entry %d kept", i)
	}
	assert.Equal(t, appended[len(appended)-1], h[len(h)-1], "the newest kept")
	for _, a := range appended {
		if a.User != ControllerUser {
			assert.Contains(t, h, a, "the first entry of a caller is kept")
			break
		}
	}
	// Every entry appended is either kept, in order, or counted by the dropped entry where it was.
	next := 0
	for i, e := range h {
		if isDropped(e) {
			n := droppedEntries(e)
			assert.GreaterOrEqual(t, n, 2, "a dropped entry stands for two entries or more")
			require.LessOrEqual(t, next+n, len(appended))
			assert.Equal(t, appended[next].FromBatch, e.FromBatch)
			assert.Equal(t, appended[next].FromPhase, e.FromPhase)
			assert.Equal(t, appended[next+n-1].ToBatch, e.ToBatch)
			assert.Equal(t, appended[next+n-1].ToPhase, e.ToPhase)
			assert.Equal(t, appended[next+n-1].Time, e.Time)
			if i > 0 {
				assert.False(t, isDropped(h[i-1]), "two dropped entries side by side")
			}
			next += n
			continue
		}
		require.Less(t, next, len(appended))
		assert.Equal(t, appended[next], e, "entry %d", i)
		next++
	}
	assert.Equal(t, len(appended), next, "every entry kept or counted")
}

func TestTrimHistory(t *testing.T) {
	tests := []struct {
		name string
		// the user of entry i; entries are appended one by one, as appendHistory does
		user func(i int) string
		n    int
		want []string // the actions of the first entries kept, then "dropped"
	}{
		{name: "the controller alone", n: 300, user: func(int) string { return ControllerUser },
			want: []string{"a0", "a1", ActionDropped}},
		{name: "a caller from the second entry", n: 120, user: func(i int) string {
			if i == 0 {
				return ControllerUser
			}
			return "bob"
		}, want: []string{"a0", "a1", ActionDropped}},
		{name: "the first caller entry third", n: 120, user: func(i int) string {
			if i < 2 {
				return ControllerUser
			}
			return "bob"
		}, want: []string{"a0", "a1", "a2", ActionDropped}},
		{name: "the first caller entry fourth: the one between stays", n: 120, user: func(i int) string {
			if i < 3 {
				return ControllerUser
			}
			return "bob"
		}, want: []string{"a0", "a1", "a2", "a3", ActionDropped}},
		{name: "the first caller entry after ten of the controller's", n: 120, user: func(i int) string {
			if i == 10 {
				return "alice"
			}
			return ControllerUser
		}, want: []string{"a0", "a1", ActionDropped, "a10", ActionDropped}},
		{name: "the first caller entry the 60th", n: 200, user: func(i int) string {
			if i >= 60 && i%2 == 0 {
				return "alice"
			}
			return ControllerUser
		}, want: []string{"a0", "a1", ActionDropped, "a60", ActionDropped}},
		{name: "an empty user is no caller", n: 100, user: func(i int) string {
			if i == 5 {
				return "carol"
			}
			return ""
		}, want: []string{"a0", "a1", ActionDropped, "a5", ActionDropped}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &releases.Release{}
			var appended []releases.ReleaseHistoryEntry
			for i := 0; i < tc.n; i++ {
				e := entry(i, tc.user(i))
				appended = append(appended, e)
				appendHistory(r, e)
				checkTrimmed(t, r.Status.History, appended)
			}
			var got []string
			for _, e := range r.Status.History[:len(tc.want)] {
				got = append(got, e.Action)
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestTrimHistoryDoesNotShareItsInput(t *testing.T) {
	var h []releases.ReleaseHistoryEntry
	for i := 0; i < HistoryLimit+1; i++ {
		h = append(h, entry(i, ControllerUser))
	}
	saved := append([]releases.ReleaseHistoryEntry(nil), h...)
	out := trimHistory(h)
	require.Len(t, out, HistoryLimit)
	out[2].Action = "changed"
	assert.Equal(t, saved, h, "the input is left as it was")

	short := h[:3]
	assert.Equal(t, short, trimHistory(short), "a short history is kept whole")
}

func TestDroppedEntries(t *testing.T) {
	assert.Equal(t, 0, droppedEntries(entry(1, ControllerUser)))
	assert.Equal(t, 0, droppedEntries(releases.ReleaseHistoryEntry{Action: ActionDropped, User: "mallory", Reason: "7 entries dropped"}),
		"only the controller's")
	assert.Equal(t, 7, droppedEntries(releases.ReleaseHistoryEntry{Action: ActionDropped, User: ControllerUser, Reason: droppedReason(7)}))
	assert.Equal(t, 1, droppedEntries(releases.ReleaseHistoryEntry{Action: ActionDropped, User: ControllerUser, Reason: "garbled"}))
}
