#!/usr/bin/env bash
# Stops what hack/local-up.sh started (make down): every process recorded in _output/local/pids, newest
# first, and waits until they are gone.
set -o nounset
set -o pipefail

# Stopping must finish even when whoever reads our output has gone (Ctrl-C on `make run | tee`), and a
# second Ctrl-C must not leave half the processes running.
trap "" PIPE INT

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PIDS="${LOCAL_DIR:-${ROOT}/_output/local}/pids"
[[ -d "${PIDS}" ]] || exit 0

ORDER=(triton-apiserver prometheus kruise-manager kwok kube-controller-manager kube-scheduler kube-apiserver etcd)
for name in "${ORDER[@]}"; do
    pidfile="${PIDS}/${name}.pid"
    [[ -f "${pidfile}" ]] || continue
    pid=$(cat "${pidfile}")
    # Each component runs in its own session (setsid): signal the whole process group.
    if kill -0 "${pid}" 2>/dev/null; then
        kill -TERM -- "-${pid}" 2>/dev/null || kill -TERM "${pid}" 2>/dev/null
        for _ in $(seq 1 100); do
            kill -0 "${pid}" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "${pid}" 2>/dev/null; then
            echo "local-down: ${name} did not stop in 10s; killing it" >&2
            kill -KILL -- "-${pid}" 2>/dev/null || kill -KILL "${pid}" 2>/dev/null
        fi
    fi
    rm -f "${pidfile}"
    echo "local-down: stopped ${name}" >&2
done
# Anything else recorded (a component added later).
for pidfile in "${PIDS}"/*.pid; do
    [[ -f "${pidfile}" ]] || continue
    kill -KILL -- "-$(cat "${pidfile}")" 2>/dev/null || true
    rm -f "${pidfile}"
done
exit 0
