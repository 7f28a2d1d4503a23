package cloneset

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/triton-io/triton/pkg/apis/releases"
	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

// A release is pinned to the CloneSet it was admitted for by that CloneSet's UID (status.cloneSet.uid):
// every write the driver makes to a CloneSet for a release checks it first, and carries it in the patch
// (metadata.uid is immutable, so kube-apiserver refuses a patch whose uid is not the object's: a CloneSet
// replaced between the read and the write is never written either).

var (
	// ErrCloneSetReplaced: the CloneSet of the release's name is not the one it was admitted for (that one
	// was deleted, and another made with the same name). Nothing was written to it.
	ErrCloneSetReplaced = errors.New("the CloneSet was replaced")
	// ErrCloneSetGone: the CloneSet the release was admitted for no longer exists. Nothing was written.
	ErrCloneSetGone = errors.New("the CloneSet is gone")
	// ErrRevisionGone: a ControllerRevision the release needs (the one from before it, or a Rollback's)
	// no longer exists, or belongs to another CloneSet than the release's.
	ErrRevisionGone = errors.New("the revision is gone")
)

// LostError says which CloneSet a release lost and what is there now. It is ErrCloneSetReplaced or
// ErrCloneSetGone for errors.Is.
type LostError struct {
	Namespace, Name string
	// Pinned is the UID the release was admitted for; Found the UID of the CloneSet of that name now
	// (empty when there is none).
	Pinned, Found types.UID
}

func (e *LostError) Error() string {
	if e.Found == "" {
		return fmt.Sprintf("CloneSet %s/%s (uid %s), the one this release was admitted for, was deleted", e.Namespace, e.Name, e.Pinned)
	}
	return fmt.Sprintf("CloneSet %s/%s was replaced: this release was admitted for uid %s, and the CloneSet of that name now has uid %s",
		e.Namespace, e.Name, e.Pinned, e.Found)
}

// Is makes errors.Is match ErrCloneSetReplaced or ErrCloneSetGone.
func (e *LostError) Is(target error) bool {
	if e.Found == "" {
		return target == ErrCloneSetGone
	}
	return target == ErrCloneSetReplaced
}

// Reason is the condition reason the release is ended with: releases.ReasonCloneSetGone or
// ReasonCloneSetReplaced.
func (e *LostError) Reason() string {
	if e.Found == "" {
		return releases.ReasonCloneSetGone
	}
	return releases.ReasonCloneSetReplaced
}

// PinnedUID is the UID of the CloneSet the release drives, or empty when none is recorded yet (a Create
// release that has not created its CloneSet, or a release admitted before UIDs were recorded).
func PinnedUID(r *releases.Release) types.UID {
	if r.Status.CloneSet == nil {
		return ""
	}
	return r.Status.CloneSet.UID
}

// Pinned checks that cs (as read, nil when there is none) is the CloneSet the release was admitted for. It
// returns a *LostError when the release has a UID recorded and cs is absent or has another UID.
func Pinned(r *releases.Release, cs *kruiseappsv1alpha1.CloneSet) error {
	pinned := PinnedUID(r)
	switch {
	case pinned == "":
		return nil
	case cs == nil:
		return &LostError{Namespace: r.Namespace, Name: r.Spec.CloneSetName, Pinned: pinned}
	case cs.UID != pinned:
		return &LostError{Namespace: r.Namespace, Name: r.Spec.CloneSetName, Pinned: pinned, Found: cs.UID}
	}
	return nil
}

// ownerUID is the UID of the CloneSet whose revisions a release may read: the one it was admitted for, or
// (none recorded yet) the CloneSet as read.
func ownerUID(r *releases.Release, cs *kruiseappsv1alpha1.CloneSet) types.UID {
	if pinned := PinnedUID(r); pinned != "" {
		return pinned
	}
	if cs != nil {
		return cs.UID
	}
	return ""
}

