package main

import (
	"encoding/json"
	"fmt"
	"os"

	"k8s.io/kube-openapi/pkg/common"
	"k8s.io/kube-openapi/pkg/validation/spec"

	"github.com/triton-io/triton/pkg/generated/openapi"
)

func main() {
	refs := func(name string) spec.Ref { return spec.MustCreateRef("#/definitions/" + name) }
	defs := openapi.GetOpenAPIDefinitions(refs)
	schemas := make(map[string]spec.Schema, len(defs))
	for name, def := range defs {
		// A definition that carries a v2 form of itself (v3-only constructs) is printed in that form.
		if v2, ok := def.Schema.Extensions[common.ExtensionV2Schema].(spec.Schema); ok {
			schemas[name] = v2
			continue
		}
		schemas[name] = def.Schema
	}
	doc := spec.Swagger{SwaggerProps: spec.SwaggerProps{
		Swagger:     "2.0",
		Info:        &spec.Info{InfoProps: spec.InfoProps{Title: "releases.triton.io", Version: "unversioned"}},
		Definitions: schemas,
	}}
	if err := json.NewEncoder(os.Stdout).Encode(&doc); err != nil {
		fmt.Fprintln(os.Stderr, "models-schema:", err)
		os.Exit(1)
	}
}
