#!/usr/bin/env bash
# Brings up a real control plane on loopback, without containers, and triton-apiserver behind it:
# etcd, kube-apiserver (RBAC, static token users), kube-scheduler, kube-controller-manager (garbage
# collector, namespaces, EndpointSlices, HPA, ClusterRole aggregation), kwok with a fake node, the OpenKruise
# CRDs, webhooks and kruise-manager, Prometheus, then triton-apiserver registered through an APIService.
#
#   hack/local-up.sh            bring everything up, print how to use it, stay in the foreground;
#                               Ctrl-C stops everything (make run)
#   hack/local-up.sh --detach   return once everything is ready (make up); hack/local-down.sh stops it
#
# Everything lives in _output/local: kubeconfigs, certificates, data, logs/ and pids/.
set -o errexit
set -o nounset
set -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN="${ROOT}/_output/bin"
LOCAL="${LOCAL_DIR:-${ROOT}/_output/local}"
PKI="${LOCAL}/pki"
LOGS="${LOCAL}/logs"
PIDS="${LOCAL}/pids"

ETCD_PORT=${ETCD_PORT:-2379}
ETCD_PEER_PORT=${ETCD_PEER_PORT:-2380}
KUBE_PORT=${KUBE_PORT:-6443}
SCHEDULER_PORT=${SCHEDULER_PORT:-10259}
CONTROLLER_MANAGER_PORT=${CONTROLLER_MANAGER_PORT:-10257}
KWOK_PORT=${KWOK_PORT:-10247}
KRUISE_WEBHOOK_PORT=${KRUISE_WEBHOOK_PORT:-9876}
KRUISE_METRICS_PORT=${KRUISE_METRICS_PORT:-18080}
KRUISE_HEALTH_PORT=${KRUISE_HEALTH_PORT:-18081}
PROMETHEUS_PORT=${PROMETHEUS_PORT:-9090}
# The aggregator dials localhost:<APIService port>, so triton-apiserver listens on that port.
TRITON_PORT=${TRITON_PORT:-8443}
NODES=${NODES:-1}

DETACH=false
[[ "${1:-}" == "--detach" ]] && DETACH=true

KUBECTL="${BIN}/kubectl --kubeconfig ${LOCAL}/kubeconfig"

log() { echo "local-up: $*" >&2; }

# fail names the component that failed and where its log is, stops what was started, and exits.
fail() {
    local component="$1" message="$2"
    log "FAILED: ${component}: ${message}"
    if [[ -f "${LOGS}/${component}.log" ]]; then
        log "its log: ${LOGS}/${component}.log (last lines below)"
        tail -n 20 "${LOGS}/${component}.log" >&2 || true
    fi
    "${ROOT}/hack/local-down.sh" >/dev/null 2>&1 || true
    exit 1
}

# start runs a component in the background, in its own session, logging to logs/<name>.log.
start() {
    local name="$1"
    shift
    log "starting ${name}"
    # The command line, one argument a line: tests restart a component with it.
    printf '%s\n' "$@" >"${LOCAL}/${name}.args"
    setsid "$@" >"${LOGS}/${name}.log" 2>&1 </dev/null &
    echo $! >"${PIDS}/${name}.pid"
}

