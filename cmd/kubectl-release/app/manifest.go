package app

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// cloneSetAPIVersion and cloneSetKind are what update -f takes: an OpenKruise CloneSet.
const (
	cloneSetAPIVersion = "apps.kruise.io/v1alpha1"
	cloneSetKind       = "CloneSet"
)

// cloneSetManifest is what update -f reads from a CloneSet manifest: its name and namespace (empty when
// it has none) and its pod template.
type cloneSetManifest struct {
	name, namespace string
	template        *corev1.PodTemplateSpec
}

// readManifest reads file, or stdin for "-". A file that cannot be read is a usage error.
func readManifest(file string, stdin io.Reader) ([]byte, error) {
	var raw []byte
	var err error
	if file == "-" {
		raw, err = io.ReadAll(stdin)
	} else {
		raw, err = os.ReadFile(file)
	}
	if err != nil {
		return nil, usageError("reading %s: %v", file, err)
	}
	return raw, nil
}

// decodeCloneSet reads one CloneSet of apps.kruise.io/v1alpha1 in YAML or JSON, as `kubectl get -o yaml`
// or a pipeline's templating writes it, and takes its name, namespace and spec.template. The template is
// read strictly (a field it does not know is an error, naming its path: a misspelt field is never dropped
// quietly); the rest of the manifest only as far as it is used.
func decodeCloneSet(raw []byte) (*cloneSetManifest, error) {
	obj, err := oneObject(raw)
	if err != nil {
		return nil, err
	}
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	if apiVersion != cloneSetAPIVersion || kind != cloneSetKind {
		what := "no kind"
		switch {
		case kind != "" && apiVersion != "":
			what = fmt.Sprintf("a %s of %s", kind, apiVersion)
		case kind != "":
			what = fmt.Sprintf("a %s without an apiVersion", kind)
		}
		return nil, fmt.Errorf("holds %s: want kind %s, apiVersion %s", what, cloneSetKind, cloneSetAPIVersion)
	}
	m := &cloneSetManifest{}
	if meta, ok := obj["metadata"].(map[string]interface{}); ok {
		m.name, _ = meta["name"].(string)
		m.namespace, _ = meta["namespace"].(string)
	}
	spec, _ := obj["spec"].(map[string]interface{})
	template, ok := spec["template"].(map[string]interface{})
	if !ok || len(template) == 0 {
		return nil, errors.New("has no spec.template: update -f takes the CloneSet's pod template whole")
	}
	// Read under its own path, so that errors name fields as the file has them: first as JSON (a value
	// of the wrong type), then for fields the template does not have.
	var under templateOnly
	wrapped := map[string]interface{}{"spec": map[string]interface{}{"template": template}}
	encoded, err := json.Marshal(wrapped)
	if err != nil {
		return nil, fmt.Errorf("has a bad spec.template: %v", err)
	}
	if err := json.Unmarshal(encoded, &under); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return nil, fmt.Errorf("has a bad spec.template: %s is a %s, want %s", typeErr.Field, typeErr.Value, typeErr.Type)
		}
		return nil, fmt.Errorf("has a bad spec.template: %v", err)
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(wrapped, &templateOnly{}, true); err != nil {
		if strict, ok := runtime.AsStrictDecodingError(err); ok {
			var fields []string
			for _, e := range strict.Errors() {
				fields = append(fields, e.Error())
			}
			return nil, fmt.Errorf("has a bad spec.template: %s", strings.Join(fields, ", "))
		}
		return nil, fmt.Errorf("has a bad spec.template: %v", err)
	}
	m.template = &under.Spec.Template
	if len(m.template.Spec.Containers) == 0 {
		return nil, errors.New("has a spec.template without containers")
	}
	return m, nil
}

// templateOnly is a CloneSet with nothing but its template.
type templateOnly struct {
	Spec struct {
		Template corev1.PodTemplateSpec `json:"template"`
	} `json:"spec"`
}

// oneObject is the only object in raw (YAML, or JSON), as a map.
func oneObject(raw []byte) (map[string]interface{}, error) {
	decoder := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096)
	var objects []map[string]interface{}
	for {
		var doc interface{}
		err := decoder.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("is not YAML or JSON: %v", err)
		}
		if doc == nil {
			continue // an empty document, as between two ---
		}
		obj, ok := doc.(map[string]interface{})
		if !ok {
			return nil, fmt.Errorf("is not a manifest: want a %s, found %s", cloneSetKind, shapeOf(doc))
		}
		objects = append(objects, obj)
	}
	switch len(objects) {
	case 0:
		return nil, fmt.Errorf("is empty: want a %s", cloneSetKind)
	case 1:
		return objects[0], nil
	}
	return nil, fmt.Errorf("holds %d objects: want one %s alone", len(objects), cloneSetKind)
}

// shapeOf names what a YAML document is when it is not an object.
func shapeOf(doc interface{}) string {
	switch doc.(type) {
	case []interface{}:
		return "a list"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case float64, int64:
		return "a number"
	}
	return fmt.Sprintf("a %T", doc)
}
