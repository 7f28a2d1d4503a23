package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Defaults of a release's strategy.
const (
	DefaultProgressDeadlineSeconds int32 = 600
	DefaultBatchSize                     = "100%"
	DefaultPreviewReplicas               = "100%"
	DefaultScaleDownDelaySeconds   int32 = 30
)

// Defaults of a release's analysis.
const (
	// DefaultAnalysisIntervalSeconds is the time between two measurements of a check.
	DefaultAnalysisIntervalSeconds int32 = 10
	// DefaultErrorLimit is how many Error measurements in a row a check tolerates.
	DefaultErrorLimit int32 = 3
	// DefaultMaxRestarts is how many restarts a pod of a batch may have under a podHealth check.
	DefaultMaxRestarts int32 = 0
)

func addDefaultingFuncs(scheme *runtime.Scheme) error {
	return RegisterDefaults(scheme)
}

// SetDefaults_ReleaseSpec fills in what a caller may leave out.
func SetDefaults_ReleaseSpec(spec *ReleaseSpec) {
	// A CloneSet created by a release selects the pods of its template unless told otherwise.
	if spec.Action == ActionCreate && spec.Selector == nil && spec.Template != nil && len(spec.Template.Labels) > 0 {
		labels := make(map[string]string, len(spec.Template.Labels))
		for k, v := range spec.Template.Labels {
			labels[k] = v
		}
		spec.Selector = &metav1.LabelSelector{MatchLabels: labels}
	}
}

// SetDefaults_ReleaseStrategy fills in the pace of a release.
func SetDefaults_ReleaseStrategy(s *ReleaseStrategy) {
	if s.Type == "" {
		s.Type = StrategyBatch
	}
	if s.Type == StrategyBlueGreen {
		// Two batches, preview and switch: no batchSize (validation refuses one).
		if s.BlueGreen == nil {
			s.BlueGreen = &BlueGreenStrategy{}
		}
		if s.BlueGreen.PreviewReplicas == nil {
			v := intstr.FromString(DefaultPreviewReplicas)
			s.BlueGreen.PreviewReplicas = &v
		}
		if s.BlueGreen.ScaleDownDelaySeconds == nil {
			v := DefaultScaleDownDelaySeconds
			s.BlueGreen.ScaleDownDelaySeconds = &v
		}
	} else if s.BatchSize == nil {
		v := intstr.FromString(DefaultBatchSize)
		s.BatchSize = &v
	}
	if s.Mode == "" {
		s.Mode = ModeManual
	}
	if s.ProgressDeadlineSeconds == nil {
		v := DefaultProgressDeadlineSeconds
		s.ProgressDeadlineSeconds = &v
	}
	if s.MaxFailedPods == nil {
		v := intstr.FromInt32(0)
		s.MaxFailedPods = &v
	}
	if s.OnFailure == "" {
		s.OnFailure = FailurePause
	}
}

// SetDefaults_ReleaseAnalysis fills in the pace of a release's analysis.
func SetDefaults_ReleaseAnalysis(a *ReleaseAnalysis) {
	if a.IntervalSeconds == nil {
		v := DefaultAnalysisIntervalSeconds
		a.IntervalSeconds = &v
	}
}

// SetDefaults_AnalysisCheck fills in the error budget of a check, in a release's spec and status and in
// an AnalysisTemplate alike.
func SetDefaults_AnalysisCheck(c *AnalysisCheck) {
	if c.ErrorLimit == nil {
		v := DefaultErrorLimit
		c.ErrorLimit = &v
	}
}

// SetDefaults_PodHealthCheck fills in how many restarts a pod may have.
func SetDefaults_PodHealthCheck(c *PodHealthCheck) {
	if c.MaxRestarts == nil {
		v := DefaultMaxRestarts
		c.MaxRestarts = &v
	}
}
