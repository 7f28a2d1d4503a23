package cloneset

import (
	"context"
	"testing"
	"time"

	kruisefake "github.com/openkruise/kruise-api/client/clientset/versioned/fake"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	kubefake "k8s.io/client-go/kubernetes/fake"
)

// The controller's reaction ends at the first CloneSet write it sends for the event that woke it: one
// observation per cue, however many writes follow, none for a dry run or with no cue.
func TestTheFirstCloneSetWriteAnswersTheCue(t *testing.T) {
	kruise := kruisefake.NewSimpleClientset(cloneSetOwnedBy("web-1"))
	d := &Driver{Kruise: kruise, Kube: kubefake.NewSimpleClientset()}
	cs := cloneSetOwnedBy("web-1")
	var seen []time.Duration
	ctx := WithCue(context.Background(), time.Now().Add(-50*time.Millisecond), func(d time.Duration) { seen = append(seen, d) })

	_, err := d.patch(ctx, cs, []byte(`{"metadata":{"labels":{"a":"1"}}}`), true)
	require.NoError(t, err)
	assert.Empty(t, seen, "a dry run sends no write")

	_, err = d.patch(ctx, cs, []byte(`{"metadata":{"labels":{"a":"1"}}}`), false)
	require.NoError(t, err)
	_, err = d.patch(ctx, cs, []byte(`{"metadata":{"labels":{"b":"2"}}}`), false)
	require.NoError(t, err)
	require.Len(t, seen, 1, "one reaction per cue")
	assert.GreaterOrEqual(t, seen[0], 50*time.Millisecond, "counted from the event")

	_, err = d.patch(context.Background(), cs, []byte(`{"metadata":{"labels":{"c":"3"}}}`), false)
	require.NoError(t, err)
	assert.Len(t, seen, 1, "no cue, no reaction")
}
