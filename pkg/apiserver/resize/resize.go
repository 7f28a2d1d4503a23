package resize

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	kruiseclient "github.com/openkruise/kruise-api/client/clientset/versioned"
	admissionv1 "k8s.io/api/admission/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	"k8s.io/klog/v2"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/release/plan"
	"github.com/triton-io/triton/pkg/storagegate"
)

// Path is where the webhook is served.
const Path = "/admission/cloneset-resize"

// maxReviewBytes bounds an AdmissionReview: a CloneSet is an etcd object (at most 1.5 MiB), and a review
// carries it twice.
const maxReviewBytes = 4 << 20

// ReleaseGetter reads a release from triton's storage; a release that does not exist is (nil, nil).
type ReleaseGetter func(ctx context.Context, namespace, name string) (*releases.Release, error)

// ErrStoreUnavailable is what a gated ReleaseGetter answers while the storage gate is closed.
var ErrStoreUnavailable = errors.New("the release store (etcd) does not answer")

// Gated is get that fails at once, without reading, while gate is closed (etcd did not answer its last
// probes): a review waits for no storage timeout. A nil gate is always open.
func Gated(gate *storagegate.Gate, get ReleaseGetter) ReleaseGetter {
	return func(ctx context.Context, namespace, name string) (*releases.Release, error) {
		if gate != nil {
			if closed, since, _ := gate.Closed(); closed {
				return nil, fmt.Errorf("%w (not since %s)", ErrStoreUnavailable, since.UTC().Format(time.RFC3339))
			}
		}
		return get(ctx, namespace, name)
	}
}

// CloneSetCache is the server's informer cache of CloneSets (pkg/release/caches, the controller's).
type CloneSetCache interface {
	// HasSynced reports whether the cache has listed the CloneSets there are.
	HasSynced() bool
	// Get is the cached CloneSet, nil if the cache holds none; it must not be changed.
	Get(namespace, name string) (*kruiseappsv1alpha1.CloneSet, error)
}

// InformerCache is a CloneSetCache on an informer of CloneSets.
func InformerCache(informer cache.SharedIndexInformer) CloneSetCache { return informerCache{informer} }

type informerCache struct{ informer cache.SharedIndexInformer }

func (c informerCache) HasSynced() bool { return c.informer.HasSynced() }

func (c informerCache) Get(namespace, name string) (*kruiseappsv1alpha1.CloneSet, error) {
	obj, exists, err := c.informer.GetIndexer().GetByKey(namespace + "/" + name)
	if err != nil || !exists {
		return nil, err
	}
	cs, _ := obj.(*kruiseappsv1alpha1.CloneSet)
	return cs, nil
}

// Webhook serves the admission reviews.
type Webhook struct {
	Releases ReleaseGetter
	// CloneSets is where a scale review reads its CloneSet first; nil, or until it has synced, the
	// CloneSet is read from kube-apiserver with Kruise.
	CloneSets CloneSetCache
	// Kruise is the webhook's own client (its own rate limiter: see NewClients), for the partition it
	// raises and the reads the cache cannot answer.
	Kruise kruiseclient.Interface
	// Authorizer decides whether the authenticated caller may post reviews: a non-resource "post" on Path,
	// which kube-apiserver's identity for webhooks is granted (artifacts/deploy/webhook-rbac.yaml). The
	// server's handler chain decides the same before the request gets here; this is the webhook's own
	// check, so that no configuration of the chain makes it act for anyone else. Nil refuses everyone.
	Authorizer authorizer.Authorizer
}

// Caller is the identity the deploy manifests grant reviews to; an administrator has kube-apiserver
// present it to the webhook (README: the resize webhook's caller).
const Caller = "triton-webhook-caller"

// authorized answers 401 or 403, and false, unless the request comes from a caller who may post reviews.
// Neither answer says anything about releases or CloneSets.
func (h *Webhook) authorized(w http.ResponseWriter, req *http.Request) bool {
	u, ok := genericapirequest.UserFrom(req.Context())
	if !ok || u == nil || u.GetName() == "" || u.GetName() == user.Anonymous ||
		slices.Contains(u.GetGroups(), user.AllUnauthenticated) {
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
		return false
	}
	if h.Authorizer == nil {
		http.Error(w, "Forbidden", http.StatusForbidden)
		return false
	}
	decision, _, err := h.Authorizer.Authorize(req.Context(), authorizer.AttributesRecord{
		User: u, Verb: "post", Path: Path, ResourceRequest: false})
	if decision != authorizer.DecisionAllow {
		if err != nil {
			klog.V(2).InfoS("Refused a resize review: authorization failed", "user", u.GetName(), "err", err)
		}
		http.Error(w, "Forbidden", http.StatusForbidden)
		return false
	}
	return true
}

