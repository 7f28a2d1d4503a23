/*
Copyright The Triton Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package main

import (
	"bytes"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"

	"k8s.io/kube-openapi/pkg/common"
	"k8s.io/kube-openapi/pkg/validation/spec"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/generated/openapi"
)

// modelPrefix is the OpenAPI model name prefix of the group's types.
const modelPrefix = "io.triton.releases.v1alpha1."

const apiIntro = `# API reference: releases.triton.io/v1alpha1

The group ` + "`releases.triton.io`" + `, version ` + "`v1alpha1`" + `, served by triton-apiserver behind kube-apiserver.

| resource | kind | scope | short name | subresources |
| --- | --- | --- | --- | --- |
| ` + "`releases`" + ` | ` + "`Release`" + ` | namespaced | ` + "`rel`" + ` | ` + "`status`" + ` (written by the server only), ` + "`pause`, `resume`, `next`, `cancel`" + ` (POST a ` + "`ReleaseRequest`" + `) |
| ` + "`analysistemplates`" + ` | ` + "`AnalysisTemplate`" + ` | namespaced | ` + "`at`" + ` | none |

Each type below lists its fields as the API serves them (JSON names), from the OpenAPI definitions the
server publishes (` + "`kubectl explain releases`" + ` shows the same). [Concepts](../concepts.md) explains what they
mean together.
`

// APIReference renders the group's types as Markdown from the OpenAPI definitions generated from their
// comments (pkg/generated/openapi), in the order of the Go fields, starting from the kinds.
func APIReference() ([]byte, error) {
	defs := openapi.GetOpenAPIDefinitions(func(path string) spec.Ref {
		return spec.MustCreateRef("#/definitions/" + path)
	})
	var b bytes.Buffer
	b.WriteString(generatedNote)
	b.WriteString(apiIntro)
	seen := map[string]bool{}
	var visit func(t reflect.Type) error
	visit = func(t reflect.Type) error {
		name := modelName(t)
		if !strings.HasPrefix(name, modelPrefix) || seen[name] {
			return nil
		}
		seen[name] = true
		def, ok := defs[name]
		if !ok {
			return fmt.Errorf("no OpenAPI definition for %s", name)
		}
		fields, err := jsonFields(t)
		if err != nil {
			return err
		}
		writeType(&b, t.Name(), def, fields)
		for _, f := range fields {
			if err := visit(elem(f.typ)); err != nil {
				return err
			}
		}
		return nil
	}
	for _, kind := range []any{v1alpha1.Release{}, v1alpha1.ReleaseList{}, v1alpha1.ReleaseRequest{},
		v1alpha1.AnalysisTemplate{}, v1alpha1.AnalysisTemplateList{}} {
		if err := visit(reflect.TypeOf(kind)); err != nil {
			return nil, err
		}
	}
	var missed []string
	for name := range defs {
		if strings.HasPrefix(name, modelPrefix) && !seen[name] {
			missed = append(missed, name)
		}
	}
	if len(missed) > 0 {
		sort.Strings(missed)
		return nil, fmt.Errorf("types not reachable from the kinds: %s", strings.Join(missed, ", "))
	}
	return append(bytes.TrimRight(b.Bytes(), "\n"), '\n'), nil
}

type field struct {
	name string
	typ  reflect.Type
}

// jsonFields are t's fields as JSON names them, in Go's order, with inlined structs' fields in place.
func jsonFields(t reflect.Type) ([]field, error) {
	var out []field
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if name == "" && slices.Contains(strings.Split(opts, ","), "inline") {
			inner, err := jsonFields(f.Type)
			if err != nil {
				return nil, err
			}
			out = append(out, inner...)
			continue
		}
		if name == "" {
			return nil, fmt.Errorf("%s.%s has no JSON name", t.Name(), f.Name)
		}
		out = append(out, field{name: name, typ: f.Type})
	}
	return out, nil
}

// elem is the type a field's pointers, slices and maps hold.
func elem(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	return t
}

// modelName is the OpenAPI model name of a type, as openapi-gen names it.
func modelName(t reflect.Type) string {
	if t.Kind() != reflect.Struct {
		return ""
	}
	if m, ok := reflect.New(t).Elem().Interface().(interface{ OpenAPIModelName() string }); ok {
		return m.OpenAPIModelName()
	}
	return ""
}

func writeType(b *bytes.Buffer, name string, def common.OpenAPIDefinition, fields []field) {
	s := def.Schema
	fmt.Fprintf(b, "\n## %s\n\n", name)
	if s.Description != "" {
		fmt.Fprintf(b, "%s\n\n", strings.ReplaceAll(paragraph(s.Description), "<br>", "\n\n"))
	}
	b.WriteString("| field | type | description |\n| --- | --- | --- |\n")
	for _, f := range fields {
		p, ok := s.Properties[f.name]
		if !ok {
			// The OpenAPI definitions and the Go types disagree: make generate is due.
			panic(fmt.Sprintf("%s.%s is not in the OpenAPI definitions: run make generate", name, f.name))
		}
		label := "`" + f.name + "`"
		if slices.Contains(s.Required, f.name) {
			label += " (required)"
		}
		fmt.Fprintf(b, "| %s | %s | %s |\n", label, typeName(p), cell(p))
	}
}

// typeName says what a property holds, with a link to the group's own types.
func typeName(p spec.Schema) string {
	if ref := p.Ref.String(); ref != "" {
		model := strings.TrimPrefix(ref, "#/definitions/")
		if local, ok := strings.CutPrefix(model, modelPrefix); ok {
			return fmt.Sprintf("[%s](#%s)", local, strings.ToLower(local))
		}
		switch model {
		case "io.k8s.apimachinery.pkg.apis.meta.v1.Time":
			return "string (date-time)"
		case "io.k8s.apimachinery.pkg.util.intstr.IntOrString":
			return "integer or string"
		}
		return foreignType(model)
	}
	switch {
	case slices.Contains(p.Type, "array") && p.Items != nil && p.Items.Schema != nil:
		return "[]" + typeName(*p.Items.Schema)
	case slices.Contains(p.Type, "object") && p.AdditionalProperties != nil && p.AdditionalProperties.Schema != nil:
		return "map[string]" + typeName(*p.AdditionalProperties.Schema)
	case len(p.Type) > 0:
		if p.Format != "" {
			return fmt.Sprintf("%s (%s)", p.Type[0], p.Format)
		}
		return p.Type[0]
	}
	return "object"
}

// foreignType names a Kubernetes type by its group and version: io.k8s.api.core.v1.PodTemplateSpec is
// PodTemplateSpec (core/v1).
func foreignType(model string) string {
	parts := strings.Split(model, ".")
	if len(parts) < 3 {
		return "`" + model + "`"
	}
	name, version, group := parts[len(parts)-1], parts[len(parts)-2], parts[len(parts)-3]
	return fmt.Sprintf("`%s` (%s/%s)", name, group, version)
}

// cell is a property's description for a table cell, its enum values listed.
func cell(p spec.Schema) string {
	desc, enum, _ := strings.Cut(p.Description, "\n\nPossible enum values:\n")
	out := paragraph(desc)
	if enum != "" {
		var values []string
		for _, line := range strings.Split(enum, "\n") {
			// - `"Baked"` : all its pods are Ready.    or    - `"Create"` creates the CloneSet.
			line = strings.TrimPrefix(strings.TrimSpace(line), "- ")
			rest, ok := strings.CutPrefix(line, "`\"")
			if !ok {
				continue
			}
			value, meaning, ok := strings.Cut(rest, "\"`")
			if !ok || value == "" {
				continue
			}
			meaning = strings.TrimPrefix(strings.TrimSpace(meaning), ": ")
			entry := "`" + value + "`"
			if meaning = strings.TrimSpace(meaning); meaning != "" {
				entry += ": " + paragraph(meaning)
			}
			values = append(values, entry)
		}
		out += "<br>Values:<br>" + strings.Join(values, "<br>")
	}
	return strings.ReplaceAll(out, "|", `\|`)
}

// commitRef is a commit cited in a description (Kubernetes' PodPhase cites one): not for these docs.
var commitRef = regexp.MustCompile(`\s*\([0-9a-f]{7,40}\)`)

// paragraph joins a description's lines; paragraphs are kept apart with <br>.
func paragraph(s string) string {
	s = commitRef.ReplaceAllString(s, "")
	paras := strings.Split(strings.TrimSpace(s), "\n\n")
	for i, p := range paras {
		paras[i] = strings.Join(strings.Fields(p), " ")
	}
	return strings.Join(paras, "<br>")
}
