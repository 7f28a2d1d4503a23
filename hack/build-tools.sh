#!/usr/bin/env bash
# Builds the binaries of the local control plane from their tools modules under hack/tools/ into
# _output/bin. A binary newer than its module's go.mod and go.sum is current and is not rebuilt.
#   hack/build-tools.sh            all of them
#   hack/build-tools.sh etcd kwok  only these
set -o errexit
set -o nounset
set -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN="${ROOT}/_output/bin"
mkdir -p "${BIN}"

# binary  tools-module  package  [build tags]
TOOLS=(
    "etcd            etcd        github.com/triton-io/triton/hack/tools/etcd"
    "kube-apiserver  kubernetes  k8s.io/kubernetes/cmd/kube-apiserver"
    "kube-scheduler  kubernetes  k8s.io/kubernetes/cmd/kube-scheduler"
    "kube-controller-manager kubernetes k8s.io/kubernetes/cmd/kube-controller-manager"
    "kubectl         kubernetes  k8s.io/kubernetes/cmd/kubectl"
    "kwok            kwok        sigs.k8s.io/kwok/cmd/kwok"
    "kruise-manager  kruise      github.com/openkruise/kruise"
    # Only file and HTTP service discovery: the bed's targets are files (remove_all_sd leaves out the
    # clouds' and Kubernetes' discovery, and their SDKs).
    "prometheus      prometheus  github.com/prometheus/prometheus/cmd/prometheus remove_all_sd"
)

current() { # binary module-dir
    local bin="$1" dir="$2"
    [[ -x "${bin}" && "${bin}" -nt "${dir}/go.mod" && "${bin}" -nt "${dir}/go.sum" ]]
}

wanted=("$@")
for entry in "${TOOLS[@]}"; do
    read -r name module pkg tags <<<"${entry}"
    if [[ ${#wanted[@]} -gt 0 && ! " ${wanted[*]} " =~ " ${name} " ]]; then
        continue
    fi
    dir="${ROOT}/hack/tools/${module}"
    if current "${BIN}/${name}" "${dir}"; then
        echo "build-tools: ${name} is current"
        continue
    fi
    echo "build-tools: building ${name} from ${pkg}"
    start=${SECONDS}
    (cd "${dir}" && CGO_ENABLED=0 go build -trimpath -tags "${tags}" -o "${BIN}/${name}.tmp" "${pkg}")
    mv "${BIN}/${name}.tmp" "${BIN}/${name}"
    echo "build-tools: ${name} built in $((SECONDS - start))s"
done
