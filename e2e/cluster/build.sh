#!/usr/bin/env bash
# Builds the Kubernetes components and etcd that the real-cluster e2e runs, from their Go modules
# pinned in k8s/go.mod and etcd/go.mod, into a cache directory keyed by those versions and the Go
# version, so a second run builds nothing. Prints the directory holding the binaries.
#   KCFS_E2E_CACHE  cache root (default /var/cache/kcfs-e2e)
set -euo pipefail
# the Go distribution's usual place, for shells whose PATH lacks it
command -v go >/dev/null || export PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null || { echo "build.sh: needs the go command (Go 1.24 or newer)" >&2; exit 1; }
here="$(cd "$(dirname "$0")" && pwd)"
cache_root="${KCFS_E2E_CACHE:-/var/cache/kcfs-e2e}"

# The version written after a module path in a go.mod's require (block or single line).
required() { awk -v m="$2" '{for (i = 1; i < NF; i++) if ($i == m) {print $(i + 1); exit}}' "$1"; }
k8s_version="$(required "$here/k8s/go.mod" k8s.io/kubernetes)"
etcd_version="$(required "$here/etcd/go.mod" go.etcd.io/etcd/server/v3)"
helm_version="$(required "$here/helm/go.mod" helm.sh/helm/v4)"
go_version="$(go env GOVERSION)"
[[ -n "$k8s_version" && -n "$etcd_version" && -n "$helm_version" ]] || { echo "build.sh: cannot read the pinned versions" >&2; exit 1; }
out="$cache_root/bin-k8s-$k8s_version-etcd-$etcd_version-helm-$helm_version-$go_version"
commands=(kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubelet kubectl etcd helm)

complete=1
for c in "${commands[@]}"; do [[ -x "$out/$c" ]] || complete=0; done
if ((complete)); then echo "$out"; exit 0; fi

mkdir -p "$out.partial"
start=$SECONDS
export CGO_ENABLED=0 GOFLAGS=-mod=readonly
minor="${k8s_version#v1.}"; minor="${minor%%.*}"
pkg=k8s.io/component-base/version
ldflags="-s -w -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=$k8s_version"
ldflags+=" -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor"
(
  cd "$here/k8s"
  # kubelet needs cgo off for a static binary; the others too. One 'go build' shares the package cache.
  go build -trimpath -ldflags "$ldflags" -o "$out.partial/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kube-proxy k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kubectl
) >&2
(
  cd "$here/etcd"
  go build -trimpath -ldflags "-s -w" -o "$out.partial/etcd" go.etcd.io/etcd/server/v3
) >&2
(
  cd "$here/helm"
  go build -trimpath -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$helm_version" \
    -o "$out.partial/helm" helm.sh/helm/v4/cmd/helm
) >&2
rm -rf "$out"
mv "$out.partial" "$out"
echo "build.sh: built ${commands[*]} in $((SECONDS - start)) s into $out" >&2
echo "$out"
