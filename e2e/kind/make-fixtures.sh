#!/usr/bin/env bash
# Builds the three fixture images of the kcfs e2e scenario with Docker and pushes them to a registry.
# Same shape as the one-machine e2e (e2e/src/test/java/dev/kcfs/e2e/FixtureImages.java): a "runtime" of
# 36 files (random bytes, 64..448 KiB) in all three images, a 1.5 MB "model" in app-a and app-c, and a few
# files of each image's own. The layers are split differently and the runtime sits under another path
# in app-c, so the images share files but no layer.
#
#   e2e/kind/make-fixtures.sh OUT_DIR PUSH_REGISTRY     e.g. make-fixtures.sh e2e/target/kind localhost:5001
#
# Writes OUT_DIR/context/ (the files and Dockerfiles) and OUT_DIR/expected/<image>.sha256 (what
# `sha256sum` run in /data of a pod using the image must print, sorted by path).
set -euo pipefail
out="$1"
registry="$2"
ctx="$out/context"
rm -rf "$ctx" "$out/expected"
mkdir -p "$ctx/runtime" "$ctx/a" "$ctx/b" "$ctx/c" "$out/expected"

rnd() { head -c "$2" /dev/urandom > "$1"; }
for i in $(seq -w 0 35); do
    rnd "$ctx/runtime/lib$i.so" $(( 65536 + (RANDOM * 12) % 393216 ))
done
rnd "$ctx/model.bin" 1500000
for i in 0 1 2; do rnd "$ctx/a/a-$i.bin" $(( 100000 + 50000 * i )); done
for i in 0 1 2 3; do rnd "$ctx/b/b-$i.bin" $(( 100000 + 50000 * i )); done
for i in 0 1; do rnd "$ctx/c/c-$i.bin" $(( 100000 + 50000 * i )); done

# app-a: runtime, model and own files, each one COPY (layer)
cat > "$ctx/app-a.Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY runtime/ /usr/lib/runtime/
COPY model.bin /share/model.bin
COPY a/ /app/
DOCKERFILE
# app-b: the runtime split over two layers, the second with the image's own files
cat > "$ctx/app-b.Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY runtime/lib0* runtime/lib1* /usr/lib/runtime/
COPY runtime/lib2* runtime/lib3* /usr/lib/runtime/
COPY b/ /app/
DOCKERFILE
# app-c: own files first, then runtime and model under /opt
cat > "$ctx/app-c.Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY c/ /srv/
COPY runtime/ /opt/runtime/lib/
COPY model.bin /opt/models/model.bin
DOCKERFILE

# expected listings, in the format of busybox `find . -type f | sort | xargs sha256sum`
listing() { # image, then pairs of (source file, path in image)
    local image="$1"; shift
    while (( $# )); do
        printf '%s  ./%s\n' "$(sha256sum "$ctx/$1" | cut -d' ' -f1)" "$2"
        shift 2
    done | sort -k2 > "$out/expected/$image.sha256"
}
args_a=(); args_b=(); args_c=()
for f in "$ctx"/runtime/*; do
    n=$(basename "$f")
    args_a+=("runtime/$n" "usr/lib/runtime/$n"); args_b+=("runtime/$n" "usr/lib/runtime/$n"); args_c+=("runtime/$n" "opt/runtime/lib/$n")
done
args_a+=("model.bin" "share/model.bin"); args_c+=("model.bin" "opt/models/model.bin")
for f in "$ctx"/a/*; do args_a+=("a/$(basename "$f")" "app/$(basename "$f")"); done
for f in "$ctx"/b/*; do args_b+=("b/$(basename "$f")" "app/$(basename "$f")"); done
for f in "$ctx"/c/*; do args_c+=("c/$(basename "$f")" "srv/$(basename "$f")"); done
listing app-a "${args_a[@]}"
listing app-b "${args_b[@]}"
listing app-c "${args_c[@]}"

for image in app-a app-b app-c; do
    docker build -q -f "$ctx/$image.Dockerfile" -t "$registry/e2e/$image:v1" "$ctx" >/dev/null
    docker push -q "$registry/e2e/$image:v1" >/dev/null
    echo "pushed $registry/e2e/$image:v1"
done
