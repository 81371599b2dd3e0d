#!/usr/bin/env bash
# The kcfs e2e scenario on a real cluster: kind (default) or any cluster kubectl points at.
#
#   e2e/kind/run.sh            create a kind cluster + local registry, run, report, delete the cluster
#   KEEP=1 e2e/kind/run.sh     keep the cluster and registry afterwards
#   CLUSTER=existing e2e/kind/run.sh
#                              use the cluster of the current kubectl context; set REGISTRY_PUSH (where this
#                              machine pushes, e.g. registry.example:5000) and REGISTRY_PULL (how nodes reach it,
#                              default: the same) and KCFS_IMAGE_REPO (where the kcfs images are, see README)
#
# Needs: docker, kind, kubectl, helm, skopeo (to push the kcfs images built by Maven without Docker),
# and a node kernel with file-backed EROFS and overlayfs data-only layers (Linux 6.12 or newer).
# The page-cache step needs a shell on the node (docker exec into the kind node); on other clusters it
# is skipped. See e2e/kind/README.md.
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="$repo/e2e/target/kind"
mode="${CLUSTER:-kind}"
ns=kcfs-system
tag=e2e
mkdir -p "$out"
report="$out/sharing-report.txt"

say() { printf '\n== %s\n' "$*"; }
fail() { echo "FAILED: $*" >&2; exit 1; }

if [[ "$mode" == kind ]]; then
    push=localhost:5001
    pull=kind-registry:5000
    say "kind cluster kcfs-e2e and registry kind-registry (localhost:5001)"
    if [[ "$(docker inspect -f '{{.State.Running}}' kind-registry 2>/dev/null || true)" != true ]]; then
        docker run -d --restart=always -p 127.0.0.1:5001:5000 --network bridge --name kind-registry registry:2 >/dev/null
    fi
    kind get clusters | grep -qx kcfs-e2e || kind create cluster --config "$here/cluster.yaml" --wait 120s
    # containerd on the node pulls localhost:5001/... from the registry container (kind's local registry recipe)
    for node in $(kind get nodes --name kcfs-e2e); do
        docker exec "$node" mkdir -p /etc/containerd/certs.d/localhost:5001
        printf '[host."http://kind-registry:5000"]\n' | docker exec -i "$node" cp /dev/stdin /etc/containerd/certs.d/localhost:5001/hosts.toml
    done
    docker network connect kind kind-registry 2>/dev/null || true
    kubectl config use-context kind-kcfs-e2e >/dev/null
    kcfs_repo="localhost:5001"
    cleanup() {
        if [[ -z "${KEEP:-}" ]]; then
            kind delete cluster --name kcfs-e2e >/dev/null 2>&1 || true
            docker rm -f kind-registry >/dev/null 2>&1 || true
        fi
    }
    trap cleanup EXIT
else
    push="${REGISTRY_PUSH:?set REGISTRY_PUSH to a registry this machine can push to}"
    pull="${REGISTRY_PULL:-$push}"
    kcfs_repo="${KCFS_IMAGE_REPO:-$push}"
fi

say "kcfs images (Jib, no Docker needed) -> $kcfs_repo"
if [[ ! -f "$repo/deploy/target/images/kcfs-node.tar" || ! -f "$repo/deploy/target/images/kcfs-operator.tar" ]]; then
    (cd "$repo" && ./mvnw -B -q -Pimages -DskipTests package)
fi
if [[ "$mode" == kind || -z "${KCFS_IMAGE_REPO:-}" ]]; then
    for image in kcfs-node kcfs-operator; do
        skopeo copy -q --dest-tls-verify=false "oci-archive:$repo/deploy/target/images/$image.tar" "docker://$push/$image:$tag"
    done
fi

say "fixture images -> $push"
"$here/make-fixtures.sh" "$out" "$push"

say "helm install kcfs"
# as the README tells users: the node plugin is privileged, its namespace must allow it
kubectl create namespace "$ns" --dry-run=client -o yaml | kubectl apply -f -
kubectl label --overwrite namespace "$ns" pod-security.kubernetes.io/enforce=privileged
helm upgrade --install kcfs "$repo/charts/kcfs" --namespace "$ns" --wait --timeout 5m \
    --set node.image.repository="$kcfs_repo/kcfs-node" --set node.image.tag="$tag" \
    --set operator.image.repository="$kcfs_repo/kcfs-operator" --set operator.image.tag="$tag" \
    --set "plainHttpRegistries={$pull}"
node_pod() { kubectl -n "$ns" get pods -l app.kubernetes.io/component=node --field-selector "spec.nodeName=$1" \
    -o jsonpath='{.items[0].metadata.name}'; }

say "ComposefsImages: wait until the operator reports them Ready"
sed "s#kind-registry:5000#$pull#g" "$here/manifests/composefsimages.yaml" | kubectl apply -f -
kubectl wait --for=condition=Ready composefsimage/app-a composefsimage/app-b composefsimage/app-c --timeout=300s
kubectl get composefsimages

