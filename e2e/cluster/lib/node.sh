#!/usr/bin/env bash
# Runs as PID 1 of the cluster's own PID, mount and network namespaces (run.sh makes them): starts
# a registry, etcd, the control plane, containerd, kubelet and kube-proxy for one node, runs the
# command given as arguments against it, then stops everything. When this script exits the kernel
# ends every process of the namespace and drops its mounts and network, so nothing stays behind.
# Environment (set by run.sh): BIN (cluster binaries), WORK (state and logs), REPO, NODE, NODE_IP.
set -euo pipefail
: "${BIN:?}" "${WORK:?}" "${REPO:?}" "${NODE:?}" "${NODE_IP:?}"
lib="$(cd "$(dirname "$0")" && pwd)"
logs="$WORK/logs"
pki="$WORK/pki"
mkdir -p "$logs"
export PATH="$BIN:$PATH"
export KUBECONFIG="$pki/admin.kubeconfig"
export REGISTRY="$NODE_IP:5000"

log() { printf '%s cluster: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
fail() { log "FAILED: $* (logs: $logs)"; exit 1; }

. "$lib/wait.sh"
# wait_for SECONDS WHAT COMMAND...: until_ok, then says how long it took
wait_for() { until_ok "$@"; log "$2 ready after ${waited}s"; }

pids=()
# start NAME COMMAND...: runs COMMAND in the background, its output in logs/NAME.log.
start() {
  local name="$1"; shift
  "$@" >"$logs/$name.log" 2>&1 &
  pids+=("$!")
}

stop_all() {
  local rc=$?
  log "stopping the cluster"
  # kubelet first, so it restarts nothing; then every container, so runc removes its cgroups
  pkill -x kubelet 2>/dev/null || true
  sleep 1
  if [[ -S /run/containerd/containerd.sock ]]; then
    for t in $(ctr -n k8s.io tasks ls -q 2>/dev/null); do
      ctr -n k8s.io tasks kill -s SIGKILL "$t" >/dev/null 2>&1 || true
    done
    sleep 1
    for t in $(ctr -n k8s.io tasks ls -q 2>/dev/null); do
      ctr -n k8s.io tasks delete -f "$t" >/dev/null 2>&1 || true
    done
  fi
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  # a few seconds for a clean stop; whatever still runs ends with this process (PID 1 of the namespace)
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    local alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.5
  done
  exit "$rc"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

# --- the namespace: shared mount propagation, private /run, the node's well-known directories ---
mount --make-rshared /
mount -t tmpfs -o mode=0755 tmpfs /run
for d in var/lib/kubelet var/lib/kcfs var/log/pods var/log/containers etc/cni/net.d; do
  mkdir -p "/$d" "$WORK/root/$d"
  mount --bind "$WORK/root/$d" "/$d"
done
ip link set lo up
ip addr add "$NODE_IP/32" dev lo
sysctl -qw net.ipv4.ip_forward=1
# no DNS server in the cluster: pods get an empty resolv.conf instead of the host's
: > "$WORK/resolv.conf"

"$lib/pki.sh" "$pki" "$NODE" "$NODE_IP"
# kubeconfig NAME USER: a kubeconfig with that user's client certificate.
kubeconfig() {
  local file="$pki/$1.kubeconfig" user="$2"
  kubectl config --kubeconfig="$file" set-cluster e2e --server="https://$NODE_IP:6443" \
    --certificate-authority="$pki/ca.crt" --embed-certs >/dev/null
  kubectl config --kubeconfig="$file" set-credentials "$user" --client-certificate="$pki/$user.crt" \
    --client-key="$pki/$user.key" --embed-certs >/dev/null
  kubectl config --kubeconfig="$file" set-context e2e --cluster=e2e --user="$user" >/dev/null
  kubectl config --kubeconfig="$file" use-context e2e >/dev/null
}
for u in admin controller-manager scheduler kube-proxy kubelet kubelet-other-node; do kubeconfig "$u" "$u"; done

# --- registry and etcd ---
mkdir -p "$WORK/registry"
cat > "$WORK/registry.yml" <<YAML
version: 0.1
storage: {filesystem: {rootdirectory: $WORK/registry}, delete: {enabled: true}}
http: {addr: "$REGISTRY"}
log: {level: warn}
YAML
start registry docker-registry serve "$WORK/registry.yml"
start etcd etcd --data-dir "$WORK/etcd" --listen-client-urls http://127.0.0.1:2379 \
  --advertise-client-urls http://127.0.0.1:2379 --listen-peer-urls http://127.0.0.1:2380 \
  --unsafe-no-fsync --log-level warn
wait_for 60 etcd curl -fsS http://127.0.0.1:2379/health
wait_for 30 registry curl -fsS "http://$REGISTRY/v2/"

# --- control plane: RBAC and the Node authorizer, admission on (NodeRestriction besides the defaults) ---
start kube-apiserver kube-apiserver --etcd-servers=http://127.0.0.1:2379 \
  --advertise-address="$NODE_IP" --bind-address=0.0.0.0 --secure-port=6443 \
  --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
  --allow-privileged=true --service-cluster-ip-range=10.96.0.0/24 \
  --client-ca-file="$pki/ca.crt" --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
  --kubelet-client-certificate="$pki/apiserver-kubelet-client.crt" \
  --kubelet-client-key="$pki/apiserver-kubelet-client.key" --kubelet-preferred-address-types=InternalIP \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
  --profiling=false --v=1
wait_for 120 kube-apiserver kubectl get --raw /readyz
start kube-controller-manager kube-controller-manager --kubeconfig="$pki/controller-manager.kubeconfig" \
  --authentication-kubeconfig="$pki/controller-manager.kubeconfig" \
  --authorization-kubeconfig="$pki/controller-manager.kubeconfig" \
  --service-account-private-key-file="$pki/sa.key" --root-ca-file="$pki/ca.crt" \
  --use-service-account-credentials --leader-elect=false --bind-address=127.0.0.1 \
  --controllers='*,-cloud-node-lifecycle,-service-lb-controller,-node-route-controller' --v=1
start kube-scheduler kube-scheduler --kubeconfig="$pki/scheduler.kubeconfig" \
  --authentication-kubeconfig="$pki/scheduler.kubeconfig" --authorization-kubeconfig="$pki/scheduler.kubeconfig" \
  --leader-elect=false --bind-address=127.0.0.1 --v=1

# --- the node: containerd with a local sandbox image, CNI bridge, kubelet on cgroupfs, kube-proxy ---
cat > "$WORK/containerd.toml" <<TOML
version = 2
root = "$WORK/containerd"
state = "/run/containerd"
[grpc]
  address = "/run/containerd/containerd.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "localhost/kcfs-e2e/pause:catatonit"
  # this machine's root lacks CAP_SYS_RESOURCE, so kubelet's negative OOM scores for sandboxes and
  # critical pods cannot be set; containerd raises them to its own score instead of failing
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "/etc/cni/net.d"
TOML
cat > /etc/cni/net.d/10-kcfs-e2e.conflist <<JSON
{"cniVersion": "0.4.0", "name": "kcfs-e2e", "plugins": [
  {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.244.0.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
  {"type": "portmap", "capabilities": {"portMappings": true}}]}
JSON
start containerd containerd --config "$WORK/containerd.toml"
wait_for 60 containerd ctr version
"$lib/images.sh" "$WORK/images"
for tar in "$WORK/images/pause.tar" "$WORK/images/busybox.tar" $KCFS_IMAGES; do
  ctr -n k8s.io images import "$tar" >/dev/null || fail "ctr could not import $tar"
done
log "images in containerd: $(ctr -n k8s.io images ls -q | grep -v '^sha256:' | tr '\n' ' ')"

cat > "$WORK/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $pki/ca.crt}
authorization: {mode: Webhook}
tlsCertFile: $pki/kubelet.crt
tlsPrivateKeyFile: $pki/kubelet.key
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: unix:///run/containerd/containerd.sock
resolvConf: $WORK/resolv.conf
# a test machine's disk and memory are shared with the build: never evict the test's pods
evictionHard: {memory.available: "0%", nodefs.available: "0%", imagefs.available: "0%", nodefs.inodesFree: "0%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
YAML
start kubelet kubelet --config="$WORK/kubelet.yaml" --kubeconfig="$pki/kubelet.kubeconfig" \
  --hostname-override="$NODE" --node-ip="$NODE_IP" --root-dir=/var/lib/kubelet --v=1
cat > "$WORK/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $pki/kube-proxy.kubeconfig}
mode: iptables
clusterCIDR: 10.244.0.0/24
hostnameOverride: $NODE
conntrack: {maxPerCore: 0}
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
YAML
start kube-proxy kube-proxy --config="$WORK/kube-proxy.yaml" --v=1
wait_for 180 "node $NODE" kubectl wait --for=condition=Ready "node/$NODE" --timeout=5s
log "cluster up in ${SECONDS}s: kubectl --kubeconfig $KUBECONFIG (inside these namespaces)"

if [[ "${KCFS_E2E_HOLD:-}" == 1 ]]; then
  log "holding the cluster: enter it with nsenter -t PID -m -n -p, PID being this lib/node.sh as the host sees it (pgrep -f lib/node.sh); kill that PID to end it"
  sleep infinity &
  wait $! || true
  exit 0
fi
log "running: $*"
"$@"
