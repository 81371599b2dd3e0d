#!/usr/bin/env bash
# CI step (called by .ci/run as root, after the Maven tests): installs what verity-vm/run.sh needs,
# downloads the verity kernel into its cache, and runs the harness. Where qemu or the kernel
# package cannot be had, run.sh skips with the reason; any other failure fails CI.
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"

packages=(qemu-system-x86 busybox-static e2fsprogs fsverity xz-utils docker-registry)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2> /dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "verity-vm: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    # qemu is allowed to be missing (run.sh then skips); the rest must install
    apt-get install -y -q --no-install-recommends "${missing[@]}" \
        || apt-get install -y -q --no-install-recommends busybox-static e2fsprogs fsverity xz-utils docker-registry
fi
if ! "$here/fetch-kernel.sh"; then
    echo "verity-vm: could not download the verity kernel package; run.sh will skip"
fi
exec "$here/run.sh"
