package cloneset

import (
	"encoding/json"
	"slices"
	"sort"

	appspub "github.com/openkruise/kruise-api/apps/pub"
	kruiseappsv1alpha1 "github.com/openkruise/kruise-api/apps/v1alpha1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
)

// What a release may have made of a lifecycle hook, in v1alpha1.HooksAnnotation.
const (
	madeHook            = "hook"
	madeLabelsHandler   = "labelsHandler"
	madeMarkPodNotReady = "markPodNotReady"
)

// heldHook is a lifecycle hook a release puts the hold label in, by its JSON name.
type heldHook struct {
	name string
	hook **appspub.LifecycleHook
}

func heldHooks(l *appspub.Lifecycle) []heldHook {
	return []heldHook{{"preDelete", &l.PreDelete}, {"inPlaceUpdate", &l.InPlaceUpdate}}
}

// hooksMade is what v1alpha1.HooksAnnotation on cs records, and whether it is there (and can be read).
func hooksMade(cs *kruiseappsv1alpha1.CloneSet) (map[string][]string, bool) {
	v, ok := cs.Annotations[v1alpha1.HooksAnnotation]
	if !ok {
		return map[string][]string{}, false
	}
	made := map[string][]string{}
	if err := json.Unmarshal([]byte(v), &made); err != nil || made == nil {
		return map[string][]string{}, false
	}
	return made, true
}

func addOnce(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	list = append(list, s)
	sort.Strings(list)
	return list
}

// withHooks makes kruise hold a pod that carries v1alpha1.HoldLabel before it deletes it or updates it in place,
// marking it not ready first (on); without it (release over) kruise goes on at once, with the hooks the
// CloneSet had before the release.
//
// On, it adds only what the release needs to the hooks there are (the hold label, markPodNotReady, a hook
// where there is none) and records what it added in v1alpha1.HooksAnnotation. Off, it takes away exactly what that
// record says, the hold label, and the record: a hook of the user's keeps its handlers and gets its
// markPodNotReady back. It never removes spec.lifecycle itself: the patch (lifecyclePatch) says only the
// paths that changed, so a hook the kruise-api types do not know stays.
func withHooks(cs *kruiseappsv1alpha1.CloneSet, on bool) {
	made, recorded := hooksMade(cs)
	if on {
		if cs.Spec.Lifecycle == nil {
			cs.Spec.Lifecycle = &appspub.Lifecycle{}
		}
		changed, legacy := false, false
		for _, h := range heldHooks(cs.Spec.Lifecycle) {
			hook := *h.hook
			if hook != nil && !recorded {
				if _, held := hook.LabelsHandler[v1alpha1.HoldLabel]; held {
					legacy = true // held by a server from before the record: what it made is not known
				}
			}
			switch {
			case hook == nil:
				hook = &appspub.LifecycleHook{}
				*h.hook = hook
				made[h.name] = addOnce(made[h.name], madeHook)
			case hook.LabelsHandler == nil:
				made[h.name] = addOnce(made[h.name], madeLabelsHandler)
			}
			if hook.LabelsHandler == nil {
				hook.LabelsHandler = map[string]string{}
			}
			if hook.LabelsHandler[v1alpha1.HoldLabel] != "true" {
				hook.LabelsHandler[v1alpha1.HoldLabel] = "true"
				changed = true
			}
			if !hook.MarkPodNotReady {
				if !slices.Contains(made[h.name], madeHook) {
					made[h.name] = addOnce(made[h.name], madeMarkPodNotReady)
				}
				hook.MarkPodNotReady = true
				changed = true
			}
		}
		if changed && !legacy {
			record, _ := json.Marshal(made)
			if cs.Annotations == nil {
				cs.Annotations = map[string]string{}
			}
			cs.Annotations[v1alpha1.HooksAnnotation] = string(record)
		}
		return
	}
	delete(cs.Annotations, v1alpha1.HooksAnnotation)
	if cs.Spec.Lifecycle == nil {
		return
	}
	for _, h := range heldHooks(cs.Spec.Lifecycle) {
		hook := *h.hook
		if hook == nil {
			continue
		}
		_, held := hook.LabelsHandler[v1alpha1.HoldLabel]
		if !held && !recorded {
			continue // never held by a release
		}
		delete(hook.LabelsHandler, v1alpha1.HoldLabel)
		whole := slices.Contains(made[h.name], madeHook)
		if whole || slices.Contains(made[h.name], madeMarkPodNotReady) {
			hook.MarkPodNotReady = false
		}
		if (whole || slices.Contains(made[h.name], madeLabelsHandler)) && len(hook.LabelsHandler) == 0 {
			hook.LabelsHandler = nil
		}
		if (whole || !recorded) && len(hook.LabelsHandler) == 0 && len(hook.FinalizersHandler) == 0 {
			*h.hook = nil
		}
	}
}

