#!/usr/bin/env bash
# Regenerates everything under pkg/generated and the zz_generated files of pkg/apis
# through k8s.io/code-generator's kube_codegen.sh, at the version go.mod pins.
set -o errexit
set -o nounset
set -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "${ROOT}"

THIS_PKG="github.com/triton-io/triton"
# On a fresh machine the module is not in the cache until something downloads it: fetch it first.
go mod download k8s.io/code-generator
CODEGEN_PKG=$(go list -m -f '{{.Dir}}' k8s.io/code-generator)
# The generators are installed here, not in the user's GOPATH/bin.
export GOBIN="${ROOT}/_output/codegen-bin"
mkdir -p "${GOBIN}"

source "${CODEGEN_PKG}/kube_codegen.sh"

kube::codegen::gen_helpers \
    --boilerplate "${ROOT}/hack/boilerplate.go.txt" \
    "${ROOT}/pkg/apis"

# Protobuf for the group (generated.proto, generated.pb.go and the protobuf struct tags in types.go), with
# code-generator's go-to-protobuf and protoc-gen-gogo. protoc itself is hack/protoc, a Go stand-in built on
# github.com/bufbuild/protocompile, so that nothing but Go is needed. go-to-protobuf reads and writes
# packages by import path under one directory: a scratch one links the module and the .proto files it
# imports there.
gen_protobuf() {
    (cd "${CODEGEN_PKG}" && go install ./cmd/go-to-protobuf ./cmd/go-to-protobuf/protoc-gen-gogo)
    (cd "${ROOT}/hack/protoc" && go build -o "${GOBIN}/protoc" .)
    [[ -x "${GOBIN}/goimports" ]] || go install golang.org/x/tools/cmd/goimports@v0.49.0
    local src
    src=$(mktemp -d)
    trap 'rm -rf "${src}"' RETURN
    local modcache="$(go env GOMODCACHE)"
    go mod download k8s.io/api k8s.io/apimachinery github.com/gogo/protobuf@v1.3.2
    mkdir -p "${src}/github.com/triton-io" "${src}/k8s.io" "${src}/github.com/gogo"
    ln -s "${ROOT}" "${src}/github.com/triton-io/triton"
    ln -s "$(go list -m -f '{{.Dir}}' k8s.io/api)" "${src}/k8s.io/api"
    ln -s "$(go list -m -f '{{.Dir}}' k8s.io/apimachinery)" "${src}/k8s.io/apimachinery"
    ln -s "${modcache}/github.com/gogo/protobuf@v1.3.2" "${src}/github.com/gogo/protobuf"
    PATH="${GOBIN}:${PATH}" "${GOBIN}/go-to-protobuf" \
        --output-dir "${src}" \
        --proto-import "${src}" \
        --packages "${THIS_PKG}/pkg/apis/releases/v1alpha1" \
        --apimachinery-packages "-k8s.io/apimachinery/pkg/util/intstr,-k8s.io/apimachinery/pkg/api/resource,-k8s.io/apimachinery/pkg/runtime/schema,-k8s.io/apimachinery/pkg/runtime,-k8s.io/apimachinery/pkg/apis/meta/v1,-k8s.io/api/core/v1" \
        --go-header-file "${ROOT}/hack/boilerplate.go.txt"
}
gen_protobuf

kube::codegen::gen_openapi \
    --output-dir "${ROOT}/pkg/generated/openapi" \
    --output-pkg "${THIS_PKG}/pkg/generated/openapi" \
    --extra-pkgs "k8s.io/api/core/v1" \
    --extra-pkgs "k8s.io/apimachinery/pkg/util/intstr" \
    --report-filename "${ROOT}/hack/api-rules/violation_exceptions.list" \
    --output-model-name-file "zz_generated.model_name.go" \
    ${UPDATE_API_KNOWN_VIOLATIONS:+--update-report} \
    --boilerplate "${ROOT}/hack/boilerplate.go.txt" \
    "${ROOT}/pkg/apis"

kube::codegen::gen_client \
    --with-watch \
    --prefers-protobuf \
    --with-applyconfig \
    --applyconfig-externals "k8s.io/api/core/v1.PodTemplateSpec:k8s.io/client-go/applyconfigurations/core/v1" \
    --applyconfig-openapi-schema <(go run "${THIS_PKG}/hack/models-schema") \
    --output-dir "${ROOT}/pkg/generated" \
    --output-pkg "${THIS_PKG}/pkg/generated" \
    --boilerplate "${ROOT}/hack/boilerplate.go.txt" \
    "${ROOT}/pkg/apis"
