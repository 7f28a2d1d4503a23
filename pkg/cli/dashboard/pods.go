package dashboard

import (
	"context"
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/release/moves"
)

// PodView is one pod of a release's CloneSet as the pod map shows it.
type PodView struct {
	Name string `json:"name"`
	// Batch is the index ("1", "2", ...) of the release's batch whose pods its status lists the pod in (a
	// blue/green release's green pods are batch 1's, the preview); "" for a pod the release did not bring
	// (the old version; blue). The status, which only the server writes, says it, not the pod's labels,
	// which whoever may create pods can copy.
	Batch string `json:"batch,omitempty"`
	// Revision is the CloneSet revision the pod runs (its controller-revision-hash label).
	Revision string `json:"revision,omitempty"`
	// Image is its first container's image.
	Image string `json:"image,omitempty"`
	Phase string `json:"phase,omitempty"`
	// Ready is true when its containers are ready (ContainersReady).
	Ready bool `json:"ready"`
	// InTraffic is true when the pod is Ready, so that Services send it requests; a pod whose release has
	// not pulled it in is not.
	InTraffic bool `json:"inTraffic"`
	// Failing is true when the release's controller counts the pod failing (a container cannot start or
	// keeps crashing, restarts while the pod is not Ready, or the pod has failed); Why says how.
	Failing  bool   `json:"failing,omitempty"`
	Why      string `json:"why,omitempty"`
	Restarts int32  `json:"restarts"`
	// Leaving is true for a pod on its way out (deleted, waiting for its grace period or a hook).
	Leaving bool `json:"leaving,omitempty"`
}

// PodMap is the pods of a release's CloneSet, or why they could not be read.
type PodMap struct {
	Pods []PodView `json:"pods"`
	// Truncated is true when the CloneSet has more than podsMost pods, or the namespace more than
	// podsScanPages pages of pods: the first ones found are shown.
	Truncated bool `json:"truncated,omitempty"`
	// Error says why the pods could not be read (the user may not list pods in the namespace): the page
	// then shows the batches' pods from the release's status.
	Error string `json:"error,omitempty"`
}

// podsMost is the most pods a pod map shows; podsScanPages the most pages of the namespace's pods it
// reads to find them, so that a view of a release in a namespace of many pods costs the API server at
// most that many lists each time it is read.
const (
	podsMost      = 1000
	podsScanPages = 10
)

// podMap lists the pods of r's CloneSet (those it controls: controlledBy), page by page, with the user's credentials.
// A list the API refuses is the map's Error, not the view's: the rest of the view stands.
func podMap(ctx context.Context, pods corev1client.PodsGetter, r *v1alpha1.Release) PodMap {
	m := PodMap{Pods: []PodView{}}
	if pods == nil {
		m.Error = "the dashboard does not read pods"
		return m
	}
	batchOf := map[string]string{}
	for _, b := range r.Status.Batches {
		for _, p := range b.Pods {
			if _, seen := batchOf[p.Name]; !seen {
				batchOf[p.Name] = strconv.Itoa(int(b.Index))
			}
		}
	}
	opts := metav1.ListOptions{Limit: listPage}
	for page := 1; ; page++ {
		list, err := pods.Pods(r.Namespace).List(ctx, opts)
		if err != nil {
			m.Error = cleanLine(fmt.Sprintf("the pods could not be listed: %v", err))
			return m
		}
		for i := range list.Items {
			p := &list.Items[i]
			if !controlledBy(p, r) {
				continue
			}
			if len(m.Pods) == podsMost {
				m.Truncated = true
				return m
			}
			m.Pods = append(m.Pods, podView(p, batchOf[p.Name]))
		}
		if list.Continue == "" {
			return m
		}
		if page == podsScanPages {
			m.Truncated = true
			return m
		}
		opts.Continue = list.Continue
	}
}

// controlledBy says whether r's CloneSet controls p: a CloneSet of its name and, once the release has
// recorded it, of its UID. A CloneSet deleted and made again under the name is another one (the release
// writes nothing to it), and so is an ownerReference made up by whoever may create pods.
func controlledBy(p *corev1.Pod, r *v1alpha1.Release) bool {
	ref := metav1.GetControllerOfNoCopy(p)
	if ref == nil || ref.Kind != "CloneSet" || ref.Name != r.Spec.CloneSetName ||
		(ref.APIVersion != "apps.kruise.io/v1alpha1" && ref.APIVersion != "apps.kruise.io/v1beta1") {
		return false
	}
	cs := r.Status.CloneSet
	return cs == nil || cs.UID == "" || ref.UID == cs.UID
}

// podView is p as the pod map shows it, in batch ("" for none).
func podView(p *corev1.Pod, batch string) PodView {
	v := PodView{
		Name:      p.Name,
		Batch:     batch,
		Revision:  cleanLine(p.Labels["controller-revision-hash"]),
		Phase:     string(p.Status.Phase),
		Ready:     moves.Condition(p, corev1.ContainersReady),
		InTraffic: moves.Condition(p, corev1.PodReady) && p.DeletionTimestamp == nil,
		Leaving:   p.DeletionTimestamp != nil,
	}
	if len(p.Spec.Containers) > 0 {
		v.Image = cleanLine(p.Spec.Containers[0].Image)
	}
	// Failing as the controller counts a batch's pods failing (moves.Failure), so that the page and the
	// release's Failed condition agree.
	if why := moves.Failure(p); why != "" {
		if p.Status.Phase == corev1.PodFailed && p.Status.Reason != "" {
			why += ": " + p.Status.Reason
		}
		v.Failing, v.Why = true, cleanLine(why)
	}
	for _, c := range p.Status.ContainerStatuses {
		v.Restarts += c.RestartCount
	}
	return v
}
