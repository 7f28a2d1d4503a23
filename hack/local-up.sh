#!/usr/bin/env bash
# Brings up a local control plane (etcd, kube-apiserver, kruise-manager, kwok) and triton-apiserver
# registered through an APIService. Not there yet: it comes with the local-control-plane issue.
echo "hack/local-up.sh: the local control plane is not built yet (see README, 'make run')." >&2
exit 1
