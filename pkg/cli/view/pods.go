package view

import (
	"fmt"
	"io"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

// MaxListedPods is how many pods a release lists in its status, all batches together (the controller's
// limit: the status is stored in etcd and must not grow with the CloneSet).
const MaxListedPods = 500

// Pods writes the pods of the release's batches as its status lists them, one a line: the batch, the
// pod, the version it runs, its phase, whether it is Ready, whether it is in traffic, and whether it is
// failing and why. Everything comes from the release's status; nothing else is read:
//   - VERSION is the release's: the image of its template (Create, Update; name=image for each
//     container when there are several), else the CloneSet's update revision. A pod is listed in a batch
//     only while it is at the release's revision, so that is what it runs.
//   - IN TRAFFIC is the pod's readiness gate apps.triton.io/ready; n/a for a release with noPullIn, whose
//     pods have no gate and get traffic when they are Ready.
//   - FAILING is "the pod failed" for a pod in phase Failed, and for a pod the release's Failed condition
//     names (the controller names at most three failing pods there), what it says of that pod; else "-".
func Pods(w io.Writer, r *v1alpha1.Release, o Options) error {
	head := []line{textLine(Summary(r)), phaseLine(r), nil}
	failing := failingPods(r)
	version := podVersion(r)
	rows := [][]span{{plain("BATCH"), plain("POD"), plain("VERSION"), plain("PHASE"), plain("READY"), plain("IN TRAFFIC"), plain("FAILING")}}
	focus, listed := -1, 0
	for i := range r.Status.Batches {
		b := &r.Status.Batches[i]
		for _, p := range b.Pods {
			if focus < 0 && b.Index >= r.Status.CurrentBatch {
				focus = listed
			}
			listed++
			phase := p.Phase
			if phase == "" {
				phase = "-"
			}
			traffic := styled("n/a", StylePlain)
			if !r.Spec.Strategy.NoPullIn {
				traffic = yesNo(p.PulledIn)
			}
			why := plain("-")
			if p.Phase == corev1.PodFailed {
				why = styled("the pod failed", StyleFailed)
			} else if reason, ok := failing[p.Name]; ok {
				why = styled(Printable(reason), StyleFailed)
			}
			rows = append(rows, []span{plain(batchName(r, b)), plain(Printable(p.Name)), plain(version),
				styled(Printable(string(phase)), podPhaseStyle(phase)), yesNo(p.Ready), traffic, why})
		}
	}
	var tail []line
	switch {
	case listed == 0:
		tail = append(tail, textLine("No pods listed: the release has brought none up yet, or they are gone."))
	case listed >= MaxListedPods:
		tail = append(tail, nil, textLine(fmt.Sprintf("The release lists at most %d pods in its status: there may be more.", MaxListedPods)))
	}
	var lines []line
	if listed == 0 {
		lines = concat(head, tail)
	} else {
		t := table(rows)
		lines = fit(head, t[0], t[1:], tail, max(focus, 0), "pods", o.Height)
	}
	return write(w, lines, o)
}

func yesNo(ok bool) span {
	if ok {
		return styled("yes", StyleDone)
	}
	return styled("no", StyleWaiting)
}

func podPhaseStyle(p corev1.PodPhase) Style {
	switch p {
	case corev1.PodRunning, corev1.PodSucceeded:
		return StyleDone
	case corev1.PodPending:
		return StyleWaiting
	case corev1.PodFailed:
		return StyleFailed
	}
	return StylePlain
}

// podVersion is what every pod of the release runs: its template's images, else its revision; "-" when
// the status does not say yet.
func podVersion(r *v1alpha1.Release) string {
	if t := r.Spec.Template; t != nil && len(t.Spec.Containers) > 0 {
		if cs := t.Spec.Containers; len(cs) == 1 {
			return Printable(cs[0].Image)
		}
		var images []string
		for _, c := range t.Spec.Containers {
			images = append(images, Printable(c.Name)+"="+Printable(c.Image))
		}
		return strings.Join(images, ",")
	}
	if cs := r.Status.CloneSet; cs != nil && cs.UpdateRevision != "" {
		return Printable(cs.UpdateRevision)
	}
	return "-"
}

// failingPods reads, from the release's Failed condition, why each pod it names is failing. The
// controller words a failed batch as "batch 2: 2 failing pods, 0 tolerated: nginx-a: container nginx:
// CrashLoopBackOff; nginx-b: the pod failed; and 3 more": after "tolerated: ", "pod: why" for at most three
// pods, separated by "; ". Pod names have no ": " or "; " in them.
func failingPods(r *v1alpha1.Release) map[string]string {
	c := meta.FindStatusCondition(r.Status.Conditions, v1alpha1.ConditionFailed)
	if c == nil || c.Status != metav1.ConditionTrue {
		return nil
	}
	_, list, ok := strings.Cut(c.Message, " tolerated: ")
	if !ok {
		return nil
	}
	out := map[string]string{}
	for _, item := range strings.Split(list, "; ") {
		if name, why, ok := strings.Cut(item, ": "); ok && name != "" {
			out[name] = why
		}
	}
	return out
}
