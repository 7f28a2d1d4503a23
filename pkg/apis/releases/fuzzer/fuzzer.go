package fuzzer

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeserializer "k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/randfill"

	"github.com/triton-io/triton/pkg/apis/releases"
)

// Funcs returns the fill functions for the releases.triton.io group.
var Funcs = func(codecs runtimeserializer.CodecFactory) []interface{} {
	return []interface{}{
		fillReleaseSpec,
		fillReleaseStrategy,
		fillReleaseAnalysis,
		fillAnalysisCheck,
		fillAnalysisStatus,
		func(h *releases.PodHealthCheck, c randfill.Continue) {
			c.FillNoCustom(h)
			// Never nil: decoding defaults it to 0.
			if h.MaxRestarts == nil {
				n := int32(c.Intn(1001))
				h.MaxRestarts = &n
			}
		},
		func(p *releases.AnalysisPhase, c randfill.Continue) {
			*p = oneOf(c, "", releases.AnalysisRunning, releases.AnalysisPassed, releases.AnalysisFailed, releases.AnalysisError)
		},
		func(a *releases.ReleaseAction, c randfill.Continue) {
			*a = oneOf(c, releases.ActionCreate, releases.ActionUpdate, releases.ActionScale, releases.ActionRestart, releases.ActionRollback)
		},
		func(m *releases.ReleaseMode, c randfill.Continue) {
			// Never empty: "" is defaulted to Manual on decode.
			*m = oneOf(c, releases.ModeManual, releases.ModeAuto)
		},
		func(p *releases.ReleasePhase, c randfill.Continue) {
			*p = oneOf(c, "", releases.ReleasePending, releases.ReleaseProgressing, releases.ReleasePaused,
				releases.ReleaseSucceeded, releases.ReleaseFailed, releases.ReleaseCanceled)
		},
		func(p *releases.BatchPhase, c randfill.Continue) {
			*p = oneOf(c, "", releases.BatchPending, releases.BatchSmoking, releases.BatchSmoked,
				releases.BatchBaking, releases.BatchBaked, releases.BatchFailed, releases.BatchSkipped)
		},
		func(p *corev1.PodPhase, c randfill.Continue) {
			*p = oneOf(c, "", corev1.PodPending, corev1.PodRunning, corev1.PodSucceeded, corev1.PodFailed, corev1.PodUnknown)
		},

		// k8s.io/api/core/v1 defaults inside spec.template, mirrored from v1alpha1's zz_generated.defaults.go.
		func(p *corev1.ContainerPort, c randfill.Continue) {
			c.FillNoCustom(p)
			if p.Protocol == "" {
				p.Protocol = corev1.ProtocolTCP
			}
		},
		func(g *corev1.GRPCAction, c randfill.Continue) {
			c.FillNoCustom(g)
			if g.Service == nil {
				g.Service = new(string)
			}
		},
		func(k *corev1.FileKeySelector, c randfill.Continue) {
			c.FillNoCustom(k)
			if k.Optional == nil {
				k.Optional = new(bool)
			}
		},
		func(v *corev1.ISCSIVolumeSource, c randfill.Continue) {
			c.FillNoCustom(v)
			if v.ISCSIInterface == "" {
				v.ISCSIInterface = "default"
			}
		},
		func(v *corev1.RBDVolumeSource, c randfill.Continue) {
			c.FillNoCustom(v)
			if v.RBDPool == "" {
				v.RBDPool = "rbd"
			}
			if v.RadosUser == "" {
				v.RadosUser = "admin"
			}
			if v.Keyring == "" {
				v.Keyring = "/etc/ceph/keyring"
			}
		},
		func(v *corev1.AzureDiskVolumeSource, c randfill.Continue) {
			c.FillNoCustom(v)
			if v.CachingMode == nil {
				m := corev1.AzureDataDiskCachingReadWrite
				v.CachingMode = &m
			}
			if v.FSType == nil {
				fs := "ext4"
				v.FSType = &fs
			}
			if v.ReadOnly == nil {
				v.ReadOnly = new(bool)
			}
			if v.Kind == nil {
				k := corev1.AzureSharedBlobDisk
				v.Kind = &k
			}
		},
		func(v *corev1.ScaleIOVolumeSource, c randfill.Continue) {
			c.FillNoCustom(v)
			if v.StorageMode == "" {
				v.StorageMode = "ThinProvisioned"
			}
			if v.FSType == "" {
				v.FSType = "xfs"
			}
		},
	}
}

