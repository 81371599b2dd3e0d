#!/usr/bin/env bash
# Makes the two small images the cluster needs besides kcfs's own, from Debian's static binaries, as
# OCI archives in DIR (kept while the binaries do not change):
#   localhost/kcfs-e2e/pause:catatonit  the pod sandbox (catatonit -P), containerd's sandbox image
#   localhost/kcfs-e2e/busybox:static   the workloads: sh, sha256sum, stat, ... from busybox-static
# Nothing is ever pulled from outside the machine. Usage: images.sh DIR
set -euo pipefail
dir="$1"
mkdir -p "$dir"

# image NAME TAG BINARY PATH_IN_IMAGE ENTRYPOINT...: one layer holding BINARY (and /tmp).
image() {
  local name="$1" tag="$2" binary="$3" path="$4"; shift 4
  local archive="$dir/$name.tar"
  local key; key="$( (sha256sum "$binary"; sha256sum "$0") | sha256sum | cut -c1-16)"
  [[ -f "$archive" && "$(cat "$archive.key" 2>/dev/null)" == "$key" ]] && return 0
  local work; work="$(mktemp -d)"
  umoci init --layout "$work/layout"
  umoci new --image "$work/layout:$tag"
  umoci unpack --image "$work/layout:$tag" "$work/bundle" >/dev/null
  install -D -m 0755 "$binary" "$work/bundle/rootfs$path"
  mkdir -p -m 1777 "$work/bundle/rootfs/tmp"
  # busybox: its applets (sh, sha256sum, stat, ...) as symlinks beside it
  if [[ "$name" == busybox ]]; then
    for applet in $("$binary" --list); do
      [[ -e "$work/bundle/rootfs/bin/$applet" ]] || ln -s busybox "$work/bundle/rootfs/bin/$applet"
    done
  fi
  umoci repack --image "$work/layout:$tag" "$work/bundle"
  local args=()
  for a in "$@"; do args+=(--config.entrypoint "$a"); done
  umoci config --image "$work/layout:$tag" "${args[@]}" --config.workingdir / --config.env PATH=/bin \
    --architecture amd64 --os linux
  rm -f "$archive"
  skopeo copy --quiet "oci:$work/layout:$tag" "oci-archive:$archive:localhost/kcfs-e2e/$name:$tag"
  echo "$key" > "$archive.key"
  rm -rf "$work"
}

image pause catatonit /usr/bin/catatonit /catatonit /catatonit -P
image busybox static /bin/busybox /bin/busybox /bin/busybox sh