# wait_for polls a command until it succeeds or the deadline passes; the component's process must live.
wait_for() {
    local name="$1" seconds="$2"
    shift 2
    local deadline=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        if [[ -f "${PIDS}/${name}.pid" ]] && ! kill -0 "$(cat "${PIDS}/${name}.pid")" 2>/dev/null; then
            fail "${name}" "the process exited"
        fi
        if ((SECONDS > deadline)); then
            fail "${name}" "not ready after ${seconds}s"
        fi
        sleep 0.5
    done
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

healthy() { curl -fsk --max-time 2 "$1" >/dev/null; }

# ---------------------------------------------------------------------------------------------------
# Binaries, a clean state, free ports.

if [[ -d "${PIDS}" ]] && ls "${PIDS}"/*.pid >/dev/null 2>&1; then
    log "a previous local control plane is still recorded in ${PIDS}; stopping it first"
    "${ROOT}/hack/local-down.sh"
fi
"${ROOT}/hack/build-tools.sh"
# A test bed: the server is built with the crash points the e2e tests arm (pkg/failpoint, build tag
# failpoints); make build, make image and make dist never carry them.
(cd "${ROOT}" && make --no-print-directory build GOTAGS=failpoints >/dev/null)

rm -rf "${LOCAL}"
mkdir -p "${PKI}" "${LOGS}" "${PIDS}"
for port in "${ETCD_PORT}" "${ETCD_PEER_PORT}" "${KUBE_PORT}" "${SCHEDULER_PORT}" "${CONTROLLER_MANAGER_PORT}" "${KWOK_PORT}" \
    "${KRUISE_WEBHOOK_PORT}" "${KRUISE_METRICS_PORT}" "${KRUISE_HEALTH_PORT}" "${PROMETHEUS_PORT}" "${TRITON_PORT}"; do
    port_free "${port}" || fail "ports" "127.0.0.1:${port} is in use (set the port variables at the top of $0)"
done

# ---------------------------------------------------------------------------------------------------
# Certificates: the cluster CA (kube-apiserver) and the front-proxy CA (the aggregator's client
# certificate). triton-apiserver makes its own CA and serving certificate (--cert-secret), as in a real
# cluster.

ca() { # name cn
    openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=$2" \
        -keyout "${PKI}/$1.key" -out "${PKI}/$1.crt" 2>/dev/null
}
cert() { # name ca cn extensions
    openssl req -newkey rsa:2048 -nodes -subj "/CN=$3" -keyout "${PKI}/$1.key" -out "${PKI}/$1.csr" 2>/dev/null
    printf '%s\n' "$4" >"${PKI}/$1.ext"
    openssl x509 -req -in "${PKI}/$1.csr" -CA "${PKI}/$2.crt" -CAkey "${PKI}/$2.key" -CAcreateserial \
        -days 365 -extfile "${PKI}/$1.ext" -out "${PKI}/$1.crt" 2>/dev/null
}
log "writing certificates to ${PKI}"
ca cluster-ca "triton-local-cluster-ca"
ca front-proxy-ca "triton-local-front-proxy-ca"
cert kube-apiserver cluster-ca kube-apiserver \
    "subjectAltName=DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:127.0.0.1,IP:10.0.0.1
extendedKeyUsage=serverAuth"
cert front-proxy-client front-proxy-ca front-proxy-client "extendedKeyUsage=clientAuth"
openssl genrsa -out "${PKI}/service-account.key" 2048 2>/dev/null
openssl rsa -in "${PKI}/service-account.key" -pubout -out "${PKI}/service-account.pub" 2>/dev/null

# Static users: admin (system:masters), alice and bob (no roles), triton-apiserver's service account, and
# kube-controller-manager and kube-scheduler under the names their bootstrap roles are bound to (as kubeadm
# gives them client certificates): neither is in system:masters. And triton-webhook-caller, the identity
# kube-apiserver presents to triton-apiserver's resize webhook (artifacts/deploy/webhook-rbac.yaml).
token() { head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
ADMIN_TOKEN=$(token)
ALICE_TOKEN=$(token)
BOB_TOKEN=$(token)
TRITON_TOKEN=$(token)
KRUISE_TOKEN=$(token)
CONTROLLER_MANAGER_TOKEN=$(token)
SCHEDULER_TOKEN=$(token)
WEBHOOK_CALLER_TOKEN=$(token)
cat >"${PKI}/tokens.csv" <<EOF
${ADMIN_TOKEN},admin,admin,system:masters
${ALICE_TOKEN},alice,alice
${BOB_TOKEN},bob,bob
${TRITON_TOKEN},system:serviceaccount:triton-system:triton-apiserver,triton-apiserver,"system:serviceaccounts,system:serviceaccounts:triton-system"
${KRUISE_TOKEN},system:serviceaccount:kruise-system:kruise-manager,kruise-manager,"system:masters,system:serviceaccounts,system:serviceaccounts:kruise-system"
${CONTROLLER_MANAGER_TOKEN},system:kube-controller-manager,kube-controller-manager
${SCHEDULER_TOKEN},system:kube-scheduler,kube-scheduler
${WEBHOOK_CALLER_TOKEN},triton-webhook-caller,triton-webhook-caller
EOF
chmod 600 "${PKI}/tokens.csv"

kubeconfig() { # file user token
    cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: https://127.0.0.1:${KUBE_PORT}
    certificate-authority: ${PKI}/cluster-ca.crt
users:
- name: $2
  user:
    token: $3
contexts:
- name: $2@local
  context:
    cluster: local
    user: $2
    namespace: default
current-context: $2@local
EOF
}
kubeconfig "${LOCAL}/kubeconfig" admin "${ADMIN_TOKEN}"
kubeconfig "${LOCAL}/alice.kubeconfig" alice "${ALICE_TOKEN}"
kubeconfig "${LOCAL}/bob.kubeconfig" bob "${BOB_TOKEN}"
kubeconfig "${LOCAL}/triton-apiserver.kubeconfig" triton-apiserver "${TRITON_TOKEN}"
kubeconfig "${LOCAL}/kruise-manager.kubeconfig" kruise-manager "${KRUISE_TOKEN}"
kubeconfig "${LOCAL}/kube-controller-manager.kubeconfig" system:kube-controller-manager "${CONTROLLER_MANAGER_TOKEN}"
kubeconfig "${LOCAL}/kube-scheduler.kubeconfig" system:kube-scheduler "${SCHEDULER_TOKEN}"

# What kube-apiserver presents to webhooks (its AdmissionConfiguration): triton-webhook-caller's token to
# the resize webhook, whose Service kube-apiserver dials as triton-apiserver.triton-system.svc:<port>, so
# the user is named that; no other user, no current context: every other webhook is called as before.
cat >"${LOCAL}/webhook-callers.kubeconfig" <<EOF
apiVersion: v1
kind: Config
users:
- name: triton-apiserver.triton-system.svc:${TRITON_PORT}
  user:
    token: ${WEBHOOK_CALLER_TOKEN}
EOF
chmod 600 "${LOCAL}/webhook-callers.kubeconfig"
cat >"${LOCAL}/admission-control.yaml" <<EOF
apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
- name: MutatingAdmissionWebhook
  configuration:
    apiVersion: apiserver.config.k8s.io/v1
    kind: WebhookAdmissionConfiguration
    kubeConfigFile: ${LOCAL}/webhook-callers.kubeconfig
EOF

# ---------------------------------------------------------------------------------------------------
# etcd, kube-apiserver, kube-scheduler, kube-controller-manager.

start etcd "${BIN}/etcd" \
    --name local --data-dir "${LOCAL}/etcd-data" \
    --listen-client-urls "http://127.0.0.1:${ETCD_PORT}" --advertise-client-urls "http://127.0.0.1:${ETCD_PORT}" \
    --listen-peer-urls "http://127.0.0.1:${ETCD_PEER_PORT}" --initial-advertise-peer-urls "http://127.0.0.1:${ETCD_PEER_PORT}" \
    --initial-cluster "local=http://127.0.0.1:${ETCD_PEER_PORT}" \
    --listen-metrics-urls "" --log-level warn
wait_for etcd 60 curl -fs "http://127.0.0.1:${ETCD_PORT}/health"

start kube-apiserver "${BIN}/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:${ETCD_PORT}" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "${KUBE_PORT}" \
    --tls-cert-file "${PKI}/kube-apiserver.crt" --tls-private-key-file "${PKI}/kube-apiserver.key" \
    --client-ca-file "${PKI}/cluster-ca.crt" \
    --token-auth-file "${PKI}/tokens.csv" \
    --authentication-config "${ROOT}/hack/local-up/authentication-config.yaml" \
    --audit-policy-file "${ROOT}/hack/local-up/audit-policy.yaml" \
    --audit-log-path "${LOGS}/kube-apiserver-audit.log" \
    --authorization-mode RBAC \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "${PKI}/service-account.pub" \
    --service-account-signing-key-file "${PKI}/service-account.key" \
    --service-cluster-ip-range 10.0.0.0/24 \
    --endpoint-reconciler-type none \
    --disable-admission-plugins ServiceAccount \
    --admission-control-config-file "${LOCAL}/admission-control.yaml" \
    --requestheader-client-ca-file "${PKI}/front-proxy-ca.crt" \
    --requestheader-allowed-names front-proxy-client \
    --requestheader-username-headers X-Remote-User \
    --requestheader-uid-headers X-Remote-Uid \
    --requestheader-group-headers X-Remote-Group \
    --requestheader-extra-headers-prefix X-Remote-Extra- \
    --proxy-client-cert-file "${PKI}/front-proxy-client.crt" \
    --proxy-client-key-file "${PKI}/front-proxy-client.key"
wait_for kube-apiserver 120 ${KUBECTL} get --raw /readyz

start kube-scheduler "${BIN}/kube-scheduler" \
    --kubeconfig "${LOCAL}/kube-scheduler.kubeconfig" --authentication-kubeconfig "${LOCAL}/kube-scheduler.kubeconfig" \
    --authorization-kubeconfig "${LOCAL}/kube-scheduler.kubeconfig" \
    --leader-elect=false --bind-address 127.0.0.1 --secure-port "${SCHEDULER_PORT}"
wait_for kube-scheduler 60 healthy "https://127.0.0.1:${SCHEDULER_PORT}/healthz"

# kube-controller-manager with the controllers of a real cluster that matter here: ClusterRole aggregation
# (the built-in view, edit and admin roles pick up triton's roles), the garbage collector (a deleted
# CloneSet's pods go), namespace deletion, EndpointSlices of Services over pods, and the
# HorizontalPodAutoscaler (no metrics server: it only keeps replicas between min and max; a quick sync and
# downscale window for tests). The garbage collector and namespace deletion discover every API,
# releases.triton.io included: while that APIService is unavailable a namespace deletion waits. Nodes,
# service accounts and tokens stay untouched.
# As kubeadm, EKS, GKE and AKS run it: its own identity (system:kube-controller-manager, not
# system:masters) and --use-service-account-credentials, so each controller acts as its own service account
# in kube-system (namespace-controller, generic-garbage-collector, ...) under its bootstrap role, with tokens
# it asks for through the TokenRequest API.
start kube-controller-manager "${BIN}/kube-controller-manager" \
    --kubeconfig "${LOCAL}/kube-controller-manager.kubeconfig" \
    --authentication-kubeconfig "${LOCAL}/kube-controller-manager.kubeconfig" \
    --authorization-kubeconfig "${LOCAL}/kube-controller-manager.kubeconfig" \
    --use-service-account-credentials \
    --controllers clusterrole-aggregation-controller,garbage-collector-controller,namespace-controller,endpointslice-controller,horizontal-pod-autoscaler-controller \
    --horizontal-pod-autoscaler-sync-period 5s --horizontal-pod-autoscaler-downscale-stabilization 10s \
    --leader-elect=false --bind-address 127.0.0.1 --secure-port "${CONTROLLER_MANAGER_PORT}"
wait_for kube-controller-manager 60 healthy "https://127.0.0.1:${CONTROLLER_MANAGER_PORT}/healthz"

# ---------------------------------------------------------------------------------------------------
# kwok and its nodes: pods become Running and ContainersReady; readiness gates stay as set by whoever
# owns them; Ready follows the gates as a kubelet computes it.

start kwok "${BIN}/kwok" \
    --kubeconfig "${LOCAL}/kubeconfig" \
    --config "${ROOT}/hack/local-up/kwok-stages.yaml" \
    --manage-all-nodes=false \
    --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
    --cidr 10.244.0.1/16 \
    --server-address "127.0.0.1:${KWOK_PORT}"
wait_for kwok 60 healthy "http://127.0.0.1:${KWOK_PORT}/healthz"

for i in $(seq 0 $((NODES - 1))); do
    ${KUBECTL} apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-${i}
  annotations:
    kwok.x-k8s.io/node: fake
  labels:
    kubernetes.io/hostname: kwok-node-${i}
    type: kwok
EOF
done
node_ready() {
    local ready
    ready=$(${KUBECTL} get nodes -l type=kwok -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c True)
    [[ "${ready}" -eq "${NODES}" ]]
}
wait_for kwok 60 node_ready
# No node lifecycle controller runs to lift the taint admission puts on a new node.
${KUBECTL} taint nodes -l type=kwok node.kubernetes.io/not-ready:NoSchedule- >/dev/null 2>&1 || true

# ---------------------------------------------------------------------------------------------------
# OpenKruise: CRDs, webhooks, kruise-manager.

KRUISE_DIR=$(cd "${ROOT}/hack/tools/kruise" && go list -m -f '{{.Dir}}' github.com/openkruise/kruise)
${KUBECTL} create namespace kruise-system >/dev/null
${KUBECTL} apply --server-side -f "${KRUISE_DIR}/config/crd/bases" >/dev/null ||
    fail kube-apiserver "applying the Kruise CRDs"
# The manager looks for its webhook configurations under these names and points them at itself by URL.
${KUBECTL} kustomize "${KRUISE_DIR}/config/webhook" |
    sed -e 's/^  name: mutating-webhook-configuration$/  name: kruise-mutating-webhook-configuration/' \
        -e 's/^  name: validating-webhook-configuration$/  name: kruise-validating-webhook-configuration/' \
        -e 's/name: webhook-service$/name: kruise-webhook-service/' |
    ${KUBECTL} apply -f - >/dev/null || fail kube-apiserver "applying the Kruise webhooks"
crds_established() { ${KUBECTL} wait --for condition=Established --timeout 5s crd/clonesets.apps.kruise.io; }
wait_for kube-apiserver 60 crds_established

mkdir -p "${LOCAL}/kruise-certs"
start kruise-manager env POD_NAMESPACE=kruise-system WEBHOOK_HOST=127.0.0.1 \
    WEBHOOK_PORT="${KRUISE_WEBHOOK_PORT}" WEBHOOK_CERT_DIR="${LOCAL}/kruise-certs" \
    "${BIN}/kruise-manager" \
    --kubeconfig "${LOCAL}/kruise-manager.kubeconfig" \
    --enable-leader-election=false \
    --metrics-addr "127.0.0.1:${KRUISE_METRICS_PORT}" \
    --health-probe-addr "127.0.0.1:${KRUISE_HEALTH_PORT}" \
    --enable-pprof=false
wait_for kruise-manager 180 healthy "http://127.0.0.1:${KRUISE_HEALTH_PORT}/readyz"

# ---------------------------------------------------------------------------------------------------
# Prometheus: what analysis queries. It scrapes every target listed in prometheus/targets/*.json
# (file-based service discovery, read again within a second of a change): a test or a person adds a
# target by dropping a file there, [{"targets": ["127.0.0.1:PORT"], "labels": {"namespace": "NS"}}].
# Scraped every second, so that a test sees a change within seconds.

PROMETHEUS="${LOCAL}/prometheus"
mkdir -p "${PROMETHEUS}/targets" "${PROMETHEUS}/data"
cat >"${PROMETHEUS}/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
- job_name: targets
  file_sd_configs:
  - files: ["${PROMETHEUS}/targets/*.json"]
    refresh_interval: 1s
EOF
echo "http://127.0.0.1:${PROMETHEUS_PORT}" >"${PROMETHEUS}/url"
start prometheus "${BIN}/prometheus" \
    --config.file "${PROMETHEUS}/prometheus.yml" \
    --storage.tsdb.path "${PROMETHEUS}/data" \
    --storage.tsdb.retention.time 1d \
    --web.listen-address "127.0.0.1:${PROMETHEUS_PORT}"
wait_for prometheus 60 healthy "http://127.0.0.1:${PROMETHEUS_PORT}/-/ready"

# ---------------------------------------------------------------------------------------------------
# triton-apiserver: the manifests of artifacts/deploy that users apply to real clusters (namespace,
# service account, RBAC, the pull-in gate policy, APIService, resize webhook), adapted only where loopback
# needs it: the server runs as a process,
# and its Service is an ExternalName for localhost on the APIService's port.

for f in namespace serviceaccount rbac roles pull-in-gate cloneset-pods webhook-rbac write-limits; do
    ${KUBECTL} apply -f "${ROOT}/artifacts/deploy/${f}.yaml" >/dev/null || fail kube-apiserver "applying artifacts/deploy/${f}.yaml"
done
${KUBECTL} apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Service
metadata:
  name: triton-apiserver
  namespace: triton-system
spec:
  type: ExternalName
  externalName: localhost
  ports:
  - name: https
    port: ${TRITON_PORT}
EOF

TRITON_ARGS=(
    --bind-address 127.0.0.1 --secure-port "${TRITON_PORT}"
    --cert-secret triton-system/triton-apiserver-tls --cert-hosts localhost,127.0.0.1
    --ca-bundle-apiservices v1alpha1.releases.triton.io --ca-bundle-webhooks triton-cloneset-resize
    --kubeconfig "${LOCAL}/triton-apiserver.kubeconfig"
    --authentication-kubeconfig "${LOCAL}/triton-apiserver.kubeconfig"
    --authorization-kubeconfig "${LOCAL}/triton-apiserver.kubeconfig"
    --etcd-data-dir "${LOCAL}/triton-etcd"
    --analysis-prometheus-address "http://127.0.0.1:${PROMETHEUS_PORT}"
)
# More flags for triton-apiserver, word-split (for example TRITON_APISERVER_FLAGS="--profiling --contention-profiling"
# for the bench's blocking profiles).
read -r -a EXTRA_TRITON_ARGS <<<"${TRITON_APISERVER_FLAGS:-}"
TRITON_ARGS+=("${EXTRA_TRITON_ARGS[@]}")
start triton-apiserver "${BIN}/triton-apiserver" "${TRITON_ARGS[@]}"
wait_for triton-apiserver 120 healthy "https://127.0.0.1:${TRITON_PORT}/readyz"

# The APIService and the CloneSet resize webhook (served on the same port) as artifacts/deploy has them,
# with no caBundle: triton-apiserver fills it in with its own CA.
sed -e "s|port: 443|port: ${TRITON_PORT}|" \
    "${ROOT}/artifacts/deploy/apiservice.yaml" | ${KUBECTL} apply -f - >/dev/null ||
    fail kube-apiserver "applying the APIService"
sed -e "s|port: 443|port: ${TRITON_PORT}|" \
    "${ROOT}/artifacts/deploy/webhook.yaml" | ${KUBECTL} apply -f - >/dev/null ||
    fail kube-apiserver "applying the CloneSet resize webhook"
apiservice_available() {
    ${KUBECTL} wait --for condition=Available --timeout 5s apiservice/v1alpha1.releases.triton.io &&
        ${KUBECTL} get releases.releases.triton.io -A
}
wait_for triton-apiserver 120 apiservice_available
# kube-apiserver aggregates the group's OpenAPI a few seconds after the APIService is Available: until
# then `kubectl explain` and server-side apply do not know releases. Usable means those work too.
openapi_served() {
    ${KUBECTL} explain releases.spec.strategy >/dev/null 2>&1 &&
        ${KUBECTL} get --raw /openapi/v3/apis/releases.triton.io/v1alpha1 >/dev/null
}
wait_for kube-apiserver 120 openapi_served

cat >&2 <<EOF

local-up: ready. Everything runs on 127.0.0.1; logs are in ${LOGS}/.

  export KUBECONFIG=${LOCAL}/kubeconfig PATH=${BIN}:\$PATH   # admin (system:masters)
  kubectl get apiservice v1alpha1.releases.triton.io
  kubectl create -f artifacts/examples/cloneset/nginx.yaml
  kubectl release update nginx --image nginx=nginx:1.28 --canary 1 --batch-size 1
  kubectl get releases

  kubectl and the kubectl-release plugin are in ${BIN}; alice and bob (no roles) have
  ${LOCAL}/alice.kubeconfig and bob.kubeconfig. Prometheus answers on http://127.0.0.1:${PROMETHEUS_PORT}
  and scrapes the targets listed in ${PROMETHEUS}/targets/*.json.
EOF

if ${DETACH}; then
    log "detached: stop everything with 'make down'"
    exit 0
fi
trap '"${ROOT}/hack/local-down.sh"; exit 0' INT TERM
log "running; Ctrl-C stops everything"
while true; do
    for pidfile in "${PIDS}"/*.pid; do
        name=$(basename "${pidfile}" .pid)
        if ! kill -0 "$(cat "${pidfile}")" 2>/dev/null; then
            trap - INT TERM
            fail "${name}" "the process exited"
        fi
    done
    sleep 2
done
