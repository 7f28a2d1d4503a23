package plan

import (
	"encoding/json"
	"time"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

// ScaleOutGrace is how long a partition raised ahead of a scale-out (v1alpha1.ScaleOutAnnotation) is
// counted at the replicas asked for while the CloneSet has not got them yet. The scale lands milliseconds
// after the webhook answers; one that never lands (refused further down kube-apiserver's admission) holds
// the batch back by at most this long.
const ScaleOutGrace = 30 * time.Second

// ScaleOut is the value of v1alpha1.ScaleOutAnnotation.
type ScaleOut struct {
	From int32     `json:"from"`
	To   int32     `json:"to"`
	At   time.Time `json:"at"`
}

// ScaleOutValue is the annotation's value for a scale-out from → to replicas asked for at at.
func ScaleOutValue(from, to int32, at time.Time) string {
	raw, _ := json.Marshal(ScaleOut{From: from, To: to, At: at.UTC().Truncate(time.Second)})
	return string(raw)
}

// PendingScaleOut reads the annotation of a CloneSet that has replicas now: the replicas its partition is
// counted at while a scale-out is on its way, and how long that holds. ok is false when there is none: no
// annotation, one that does not parse or does not go out, the replicas have moved (the scale landed, or
// another resize came first), or the grace is over. An annotation dated further ahead than the grace (a
// clock far off, or a hand-written one) counts as over too, so none holds a partition for longer.
func PendingScaleOut(annotations map[string]string, replicas int32, now time.Time) (to int32, left time.Duration, ok bool) {
	raw, found := annotations[v1alpha1.ScaleOutAnnotation]
	if !found {
		return 0, 0, false
	}
	var s ScaleOut
	if json.Unmarshal([]byte(raw), &s) != nil || s.To <= s.From || s.From != replicas || s.At.IsZero() {
		return 0, 0, false
	}
	left = s.At.Add(ScaleOutGrace).Sub(now)
	if left <= 0 || left > 2*ScaleOutGrace {
		return 0, 0, false
	}
	return s.To, left, true
}
