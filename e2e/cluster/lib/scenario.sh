#!/usr/bin/env bash
# The real-cluster scenario, run by node.sh inside the cluster's namespaces once the node is Ready.
# Every step asserts what a user would check; the first failure ends the run with the reason.
# Environment (from node.sh): REPO, WORK, NODE, NODE_IP, REGISTRY, KUBECONFIG, PATH with the binaries.
set -euo pipefail
lib="$(cd "$(dirname "$0")" && pwd)"
ns=kcfs-system
out="$WORK/scenario"
mkdir -p "$out"
report="$out/report.txt"
: > "$report"
busybox=localhost/kcfs-e2e/busybox:static
tag=0.1.0-SNAPSHOT

say() { printf '\n%s == %s\n' "$(date -u +%H:%M:%S)" "$*"; }
fail() { echo "FAILED: $*" >&2; dump_state >&2; echo "cluster: $checks passed, 1 failed"; exit 1; }
note() { echo "$*" | tee -a "$report"; checks=$((checks + 1)); }
checks=0
dump_state() {
  echo "--- state at failure"
  kubectl get pods -A -o wide 2>&1 || true
  kubectl get composefsimages,composefsnodes 2>&1 || true
  kubectl get events -A --sort-by=.lastTimestamp 2>&1 | tail -40 || true
  for p in $(kubectl -n "$ns" get pods -o name 2>/dev/null); do
    echo "--- logs of $p"; kubectl -n "$ns" logs "$p" --all-containers --tail=60 2>&1 || true
  done
}
. "$lib/wait.sh"
# ms: milliseconds since the epoch, for the latency figures
ms() { date +%s%3N; }
examples() { sed -e "s#registry.example.com/team#$REGISTRY/e2e#g" -e "s#registry.example.com/busybox:latest#$busybox#g" "$@"; }
# the node plugin pod of this node (the DaemonSet also makes one for the fake Node of the admission step)
node_pod() {
  kubectl -n "$ns" get pods -l app.kubernetes.io/component=node --field-selector "spec.nodeName=$NODE" \
    -o jsonpath='{.items[0].metadata.name}'
}
helm_values=(
  --set node.image.repository=ghcr.io/kcfs/kcfs-node --set node.image.tag="$tag" --set node.image.pullPolicy=Never
  --set operator.image.repository=ghcr.io/kcfs/kcfs-operator --set operator.image.tag="$tag"
  --set operator.image.pullPolicy=Never
  # the sidecar images cannot be had here: kcfs-node registers itself with kubelet (chart value)
  --set sidecars.enabled=false
  --set "plainHttpRegistries={$REGISTRY}"
  --set operator.replicas=2
)

say "fixture images -> $REGISTRY"
"$lib/fixtures.sh" "$out/fixtures" "$REGISTRY"

say "helm install, as the README tells users"
kubectl create namespace "$ns" --dry-run=client -o yaml | kubectl apply -f -
kubectl label --overwrite namespace "$ns" pod-security.kubernetes.io/enforce=privileged
helm upgrade --install kcfs "$REPO/charts/kcfs" --namespace "$ns" "${helm_values[@]}" --wait --timeout 5m \
  || fail "helm install did not become ready"
kubectl -n "$ns" rollout status daemonset/kcfs-node --timeout=60s
kubectl -n "$ns" rollout status deployment/kcfs-operator --timeout=60s
until_ok 60 "kubelet registered csi.kcfs.dev on $NODE" \
  sh -c "kubectl get csinode $NODE -o jsonpath='{.spec.drivers[*].name}' | grep -qw csi.kcfs.dev"
note "helm install: operator (2 replicas) and node DaemonSet ready; CSINode lists csi.kcfs.dev"
lease() { kubectl -n "$ns" get lease kcfs-operator -o jsonpath="{.spec.$1}"; }
until_ok 60 "an operator replica holds the Lease kcfs-operator" sh -c "kubectl -n $ns get lease kcfs-operator -o jsonpath='{.spec.holderIdentity}' | grep -q ."
leader0=$(lease holderIdentity) renew0=$(lease renewTime) transitions0=$(lease leaseTransitions) lease_start=$SECONDS

