package podhealth

import (
	"fmt"
	"math"
	"strings"
)

// Usage is the mean CPU and memory of a pod of a group, from the metrics API.
type Usage struct {
	// Pods is how many of the group's pods the metrics API had samples of.
	Pods int
	// CPUMilli is the mean CPU of those pods, in millicores.
	CPUMilli float64
	// MemoryBytes is their mean memory (working set), in bytes.
	MemoryBytes float64
}

// Limits are a podHealth check's bounds.
type Limits struct {
	// MaxRestarts is the restarts, and the readiness losses, a pod of the batch may have beyond the
	// others' mean per pod, rounded up.
	MaxRestarts int32
	// MaxRatio is the most CPU, and memory, the batch's pods may use on average as a multiple of the
	// others'; 0: CPU and memory are shown, not judged.
	MaxRatio float64
}

// Input is what a podHealth measurement saw.
type Input struct {
	// Batch and Others are the batch's pods and the CloneSet's pods not in the release.
	Batch, Others []Counts
	// BatchUsage and OthersUsage are their CPU and memory, unless UsageSkipped says why not.
	BatchUsage, OthersUsage Usage
	// UsageSkipped says why CPU and memory were not read (the metrics API is not served, say); "" when
	// they were.
	UsageSkipped string
}

// Result is a podHealth measurement.
type Result struct {
	// MostRestarts is the most restarts of one pod of the batch: a successCondition's result.
	MostRestarts int32
	// Failed says why the measurement fails; "" when it passes.
	Failed string
	// Summary is what was compared, for people: the batch against the others.
	Summary string
}

// Judge weighs in against limits.
func Judge(in Input, limits Limits) Result {
	var failed []string
	restarts, readiness := mostOf(in.Batch)
	othersRestarts, othersReadiness := meanOf(in.Others)

	allowed := limits.MaxRestarts + int32(math.Ceil(othersRestarts))
	if restarts.Restarts > allowed {
		failed = append(failed, fmt.Sprintf("pod %s restarted %d times in traffic; at most %d (maxRestarts %d, the others %s a pod)",
			restarts.Pod, restarts.Restarts, allowed, limits.MaxRestarts, decimal(othersRestarts)))
	}
	allowed = limits.MaxRestarts + int32(math.Ceil(othersReadiness))
	if readiness.ReadinessLosses > allowed {
		failed = append(failed, fmt.Sprintf("pod %s lost its readiness %d times in traffic; at most %d (maxRestarts %d, the others %s a pod)",
			readiness.Pod, readiness.ReadinessLosses, allowed, limits.MaxRestarts, decimal(othersReadiness)))
	}
	summary := []string{
		fmt.Sprintf("restarts %d (others %s a pod)", restarts.Restarts, decimal(othersRestarts)),
		fmt.Sprintf("readiness lost %d (others %s a pod)", readiness.ReadinessLosses, decimal(othersReadiness)),
	}

	usage, usageFailed := judgeUsage(in, limits.MaxRatio)
	summary = append(summary, usage)
	failed = append(failed, usageFailed...)
	return Result{MostRestarts: restarts.Restarts, Failed: strings.Join(failed, "; "), Summary: strings.Join(summary, ", ")}
}

// judgeUsage compares the batch's CPU and memory with the others'.
func judgeUsage(in Input, maxRatio float64) (summary string, failed []string) {
	switch {
	case in.UsageSkipped != "":
		return "cpu and memory not compared: " + in.UsageSkipped, nil
	case len(in.Others) == 0:
		return "cpu and memory not compared: no pod of the CloneSet is outside the release", nil
	case in.BatchUsage.Pods == 0:
		return "cpu and memory not compared: no metrics of the batch's pods yet", nil
	case in.OthersUsage.Pods == 0:
		return "cpu and memory not compared: no metrics of the other pods", nil
	}
	var parts []string
	for _, r := range []struct {
		name          string
		batch, others float64
		unit          func(float64) string
	}{
		{"cpu", in.BatchUsage.CPUMilli, in.OthersUsage.CPUMilli, func(v float64) string { return fmt.Sprintf("%.0fm", v) }},
		{"memory", in.BatchUsage.MemoryBytes, in.OthersUsage.MemoryBytes, func(v float64) string { return fmt.Sprintf("%.1fMi", v/(1<<20)) }},
	} {
		if r.others <= 0 {
			parts = append(parts, fmt.Sprintf("%s not compared: the others use none", r.name))
			continue
		}
		ratio := r.batch / r.others
		parts = append(parts, fmt.Sprintf("%s %sx (%s against %s a pod)", r.name, decimal(ratio), r.unit(r.batch), r.unit(r.others)))
		if maxRatio > 0 && ratio > maxRatio {
			failed = append(failed, fmt.Sprintf("the batch's pods use %sx the others' %s (%s against %s a pod); at most %sx",
				decimal(ratio), r.name, r.unit(r.batch), r.unit(r.others), decimal(maxRatio)))
		}
	}
	return strings.Join(parts, ", "), failed
}

// mostOf is the pod of pods with the most restarts, and the one with the most readiness losses (the first
// by name of those with as many).
func mostOf(pods []Counts) (restarts, readiness Counts) {
	for i, p := range pods {
		if i == 0 || p.Restarts > restarts.Restarts || (p.Restarts == restarts.Restarts && p.Pod < restarts.Pod) {
			restarts = p
		}
		if i == 0 || p.ReadinessLosses > readiness.ReadinessLosses || (p.ReadinessLosses == readiness.ReadinessLosses && p.Pod < readiness.Pod) {
			readiness = p
		}
	}
	return restarts, readiness
}

// meanOf is the mean restarts and readiness losses of a pod of pods; 0 for none.
func meanOf(pods []Counts) (restarts, readiness float64) {
	if len(pods) == 0 {
		return 0, 0
	}
	for _, p := range pods {
		restarts += float64(p.Restarts)
		readiness += float64(p.ReadinessLosses)
	}
	return restarts / float64(len(pods)), readiness / float64(len(pods))
}

// decimal is v with at most two decimals and no trailing zeros.
func decimal(v float64) string {
	s := fmt.Sprintf("%.2f", v)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}
