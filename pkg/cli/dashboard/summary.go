package dashboard

import (
	"cmp"
	"slices"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/cli/view"
)

// Summary is a release as the fleet table shows it: one row. Names are as the API has them (the page
// needs them to call back); the messages are on one line with control characters made visible.
type Summary struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	CloneSet  string `json:"cloneSet"`
	Action    string `json:"action"`
	// Mode is Manual or Auto (Manual when unset, as the server defaults it).
	Mode string `json:"mode"`
	// Phase is the release's: Pending, Progressing, Paused, Succeeded, Failed or Canceled.
	Phase string `json:"phase"`
	// CurrentBatch is 1-based; 0 before the first batch starts.
	CurrentBatch int32 `json:"currentBatch"`
	// Batches is the number of batches of the plan.
	Batches int `json:"batches"`
	// BatchPhase is the current batch's phase; "" before the first batch starts.
	BatchPhase string `json:"batchPhase"`
	// Progress counts the pods the release has changed, as its plan counts them.
	Progress Progress `json:"progress"`
	// WaitingFor is the message of the condition that holds the release for a person (AwaitingNext,
	// Paused or Failed); "" while none does.
	WaitingFor string `json:"waitingFor"`
	// AwaitingNext is true while only a next call moves the release on.
	AwaitingNext bool `json:"awaitingNext"`
}

// Progress is how many of the pods a release changes it has changed so far.
type Progress struct {
	Updated int32 `json:"updated"`
	Target  int32 `json:"target"`
}

// waitingConditions are the conditions that hold a release for a person, the first True one wins.
var waitingConditions = []string{v1alpha1.ConditionAwaitingNext, v1alpha1.ConditionPaused, v1alpha1.ConditionFailed}

// summarize is r's row.
func summarize(r *v1alpha1.Release) Summary {
	st := r.Status
	mode := r.Spec.Strategy.Mode
	if mode == "" {
		mode = v1alpha1.ModeManual
	}
	sum := Summary{
		Namespace:    r.Namespace,
		Name:         r.Name,
		CloneSet:     r.Spec.CloneSetName,
		Action:       string(r.Spec.Action),
		Mode:         string(mode),
		Phase:        string(st.Phase),
		CurrentBatch: st.CurrentBatch,
		Batches:      len(st.Batches),
		Progress:     progress(r),
		AwaitingNext: awaitingNext(r),
	}
	if b := view.Current(r); b != nil {
		sum.BatchPhase = string(b.Phase)
	}
	for _, t := range waitingConditions {
		if c := meta.FindStatusCondition(st.Conditions, t); c != nil && c.Status == metav1.ConditionTrue {
			sum.WaitingFor = cleanLine(c.Message)
			break
		}
	}
	return sum
}

// progress counts the pods changed: all the batches before the current one (their cumulative target),
// and the current batch's pods so far (view.BatchProgress). A Succeeded release has changed them all.
func progress(r *v1alpha1.Release) Progress {
	batches := r.Status.Batches
	if len(batches) == 0 {
		return Progress{}
	}
	target := batches[len(batches)-1].Target
	if r.Status.Phase == v1alpha1.ReleaseSucceeded {
		return Progress{Updated: target, Target: target}
	}
	b := view.Current(r)
	if b == nil {
		return Progress{Target: target}
	}
	updated := b.Target - b.Replicas + view.BatchProgress(r, b).Updated
	return Progress{Updated: max(0, min(updated, target)), Target: target}
}

// sortFleet puts the releases that wait for a next call first (what a person should look at), then the
// others, each by namespace and name.
func sortFleet(rows []Summary) {
	slices.SortFunc(rows, func(a, b Summary) int {
		if a.AwaitingNext != b.AwaitingNext {
			if a.AwaitingNext {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
}
