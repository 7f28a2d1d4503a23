package cloneset

import (
	"encoding/json"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	corev1 "k8s.io/api/core/v1"
)

// templatePatch is the JSON merge patch of spec.template from the CloneSet's template, as the typed structs
// see it, to template, a revision's template as JSON (revisionTemplateJSON): every field of template that
// differs is in it, the fields the typed structs do not know included (a list, such as containers, goes
// whole, as the revision has it). Nil when nothing differs.
func templatePatch(from *corev1.PodTemplateSpec, template map[string]interface{}) (map[string]interface{}, error) {
	fromJSON, err := json.Marshal(from)
	if err != nil {
		return nil, err
	}
	toJSON, err := json.Marshal(template)
	if err != nil {
		return nil, err
	}
	diff, err := jsonpatch.CreateMergePatch(fromJSON, toJSON)
	if err != nil {
		return nil, err
	}
	patch, err := jsonObject(diff)
	if err != nil {
		return nil, err
	}
	if len(patch) == 0 {
		return nil, nil
	}
	return patch, nil
}

// setTemplateAnnotation sets an annotation of template, a pod template as JSON (nil: nothing to set).
func setTemplateAnnotation(template map[string]interface{}, key, value string) {
	if template == nil {
		return
	}
	meta, _ := template["metadata"].(map[string]interface{})
	if meta == nil {
		meta = map[string]interface{}{}
		template["metadata"] = meta
	}
	annotations, _ := meta["annotations"].(map[string]interface{})
	if annotations == nil {
		annotations = map[string]interface{}{}
		meta["annotations"] = annotations
	}
	annotations[key] = value
}

// setSpec makes value spec.<key> of a merge patch, or leaves spec.<key> out of it when value is nil (and
// spec too, when nothing else is in it).
func setSpec(patch map[string]interface{}, key string, value map[string]interface{}) {
	spec, _ := patch["spec"].(map[string]interface{})
	if value == nil {
		if spec != nil {
			delete(spec, key)
			if len(spec) == 0 {
				delete(patch, "spec")
			}
		}
		return
	}
	if spec == nil {
		spec = map[string]interface{}{}
		patch["spec"] = spec
	}
	spec[key] = value
}
