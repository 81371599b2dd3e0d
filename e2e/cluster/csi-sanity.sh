#!/usr/bin/env bash
# Runs csi-sanity (kubernetes-csi/csi-test) against bin/kcfs-node: every Identity and Node spec that
# applies to a driver without a controller service must pass. csi-sanity is built with `go install`
# into a cache directory keyed by its version and the Go version, so a second run builds nothing.
# kcfs-node serves from a throwaway store holding one image, with a throwaway kubelet directory, in a
# private mount namespace; on exit the plugin is stopped and nothing stays mounted.
#   e2e/cluster/csi-sanity.sh [CSI-SANITY FLAGS...]   extra flags go to csi-sanity (e.g. --ginkgo.v)
# Needs root (kcfs-node mounts), go, java. Environment: KCFS_E2E_CACHE (binary cache, default
# /var/cache/kcfs-e2e), KCFS_SANITY_WORK (store, kubelet dir and logs, default e2e/target/csi-sanity).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
csi_test_version=v5.4.0
[[ $EUID -eq 0 ]] || { echo "csi-sanity.sh: needs root (kcfs-node mounts)" >&2; exit 1; }

# The mounts kcfs-node makes must not reach the host's mount table: run the rest in a private namespace.
if [[ "${KCFS_SANITY_IN_NAMESPACE:-}" != 1 ]]; then
  exec env KCFS_SANITY_IN_NAMESPACE=1 unshare --mount --propagation private -- "$0" "$@"
fi

cache_root="${KCFS_E2E_CACHE:-/var/cache/kcfs-e2e}"
bin="$cache_root/bin-csi-test-$csi_test_version-$(go env GOVERSION)"
if [[ ! -x "$bin/csi-sanity" ]]; then
  start=$SECONDS
  rm -rf "$bin.partial"
  CGO_ENABLED=0 GOBIN="$bin.partial" go install "github.com/kubernetes-csi/csi-test/v5/cmd/csi-sanity@$csi_test_version"
  rm -rf "$bin"
  mv "$bin.partial" "$bin"
  echo "csi-sanity.sh: built csi-sanity $csi_test_version in $((SECONDS - start)) s into $bin" >&2
fi

work="${KCFS_SANITY_WORK:-$repo/e2e/target/csi-sanity}"
if [[ -d "$work" ]]; then
  grep -q " $work/" /proc/self/mountinfo && { echo "csi-sanity.sh: $work still has mounts; is another run active?" >&2; exit 1; }
  rm -rf "$work"
fi
mkdir -p "$work/kubelet" "$work/source/etc" "$work/logs"
store="$work/store" kubelet="$work/kubelet" socket="$work/csi.sock" image=sanity-image

node_pid=
cleanup() {
  local rc=$?
  if [[ -n "$node_pid" ]] && kill -0 "$node_pid" 2>/dev/null; then
    kill -TERM "$node_pid"
    for _ in $(seq 1 60); do kill -0 "$node_pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$node_pid" 2>/dev/null && kill -KILL "$node_pid"
    wait "$node_pid" 2>/dev/null || true
  fi
  # whatever a failed spec left published, then the plugin's shared image mounts (deepest first)
  local m
  while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" || true; done \
    < <(awk -v w="$work/" 'index($5, w) == 1 {print $5}' /proc/self/mountinfo | sort -r)
  if grep -q " $work/" /proc/self/mountinfo; then
    echo "csi-sanity.sh: mounts were left behind:" >&2; grep " $work/" /proc/self/mountinfo >&2; rc=1
  fi
  exit "$rc"
}
trap cleanup EXIT

# A store holding one small image, so the plugin serves from a real store. csi-sanity hands the volume
# parameters (image: NAME) only to CreateVolume, so against a node-only driver no spec publishes it.
printf 'kcfs csi-sanity\n' > "$work/source/etc/motd"
seq 1 2000 > "$work/source/etc/numbers"
"$repo/bin/kcfs" store --store "$store" add --name "$image" --use-epoch "$work/source" > "$work/logs/store-add.txt"
printf 'image: %s\n' "$image" > "$work/volume-parameters.yaml"

"$repo/bin/kcfs-node" --no-agent --endpoint "unix://$socket" --store "$store" --kubelet-dir "$kubelet" \
  --metrics-port -1 --node-id csi-sanity-node > "$work/logs/kcfs-node.log" 2>&1 &
node_pid=$!
for _ in $(seq 1 240); do
  [[ -S "$socket" ]] && break
  kill -0 "$node_pid" 2>/dev/null || { echo "csi-sanity.sh: kcfs-node exited:" >&2; cat "$work/logs/kcfs-node.log" >&2; exit 1; }
  sleep 0.5
done
[[ -S "$socket" ]] || { echo "csi-sanity.sh: kcfs-node did not open $socket in 120 s" >&2; exit 1; }

# Specs csi-sanity runs although they cannot apply to a driver without CONTROLLER_SERVICE (it skips the
# other controller specs itself after reading the capabilities). Ginkgo matches each regular expression
# against the spec's full text.
skips=(
  # A controller RPC: a CO calls it only on plugins that offer CONTROLLER_SERVICE, but csi-sanity runs
  # these four whenever ControllerGetCapabilities answers (kcfs answers it because csi-sanity's Node specs
  # call it); two of them also start with CreateVolume.
  'Controller Service \[Controller Server\] ValidateVolumeCapabilities'
  # Both publish a volume made by CreateVolume, which kcfs does not offer (volumes are ComposefsImages
  # named in the pod spec). csi-node's tests check the same: PublishTest (unpublish removes the target)
  # and VolumeStatsTest (stats of a published volume asked at another path are NOT_FOUND).
  'Node Service NodeUnpublishVolume should remove target path'
  'Node Service NodeGetVolumeStats should fail when volume does not exist on the specified path'
)
skip_args=()
for s in "${skips[@]}"; do skip_args+=("--ginkgo.skip=$s"); done

# The target and staging directories lie under --kubelet-dir: kcfs refuses targets anywhere else, as a
# crafted path must not make the plugin mount over the host (csi-sanity's default is under /tmp).
rc=0
"$bin/csi-sanity" \
  --csi.endpoint "unix://$socket" \
  --csi.mountdir "$kubelet/csi-sanity-target" \
  --csi.stagingdir "$kubelet/csi-sanity-staging" \
  --csi.testvolumeparameters "$work/volume-parameters.yaml" \
  --ginkgo.no-color \
  --ginkgo.junit-report "$work/logs/junit.xml" \
  "${skip_args[@]}" "$@" 2>&1 | tee "$work/logs/csi-sanity.txt" || rc=$?
if ((rc != 0)); then
  echo "csi-sanity.sh: csi-sanity failed ($rc); kcfs-node log: $work/logs/kcfs-node.log" >&2
  exit "$rc"
fi
echo "csi-sanity.sh: csi-sanity $csi_test_version passed; log in $work/logs" >&2