# Prometheus (Debian's) scrapes the node plugin and the operator the way the chart's ServiceMonitor
# says: the endpoints of the Services labelled kcfs.dev/metrics, port "metrics", the pod's node as
# label "node". Debian builds Prometheus without Kubernetes discovery, so a loop here writes the
# same targets for its file discovery every few seconds.
mkdir -p "$out/prometheus"
write_targets() {
  local services slices=""
  services=$(kubectl -n "$ns" get services -l kcfs.dev/metrics=true -o jsonpath='{.items[*].metadata.name}')
  for svc in $services; do
    slices+=$(kubectl -n "$ns" get endpointslices -l "kubernetes.io/service-name=$svc" -o json)
  done
  jq -s '[.[].items[] | (.ports[] | select(.name == "metrics") | .port) as $port | .endpoints[]
      | select(.conditions.ready != false) | {targets: [.addresses[0] + ":" + ($port | tostring)],
        labels: {node: (.nodeName // ""), pod: (.targetRef.name // "")}}]' <<< "$slices" \
    > "$out/prometheus/targets.json.new" && mv "$out/prometheus/targets.json.new" "$out/prometheus/targets.json"
}
write_targets
(while sleep 3; do write_targets 2>/dev/null || true; done) &
cat > "$out/prometheus/prometheus.yml" <<YAML
global: {scrape_interval: 5s, evaluation_interval: 5s}
scrape_configs:
  - job_name: kcfs
    file_sd_configs: [{files: ["$out/prometheus/targets.json"], refresh_interval: 5s}]
YAML
prometheus --config.file="$out/prometheus/prometheus.yml" --storage.tsdb.path="$out/prometheus/data" \
  --web.listen-address=127.0.0.1:9090 >"$WORK/logs/prometheus.log" 2>&1 &
prom_start=$(date +%s)

say "kubectl apply -f examples/composefsimage.yaml"
t0=$(ms)
examples "$REPO/examples/composefsimage.yaml" | kubectl apply -f -
kubectl wait --for=condition=Ready composefsimage/app-a composefsimage/app-b composefsimage/app-c --timeout=300s \
  || fail "the ComposefsImages did not become Ready"
note "kubectl apply -> all three ComposefsImages Ready: $(( $(ms) - t0 )) ms"
kubectl get composefsimages | tee "$out/get-composefsimages.txt"
header=$(head -1 "$out/get-composefsimages.txt" | tr -s ' ')
# the CRD generator orders the printer columns by their JSON path; the README shows this order
[[ "$header" == "NAME AGE IMAGE READY DIGEST" ]] || fail "kubectl get composefsimages prints columns '$header'"
for image in app-a app-b app-c; do
  line=$(grep "^$image " "$out/get-composefsimages.txt" | tr -s ' ')
  [[ "$(cut -d' ' -f3 <<< "$line")" == "$REGISTRY/e2e/$image:v1" ]] || fail "IMAGE column of $image: $line"
  [[ "$(cut -d' ' -f4 <<< "$line")" == 1/1 ]] || fail "READY column of $image is not 1/1: $line"
  [[ "$(cut -d' ' -f5 <<< "$line")" =~ ^[0-9a-f]{12}$ ]] || fail "DIGEST column of $image: $line"
  resolved=$(kubectl get composefsimage "$image" -o jsonpath='{.status.resolvedImage}')
  [[ "$resolved" == "$REGISTRY/e2e/$image@sha256:"* ]] || fail "$image is not pinned to a digest: $resolved"
done
kubectl get composefsnodes -o wide | tee "$out/get-composefsnodes.txt"
grep -q "^$NODE " "$out/get-composefsnodes.txt" || fail "kubectl get composefsnodes does not list $NODE"
distinct=$(cat "$out"/fixtures/expected/*.sha256 | cut -d' ' -f1 | sort -u | wc -l)
until_ok 60 "ComposefsNode $NODE reports one object per distinct file ($distinct)" \
  sh -c "[ \"\$(kubectl get composefsnode $NODE -o jsonpath='{.status.store.objects}')\" = $distinct ]"
# the node agent tells how each build pulled, in an event on the image (RBAC: create in "default")
for image in app-a app-b app-c; do
  until_ok 30 "an event from node $NODE says how it built $image" \
    sh -c "kubectl get events -n default --field-selector involvedObject.name=$image,reason=Built \
      -o jsonpath='{.items[*].reportingComponent}/{.items[*].reportingInstance}' | grep -qx 'kcfs-node/$NODE'"
done
built=$(kubectl get events -n default --field-selector involvedObject.name=app-a,reason=Built -o jsonpath='{.items[0].message}')
[[ "$built" == "node $NODE built from $REGISTRY/e2e/app-a@sha256:"*"layer bytes"* ]] || fail "the Built event of app-a says: $built"
note "the node agent's Built events name the node and the pull: ${built#*objects; }"

say "workloads: a Deployment (2 replicas) and a Pod with inline volumes, a Pod on a static PersistentVolume"
t0=$(ms)
examples "$REPO/examples/workloads.yaml" | kubectl apply -f -
kubectl -n team-a rollout status deployment/tools --timeout=180s || fail "the Deployment did not become ready"
kubectl -n team-a wait --for=condition=Ready pod/app-b pod/app-c --timeout=180s || fail "the pods did not become ready"
note "pods created -> all 4 Running and Ready: $(( $(ms) - t0 )) ms"
check_pod() { # POD IMAGE: every file under /data hashes as in the source image
  kubectl -n team-a exec "$1" -- sh -c 'cd /data && find . -type f -exec sha256sum {} +' | LC_ALL=C sort -k2 \
    > "$out/$1.sha256"
  diff -u "$out/fixtures/expected/$2.sha256" "$out/$1.sha256" >&2 || fail "pod $1 does not see the files of $2"
}
pods_of() { kubectl -n team-a get pods -l "$1" -o jsonpath='{.items[*].metadata.name}'; }
# volume_pod NAME IMAGE: a restricted-level pod in team-a with ComposefsImage IMAGE read-only at /data
volume_pod() {
  kubectl -n team-a run "$1" --image="$busybox" --restart=Never --overrides='{"spec": {"securityContext":
    {"runAsNonRoot": true, "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}}, "containers": [{"name": "main",
    "image": "'"$busybox"'", "command": ["sleep", "86400"], "securityContext": {"allowPrivilegeEscalation": false,
    "capabilities": {"drop": ["ALL"]}}, "volumeMounts": [{"name": "tools", "mountPath": "/data"}]}], "volumes": [{"name":
    "tools", "csi": {"driver": "csi.kcfs.dev", "readOnly": true, "volumeAttributes": {"image": "'"$2"'"}}}]}}'
}
check_all_pods() {
  for p in $(pods_of app=tools); do check_pod "$p" app-a; done
  check_pod app-b app-b
  check_pod app-c app-c
}
check_all_pods
note "4 pods read every file of their image; sha256 of each equals the source"
for p in $(pods_of app=tools) app-b app-c; do
  if kubectl -n team-a exec "$p" -- sh -c 'echo x > /data/written' 2>"$out/ro.err"; then
    fail "pod $p could write into its read-only kcfs volume"
  fi
  grep -qi 'read-only' "$out/ro.err" || fail "a write into $p's volume failed, but not as read-only: $(cat "$out/ro.err")"
done
kubectl -n team-a exec app-b -- sh -c 'echo hello > /scratch/scratch/note && cat /scratch/scratch/note' \
  | grep -qx hello || fail "the writable volume of app-b does not keep what the pod writes"
kubectl -n team-a exec app-b -- sh -c 'test ! -e /data/scratch/note' \
  || fail "a write to app-b's writable volume shows through its read-only volume of the same image"
note "read-only volumes refuse writes (EROFS); app-b's writable volume keeps its writes apart"

say "page cache: one copy of each shared file"
objects=(/var/lib/kcfs/objects/*/*)
((${#objects[@]} == distinct)) || fail "the store holds ${#objects[@]} objects, expected $distinct"
unique_bytes=$(stat -c %s "${objects[@]}" | awk '{s += $1} END {print s}')
for f in "${objects[@]}"; do sync "$f"; dd if="$f" iflag=nocache count=0 status=none; done
for p in $(pods_of app=tools) app-b app-c; do
  kubectl -n team-a exec "$p" -- sh -c 'find /data -type f -exec cat {} + > /dev/null'
done
cached=$(fincore --bytes --noheadings --raw --output RES "${objects[@]}" | awk '{s += $1} END {print s}')
logical=$(cat "$out"/fixtures/expected/*.sha256 | wc -l)
note "page cache of the store's $distinct objects after 4 pods (3 images, $logical files) read everything:" \
  "$cached bytes; one copy of each distinct file is $unique_bytes bytes"
((cached <= unique_bytes + distinct * 4096)) || fail "page cache $cached exceeds one copy of each file ($unique_bytes)"
((cached * 100 >= unique_bytes * 90)) || fail "page cache $cached is far below $unique_bytes: reads bypass the store?"

say "admission: a ComposefsNode write with another node's credentials; a ComposefsImage with a bad spec"
kubectl apply -f - <<YAML
apiVersion: v1
kind: Node
metadata: { name: other-node, labels: { kcfs.dev/e2e: fake } }
YAML
# status_patch TOKEN: PATCH the status of this node's ComposefsNode as the node agent would; prints the HTTP code
status_patch() {
  curl -sS -o "$out/vap.json" -w '%{http_code}' --cacert "$WORK/pki/ca.crt" -X PATCH \
    -H "Authorization: Bearer $1" -H 'Content-Type: application/merge-patch+json' \
    "https://$NODE_IP:6443/apis/kcfs.dev/v1alpha1/composefsnodes/$NODE/status" -d '{"status": {}}'
}
# the agent's own credentials: the token kubelet projected into the node plugin's pod
node_uid=$(kubectl -n "$ns" get pod "$(node_pod)" -o jsonpath='{.metadata.uid}')
own_file=$(find "/var/lib/kubelet/pods/$node_uid/volumes/kubernetes.io~projected" -path '*/kube-api-access-*/token' \
  2>/dev/null | head -1 || true)
[[ -n "$own_file" ]] || { find "/var/lib/kubelet/pods/$node_uid" -maxdepth 4 >&2; fail "no projected token in pod $(node_pod)"; }
own=$(cat "$own_file")
[[ "$(status_patch "$own")" == 200 ]] || fail "the node agent's own token cannot patch its ComposefsNode: $(cat "$out/vap.json")"
other=$(kubectl -n "$ns" create token kcfs-node --bound-object-kind=Node --bound-object-name=other-node)
code=$(status_patch "$other")
[[ "$code" == 403 ]] || fail "a token bound to other-node patched the ComposefsNode of $NODE (HTTP $code)"
grep -q "may write only the ComposefsNode of its own node, not '$NODE'\"" "$out/vap.json" \
  || fail "the write was refused, but not by the policy comparing node names: $(cat "$out/vap.json")"
kubectl delete node other-node --wait=false >/dev/null
note "status patch of ComposefsNode $NODE: own node's token 200; token bound to other-node 403: $(jq -r .message "$out/vap.json" | cut -c1-150)"
if kubectl apply -f - 2>"$out/schema.err" <<YAML
apiVersion: kcfs.dev/v1alpha1
kind: ComposefsImage
metadata: { name: bad-spec }
spec:
  source: { image: "$REGISTRY/e2e/app-a:v1" }
  verity: Sometimes
YAML
then fail "the API server accepted a ComposefsImage with verity: Sometimes"; fi
grep -q 'spec.verity' "$out/schema.err" || fail "the bad spec was refused for another reason: $(cat "$out/schema.err")"
note "a ComposefsImage with verity: Sometimes: $(tr -d '\n' < "$out/schema.err" | cut -c1-160)"

say "restart the node plugin while pods use its volumes"
old=$(node_pod)
kubectl -n "$ns" delete pod "$old" --wait=true
kubectl -n "$ns" rollout status daemonset/kcfs-node --timeout=120s
until_ok 60 "kubelet re-registered csi.kcfs.dev" \
  sh -c "kubectl get csinode $NODE -o jsonpath='{.spec.drivers[*].name}' | grep -qw csi.kcfs.dev"
check_all_pods
note "node plugin pod $old replaced by $(node_pod): every pod still reads its files"
victim=$(pods_of app=tools | cut -d' ' -f1)
uid=$(kubectl -n team-a get pod "$victim" -o jsonpath='{.metadata.uid}')
kubectl -n team-a delete pod "$victim" --wait=true --timeout=60s || fail "pod $victim did not go away (unpublish?)"
if grep -q "/pods/$uid/" /proc/self/mountinfo; then fail "pod $victim is gone but its volume is still mounted"; fi
kubectl -n team-a rollout status deployment/tools --timeout=120s
check_all_pods
note "after the restart: a deleted pod's volume was unpublished, its replacement reads its files"

say "delete a ComposefsImage in use: the finalizer holds it until the pods are gone"
digest_c=$(kubectl get composefsimage app-c -o jsonpath='{.status.digest}')
[[ -n "$digest_c" ]] || fail "ComposefsImage app-c reports no digest"
kubectl delete composefsimage app-c --wait=false
sleep 10
kubectl get composefsimage app-c >/dev/null 2>&1 || fail "app-c vanished while pod app-c still mounts it"
kubectl -n team-a exec app-c -- sh -c 'test -f /data/opt/models/model.bin' || fail "app-c's volume broke"
kubectl -n team-a delete pod app-c --wait=true
until_ok 120 "ComposefsImage app-c deleted after its pod" sh -c '! kubectl get composefsimage app-c'
until_ok 120 "the store drops app-c" sh -c "! ls /var/lib/kcfs/images/ | grep -q '${digest_c#sha256:}'"
note "app-c waited on its finalizer while in use; after its pod was gone the node store dropped it"

say "chart values that change node behaviour: node.verity and node.cacheMaxBytes"
helm upgrade kcfs "$REPO/charts/kcfs" --namespace "$ns" --reuse-values --set node.verity=REQUIRED --wait --timeout 3m
kubectl -n "$ns" rollout status daemonset/kcfs-node --timeout=120s
volume_pod strict app-b
until_ok 90 "kubelet reports the verity refusal of pod strict" \
  sh -c "kubectl -n team-a get events --field-selector involvedObject.name=strict,reason=FailedMount -o jsonpath='{.items[*].message}' | grep -qi verity"
[[ "$(kubectl -n team-a get pod strict -o jsonpath='{.status.phase}')" == Pending ]] || fail "pod strict runs without verity"
note "node.verity=REQUIRED: a new pod of app-b (spec IfSupported) is refused on this kernel: $(kubectl -n team-a get events \
  --field-selector involvedObject.name=strict,reason=FailedMount -o jsonpath='{range .items[*]}{.message}{"\n"}{end}' \
  | grep -i verity | head -1 | cut -c1-200)"
helm upgrade kcfs "$REPO/charts/kcfs" --namespace "$ns" --reuse-values --set node.verity=IF_SUPPORTED --wait --timeout 3m
kubectl -n "$ns" rollout status daemonset/kcfs-node --timeout=120s
kubectl -n team-a wait --for=condition=Ready pod/strict --timeout=180s || fail "pod strict did not start after node.verity went back"
note "node.verity=IF_SUPPORTED again: kubelet's retry mounted pod strict"
# app-c, wanted again but used by no pod, is built first; then a 1 KiB cache limit must evict it
examples "$REPO/examples/composefsimage.yaml" | kubectl apply -f -
image_state() { kubectl get composefsnode "$NODE" -o json | jq -r --arg n "$1" '.status.images[]? | select(.name == $n) | .state'; }
app_c_stored() { [[ -f "/var/lib/kcfs/images/${digest_c#sha256:}.cfs" ]]; }
app_c_built() { [[ "$(image_state app-c)" == Ready ]] && app_c_stored; }
app_c_evicted() { [[ "$(image_state app-c)" == Pending ]] && ! app_c_stored; }
until_ok 180 "app-c built again into the node store" app_c_built
helm upgrade kcfs "$REPO/charts/kcfs" --namespace "$ns" --reuse-values --set node.cacheMaxBytes=1K --wait --timeout 3m
kubectl -n "$ns" rollout status daemonset/kcfs-node --timeout=120s
until_ok 180 "node.cacheMaxBytes=1K evicts the unmounted app-c" app_c_evicted
[[ "$(image_state app-a)" == Ready && "$(image_state app-b)" == Ready ]] || fail "eviction took images that pods use"
note "node.cacheMaxBytes=1K: app-c, built and unmounted, was evicted (Pending, image file gone); app-a and app-b, in use, stayed Ready"
helm upgrade kcfs "$REPO/charts/kcfs" --namespace "$ns" --reuse-values --set node.cacheMaxBytes=0 --wait --timeout 3m

say "leader election: the Lease is renewed for 3 minutes, then passes to the other replica"
wait_s=$((180 - (SECONDS - lease_start)))
((wait_s > 0)) && { echo "waiting ${wait_s}s more for 3 minutes of renewals"; sleep "$wait_s"; }
[[ "$(lease holderIdentity)" == "$leader0" ]] || fail "the Lease changed hands without a failure: $leader0 -> $(lease holderIdentity)"
[[ "$(lease leaseTransitions)" == "$transitions0" ]] || fail "the Lease had transitions while its leader was healthy"
[[ "$(lease renewTime)" > "$renew0" ]] || fail "the leader did not renew the Lease in 3 minutes ($renew0)"
operators=$(kubectl -n "$ns" get pods -l app.kubernetes.io/component=operator -o jsonpath='{.items[*].metadata.name}')
leader_pod=""
for p in $operators; do [[ "$leader0" == *"$p"* ]] && leader_pod=$p; done
[[ -n "$leader_pod" ]] || fail "the Lease holder '$leader0' is none of the operator pods ($operators)"
standby=$(tr ' ' '\n' <<< "$operators" | grep -vx "$leader_pod")
note "leader $leader_pod renewed the Lease for $((SECONDS - lease_start))s ($renew0 -> $(lease renewTime)), no transitions"
t0=$(ms)
kubectl -n "$ns" delete pod "$leader_pod" --wait=false
# the old leader does not hand the Lease over: it expires (leaseDurationSeconds), and then the
# waiting replica or the Deployment's replacement pod, whichever asks first, takes it
until_ok 120 "another operator replica takes the Lease" sh -c \
  "h=\$(kubectl -n $ns get lease kcfs-operator -o jsonpath='{.spec.holderIdentity}'); [ -n \"\$h\" ] && [ \"\$h\" != $leader_pod ]"
leader1=$(lease holderIdentity)
kubectl -n "$ns" get pod "$leader1" >/dev/null || fail "the Lease went to $leader1, which is no running operator pod"
[[ "$(lease leaseTransitions)" -gt "$transitions0" ]] || fail "the Lease changed holder without a transition"
note "leader pod deleted -> $leader1 ($([[ $leader1 == "$standby" ]] && echo "the waiting replica" || echo "the replacement pod")) holds the Lease after $(( $(ms) - t0 )) ms"
kubectl apply -f - <<YAML
apiVersion: kcfs.dev/v1alpha1
kind: ComposefsImage
metadata: { name: after-failover }
spec:
  source: { image: "$REGISTRY/e2e/app-b:v1" }
YAML
kubectl wait --for=condition=Ready composefsimage/after-failover --timeout=180s || fail "the new leader did not reconcile a new image"
note "the new leader reconciled ComposefsImage after-failover to Ready"

say "Prometheus: every query of the Grafana dashboard returns data"
until_ok 60 "Prometheus up" curl -fsS http://127.0.0.1:9090/-/ready
# up_targets: how many kcfs targets Prometheus scraped successfully last time
up_targets() {
  curl -fsS --get http://127.0.0.1:9090/api/v1/query --data-urlencode 'query=count(up{job="kcfs"} == 1)' \
    | jq -r '.data.result[0].value[1] // 0'
}
three_up() { [ "$(up_targets)" -ge 3 ]; }
until_ok 120 "Prometheus scrapes the node plugin and the operators" three_up
# traffic for the panels that show rates, while Prometheus watches this node plugin: publishes (2
# more replicas) and errors (a pod asking for an image no ComposefsImage names)
kubectl -n team-a scale deployment/tools --replicas=4
kubectl -n team-a rollout status deployment/tools --timeout=120s
volume_pod missing-image no-such-image
until_ok 90 "kubelet reports the refusal of pod missing-image" \
  sh -c "kubectl -n team-a get events --field-selector involvedObject.name=missing-image,reason=FailedMount -o name | grep -q ."
kubectl -n team-a scale deployment/tools --replicas=2
kubectl -n team-a delete pod missing-image --wait=false
sleep 20
end=$(date +%s)
jq -r '.. | objects | select(has("expr")) | .expr' "$REPO/charts/kcfs/dashboards/kcfs.json" | sort -u > "$out/queries.txt"
count=0
while IFS= read -r q; do
  query=$(sed -e 's/\$node/.*/g' -e 's/\$__rate_interval/1m/g' <<< "$q")
  points=$(curl -fsS --get http://127.0.0.1:9090/api/v1/query_range --data-urlencode "query=$query" \
    --data-urlencode "start=$prom_start" --data-urlencode "end=$end" --data-urlencode step=15 \
    | jq '[.data.result[].values[] | select(.[1] != "NaN")] | length')
  ((points > 0)) || fail "the dashboard query returns no data over the run: $q"
  count=$((count + 1))
done < "$out/queries.txt"
note "Prometheus scraped $(up_targets) targets (the node plugin, both operators); all $count dashboard queries return data"

say "report"
cat "$report"
# the plain closing line CI reads: every note above is a step whose assertions passed
echo "cluster: $checks passed, 0 failed"