func (h *Webhook) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	// Before anything is read: an unauthenticated or unauthorized caller learns nothing and costs nothing.
	if !h.authorized(w, req) {
		return
	}
	if req.Method != http.MethodPost {
		http.Error(w, "POST an admission.k8s.io/v1 AdmissionReview", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxReviewBytes))
	if err != nil {
		http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	var review admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &review); err != nil || review.Request == nil {
		http.Error(w, "not an admission.k8s.io/v1 AdmissionReview", http.StatusBadRequest)
		return
	}
	resp := h.Review(req.Context(), review.Request)
	resp.UID = review.Request.UID
	out := admissionv1.AdmissionReview{TypeMeta: review.TypeMeta, Response: resp}
	if out.APIVersion == "" {
		out.APIVersion, out.Kind = "admission.k8s.io/v1", "AdmissionReview"
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// Review answers one admission request.
func (h *Webhook) Review(ctx context.Context, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	allowed := &admissionv1.AdmissionResponse{Allowed: true}
	if req.Operation != admissionv1.Update || req.Resource.Group != kruiseappsv1alpha1.GroupVersion.Group ||
		req.Resource.Resource != "clonesets" {
		return allowed
	}
	if req.DryRun != nil && *req.DryRun {
		// A dry run stores nothing, and the server's own dry runs answer for a release state that is not
		// stored either (a dry-run cancel): the stored release's floor would be the wrong one.
		return allowed
	}
	var err error
	var resp *admissionv1.AdmissionResponse
	switch req.SubResource {
	case "":
		resp, err = h.cloneSet(ctx, req)
	case "scale":
		resp, err = h.scale(ctx, req)
	default:
		return allowed
	}
	if err != nil {
		// The partition could not be made right: refuse rather than let kruise update pods beyond what
		// the release approved. The caller (an HPA too) tries again.
		klog.ErrorS(err, "Refused a CloneSet resize", "cloneSet", klog.KRef(req.Namespace, req.Name))
		status := &metav1.Status{Status: metav1.StatusFailure, Code: http.StatusConflict, Reason: metav1.StatusReasonConflict,
			Message: fmt.Sprintf("a release holds CloneSet %s and could not count the new replicas in: %v", req.Name, err)}
		if errors.Is(err, ErrStoreUnavailable) {
			status.Code, status.Reason = http.StatusServiceUnavailable, metav1.StatusReasonServiceUnavailable
		}
		return &admissionv1.AdmissionResponse{Result: status}
	}
	return resp
}

// floor is the partition the CloneSet named in the annotations needs at replicas, if a release holds it.
func (h *Webhook) floor(ctx context.Context, namespace string, annotations map[string]string, replicas int32) (int32, bool, error) {
	owner := annotations[v1alpha1.OwnerAnnotation]
	if owner == "" {
		return 0, false, nil
	}
	r, err := h.Releases(ctx, namespace, owner)
	if err != nil || r == nil {
		return 0, false, err
	}
	p, ok := plan.FloorPartition(r, replicas)
	return p, ok, nil
}

// cloneSet raises, in the same write, the partition of an update that would leave it below the floor.
func (h *Webhook) cloneSet(ctx context.Context, req *admissionv1.AdmissionRequest) (*admissionv1.AdmissionResponse, error) {
	var cs, old kruiseappsv1alpha1.CloneSet
	if err := json.Unmarshal(req.Object.Raw, &cs); err != nil {
		return nil, fmt.Errorf("decoding the CloneSet: %w", err)
	}
	if err := json.Unmarshal(req.OldObject.Raw, &old); err != nil {
		return nil, fmt.Errorf("decoding the CloneSet: %w", err)
	}
	// The release that held it before the write: an edit that also drops the annotation changes nothing
	// about which release's pods these are.
	annotations := old.Annotations
	if annotations[v1alpha1.OwnerAnnotation] == "" {
		annotations = cs.Annotations
	}
	floor, ok, err := h.floor(ctx, req.Namespace, annotations, replicasOf(&cs))
	if err != nil || !ok || partitionOf(&cs) >= floor {
		return &admissionv1.AdmissionResponse{Allowed: true}, err
	}
	var patch []map[string]interface{}
	if !hasUpdateStrategy(req.Object.Raw) {
		patch = []map[string]interface{}{{"op": "add", "path": "/spec/updateStrategy", "value": map[string]interface{}{"partition": floor}}}
	} else {
		patch = []map[string]interface{}{{"op": "add", "path": "/spec/updateStrategy/partition", "value": floor}}
	}
	raw, err := json.Marshal(patch)
	if err != nil {
		return nil, err
	}
	pt := admissionv1.PatchTypeJSONPatch
	return &admissionv1.AdmissionResponse{Allowed: true, Patch: raw, PatchType: &pt,
		Warnings: []string{fmt.Sprintf("release %s holds CloneSet %s: its partition is %d at %d replicas, so that no more pods than approved are updated",
			annotations[v1alpha1.OwnerAnnotation], cs.Name, floor, replicasOf(&cs))}}, nil
}

func hasUpdateStrategy(raw []byte) bool {
	var obj struct {
		Spec map[string]json.RawMessage `json:"spec"`
	}
	if json.Unmarshal(raw, &obj) != nil {
		return false
	}
	v, ok := obj.Spec["updateStrategy"]
	return ok && string(v) != "null"
}

// scale raises the CloneSet's partition before a scale-out through the scale subresource lands.
func (h *Webhook) scale(ctx context.Context, req *admissionv1.AdmissionRequest) (*admissionv1.AdmissionResponse, error) {
	var scale, old autoscalingv1.Scale
	if err := json.Unmarshal(req.Object.Raw, &scale); err != nil {
		return nil, fmt.Errorf("decoding the Scale: %w", err)
	}
	if err := json.Unmarshal(req.OldObject.Raw, &old); err != nil {
		return nil, fmt.Errorf("decoding the Scale: %w", err)
	}
	allowed := &admissionv1.AdmissionResponse{Allowed: true}
	if scale.Spec.Replicas <= old.Spec.Replicas {
		// A scale-in leaves the partition where it is (above the floor, which is safe) until the
		// controller lowers it.
		return allowed, nil
	}
	replicas := scale.Spec.Replicas
	// The first read is the cache's: a CloneSet no release holds is answered from it at once, with no
	// request to kube-apiserver. A patch refused for a stale resourceVersion reads live before it tries
	// again. (A cache a few milliseconds behind can also miss a partition the controller has just lowered;
	// a GET would miss the same lowering a moment later, before the scale lands: either way the controller
	// counts the stored replicas in and replaces pods beyond the approved, as when the webhook is not
	// called at all.)
	live := false
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cs, err := h.readCloneSet(ctx, req.Namespace, req.Name, live)
		live = true
		if err != nil || cs == nil || cs.Annotations[v1alpha1.OwnerAnnotation] == "" {
			return err
		}
		floor, ok, err := h.floor(ctx, req.Namespace, cs.Annotations, replicas)
		if err != nil || !ok || partitionOf(cs) >= floor {
			return err
		}
		// The CloneSet as read, and no other of its name (as every patch of the driver). The annotation
		// tells the controller that the partition counts the replicas asked for, which the CloneSet has
		// not got yet: without it, the controller would take the raise for drift and lower the partition
		// again before the scale lands (plan.PendingScaleOut).
		meta := map[string]interface{}{"resourceVersion": cs.ResourceVersion, "annotations": map[string]interface{}{
			v1alpha1.ScaleOutAnnotation: plan.ScaleOutValue(replicasOf(cs), replicas, time.Now())}}
		if cs.UID != "" {
			meta["uid"] = cs.UID
		}
		patch, err := json.Marshal(map[string]interface{}{
			"metadata": meta,
			"spec":     map[string]interface{}{"updateStrategy": map[string]interface{}{"partition": floor}},
		})
		if err != nil {
			return err
		}
		_, err = h.Kruise.AppsV1alpha1().CloneSets(req.Namespace).Patch(ctx, req.Name, types.MergePatchType, patch,
			metav1.PatchOptions{FieldManager: "triton-apiserver"})
		if err == nil {
			klog.InfoS("Raised a release's partition ahead of a scale-out", "cloneSet", klog.KObj(cs),
				"replicas", replicas, "partition", floor)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return allowed, nil
}

// readCloneSet is the CloneSet from the cache, or from kube-apiserver when live, when there is no cache or
// while it has not synced; nil when it does not exist.
func (h *Webhook) readCloneSet(ctx context.Context, namespace, name string, live bool) (*kruiseappsv1alpha1.CloneSet, error) {
	if !live && h.CloneSets != nil && h.CloneSets.HasSynced() {
		return h.CloneSets.Get(namespace, name)
	}
	cs, err := h.Kruise.AppsV1alpha1().CloneSets(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return cs, err
}

func replicasOf(cs *kruiseappsv1alpha1.CloneSet) int32 {
	if cs.Spec.Replicas == nil {
		return 1
	}
	return *cs.Spec.Replicas
}

// partitionOf is the CloneSet's partition as a count; a percentage counts as none (the release's partition
// is always a count).
func partitionOf(cs *kruiseappsv1alpha1.CloneSet) int32 {
	p := cs.Spec.UpdateStrategy.Partition
	if p == nil || p.Type != intstr.Int {
		return -1
	}
	return p.IntVal
}
