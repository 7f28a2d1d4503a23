package release

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/triton-io/triton/pkg/apis/releases"
)

// The "one unfinished release per CloneSet" check does not count a release that can never touch the
// CloneSet there now: one admitted for another CloneSet of the same name (deleted, and made again), or
// one that lost its CloneSet.
func TestAReleaseOfAReplacedCloneSetHoldsNoNewOne(t *testing.T) {
	running := func(uid types.UID) *releases.Release {
		return &releases.Release{Status: releases.ReleaseStatus{Phase: releases.ReleaseProgressing, CurrentBatch: 1,
			CloneSet: &releases.CloneSetObservation{UID: uid}}}
	}
	assert.True(t, holds(running("uid-web"), "uid-web"), "admitted for this CloneSet")
	assert.True(t, holds(running(""), "uid-web"), "no UID recorded (admitted before UIDs were): counted, as before")
	assert.True(t, holds(&releases.Release{}, "uid-web"), "nothing recorded")
	assert.False(t, holds(running("uid-web-before"), "uid-web"), "admitted for the CloneSet before, replaced since")
	assert.False(t, holds(running("uid-web-before"), ""), "its CloneSet is gone (a Create release of the name may be admitted)")
	assert.True(t, holds(running(""), ""), "a Create release that has not made its CloneSet yet")

	lost := running("uid-web")
	meta.SetStatusCondition(&lost.Status.Conditions, metav1.Condition{Type: releases.ConditionFailed, Status: metav1.ConditionTrue,
		Reason: releases.ReasonCloneSetReplaced, Message: "replaced"})
	lost.Status.Phase = releases.ReleaseFailed
	assert.False(t, holds(lost, "uid-web"), "it lost its CloneSet")
}
