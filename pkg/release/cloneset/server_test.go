package cloneset

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"

	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	kruiseclient "github.com/openkruise/kruise-api/client/clientset/versioned"
	kruisefake "github.com/openkruise/kruise-api/client/clientset/versioned/fake"
	kruiseappsv1alpha1client "github.com/openkruise/kruise-api/client/clientset/versioned/typed/apps/v1alpha1"
	"github.com/stretchr/testify/require"
	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

var cloneSets = kruiseappsv1alpha1.SchemeGroupVersion.WithResource("clonesets")

// apiServer makes the fake kruise clientset write CloneSets the way the API server does: a JSON merge patch
// is applied to the stored object; its metadata.resourceVersion is a precondition (409 Conflict when it is
// not the stored one's); every write gives the object a new resourceVersion; a dry run stores nothing; and
// admit, standing in for admission webhooks, may change the object before it is stored. (The fake's own
// tracker checks no resourceVersion and never changes one.)
type apiServer struct {
	t      *testing.T
	kruise *kruisefake.Clientset
	rv     int
	// admit, when set, changes a patched CloneSet before it is stored; old is the stored one.
	admit func(old, cs *kruiseappsv1alpha1.CloneSet)
	// race, when set, runs once before the next patch is applied: a write by someone else in between.
	race func()
	// patches are the bodies of the merge patches received, in order, and opts their options.
	patches   []map[string]interface{}
	opts      []metav1.PatchOptions
	conflicts int
	dryRun    bool
	// raw, when set, is the stored CloneSet web as JSON, fields the kruise-api types do not know included
	// (as kube-apiserver keeps it): patches are applied to it, and the typed CloneSet stored is decoded
	// from the result. edit does not change it.
	raw []byte
}

func newAPIServer(t *testing.T, objects ...runtime.Object) *apiServer {
	s := &apiServer{t: t, kruise: kruisefake.NewSimpleClientset(objects...), rv: 100}
	s.kruise.PrependReactor("patch", "clonesets", s.patch)
	return s
}

// driver is a Driver on this server; pods are the pods the fake kube clientset has.
func (s *apiServer) driver(pods ...runtime.Object) *Driver {
	return &Driver{Kruise: recordingKruise{Interface: s.kruise, s: s}, Kube: kubefake.NewSimpleClientset(pods...)}
}

// get is the stored CloneSet web.
func (s *apiServer) get() *kruiseappsv1alpha1.CloneSet {
	s.t.Helper()
	obj, err := s.kruise.Tracker().Get(cloneSets, "default", "web")
	require.NoError(s.t, err)
	return obj.(*kruiseappsv1alpha1.CloneSet)
}

// edit is a write by someone else (kubectl): f changes the stored CloneSet web.
func (s *apiServer) edit(f func(cs *kruiseappsv1alpha1.CloneSet)) {
	s.t.Helper()
	cs := s.get()
	f(cs)
	s.store(cs)
}

func (s *apiServer) store(cs *kruiseappsv1alpha1.CloneSet) {
	s.rv++
	cs.ResourceVersion = strconv.Itoa(s.rv)
	require.NoError(s.t, s.kruise.Tracker().Update(cloneSets, cs, cs.Namespace))
}

// writes are the patches received that were not refused.
func (s *apiServer) writes() int { return len(s.patches) - s.conflicts }