// fillReleaseSpec applies Create's selector default: an unset selector becomes the template's labels.
func fillReleaseSpec(s *releases.ReleaseSpec, c randfill.Continue) {
	c.FillNoCustom(s)
	// metafuzzer's LabelSelector function allocates every *LabelSelector it meets, so without this the
	// selector would never be nil and the round trip would never see the Create default.
	if c.Bool() {
		s.Selector = nil
	}
	if s.Action == releases.ActionCreate && s.Selector == nil && s.Template != nil && len(s.Template.Labels) > 0 {
		selector := &metav1.LabelSelector{MatchLabels: make(map[string]string, len(s.Template.Labels))}
		for k, v := range s.Template.Labels {
			selector.MatchLabels[k] = v
		}
		s.Selector = selector
	}
}

// fillReleaseStrategy fills every field the strategy defaults (batchSize, progressDeadlineSeconds,
// maxFailedPods; mode has its own function) and draws the pod counts from the forms the API accepts.
func fillReleaseStrategy(s *releases.ReleaseStrategy, c randfill.Continue) {
	c.FillNoCustom(s)
	s.BatchSize = podCount(c, 1)
	s.MaxFailedPods = podCount(c, 0)
	s.MaxSurge = nil
	if c.Bool() {
		s.MaxSurge = podCount(c, 0)
	}
	// Never empty, and a BlueGreen strategy complete: decoding defaults both.
	s.Type, s.BlueGreen = releases.StrategyBatch, nil
	if c.Bool() {
		delay := int32(c.Intn(600))
		s.Type = releases.StrategyBlueGreen
		s.BlueGreen = &releases.BlueGreenStrategy{PreviewReplicas: podCount(c, 1), AutoPromote: c.Bool(), ScaleDownDelaySeconds: &delay}
	}
	// Never empty: "" is defaulted to Pause on decode.
	s.OnFailure = oneOf(c, releases.FailurePause, releases.FailureCancel)
	if s.ProgressDeadlineSeconds == nil {
		d := int32(1 + c.Intn(3600))
		s.ProgressDeadlineSeconds = &d
	}
}

// maxFilled bounds the lists of analysis the fuzzer makes (checks, templates, measurements), whatever
// the fuzzer's own bound on list lengths.
const maxFilled = 3

// fillReleaseAnalysis fills what the analysis defaults (intervalSeconds), with at most maxFilled checks
// and templates.
func fillReleaseAnalysis(a *releases.ReleaseAnalysis, c randfill.Continue) {
	c.FillNoCustom(a)
	a.Checks = bounded(a.Checks)
	a.Templates = bounded(a.Templates)
	if a.IntervalSeconds == nil {
		n := int32(1 + c.Intn(3600))
		a.IntervalSeconds = &n
	}
}

// fillAnalysisCheck fills what a check defaults (errorLimit), wherever the check is: a release's spec
// or status, or an AnalysisTemplate.
func fillAnalysisCheck(ck *releases.AnalysisCheck, c randfill.Continue) {
	c.FillNoCustom(ck)
	if ck.ErrorLimit == nil {
		n := int32(c.Intn(1001))
		ck.ErrorLimit = &n
	}
}

// fillAnalysisStatus keeps at most maxFilled measurements.
func fillAnalysisStatus(s *releases.AnalysisStatus, c randfill.Continue) {
	c.FillNoCustom(s)
	s.Measurements = bounded(s.Measurements)
}

func bounded[T any](list []T) []T {
	if len(list) > maxFilled {
		return list[:maxFilled]
	}
	return list
}

// podCount returns a number of pods (minimum..100) or a percentage (minimum%..100%).
func podCount(c randfill.Continue, minimum int) *intstr.IntOrString {
	n := minimum + c.Intn(101-minimum)
	var v intstr.IntOrString
	if c.Bool() {
		v = intstr.FromInt32(int32(n))
	} else {
		v = intstr.FromString(fmt.Sprintf("%d%%", n))
	}
	return &v
}

func oneOf[T any](c randfill.Continue, values ...T) T {
	return values[c.Intn(len(values))]
}
