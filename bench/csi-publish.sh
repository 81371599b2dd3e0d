#!/usr/bin/env bash
# CSI publish + unpublish latency (issue 5; goal: p99 < 50 ms including gRPC), 200 rounds alone and
# with 20 volumes of the image open. Real gRPC over a Unix socket, real mounts: run as root.
#
#   bench/csi-publish.sh [ROUNDS] [composefs|tmpfs]
#
# composefs (default): a real composefs image (500 files) in a real node store; tmpfs: the tests'
# stand-in image, to separate the plugin's own cost from the composefs mount. The JIT is warmed with
# 500 rounds first (the plugin is a long-running daemon).
#
# Reference, development VM (2 cores shared with other builds, load average 5-9), composefs:
#   no other volume open   p50 4.6-5.5 ms, p99 20-25 ms  (includes mounting + unmounting the image)
#   20 volumes open        p50 3.0-4.9 ms, p99 15-50 ms  (a bind mount onto the shared mount)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
# a private mount namespace: nothing the benchmark mounts is seen (or left) outside it
exec unshare --mount --propagation private \
  "$top/bench/java.sh" -m csi-node dev.kcfs.csi.PublishBenchmark "${1:-200}" "${2:-composefs}"
