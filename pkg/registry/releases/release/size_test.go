package release

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/apis/releases/install"
	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/apis/releases/validation"
	"github.com/triton-io/triton/pkg/release/moves"
	"github.com/triton-io/triton/pkg/release/plan"
)

// etcdRequestLimit is etcd's default --max-request-bytes (1.5 MiB), the embedded etcd's too.
const etcdRequestLimit = 1572864

// Invariant 7: no stored Release outgrows etcd's object limit. The largest Release a caller can make
// (metadata and spec at their bound) with every part of its status at its bound (MaxBatches batches,
// MaxListedPods pods with the longest names, pod names before a Scale at their byte budget in the
// shortest names, HistoryLimit entries with the longest reasons in characters that JSON escapes, the
// longest user names) is stored as JSON well under etcd's limit.
func TestLargestReleaseFitsInEtcd(t *testing.T) {
	now := metav1.NewTime(time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC))
	long := func(n int) string { return strings.Repeat("a", n) }
	maxUnavailable, deadline := intstr.FromString("100%"), int32(600)
	r := &releases.Release{
		ObjectMeta: metav1.ObjectMeta{Name: long(253), Namespace: long(63), Finalizers: []string{releases.CleanupFinalizer}},
		Spec: releases.ReleaseSpec{
			CloneSetName: long(253),
			Action:       releases.ActionUpdate,
			Strategy: releases.ReleaseStrategy{BatchSize: &maxUnavailable, Mode: releases.ModeManual,
				ProgressDeadlineSeconds: &deadline},
			Template: &corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name: "app", Image: "nginx",
			}}}},
		},
	}
	// Metadata and spec filled up to their bound: labels and annotations at their cap (in characters that
	// JSON escapes), then finalizers, which a caller may also set.
	r.Annotations = map[string]string{"a": strings.Repeat("<", validation.MaxMetadataBytes-1)}
	for _, step := range []int{500, 50, 1} {
		for {
			n := len(r.Finalizers)
			for i := 0; i < step; i++ {
				r.Finalizers = append(r.Finalizers, fmt.Sprintf("example.com/f%06d%s", n+i, long(56)))
			}
			if len(validation.ValidateRelease(r)) > 0 {
				r.Finalizers = r.Finalizers[:n]
				break
			}
		}
	}
	require.Empty(t, validation.ValidateRelease(r))
	raw, err := json.Marshal(releases.Release{ObjectMeta: r.ObjectMeta, Spec: r.Spec})
	require.NoError(t, err)
	require.Greater(t, len(raw), validation.MaxMetadataAndSpecBytes-100, "metadata and spec fill their bound")

	s := &r.Status
	s.Phase = releases.ReleaseFailed
	s.CurrentBatch = plan.MaxBatches
	for i := int32(1); i <= plan.MaxBatches; i++ {
		s.Batches = append(s.Batches, releases.ReleaseBatch{Index: i, Canary: i == 1, Replicas: 1 << 20, Target: i << 20,
			Phase: releases.BatchBaked, StartedAt: &now, SmokedAt: &now, BakedAt: &now})
	}
	for i := 0; i < moves.MaxListedPods; i++ {
		s.Batches[i%plan.MaxBatches].Pods = append(s.Batches[i%plan.MaxBatches].Pods, releases.BatchPod{
			Name: long(253), IP: "fd00:0000:0000:0000:0000:0000:0000:0001", Phase: corev1.PodRunning, PulledIn: true, Ready: true})
	}
	held, replicas := int32(7), int32(1<<20)
	s.CloneSet = &releases.CloneSetObservation{UpdateRevision: long(253), CurrentRevision: long(253), RevisionBeforeRelease: long(253),
		Replicas: replicas, ReplicasBeforeRelease: &replicas, HeldAt: &held, Partition: &held, MaxUnavailableBeforeRelease: &maxUnavailable}
	for budget := MaxPodsBeforeReleaseBytes; budget >= 4; budget -= 4 {
		s.CloneSet.PodsBeforeRelease = append(s.CloneSet.PodsBeforeRelease, "a")
	}
	for i := 0; i < plan.HistoryLimit; i++ {
		s.History = append(s.History, releases.ReleaseHistoryEntry{Action: "resume", User: long(plan.MaxHistoryUserLength), Time: now,
			FromBatch: plan.MaxBatches, ToBatch: plan.MaxBatches, FromPhase: "Failed/Failed", ToPhase: "Progressing/Smoking",
			Reason: strings.Repeat("\x01", validation.MaxReasonLength)})
	}
	for _, c := range []string{"AwaitingNext", "Paused", "Failed", "Complete"} {
		s.Conditions = append(s.Conditions, metav1.Condition{Type: c, Status: metav1.ConditionTrue, Reason: "Because",
			Message:            "batch 200: 1048576 failing pods, 0 tolerated: " + long(253) + "; " + long(253) + "; " + long(253) + "; and 1048573 more",
			LastTransitionTime: now, ObservedGeneration: 1})
	}
	require.Empty(t, validation.ValidateReleaseStatus(s, nil), "a status the server could write")

	scheme := runtime.NewScheme()
	install.Install(scheme)
	raw, err = runtime.Encode(serializer.NewCodecFactory(scheme).LegacyCodec(v1alpha1.SchemeGroupVersion), r)
	require.NoError(t, err)
	t.Logf("the largest Release is %d bytes as JSON; etcd takes %d", len(raw), etcdRequestLimit)
	assert.Less(t, len(raw), etcdRequestLimit*9/10, "a tenth of etcd's limit is left for the key and the request")
}
