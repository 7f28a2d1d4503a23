#!/usr/bin/env bash
# Runs test/e2e on the local control plane: brings it up (make up), runs the tests, brings it down.
# With E2E_KEEP_UP=true the control plane stays up afterwards (make down stops it).
set -o errexit
set -o nounset
set -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "${ROOT}"

# The dashboard's tests drive a real browser.
"${ROOT}/hack/ensure-chromium.sh"
"${ROOT}/hack/local-up.sh" --detach
# local-up.sh has just built the plugin with the server (make build): the tests run that binary rather
# than build their own.
# Not TRITON_*: the servers the tests start inherit the environment and read TRITON_* variables as flags.
export E2E_KUBECTL_RELEASE="${E2E_KUBECTL_RELEASE:-${ROOT}/_output/bin/kubectl-release}"
status=0
# go test's events are kept whole (json) and printed a line per test as each ends, with the slowest at
# the end; on a failure each failed test's output is printed again last, after the component logs and
# the shutdown: CI shows only the last part of what is printed.
# The tests that own their namespaces run E2E_PARALLEL at a time, after the others (see the package doc of
# test/e2e/framework).
out="${LOCAL_DIR:-${ROOT}/_output/local}/e2e-go-test.json"
mkdir -p "$(dirname "${out}")"
go build -o "${ROOT}/_output/bin/testsummary" ./hack/testsummary
go test -json -tags e2e -count=1 -timeout 35m -parallel "${E2E_PARALLEL:-4}" ./test/e2e/... "$@" 2>&1 | tee "${out}" | "${ROOT}/_output/bin/testsummary" || status=$?
if [[ ${status} -ne 0 ]]; then
    for f in "${LOCAL_DIR:-${ROOT}/_output/local}"/logs/*.log; do
        echo "---- ${f} (last 40 lines)" >&2
        tail -n 40 "${f}" >&2
    done
    echo "test-e2e: failed; component logs are in ${LOCAL_DIR:-${ROOT}/_output/local}/logs/" >&2
fi
if [[ "${E2E_KEEP_UP:-false}" != "true" ]]; then
    "${ROOT}/hack/local-down.sh"
fi
if [[ ${status} -ne 0 ]]; then
    echo "==== test-e2e: the failed tests' output (all of it: ${out})" >&2
    "${ROOT}/_output/bin/testsummary" -failures <"${out}" >&2 || true
fi
exit ${status}