say "pods: 6 over 3 images"
kubectl apply -f "$here/manifests/pods.yaml"
kubectl wait --for=condition=Ready pod -l app=kcfs-e2e --timeout=300s
node=$(kubectl get pod pod-0 -o jsonpath='{.spec.nodeName}')
for i in 1 2 3 4 5; do
    [[ "$(kubectl get pod "pod-$i" -o jsonpath='{.spec.nodeName}')" == "$node" ]] \
        || echo "note: pod-$i runs on another node than pod-0; the sharing figures below are for $node only"
done

say "contents: every pod sees exactly its image's files"
images=(app-a app-b app-c)
for i in 0 1 2 3 4 5; do
    image=${images[$((i % 3))]}
    kubectl exec "pod-$i" -- sh -c 'cd /data && find . -type f | xargs sha256sum' | LC_ALL=C sort -k2 > "$out/pod-$i.sha256"
    LC_ALL=C sort -k2 "$out/expected/$image.sha256" | diff -u - "$out/pod-$i.sha256" \
        || fail "pod-$i does not see the files of $image (diff above)"
    echo "pod-$i ($image): $(wc -l < "$out/pod-$i.sha256") files match"
done

say "store: one object per distinct file"
distinct=$(cat "$out"/expected/*.sha256 | cut -d' ' -f1 | sort -u | wc -l)
# sizes of the distinct contents, from the build context (file names there are unique per content)
unique_bytes=$(find "$out/context" -type f ! -name '*.Dockerfile' -printf '%s\n' | awk '{s+=$1} END {print s}')
image_bytes=0
for image in "${images[@]}"; do
    b=$(kubectl get composefsimage "$image" -o jsonpath='{.status.bytes}')
    image_bytes=$((image_bytes + b))
done
objects=""
for _ in $(seq 60); do
    objects=$(kubectl get composefsnode "$node" -o jsonpath='{.status.store.objects}')
    [[ "$objects" == "$distinct" ]] && break
    sleep 2
done
[[ "$objects" == "$distinct" ]] || fail "ComposefsNode $node reports $objects store objects, expected $distinct (one per distinct file)"
pod=$(node_pod "$node")
metrics=$(kubectl get --raw "/api/v1/namespaces/$ns/pods/${pod}:9820/proxy/metrics" | grep -E '^kcfs_(store|mounts)')

cache_line="page cache: not measured (needs a shell on the node; kind only)"
if [[ "$mode" == kind ]]; then
    say "page cache: evict the store objects, read every file in every pod, measure the objects' residency"
    docker exec "$node" sh -c 'for f in /var/lib/kcfs/objects/*/*; do sync "$f"; dd if="$f" iflag=nocache count=0 status=none; done'
    for i in 0 1 2 3 4 5; do kubectl exec "pod-$i" -- sh -c 'find /data -type f | xargs cat > /dev/null'; done
    cached=$(docker exec "$node" sh -c 'fincore --bytes --noheadings --raw --output RES /var/lib/kcfs/objects/*/*' | awk '{s+=$1} END {print s}')
    cache_line=$(printf 'page cache of store objects after 6 pods read everything: %s bytes (distinct file bytes: %s)' "$cached" "$unique_bytes")
    (( cached <= unique_bytes + distinct * 4096 )) || fail "page cache $cached exceeds one copy of each file ($unique_bytes)"
    (( cached * 100 >= unique_bytes * 90 )) || fail "page cache $cached is far below the distinct bytes $unique_bytes: reads did not go through the store objects?"
fi

{
    echo "kcfs e2e sharing report (cluster: $mode, node $node)"
    echo "6 pods over 3 images (app-a, app-b, app-c)"
    echo "logical bytes of the images (a copy per image): $image_bytes"
    echo "distinct files: $distinct, their bytes: $unique_bytes"
    echo "store objects reported by ComposefsNode $node: $objects"
    echo "saved on disk vs a copy per image: $((image_bytes - unique_bytes)) bytes"
    echo "$cache_line"
    echo "node plugin metrics:"
    echo "$metrics" | sed 's/^/  /'
} | tee "$report"

say "cleanup: pods, then images (finalizer + node GC)"
kubectl delete -f "$here/manifests/pods.yaml" --wait=true
kubectl delete composefsimage app-a app-b app-c --wait=true --timeout=300s
for _ in $(seq 60); do
    objects=$(kubectl get composefsnode "$node" -o jsonpath='{.status.store.objects}')
    [[ "$objects" == 0 ]] && break
    sleep 2
done
[[ "$objects" == 0 ]] || fail "the store of $node still holds $objects objects after the images were deleted"
echo "store of $node is empty again"
echo "report: $report"
