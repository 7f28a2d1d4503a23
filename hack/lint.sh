#!/usr/bin/env bash
# Runs golangci-lint (configuration: .golangci.yml) over the whole module, build tags included. Builds
# golangci-lint from the Go module proxy into _output/bin first, unless that exact version is already there.
#   hack/lint.sh                  lint everything
#   hack/lint.sh ./pkg/cli/...    lint these packages (any golangci-lint run arguments)
set -o errexit
set -o nounset
set -o pipefail

GOLANGCI_LINT_VERSION=v2.15.0

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN="${ROOT}/_output/bin"
LINT="${BIN}/golangci-lint"

installed_version() {
    [[ -x "${LINT}" ]] || return 0
    # "golangci-lint has version 2.15.0 built with go1.26.8 from ..."
    "${LINT}" version 2>/dev/null | sed -n 's/.* has version v\{0,1\}\([^ ]*\) .*/v\1/p'
}

if [[ "$(installed_version)" != "${GOLANGCI_LINT_VERSION}" ]]; then
    echo "lint: building golangci-lint ${GOLANGCI_LINT_VERSION}"
    start=${SECONDS}
    mkdir -p "${BIN}"
    # go install pkg@version builds from golangci-lint's own go.mod, never the project's. Into a scratch
    # directory first, so that a failed build leaves no half-written binary behind.
    scratch=$(mktemp -d)
    trap 'rm -rf "${scratch}"' EXIT
    GOBIN="${scratch}" CGO_ENABLED=0 go install \
        "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@${GOLANGCI_LINT_VERSION}"
    mv "${scratch}/golangci-lint" "${LINT}"
    echo "lint: golangci-lint built in $((SECONDS - start))s"
fi

cd "${ROOT}"
# --build-tags adds to the build tags of .golangci.yml (e2e, bench).
if [[ $# -gt 0 ]]; then
    exec "${LINT}" run --build-tags failpoints "$@"
fi
# Everything with the crash points armed (build tag failpoints), then what only a build without them
# compiles: the disarmed crash points.
status=0
"${LINT}" run --build-tags failpoints ./... || status=$?
"${LINT}" run ./pkg/failpoint/... || status=$?
exit "${status}"
