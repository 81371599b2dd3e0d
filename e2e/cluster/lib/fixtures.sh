#!/usr/bin/env bash
# Builds the scenario's three images and pushes them to REGISTRY/e2e/NAME:v1, without Docker: each
# layer is a GNU tar (gzip or zstd) of a directory, assembled into an OCI layout by hand and copied
# with skopeo. Same shape as the one-machine e2e: a "runtime" of 36 files in all three images, a
# 1.5 MB "model" in app-a and app-c, a few files of each image's own; the layers are split
# differently and app-c holds the runtime under another path, so the images share files, no layer.
# Writes OUT/expected/NAME.sha256: what `sha256sum` of every file under a pod's mount prints, sorted.
# Usage: fixtures.sh OUT REGISTRY
set -euo pipefail
out="$1" registry="$2"
ctx="$out/context"
rm -rf "$out"
mkdir -p "$ctx/runtime" "$out/expected"

# rnd FILE SIZE: incompressible bytes that depend only on the file's name and size (AES-CTR of
# zeros keyed by both), so a second run pushes the same images with the same digests
rnd() {
  local key; key=$(printf '%s %s' "$(basename "$1")" "$2" | sha256sum | cut -c1-32)
  # openssl ends by SIGPIPE when head has enough
  (openssl enc -aes-128-ctr -K "$key" -iv 00000000000000000000000000000000 < /dev/zero 2>/dev/null || true) \
    | head -c "$2" > "$1"
}
# 64 KiB .. 448 KiB, not page-aligned
for i in $(seq -w 0 35); do rnd "$ctx/runtime/lib$i.so" $((65536 + (10#$i * 104729) % 393216)); done
rnd "$ctx/model.bin" 1500000

# layer IMAGE N COMPRESSION: an empty layer tree $out/IMAGE/layerN/ (in $l) to fill, recorded for assembly
layer_dirs=()
layer() { l="$out/$1/layer$2"; mkdir -p "$l"; layer_dirs+=("$1:$2:$3"); }
put() { mkdir -p "$(dirname "$2")"; cp "$1" "$2"; }
own() { for ((i = 0; i < $3; i++)); do rnd "$2/$1-$i.bin" $((100000 + 50000 * i)); done; }

# app-a: one gzip layer: runtime under usr/lib/runtime, the model, its own files under app/
layer app-a 1 gzip; mkdir -p "$l/usr/lib/runtime" "$l/share" "$l/app"
cp "$ctx"/runtime/* "$l/usr/lib/runtime/"; cp "$ctx/model.bin" "$l/share/"; own a "$l/app" 3
# app-b: the runtime split over a zstd layer and a plain one; its own files in the second
layer app-b 1 zstd; mkdir -p "$l/usr/lib/runtime"; cp "$ctx"/runtime/lib[01]* "$l/usr/lib/runtime/"
layer app-b 2 none; mkdir -p "$l/usr/lib/runtime" "$l/app"; cp "$ctx"/runtime/lib[23]* "$l/usr/lib/runtime/"
own b "$l/app" 4
# a world-writable directory, for the pod that mounts app-b writable as a non-root user
mkdir -p "$l/scratch"; chmod 1777 "$l/scratch"
# app-c: its own files (gzip), then the runtime and the model under opt/ (zstd)
layer app-c 1 gzip; mkdir -p "$l/srv"; own c "$l/srv" 2
layer app-c 2 zstd; mkdir -p "$l/opt/runtime/lib" "$l/opt/models"
cp "$ctx"/runtime/* "$l/opt/runtime/lib/"; cp "$ctx/model.bin" "$l/opt/models/"

blob() { # FILE MEDIATYPE LAYOUT: moves FILE into the layout's blobs, prints its descriptor
  local d; d=$(sha256sum "$1" | cut -d' ' -f1)
  mv "$1" "$3/blobs/sha256/$d"
  jq -cn --arg m "$2" --arg d "sha256:$d" --argjson s "$(stat -c %s "$3/blobs/sha256/$d")" \
    '{mediaType: $m, digest: $d, size: $s}'
}
for image in app-a app-b app-c; do
  layout="$out/$image/layout"
  mkdir -p "$layout/blobs/sha256"
  echo '{"imageLayoutVersion": "1.0.0"}' > "$layout/oci-layout"
  layers="[]" diff_ids="[]"
  for entry in "${layer_dirs[@]}"; do
    IFS=: read -r name n compression <<< "$entry"
    [[ "$name" == "$image" ]] || continue
    tarfile="$out/$image/layer$n.tar"
    tar -C "$out/$image/layer$n" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf "$tarfile" .
    diff_ids=$(jq -c --arg d "sha256:$(sha256sum "$tarfile" | cut -d' ' -f1)" '. + [$d]' <<< "$diff_ids")
    case "$compression" in
      gzip) gzip -n -9 "$tarfile"; tarfile+=.gz; media=application/vnd.oci.image.layer.v1.tar+gzip ;;
      zstd) zstd -q --rm -3 "$tarfile"; tarfile+=.zst; media=application/vnd.oci.image.layer.v1.tar+zstd ;;
      none) media=application/vnd.oci.image.layer.v1.tar ;;
    esac
    layers=$(jq -c --argjson l "$(blob "$tarfile" "$media" "$layout")" '. + [$l]' <<< "$layers")
  done
  jq -cn --argjson ids "$diff_ids" '{architecture: "amd64", os: "linux", config: {},
      rootfs: {type: "layers", diff_ids: $ids}}' > "$out/$image/config.json"
  config=$(blob "$out/$image/config.json" application/vnd.oci.image.config.v1+json "$layout")
  jq -cn --argjson c "$config" --argjson l "$layers" '{schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json", config: $c, layers: $l}' > "$out/$image/manifest.json"
  manifest=$(blob "$out/$image/manifest.json" application/vnd.oci.image.manifest.v1+json "$layout")
  jq -cn --argjson m "$manifest" '{schemaVersion: 2, manifests: [$m + {annotations:
      {"org.opencontainers.image.ref.name": "v1"}}]}' > "$layout/index.json"
  skopeo copy --quiet --dest-tls-verify=false "oci:$layout:v1" "docker://$registry/e2e/$image:v1"
  # what a pod sees: the union of the layers (no file is in two layers here)
  (for d in "$out/$image"/layer*/; do (cd "$d" && find . -type f -exec sha256sum {} +); done) \
    | LC_ALL=C sort -k2 > "$out/expected/$image.sha256"
done