// ownedRevision checks that rev is not another CloneSet's than the one with UID owner: its controller
// reference, when it has one, names owner. No owner (not known) takes any; so does a revision no CloneSet
// controls (orphaned, waiting to be adopted: its name is the hash of the template it keeps, which is the
// template that name was recorded for).
func ownedRevision(rev *appsv1.ControllerRevision, owner types.UID) error {
	if owner == "" {
		return nil
	}
	if ref := metav1.GetControllerOf(rev); ref != nil && ref.UID != owner {
		return fmt.Errorf("revision %s: %w: it belongs to CloneSet %s (uid %s), not to uid %s", rev.Name, ErrRevisionGone, ref.Name, ref.UID, owner)
	}
	return nil
}

// revisionGone makes a revision that is not found ErrRevisionGone.
func revisionGone(name string, err error) error {
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("revision %s: %w: %w", name, ErrRevisionGone, err)
	}
	return fmt.Errorf("revision %s: %w", name, err)
}

// withUID adds metadata.uid = uid to a JSON merge patch (numbers kept as written): a precondition, since
// kube-apiserver refuses to change an object's uid. An empty uid (an object a fake clientset made) adds
// nothing.
func withUID(patch []byte, uid types.UID) ([]byte, error) {
	if uid == "" {
		return patch, nil
	}
	p, err := jsonObject(patch)
	if err != nil {
		return nil, err
	}
	meta, _ := p["metadata"].(map[string]interface{})
	if meta == nil {
		meta = map[string]interface{}{}
		p["metadata"] = meta
	}
	meta["uid"] = string(uid)
	return json.Marshal(p)
}

// uidRefused reports whether kube-apiserver refused a CloneSet patch for its metadata.uid: the CloneSet
// was replaced after it was read (uid is immutable).
func uidRefused(err error) bool {
	if !apierrors.IsInvalid(err) {
		return false
	}
	var status apierrors.APIStatus
	if !errors.As(err, &status) || status.Status().Details == nil {
		return false
	}
	for _, cause := range status.Status().Details.Causes {
		if cause.Field == "metadata.uid" {
			return true
		}
	}
	return false
}

// dropOwner takes the owner annotation off cs, and nothing else: a finished release named there that may
// not write the CloneSet otherwise (a stale name, see Apply) lets go of it so that a new release can take
// it. The patch carries cs's resourceVersion and uid as read.
func (d *Driver) dropOwner(ctx context.Context, cs *kruiseappsv1alpha1.CloneSet) (*kruiseappsv1alpha1.CloneSet, error) {
	raw, err := json.Marshal(map[string]interface{}{"metadata": map[string]interface{}{
		"resourceVersion": cs.ResourceVersion,
		"annotations":     map[string]interface{}{v1alpha1.OwnerAnnotation: nil},
	}})
	if err != nil {
		return nil, err
	}
	return d.patch(ctx, cs, raw, false)
}

// CheckPinned reads the release's CloneSet (nil when there is none) and checks that it is the one the
// release was admitted for: a *LostError (ErrCloneSetReplaced, ErrCloneSetGone) when not. A cached read
// that says so is confirmed live: a cache behind may not have seen the CloneSet yet, or may still show the
// one before it.
func (d *Driver) CheckPinned(ctx context.Context, r *releases.Release) (*kruiseappsv1alpha1.CloneSet, error) {
	cs, err := d.read().CloneSet(ctx, r.Namespace, r.Spec.CloneSetName)
	if err != nil {
		return nil, err
	}
	if Pinned(r, cs) != nil && d.Cache != nil {
		if cs, err = d.Live().CloneSet(ctx, r.Namespace, r.Spec.CloneSetName); err != nil {
			return nil, err
		}
	}
	return cs, Pinned(r, cs)
}

// LetGoOfName takes the owner annotation off cs when it names the release r, and writes nothing else: what a
// release that lost its CloneSet (or finished) may still do to the CloneSet of its name, so that no new
// release of it is held up by a name that will never let go.
func (d *Driver) LetGoOfName(ctx context.Context, r *releases.Release, cs *kruiseappsv1alpha1.CloneSet) (*kruiseappsv1alpha1.CloneSet, error) {
	if cs == nil || cs.Annotations[v1alpha1.OwnerAnnotation] != r.Name {
		return cs, nil
	}
	return d.dropOwner(ctx, cs)
}
