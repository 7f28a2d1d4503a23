#!/usr/bin/env bash
# Runs the unit and integration tests (race detector), a line per package as it ends; on a failure each
# failed test's output is printed again last: CI shows only the last part of what is printed.
set -o errexit
set -o nounset
set -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "${ROOT}"
GO=${GO:-go}

out="${ROOT}/_output/test-go.json"
mkdir -p "${ROOT}/_output/bin"
"${GO}" build -o "${ROOT}/_output/bin/testsummary" ./hack/testsummary
status=0
{
    "${GO}" test -json -race -count=1 "${@:-./...}" || status=$?
    "${GO}" test -json -race -count=1 -tags failpoints ./pkg/failpoint/ || status=$?
    exit ${status}
} 2>&1 | tee "${out}" | "${ROOT}/_output/bin/testsummary" -quiet || status=$?
if [[ ${status} -ne 0 ]]; then
    echo "==== test-go: the failed tests' output (all of it: ${out})" >&2
    "${ROOT}/_output/bin/testsummary" -failures <"${out}" >&2 || true
fi
exit ${status}
