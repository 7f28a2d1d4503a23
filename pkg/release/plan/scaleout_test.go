package plan

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

func TestAPendingScaleOutCountsUntilTheReplicasMoveOrTheGraceIsOver(t *testing.T) {
	at := time.Date(2026, 12, 7, 8, 29, 58, 0, time.UTC)
	value := ScaleOutValue(6, 12, at)
	assert.Equal(t, `{"from":6,"to":12,"at":"2026-12-07T08:29:58Z"}`, value)
	for _, tt := range []struct {
		name     string
		value    string
		replicas int32
		now      time.Time
		to       int32
		ok       bool
	}{
		{"the scale has not landed", value, 6, at.Add(time.Second), 12, true},
		{"at once", value, 6, at, 12, true},
		{"the scale landed", value, 12, at.Add(time.Second), 0, false},
		{"another resize came first", value, 8, at.Add(time.Second), 0, false},
		{"the grace is over", value, 6, at.Add(ScaleOutGrace), 0, false},
		{"dated ahead within the grace (a clock a little off)", value, 6, at.Add(-10 * time.Second), 12, true},
		{"dated further ahead than the grace", value, 6, at.Add(-2 * ScaleOutGrace), 0, false},
		{"a scale-in", ScaleOutValue(12, 6, at), 12, at, 0, false},
		{"not JSON", "12", 6, at, 0, false},
		{"no time", `{"from":6,"to":12}`, 6, at, 0, false},
		{"none", "", 6, at, 0, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			annotations := map[string]string{}
			if tt.value != "" {
				annotations[v1alpha1.ScaleOutAnnotation] = tt.value
			}
			to, left, ok := PendingScaleOut(annotations, tt.replicas, tt.now)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.to, to)
			if ok {
				assert.Equal(t, at.Add(ScaleOutGrace).Sub(tt.now), left)
			}
		})
	}
}
