#!/usr/bin/env bash
# Stages the root filesystem of a kcfs container image (FROM scratch): a jlinked JRE in /opt/java,
# the glibc files it and the app's native libraries (JNA, netty epoll, zstd-jni) load, a few files
# in /etc, and the app's jars in /app/lib. Jib packs the tree as-is (see deploy/pom.xml, profile
# "images"); the node image test runs the same tree in a chroot.
#
#   build-rootfs.sh JDK_HOME WORK_DIR NAME APP_JAR LIB_DIR      -> WORK_DIR/NAME/rootfs
#
# Why a script: jlink and ldd are command-line tools, and no Maven plugin stages glibc files.
# The JRE is cached in WORK_DIR/jre (shared by both images) until the JDK or the module list changes.
set -euo pipefail

if (($# != 5)); then
    echo "usage: $0 JDK_HOME WORK_DIR NAME APP_JAR LIB_DIR" >&2
    exit 2
fi
jdk=$1 work=$2 name=$3 app_jar=$4 lib_dir=$5
work=$(realpath -m "$work")
out=$work/$name/rootfs

# The union of what jdeps reports for the operator and the node plugin (jdeps --print-module-deps),
# plus jdk.crypto.ec where it still exists (TLS with EC keys to registries and the API server on JDK 17).
# java.desktop stays: Jackson, snakeyaml and micrometer reach java.beans.
modules=java.base,java.desktop,java.logging,java.management,java.naming,java.net.http,java.sql,java.xml,jdk.httpserver,jdk.jfr,jdk.management,jdk.unsupported
if [[ -f $jdk/jmods/jdk.crypto.ec.jmod ]] || "$jdk/bin/java" --list-modules 2>/dev/null | grep -q '^jdk.crypto.ec@'; then
    modules+=,jdk.crypto.ec
fi

for f in "$app_jar" "$lib_dir"; do
    if [[ ! -e $f ]]; then
        # KCFS_STAGE_OPTIONAL: a build that stops before "package" (./mvnw test) has no jars to stage;
        # the tests that need the root filesystem then skip.
        if [[ ${KCFS_STAGE_OPTIONAL:-false} == true ]]; then
            echo "build-rootfs: $f is missing (the build stopped before package): not staging $name" >&2
            rm -rf "$(realpath -m "$work")/$name"
            exit 0
        fi
        echo "build-rootfs: $f is missing: build the module first (./mvnw -pl operator,csi-node -am package)" >&2
        exit 1
    fi
done

jre=$work/jre
mkdir -p "$work"
stamp="$jdk $modules"
if [[ ! -f $jre/.kcfs-stamp || $(cat "$jre/.kcfs-stamp") != "$stamp" ]]; then
    rm -rf "$jre"
    # --compress: zip-6 on JDK 21+, the numbered level on older jlinks
    compress=--compress=2
    if "$jdk/bin/jlink" --help 2>&1 | grep -q 'zip-\[0-9\]'; then compress=--compress=zip-6; fi
    if ! "$jdk/bin/jlink" --add-modules "$modules" --strip-debug --no-header-files --no-man-pages \
            "$compress" --output "$jre" 2> "$work/jlink.log"; then
        cat "$work/jlink.log" >&2
        echo "build-rootfs: jlink from $jdk failed: it needs the JDK's jmods (Debian: openjdk-17-jdk-headless)" \
             "or a JDK 24+ that links from its own runtime (e.g. Temurin 25); set JAVA_HOME to such a JDK" >&2
        exit 1
    fi
    # Debian's JDK keeps cacerts outside the JDK (a symlink into /etc): take the host's CA bundle.
    cacerts=$jre/lib/security/cacerts
    if [[ ! -s $cacerts || -L $cacerts ]]; then
        rm -f "$cacerts"
        cp -L "$(readlink -f "$jdk/lib/security/cacerts")" "$cacerts"
    fi
    echo "$stamp" > "$jre/.kcfs-stamp"
fi

rm -rf "$out"
mkdir -p "$out"/{opt,app/lib,etc,tmp,proc,sys,dev}
cp -RL "$jre" "$out/opt/java"
rm -f "$out/opt/java/.kcfs-stamp"
cp -L "$app_jar" "$lib_dir"/*.jar "$out/app/lib/"

# Native libraries: what the JRE's own libraries need (ldd is transitive), leaving out the GUI and
# imaging ones that headless servers never load (they would drag in X11, ALSA, freetype...).
elfs=("$out/opt/java/bin/java")
while IFS= read -r -d '' so; do
    case $(basename "$so") in
        libawt_xawt.so|libsplashscreen.so|libjawt.so|libfontmanager.so|liblcms.so|libmlib_image.so|libjavajpeg.so|libawt.so|libawt_headless.so|libjsound.so) ;;
        *) elfs+=("$so") ;;
    esac
done < <(find "$out/opt/java/lib" -name '*.so' -print0)
declare -A libs=()
for elf in "${elfs[@]}"; do
    # "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
    while read -r first arrow path _; do
        if [[ $arrow == "=>" && $path == /* ]]; then libs[$path]=1
        elif [[ $first == /* ]]; then libs[$first]=1
        fi
    done < <(LD_LIBRARY_PATH="$out/opt/java/lib:$out/opt/java/lib/server" ldd "$elf" 2>/dev/null || true)
done
# What the app's bundled native libraries need (ldd of libjnidispatch, netty epoll, zstd-jni), what
# glibc loads at run time (libgcc_s for thread cancellation, NSS modules for host names), plus libz.
arch_lib=$(dirname "$(ldd "$jdk/bin/java" | awk '$1 == "libc.so.6" {print $3}')")
for name in libc.so.6 libm.so.6 libdl.so.2 libpthread.so.0 librt.so.1 libgcc_s.so.1 libz.so.1 \
            libnss_files.so.2 libnss_dns.so.2 libresolv.so.2; do
    [[ -e $arch_lib/$name ]] && libs[$arch_lib/$name]=1
done
for lib in "${!libs[@]}"; do
    # the JRE's own libraries are already in place
    [[ $lib == "$out"/* ]] && continue
    mkdir -p "$out$(dirname "$lib")"
    cp -L "$lib" "$out$lib"
done

# Without these, glibc looks hosts up in DNS before /etc/hosts, and user names resolve to "?".
printf 'hosts: files dns\npasswd: files\ngroup: files\n' > "$out/etc/nsswitch.conf"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > "$out/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' > "$out/etc/group"

echo "build-rootfs: $out: $(du -sh "$out" | cut -f1) ($(find "$out" -type f | wc -l) files)"