func (s *apiServer) patch(action k8stesting.Action) (bool, runtime.Object, error) {
	pa := action.(k8stesting.PatchAction)
	dryRun := s.dryRun
	s.dryRun = false
	if pa.GetPatchType() != types.MergePatchType {
		return true, nil, apierrors.NewBadRequest("unsupported patch type " + string(pa.GetPatchType()))
	}
	if race := s.race; race != nil {
		s.race = nil
		race()
	}
	var body map[string]interface{}
	if err := json.Unmarshal(pa.GetPatch(), &body); err != nil {
		return true, nil, apierrors.NewBadRequest(err.Error())
	}
	s.patches = append(s.patches, body)
	obj, err := s.kruise.Tracker().Get(cloneSets, pa.GetNamespace(), pa.GetName())
	if err != nil {
		return true, nil, err
	}
	old := obj.(*kruiseappsv1alpha1.CloneSet)
	if meta, ok := body["metadata"].(map[string]interface{}); ok {
		if rv, ok := meta["resourceVersion"]; ok && rv != old.ResourceVersion {
			s.conflicts++
			return true, nil, apierrors.NewConflict(cloneSets.GroupResource(), pa.GetName(),
				fmt.Errorf("the object has been modified; please apply your changes to the latest version and try again"))
		}
		// metadata.uid is immutable: a patch that says another uid is refused, as kube-apiserver does.
		if uid, ok := meta["uid"]; ok && uid != string(old.UID) {
			s.conflicts++
			return true, nil, apierrors.NewInvalid(kruiseappsv1alpha1.SchemeGroupVersion.WithKind("CloneSet").GroupKind(), pa.GetName(),
				field.ErrorList{field.Invalid(field.NewPath("metadata", "uid"), uid, "field is immutable")})
		}
	}
	raw, err := json.Marshal(old)
	if err != nil {
		return true, nil, err
	}
	if s.raw != nil {
		raw = s.raw
	}
	merged, err := jsonpatch.MergePatch(raw, pa.GetPatch())
	if err != nil {
		return true, nil, apierrors.NewBadRequest(err.Error())
	}
	cs := &kruiseappsv1alpha1.CloneSet{}
	if err := json.Unmarshal(merged, cs); err != nil {
		return true, nil, apierrors.NewBadRequest(err.Error())
	}
	if s.admit != nil {
		s.admit(old, cs)
	}
	if dryRun {
		cs.ResourceVersion = old.ResourceVersion
		return true, cs, nil
	}
	if s.raw != nil {
		s.raw = merged
	}
	s.store(cs)
	return true, cs.DeepCopy(), nil
}

// recordingKruise passes CloneSet patches on to the fake clientset, recording their options: the fake
// clientset drops them.
type recordingKruise struct {
	kruiseclient.Interface
	s *apiServer
}

func (k recordingKruise) AppsV1alpha1() kruiseappsv1alpha1client.AppsV1alpha1Interface {
	return recordingApps{AppsV1alpha1Interface: k.Interface.AppsV1alpha1(), s: k.s}
}

type recordingApps struct {
	kruiseappsv1alpha1client.AppsV1alpha1Interface
	s *apiServer
}

func (a recordingApps) CloneSets(namespace string) kruiseappsv1alpha1client.CloneSetInterface {
	return recordingCloneSets{CloneSetInterface: a.AppsV1alpha1Interface.CloneSets(namespace), s: a.s}
}

type recordingCloneSets struct {
	kruiseappsv1alpha1client.CloneSetInterface
	s *apiServer
}

func (c recordingCloneSets) Patch(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, subresources ...string) (*kruiseappsv1alpha1.CloneSet, error) {
	c.s.opts = append(c.s.opts, opts)
	c.s.dryRun = len(opts.DryRun) > 0
	return c.CloneSetInterface.Patch(ctx, name, pt, data, opts, subresources...)
}

// paths lists the leaves of a merge patch as dotted paths: a key whose value is a non-empty object is
// followed into; anything else (a value, a list, null, {}) is a leaf.
func paths(patch map[string]interface{}) []string {
	var out []string
	var walk func(prefix string, m map[string]interface{})
	walk = func(prefix string, m map[string]interface{}) {
		for k, v := range m {
			if sub, ok := v.(map[string]interface{}); ok && len(sub) > 0 {
				walk(prefix+k+".", sub)
				continue
			}
			out = append(out, prefix+k)
		}
	}
	walk("", patch)
	sort.Strings(out)
	return out
}

// under reports whether path is prefix or below it.
func under(path, prefix string) bool {
	return path == prefix || strings.HasPrefix(path, prefix+".")
}

// at is the value at a dotted path of a merge patch (keys must not contain dots), and whether it is there.
func at(patch map[string]interface{}, path string) (interface{}, bool) {
	var v interface{} = patch
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]interface{})
		if !ok {
			return nil, false
		}
		if v, ok = m[k]; !ok {
			return nil, false
		}
	}
	return v, true
}
