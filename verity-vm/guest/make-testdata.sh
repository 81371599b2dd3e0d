#!/usr/bin/env bash
# Writes the guest's test data into DIR: src/ (a tree for `kcfs store add`: inline, empty,
# block-boundary, multi-block, duplicate and hardly-compressible files, a symlink, nested
# directories) and oci/ (an OCI image layout with one gzip layer, for `kcfs pull oci:DIR:v1`).
#
#   make-testdata.sh DIR
set -euo pipefail
out=$1
rm -rf "$out"
mkdir -p "$out/src/etc" "$out/src/usr/lib/deep/er" "$out/src/bin" "$out/oci/blobs/sha256" "$out/layer"
src=$out/src
printf 'hello from kcfs\n' > "$src/etc/motd"                       # inline in the image (<= 64 bytes)
: > "$src/etc/empty"
head -c 4096 /dev/urandom > "$src/usr/lib/one-block"
head -c 4097 /dev/urandom > "$src/usr/lib/one-block-and-a-byte"
head -c 1048576 /dev/urandom > "$src/usr/lib/big.bin"              # 256 data blocks, two Merkle levels
head -c 65536 /dev/urandom > "$src/bin/victim"                     # the object the tamper test corrupts
cp "$src/usr/lib/one-block" "$src/usr/lib/deep/same-as-one-block"  # one object for two files
for i in $(seq 1 24); do
    head -c $((i * 700 + 65)) /dev/urandom > "$src/usr/lib/deep/er/file-$i"
done
ln -s ../usr/lib/big.bin "$src/bin/big-link"

# OCI layout: a different tree in one gzip layer; the guest has no network, so `kcfs pull oci:`.
layer=$out/layer
mkdir -p "$layer/opt/app/lib"
printf '#!/bin/sh\necho app\n' > "$layer/opt/app/run"
chmod 0755 "$layer/opt/app/run"
head -c 300000 /dev/urandom > "$layer/opt/app/lib/libapp.so"
head -c 5000 /dev/urandom > "$layer/opt/app/lib/data"
blob() { # FILE MEDIATYPE -> a descriptor JSON, and the file moved into blobs/
    local f=$1 type=$2 d s
    d=$(sha256sum "$f" | cut -d' ' -f1)
    s=$(stat -c %s "$f")
    mv "$f" "$out/oci/blobs/sha256/$d"
    printf '{"mediaType":"%s","digest":"sha256:%s","size":%s}' "$type" "$d" "$s"
}
tar -C "$layer" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@1700000000 -cf "$out/layer.tar" .
diff_id=$(sha256sum "$out/layer.tar" | cut -d' ' -f1)
gzip -n -6 "$out/layer.tar"
layer_desc=$(blob "$out/layer.tar.gz" application/vnd.oci.image.layer.v1.tar+gzip)
printf '{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$diff_id" > "$out/config.json"
config_desc=$(blob "$out/config.json" application/vnd.oci.image.config.v1+json)
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":%s,"layers":[%s]}' \
    "$config_desc" "$layer_desc" > "$out/manifest.json"
manifest_desc=$(blob "$out/manifest.json" application/vnd.oci.image.manifest.v1+json)
printf '{"schemaVersion":2,"manifests":[%s]}' \
    "${manifest_desc%\}},\"annotations\":{\"org.opencontainers.image.ref.name\":\"v1\"}}" > "$out/oci/index.json"
printf '{"imageLayoutVersion":"1.0.0"}' > "$out/oci/oci-layout"
