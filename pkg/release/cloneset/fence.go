package cloneset

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// A release's write of its CloneSet is derived from the CloneSet as read (often from the cache), and must
// not land on a CloneSet that changed in a way the write did not see: a person's edit of the spec, an HPA's
// scale, another writer's annotations (the owner, the intent stamp). A resourceVersion precondition fences
// all of that, but also every status write of kruise's, which come many a second while pods change: about
// four verbs in ten then paid a 409, a live read and a second write. The fence here tests exactly what the
// write was derived from, in the same JSON Patch as the write (kube-apiserver applies it atomically):
//
//   - metadata.uid: the same CloneSet, not one replaced under its name;
//   - metadata.generation: its spec, which kube-apiserver counts a change of (kruise's status writes do
//     not; a scale through the scale subresource does);
//   - metadata.labels and metadata.annotations, whole: the owner, the stamp, the hooks' record, the
//     pull-in label and everything else a release reads there.
//
// A failed test is a 409 Conflict, as a stale resourceVersion was: Apply reads live and tries again.

// jsonPatchOp is one operation of a JSON Patch (RFC 6902).
type jsonPatchOp struct {
	Op    string      `json:"op"`
	Path  string      `json:"path"`
	Value interface{} `json:"value,omitempty"`
}

// testOp is a test operation, whose value may be null (the member absent).
type testOp struct {
	Op    string      `json:"op"`
	Path  string      `json:"path"`
	Value interface{} `json:"value"`
}

// fencedPatch turns a JSON merge patch from cs (as read) into a JSON Patch that first tests what the
// write was derived from (see above), then makes the same changes. The merge patch's metadata.resourceVersion,
// if any, is dropped: the tests are the fence.
func fencedPatch(cs *kruiseappsv1alpha1.CloneSet, mergePatch []byte) ([]byte, error) {
	var patch map[string]interface{}
	if err := decodeJSON(mergePatch, &patch); err != nil {
		return nil, err
	}
	raw, err := json.Marshal(cs)
	if err != nil {
		return nil, err
	}
	var read map[string]interface{}
	if err := decodeJSON(raw, &read); err != nil {
		return nil, err
	}
	if meta, ok := patch["metadata"].(map[string]interface{}); ok {
		// What kube-apiserver keeps itself (a want derived from an older read may differ there).
		for _, k := range []string{"resourceVersion", "uid", "generation", "creationTimestamp", "managedFields"} {
			delete(meta, k)
		}
		if len(meta) == 0 {
			delete(patch, "metadata")
		}
	}
	ops := []interface{}{
		testOp{Op: "test", Path: "/metadata/uid", Value: orNil(string(cs.UID), cs.UID != "")},
		testOp{Op: "test", Path: "/metadata/generation", Value: orNil(cs.Generation, cs.Generation != 0)},
		testOp{Op: "test", Path: "/metadata/labels", Value: mapOrNil(cs.Labels)},
		testOp{Op: "test", Path: "/metadata/annotations", Value: mapOrNil(cs.Annotations)},
	}
	for _, op := range mergeOps("", read, patch) {
		ops = append(ops, op)
	}
	return json.Marshal(ops)
}

// mergeOps are the JSON Patch operations that make of doc what the merge patch makes of it: a null
// removes a member doc has, an object merges into an object doc has, anything else is added (replacing
// what doc has there). Members in a stable order.
func mergeOps(prefix string, doc map[string]interface{}, patch map[string]interface{}) []jsonPatchOp {
	keys := make([]string, 0, len(patch))
	for k := range patch {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var ops []jsonPatchOp
	for _, k := range keys {
		v := patch[k]
		path := prefix + "/" + pointerEscape(k)
		had, exists := doc[k]
		switch pv := v.(type) {
		case nil:
			if exists {
				ops = append(ops, jsonPatchOp{Op: "remove", Path: path})
			}
		case map[string]interface{}:
			if hm, ok := had.(map[string]interface{}); ok && exists {
				ops = append(ops, mergeOps(path, hm, pv)...)
				continue
			}
			ops = append(ops, jsonPatchOp{Op: "add", Path: path, Value: withoutNulls(pv)})
		default:
			ops = append(ops, jsonPatchOp{Op: "add", Path: path, Value: v})
		}
	}
	return ops
}

// withoutNulls is a merge patch's object as the value it makes where there was none: its nulls say
// "absent".
func withoutNulls(m map[string]interface{}) map[string]interface{} {
	out := make(map[string]interface{}, len(m))
	for k, v := range m {
		switch vv := v.(type) {
		case nil:
		case map[string]interface{}:
			out[k] = withoutNulls(vv)
		default:
			out[k] = v
		}
	}
	return out
}

// pointerEscape escapes a member name for a JSON Pointer (RFC 6901).
func pointerEscape(s string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}

// orNil is v, or nil (a test that the member is absent, as a zero value is in JSON) when not set.
func orNil(v interface{}, set bool) interface{} {
	if !set {
		return nil
	}
	return v
}

func mapOrNil(m map[string]string) interface{} {
	if len(m) == 0 {
		return nil
	}
	return m
}

func decodeJSON(raw []byte, into interface{}) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	return dec.Decode(into)
}

// fencedWrite sends a fenced JSON Patch (fencedPatch) to the CloneSet. A test that failed (the CloneSet
// changed in what the write was derived from, or was replaced) is a 409 Conflict.
func (d *Driver) fencedWrite(ctx context.Context, cs *kruiseappsv1alpha1.CloneSet, patch []byte, dryRun bool) (*kruiseappsv1alpha1.CloneSet, error) {
	opts := metav1.PatchOptions{FieldManager: "triton-apiserver"}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	} else {
		answerCue(ctx)
	}
	out, err := d.Kruise.AppsV1alpha1().CloneSets(cs.Namespace).Patch(ctx, cs.Name, types.JSONPatchType, patch, opts)
	if fenceFailed(err) {
		err = apierrors.NewConflict(kruiseappsv1alpha1.SchemeGroupVersion.WithResource("clonesets").GroupResource(), cs.Name,
			fmt.Errorf("CloneSet %s/%s changed since it was read: %v", cs.Namespace, cs.Name, err))
	}
	if apierrors.IsConflict(err) && d.OnConflict != nil {
		d.OnConflict()
	}
	return out, err
}

// fenceFailed reports whether kube-apiserver refused a fenced JSON Patch because an operation of it did
// not apply: a test that failed, or a path that the CloneSet as read had and the CloneSet as stored has
// not. kube-apiserver answers that with a 422 that says nothing more (NewGenericServerResponse drops the
// reason): its generic message and no causes, unlike a validation error (which names its fields).
func fenceFailed(err error) bool {
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return false
	}
	s := status.Status()
	return s.Code == http.StatusUnprocessableEntity && s.Message == patchNotApplied &&
		(s.Details == nil || len(s.Details.Causes) == 0)
}

// patchNotApplied is kube-apiserver's message for a JSON Patch one of whose operations did not apply.
var patchNotApplied = apierrors.NewGenericServerResponse(http.StatusUnprocessableEntity, "", schema.GroupResource{}, "", "", 0, false).ErrStatus.Message
