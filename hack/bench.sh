#!/usr/bin/env bash
# Runs the benchmarks (test/bench) on the local control plane: on the one `make up` left running, else on
# one it brings up for the run and stops afterwards. Arguments go to go test.
set -o errexit
set -o nounset
set -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "${ROOT}"
LOCAL="${LOCAL_DIR:-${ROOT}/_output/local}"

up() {
    [[ -x "${ROOT}/_output/bin/kubectl" && -f "${LOCAL}/kubeconfig" ]] &&
        "${ROOT}/_output/bin/kubectl" --kubeconfig "${LOCAL}/kubeconfig" --request-timeout 5s \
            get --raw /apis/releases.triton.io/v1alpha1 >/dev/null 2>&1
}
if ! up; then
    echo "bench: no local control plane is up; bringing one up for this run" >&2
    "${ROOT}/hack/local-up.sh" --detach
    trap '"${ROOT}/hack/local-down.sh"' EXIT
fi
go test -tags bench -count=1 -timeout 90m -run TestBench -v ./test/bench/ "$@"
