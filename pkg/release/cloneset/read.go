package cloneset

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	kruiseclient "github.com/openkruise/kruise-api/client/clientset/versioned"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Reader reads what a release acts on. Live asks kube-apiserver every time; the server's caches
// (package caches) answer from informers. What a Reader returns belongs to the caller.
type Reader interface {
	// CloneSet returns the CloneSet, or nil when it does not exist.
	CloneSet(ctx context.Context, namespace, name string) (*kruiseappsv1alpha1.CloneSet, error)
	// Pods returns the pods the CloneSet's selector matches and it controls.
	Pods(ctx context.Context, cs *kruiseappsv1alpha1.CloneSet) ([]corev1.Pod, error)
	// Revisions returns the CloneSet's ControllerRevisions, oldest first.
	Revisions(ctx context.Context, cs *kruiseappsv1alpha1.CloneSet) ([]appsv1.ControllerRevision, error)
	// Revision returns one ControllerRevision by name (a NotFound error when there is none).
	Revision(ctx context.Context, namespace, name string) (*appsv1.ControllerRevision, error)
}

// Live reads from kube-apiserver.
type Live struct {
	Kruise kruiseclient.Interface
	Kube   kubernetes.Interface
}

var _ Reader = Live{}

// CloneSet implements Reader.
func (l Live) CloneSet(ctx context.Context, namespace, name string) (*kruiseappsv1alpha1.CloneSet, error) {
	cs, err := l.Kruise.AppsV1alpha1().CloneSets(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return cs, err
}

// Pods implements Reader.
func (l Live) Pods(ctx context.Context, cs *kruiseappsv1alpha1.CloneSet) ([]corev1.Pod, error) {
	selector, err := metav1.LabelSelectorAsSelector(cs.Spec.Selector)
	if err != nil {
		return nil, err
	}
	list, err := l.Kube.CoreV1().Pods(cs.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
	if err != nil {
		return nil, err
	}
	return ControlledBy(cs, list.Items), nil
}

// Revisions implements Reader.
func (l Live) Revisions(ctx context.Context, cs *kruiseappsv1alpha1.CloneSet) ([]appsv1.ControllerRevision, error) {
	selector, err := metav1.LabelSelectorAsSelector(cs.Spec.Selector)
	if err != nil {
		return nil, err
	}
	list, err := l.Kube.AppsV1().ControllerRevisions(cs.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
	if err != nil {
		return nil, err
	}
	return OwnedRevisions(cs, list.Items), nil
}

// Revision implements Reader.
func (l Live) Revision(ctx context.Context, namespace, name string) (*appsv1.ControllerRevision, error) {
	return l.Kube.AppsV1().ControllerRevisions(namespace).Get(ctx, name, metav1.GetOptions{})
}

// OwnedRevisions keeps the revisions whose controller is cs, oldest first.
func OwnedRevisions(cs *kruiseappsv1alpha1.CloneSet, revisions []appsv1.ControllerRevision) []appsv1.ControllerRevision {
	var owned []appsv1.ControllerRevision
	for _, rev := range revisions {
		if ref := metav1.GetControllerOf(&rev); ref != nil && ref.UID == cs.UID {
			owned = append(owned, rev)
		}
	}
	sort.Slice(owned, func(i, j int) bool { return owned[i].Revision < owned[j].Revision })
	return owned
}

// RevisionTemplate decodes the pod template kept in a CloneSet's ControllerRevision.
func RevisionTemplate(rev *appsv1.ControllerRevision) (*corev1.PodTemplateSpec, error) {
	var data struct {
		Spec struct {
			Template corev1.PodTemplateSpec `json:"template"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(rev.Data.Raw, &data); err != nil {
		return nil, fmt.Errorf("revision %s: %w", rev.Name, err)
	}
	return &data.Spec.Template, nil
}

// revisionTemplateJSON decodes the pod template kept in a CloneSet's ControllerRevision as JSON, with every
// field it has (numbers as written): RevisionTemplate's typed structs drop the pod and container fields of a
// Kubernetes newer than k8s.io/api's, and a template written from them would lose those fields. Nil when
// the revision keeps no template.
func revisionTemplateJSON(rev *appsv1.ControllerRevision) (map[string]interface{}, error) {
	var data struct {
		Spec struct {
			Template map[string]interface{} `json:"template"`
		} `json:"spec"`
	}
	dec := json.NewDecoder(bytes.NewReader(rev.Data.Raw))
	dec.UseNumber()
	if err := dec.Decode(&data); err != nil {
		return nil, fmt.Errorf("revision %s: %w", rev.Name, err)
	}
	return data.Spec.Template, nil
}

// RevisionHasTemplate reports whether rev keeps exactly template: the same JSON, field for field. A
// template it cannot tell apart for sure (a field one side has that the other's types do not know) is not
// the same.
func RevisionHasTemplate(rev *appsv1.ControllerRevision, template *corev1.PodTemplateSpec) (bool, error) {
	kept, err := revisionTemplateJSON(rev)
	if err != nil || kept == nil {
		return false, err
	}
	delete(kept, "$patch") // how kruise keeps it: a patch that replaces the template whole
	raw, err := json.Marshal(template)
	if err != nil {
		return false, err
	}
	have, err := jsonObject(raw)
	if err != nil {
		return false, err
	}
	return reflect.DeepEqual(dropNulls(kept), dropNulls(have)), nil
}

// jsonObject decodes a JSON object with its numbers kept as written.
func jsonObject(raw []byte) (map[string]interface{}, error) {
	var o map[string]interface{}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&o); err != nil {
		return nil, err
	}
	return o, nil
}

// dropNulls removes the fields set to null, which Kubernetes decodes as unset: how one encoder writes an
// empty field and another leaves it out (kruise writes metadata.creationTimestamp as null; the k8s.io/api
// types of this server omit it).
func dropNulls(v interface{}) interface{} {
	switch v := v.(type) {
	case map[string]interface{}:
		for k, e := range v {
			if e == nil {
				delete(v, k)
				continue
			}
			v[k] = dropNulls(e)
		}
	case []interface{}:
		for i, e := range v {
			v[i] = dropNulls(e)
		}
	}
	return v
}

// UpdateRevisionCurrent reports whether cs.Status.UpdateRevision is the revision of cs's template as it
// is now: kruise has observed cs's latest spec, or the revision it names (a revision of cs) keeps exactly
// cs's template, so that what kruise has not observed yet left the template alone (the update strategy
// put back at the end of a release, a scale).
func UpdateRevisionCurrent(ctx context.Context, r Reader, cs *kruiseappsv1alpha1.CloneSet) (bool, error) {
	if cs.Status.ObservedGeneration >= cs.Generation {
		return true, nil
	}
	if cs.Status.UpdateRevision == "" {
		return false, nil
	}
	rev, err := r.Revision(ctx, cs.Namespace, cs.Status.UpdateRevision)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if ref := metav1.GetControllerOf(rev); ref == nil || ref.UID != cs.UID {
		return false, nil
	}
	return RevisionHasTemplate(rev, &cs.Spec.Template)
}

// read is where the driver reads: its cache when it has one, else kube-apiserver.
func (d *Driver) read() Reader {
	if d.Cache != nil {
		return d.Cache
	}
	return d.Live()
}

// Live reads from kube-apiserver, for the reads that must see the latest state: see Driver.Cache.
func (d *Driver) Live() Reader { return Live{Kruise: d.Kruise, Kube: d.Kube} }
