#!/usr/bin/env bash
# Fails when generated code is stale: regenerates into a scratch copy of the tree and diffs.
set -o errexit
set -o nounset
set -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SCRATCH=$(mktemp -d)
trap 'rm -rf "${SCRATCH}"' EXIT

# Copy the tree without build output, then regenerate in the copy.
tar -C "${ROOT}" --exclude=./_output --exclude=./.git -cf - . | tar -C "${SCRATCH}" -xf -
mkdir -p "${SCRATCH}/_output"
ln -s "${ROOT}/_output/codegen-bin" "${SCRATCH}/_output/codegen-bin" 2>/dev/null || true
mkdir -p "${ROOT}/_output/codegen-bin"
(cd "${SCRATCH}" && ./hack/update-codegen.sh >/dev/null)

status=0
for dir in pkg hack/api-rules; do
    if ! diff -Naupr "${ROOT}/${dir}" "${SCRATCH}/${dir}"; then
        status=1
    fi
done
if [ "${status}" -ne 0 ]; then
    echo "Generated code is stale: run hack/update-codegen.sh" >&2
    exit 1
fi
echo "Generated code is current."
