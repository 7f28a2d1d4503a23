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
// longest user names, the analysis's checks and results at their byte bounds) is stored as JSON well under
// etcd's limit. A release of MaxBatches batches cannot keep MaxMeasurements measurements of every check in
// every batch: validation.MaxAnalysisStatusBytes bounds the results of all batches together.
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
	// The largest analysis: the most checks, each with the longest query and as long a condition as the
	// checks' bound leaves.
	r.Spec.Strategy.Analysis = largestAnalysis(t)
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
	// The checks resolved at create, and as much of their results as the status keeps: every check in as
	// many batches as there is room for, newest batches first, each with its most measurements, values and
	// messages at their longest.
	s.AnalysisChecks = r.Spec.Strategy.Analysis.Checks
	fillAnalysisResults(t, s, now)
	require.Empty(t, validation.ValidateReleaseStatus(s, nil), "a status the server could write")

	scheme := runtime.NewScheme()
	install.Install(scheme)
	raw, err = runtime.Encode(serializer.NewCodecFactory(scheme).LegacyCodec(v1alpha1.SchemeGroupVersion), r)
	require.NoError(t, err)
	t.Logf("the largest Release is %d bytes as JSON; etcd takes %d", len(raw), etcdRequestLimit)
	assert.Less(t, len(raw), etcdRequestLimit*9/10, "a tenth of etcd's limit is left for the key and the request")
}

// largestAnalysis is an analysis with the most checks, each with the longest query and a condition as long
// as validation.MaxAnalysisChecksBytes leaves room for, every limit at its bound.
func largestAnalysis(t *testing.T) *releases.ReleaseAnalysis {
	t.Helper()
	interval, limit := int32(validation.MaxIntervalSeconds), int32(validation.MaxAnalysisLimit)
	a := &releases.ReleaseAnalysis{IntervalSeconds: &interval, BakeSeconds: validation.MaxBakeSeconds}
	query := `up{pod="` + strings.Repeat("a", validation.MaxQueryLength-10) + `"}`
	for i := 0; i < validation.MaxAnalysisChecks; i++ {
		a.Checks = append(a.Checks, releases.AnalysisCheck{Name: fmt.Sprintf("%s%02d", strings.Repeat("c", 61), i),
			Prometheus: &releases.PrometheusCheck{Query: query}, FailureLimit: limit, ErrorLimit: &limit, Background: true, DryRun: true})
	}
	require.Len(t, query, validation.MaxQueryLength)
	for terms := validation.MaxSuccessConditionLength / len(" || result < 1.5"); terms > 0; terms-- {
		condition := "result < 1.5" + strings.Repeat(" || result < 1.5", terms-1)
		for i := range a.Checks {
			a.Checks[i].SuccessCondition = condition
		}
		if validation.AnalysisChecksBytes(a.Checks) <= validation.MaxAnalysisChecksBytes {
			break
		}
	}
	require.Greater(t, validation.AnalysisChecksBytes(a.Checks), validation.MaxAnalysisChecksBytes-200, "the checks fill their bound")
	return a
}

// fillAnalysisResults gives every check of s a result in as many batches as validation.MaxAnalysisStatusBytes
// has room for, from the last batch back, each with validation.MaxMeasurements measurements whose value
// and message are at their longest (in characters that JSON escapes, six bytes each).
func fillAnalysisResults(t *testing.T, s *releases.ReleaseStatus, now metav1.Time) {
	t.Helper()
	measurement := releases.Measurement{Time: now, Phase: releases.AnalysisError,
		Value:   strings.Repeat("<", validation.MaxMeasurementValueLength),
		Message: strings.Repeat("<", validation.MaxAnalysisMessageLength)}
	done := 0 // the bytes of the batches after the one being filled
	for b := len(s.Batches) - 1; b >= 0; b-- {
		batch := &s.Batches[b]
		room := func() int {
			return validation.MaxAnalysisStatusBytes - done - validation.AnalysisStatusBytes(s.Batches[b:b+1])
		}
		for _, c := range s.AnalysisChecks {
			batch.Analysis = append(batch.Analysis, releases.AnalysisStatus{Name: c.Name, Phase: releases.AnalysisRunning,
				Failures: 1000, ConsecutiveErrors: 1000, PassingSince: &now, Message: strings.Repeat("<", validation.MaxAnalysisMessageLength)})
			last := &batch.Analysis[len(batch.Analysis)-1]
			if r := room(); r < 0 {
				// No room for the whole result: as much of its message as fits, or none of it.
				if cut := (-r + 5) / 6; cut <= len(last.Message) {
					last.Message = last.Message[cut:]
				} else {
					batch.Analysis = batch.Analysis[:len(batch.Analysis)-1]
				}
				break
			}
			for m := 0; m < validation.MaxMeasurements; m++ {
				last.Measurements = append(last.Measurements, measurement)
				if room() < 0 {
					last.Measurements = last.Measurements[:len(last.Measurements)-1]
					break
				}
			}
		}
		done += validation.AnalysisStatusBytes(s.Batches[b : b+1])
		if validation.MaxAnalysisStatusBytes-done < 1000 {
			break
		}
	}
	require.LessOrEqual(t, validation.AnalysisStatusBytes(s.Batches), validation.MaxAnalysisStatusBytes)
	require.Greater(t, validation.AnalysisStatusBytes(s.Batches), validation.MaxAnalysisStatusBytes-1000, "the results fill their bound")
}