// lifecyclePatch is the JSON merge patch of spec.lifecycle from from to to, or nil when they do not
// differ. It says only what differs, down to the keys of a labelsHandler and to markPodNotReady (false as
// false, not as a removal), and removes a whole hook only when to has none: what the kruise-api types do
// not know of the lifecycle (a newer kruise's hooks) or of a hook is in neither, so never in the patch,
// and the server keeps it. spec.lifecycle is never null: a nil to is a lifecycle without hooks.
func lifecyclePatch(from, to *appspub.Lifecycle) (map[string]interface{}, error) {
	if to == nil {
		to = &appspub.Lifecycle{}
	}
	if from == nil {
		if *to == (appspub.Lifecycle{}) {
			return nil, nil
		}
		return jsonMap(to)
	}
	out := map[string]interface{}{}
	for _, h := range []struct {
		name     string
		from, to *appspub.LifecycleHook
	}{
		{"preDelete", from.PreDelete, to.PreDelete},
		{"inPlaceUpdate", from.InPlaceUpdate, to.InPlaceUpdate},
		{"preNormal", from.PreNormal, to.PreNormal},
	} {
		v, differs, err := hookPatch(h.from, h.to)
		if err != nil {
			return nil, err
		}
		if differs {
			out[h.name] = v
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// hookPatch is the JSON merge patch of one lifecycle hook (nil: remove it), and whether there is one.
func hookPatch(from, to *appspub.LifecycleHook) (interface{}, bool, error) {
	switch {
	case from == nil && to == nil:
		return nil, false, nil
	case to == nil:
		return nil, true, nil
	case from == nil:
		m, err := jsonMap(to)
		return m, true, err
	}
	out := map[string]interface{}{}
	if labels, differs := labelsPatch(from.LabelsHandler, to.LabelsHandler); differs {
		out["labelsHandler"] = labels
	}
	if !apiequality.Semantic.DeepEqual(from.FinalizersHandler, to.FinalizersHandler) {
		if len(to.FinalizersHandler) == 0 {
			out["finalizersHandler"] = nil
		} else {
			out["finalizersHandler"] = to.FinalizersHandler
		}
	}
	if from.MarkPodNotReady != to.MarkPodNotReady {
		out["markPodNotReady"] = to.MarkPodNotReady
	}
	return out, len(out) > 0, nil
}

// labelsPatch is the JSON merge patch of a labelsHandler, key by key (nil: remove it), and whether there
// is one.
func labelsPatch(from, to map[string]string) (interface{}, bool) {
	switch {
	case to == nil && from == nil:
		return nil, false
	case to == nil:
		return nil, true
	}
	out := map[string]interface{}{}
	for k, v := range to {
		if was, ok := from[k]; !ok || was != v {
			out[k] = v
		}
	}
	for k := range from {
		if _, ok := to[k]; !ok {
			out[k] = nil
		}
	}
	if from == nil {
		return out, true // made, even empty
	}
	return out, len(out) > 0
}

// jsonMap is v as a JSON object.
func jsonMap(v interface{}) (map[string]interface{}, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]interface{}
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	return m, nil
}
