#!/usr/bin/env bash
# The real-cluster e2e: builds (or takes from the cache) etcd, the Kubernetes components and helm,
# builds kcfs's container images, starts a one-node cluster in namespaces of its own, runs the
# scenario against it (or the command given as arguments) and tears everything down.
#   e2e/cluster/run.sh                 the scenario (ClusterEndToEndTest) and csi-sanity
#   KCFS_E2E_HOLD=1 e2e/cluster/run.sh keep the cluster up; it prints how to enter it
# Needs root. Environment: KCFS_E2E_CACHE (binary cache, default /var/cache/kcfs-e2e),
# KCFS_E2E_WORK (state and logs, default e2e/target/cluster).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
[[ $EUID -eq 0 ]] || { echo "run.sh: needs root (it runs containerd and kubelet)" >&2; exit 1; }

export REPO="$repo"
export BIN; BIN="$("$here/build.sh")"
export WORK="${KCFS_E2E_WORK:-$repo/e2e/target/cluster}"
export NODE=kcfs-e2e-node NODE_IP=10.211.0.1
images="$repo/deploy/target/images"
# kcfs's images from the working tree (Jib; a minute when little changed); KCFS_E2E_IMAGES_BUILT=1 takes
# the tars as they are
if [[ "${KCFS_E2E_IMAGES_BUILT:-}" != 1 ]]; then
  (cd "$repo" && ./mvnw -B -q -ntp -Pimages -DskipTests package)
fi
export KCFS_IMAGES="$images/kcfs-node.tar $images/kcfs-operator.tar"

# A fresh work directory each run (the images and the PKI are cheap to make again).
if [[ -d "$WORK" ]]; then
  grep -q " $WORK" /proc/self/mountinfo && { echo "run.sh: $WORK still has mounts; is another run active?" >&2; exit 1; }
  rm -rf "$WORK"
fi
mkdir -p "$WORK"

cleanup_cgroups() {
  # kubelet's cgroupfs hierarchy under every v1 controller: empty once the namespace's processes are gone
  local d
  for d in /sys/fs/cgroup/*/kubepods*; do
    [[ -d "$d" ]] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
}

# the scripts run from a copy, so editing them during a run cannot change a running one
cp -r "$here/lib" "$WORK/lib"
if (($# == 0)); then set -- "$WORK/lib/scenario.sh"; fi
start=$SECONDS
rc=0
unshare --pid --fork --mount-proc --mount --net --propagation private -- "$WORK/lib/node.sh" "$@" || rc=$?
cleanup_cgroups
if grep -q " $WORK\| /var/lib/kcfs/\| /var/lib/kubelet/" /proc/self/mountinfo; then
  echo "run.sh: mounts were left behind:" >&2; grep " $WORK\| /var/lib/kcfs/\| /var/lib/kubelet/" /proc/self/mountinfo >&2; rc=1
fi
echo "run.sh: cluster run ended with $rc after $((SECONDS - start)) s; logs in $WORK/logs" >&2
exit "$rc"
