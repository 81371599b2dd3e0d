#!/usr/bin/env bash
# Downloads the fs-verity test kernel for verity-vm/run.sh (needs root: it adds an apt source).
#
#   verity-vm/fetch-kernel.sh            -> prints the path of the cached .deb
#
# The development and CI kernels lack CONFIG_FS_VERITY; Debian's bookworm-backports cloud kernel
# (6.12) has it, file-backed EROFS and virtio. The package is only downloaded and later unpacked by
# run.sh: nothing is installed into the host. Cached under $KCFS_VM_CACHE (default
# /var/cache/kcfs-vm) in a directory named by the package version, so a new upload is fetched once.
# KCFS_VM_KERNEL_PACKAGE pins a package (name or name=version) instead of the newest 6.12 cloud kernel.
set -euo pipefail
cache=${KCFS_VM_CACHE:-/var/cache/kcfs-vm}
suite=bookworm-backports
sources=/etc/apt/sources.list.d/kcfs-bookworm-backports.sources

if [[ $(id -u) -ne 0 ]]; then
    echo "fetch-kernel: needs root to add the $suite apt source" >&2
    exit 1
fi
if [[ ! -f $sources ]]; then
    # the same mirror as the machine's own Debian source, signed by the Debian archive keyring
    uri=$(awk '/^URIs:/ && $2 ~ /\/debian\/?$/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
    printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
        "${uri:-http://deb.debian.org/debian}" "$suite" > "$sources"
fi
# only the backports index: the machine's other sources are left as they are
apt-get update -q -o Dir::Etc::sourcelist="$sources" -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0 >&2

if [[ -n ${KCFS_VM_KERNEL_PACKAGE:-} ]]; then
    spec=$KCFS_VM_KERNEL_PACKAGE
else
    # the newest linux-image-6.12.*-cloud-amd64-unsigned that the backports suite serves
    spec=$(apt-cache madison $(apt-cache pkgnames linux-image-6.12 | grep -E '^linux-image-6\.12\.[0-9]+\+deb12-cloud-amd64-unsigned$') \
        | awk -v s="$suite" '$0 ~ s"/main" {print $1 "=" $3}' | sort -t= -k2 -V | tail -1)
    if [[ -z $spec ]]; then
        echo "fetch-kernel: $suite serves no linux-image-6.12.*+deb12-cloud-amd64-unsigned" >&2
        exit 1
    fi
fi
version=${spec#*=}
[[ $version == "$spec" ]] && version=$(apt-cache policy "$spec" | awk '/Candidate:/ {print $2}')
dir=$cache/${version//[^A-Za-z0-9.+~-]/_}
if ! ls "$dir"/*.deb > /dev/null 2>&1; then
    mkdir -p "$dir.part"
    (cd "$dir.part" && apt-get download -q "$spec" >&2)
    rm -rf "$dir"
    mv "$dir.part" "$dir"
fi
ls "$dir"/*.deb
