#!/usr/bin/env bash
# Runs the kcfs end-to-end test on this machine and prints its sharing report.
#
#   e2e/run.sh [extra Maven options]        e.g. e2e/run.sh -o   (offline, once dependencies are downloaded)
#
# What runs, each a real process: docker-registry (Debian package docker-registry) with three test images
# that share files, the fabric8 mock API server (in the test JVM, HTTPS on 127.0.0.1), bin/kcfs-operator,
# bin/kcfs-node (CSI plugin + node agent), and the test acting as kubelet over the plugin's Unix socket.
# Needs root (it mounts) and runs inside a private mount namespace, so nothing it mounts leaks to the host.
# Also needs fincore (util-linux) and du/dd/sync (coreutils). Logs: e2e/target/e2e/logs/.
set -euo pipefail
repo="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
cd "$repo"
if [[ $(id -u) -ne 0 ]]; then
    echo "e2e/run.sh: needs root (the node plugin mounts EROFS and overlayfs); run it with sudo" >&2
    exit 1
fi
rm -f e2e/target/sharing-report.txt
# -am builds and packages operator and csi-node first (bin/kcfs-* run from their jars); -Dtest keeps the
# other modules' tests out of it
unshare --mount --propagation private ./mvnw -B -pl e2e -am verify \
    -Dtest=SharingEndToEndTest -Dsurefire.failIfNoSpecifiedTests=false "$@"
echo
cat e2e/target/sharing-report.txt
