#!/usr/bin/env bash
# Import throughput of dev.kcfs.pull.Importer from a local docker-registry (issue 4).
#
#   bench/oci-import.sh [GIB] [LAYERS]      (default: 2 GiB in 4 layers)
#
# Builds a text-like image (~4:1 compressible, file sizes 100 B .. 64 MiB) once as gzip and once as
# zstd layers (cached in $BENCH_DIR between runs: generating gzip is slow), pushes both to a
# docker-registry on 127.0.0.1, imports each into an empty store, then again into the filled store
# (a re-pull must add no objects). Prints uncompressed MB/s (wall), process CPU seconds, the
# inflate+parse thread's CPU (the critical path), objects added, and the peak heap. The heap is
# capped with -Xmx (HEAP, default 128m) to show memory stays bounded whatever the image size.
set -euo pipefail
JAVA_OPTS="-Xmx${HEAP:-128m}" exec "$(dirname "$0")/java.sh" dev.kcfs.pull.ImportBenchmark \
  "${BENCH_DIR:-/var/tmp/kcfs-oci-bench}" "${1:-2}" "${2:-4}"
