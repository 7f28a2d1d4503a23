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
# BENCH_PROFILE=1 reads triton-apiserver's /debug/pprof, which it serves only with --profiling (add
# --contention-profiling to TRITON_APISERVER_FLAGS for blocking profiles).
profiling() { grep -qxE -- '--profiling(=true)?' "${LOCAL}/triton-apiserver.args" 2>/dev/null; }

# The storage and scale scenarios start a bare aggregated server of their own (test/bench/bareserver),
# register its APIService and remove both at the end; should the bench die before, this does (its pid file
# is left only then).
BARE_PID="${ROOT}/_output/bench/bare/bareserver.pid"
remove_bare() {
    [[ -f "${BARE_PID}" ]] || return 0
    local pid
    pid=$(cat "${BARE_PID}")
    if grep -q bareserver "/proc/${pid}/cmdline" 2>/dev/null; then
        kill "${pid}" 2>/dev/null || true
    fi
    rm -f "${BARE_PID}"
    "${ROOT}/_output/bin/kubectl" --kubeconfig "${LOCAL}/kubeconfig" delete apiservice v1alpha1.bare.bench.triton.io \
        --ignore-not-found >/dev/null 2>&1 || true
    "${ROOT}/_output/bin/kubectl" --kubeconfig "${LOCAL}/kubeconfig" delete namespace bench-bare \
        --ignore-not-found --wait=false >/dev/null 2>&1 || true
}
BROUGHT_UP=false
cleanup() {
    remove_bare
    if [[ "${BROUGHT_UP}" == true ]]; then
        "${ROOT}/hack/local-down.sh"
    fi
}
trap cleanup EXIT
if ! up; then
    echo "bench: no local control plane is up; bringing one up for this run" >&2
    if [[ -n "${BENCH_PROFILE:-}" ]]; then
        export TRITON_APISERVER_FLAGS="--profiling ${TRITON_APISERVER_FLAGS:-}"
    fi
    BROUGHT_UP=true
    "${ROOT}/hack/local-up.sh" --detach
elif [[ -n "${BENCH_PROFILE:-}" ]] && ! profiling; then
    echo "bench: BENCH_PROFILE is set but the running triton-apiserver has no --profiling: no profiles;" \
        "bring the control plane up with TRITON_APISERVER_FLAGS=--profiling make up" >&2
fi
# The dashboard scenario loads the page in Debian's chromium.
if [[ -z "${BENCH:-}" || ",${BENCH// /}," == *",dashboard,"* ]]; then
    "${ROOT}/hack/ensure-chromium.sh"
fi
go test -tags bench -count=1 -timeout 150m -run TestBench -v ./test/bench/ "$@"
