#!/usr/bin/env bash
# fs-verity end to end on a kernel that has it: boots Debian's bookworm-backports cloud kernel
# (CONFIG_FS_VERITY=y) in qemu and runs kcfs inside the guest against an ext4 store made with
# `-O verity`. Exits 0 when every guest assertion passed, 1 when one failed or the guest did not
# finish, and 0 with "SKIP: reason" only when qemu or the kernel package cannot be had.
#
#   verity-vm/run.sh
#
# Parts: the kernel package (verity-vm/fetch-kernel.sh downloads it when run as root; or set
# KCFS_VM_KERNEL_DEB), qemu-system-x86, busybox-static, e2fsprogs (mkfs.ext4, filefrag), fsverity,
# xz-utils, a JDK with jmods for jlink (JAVA_HOME, else the java on PATH), and the kcfs jars
# (built with ./mvnw when missing). The guest is a small initramfs that loads the modules and
# switches to an ext4 system disk (JRE, jars, tools, test data); the store is a second disk.
# Results come back on the serial console (lines "KCFS-VM: ..."); the whole log is kept in
# verity-vm/target/console.log.
#
# Environment: KCFS_VM_ACCEL (tcg, the default, or kvm),
# KCFS_VM_TIMEOUT (seconds for the guest, default 540), KCFS_VM_CACHE (kernel package cache,
# default /var/cache/kcfs-vm), KCFS_VM_QEMU (default qemu-system-x86_64), KCFS_VM_WORK.
set -euo pipefail
started=$(date +%s.%N)
here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
repo="$(dirname "$here")"
work=${KCFS_VM_WORK:-$here/target}
cache=${KCFS_VM_CACHE:-/var/cache/kcfs-vm}
qemu=${KCFS_VM_QEMU:-qemu-system-x86_64}

skip() { echo "verity-vm: SKIP: $*"; exit 0; }
die() { echo "verity-vm: $*" >&2; exit 1; }
elapsed() { awk -v s="$started" -v n="$(date +%s.%N)" 'BEGIN {printf "%.1f", n - s}'; }

# --- what may be missing on a machine: qemu and the kernel package (skip), the rest (fail) ----------
command -v "$qemu" > /dev/null || skip "$qemu not found (Debian: apt-get install qemu-system-x86)"
deb=${KCFS_VM_KERNEL_DEB:-}
if [[ -z $deb ]]; then
    deb=$(ls "$cache"/*/linux-image-*.deb 2> /dev/null | sort -V | tail -1 || true)
fi
if [[ -z $deb ]]; then
    if [[ $(id -u) -eq 0 ]]; then
        deb=$("$here/fetch-kernel.sh" | tail -1) || skip "the verity kernel package cannot be downloaded (verity-vm/fetch-kernel.sh failed)"
    else
        skip "no kernel package in $cache: run verity-vm/fetch-kernel.sh as root, or set KCFS_VM_KERNEL_DEB"
    fi
fi
[[ -f $deb ]] || die "KCFS_VM_KERNEL_DEB=$deb is not a file"
for tool in mkfs.ext4 filefrag fsverity xz gzip dpkg-deb ldd docker-registry; do
    command -v "$tool" > /dev/null || die "$tool not found (Debian packages: e2fsprogs fsverity xz-utils dpkg docker-registry)"
done
busybox=${KCFS_VM_BUSYBOX:-/bin/busybox}
if [[ ! -x $busybox ]] || ldd "$busybox" > /dev/null 2>&1; then
    die "$busybox is not a static busybox (Debian: apt-get install busybox-static, or set KCFS_VM_BUSYBOX)"
fi
jdk=${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")}

# --- kcfs jars, the test classes (the guest's CSI client and agent check) and their classpath -----
test_classpath=$repo/csi-node/target/test-classpath.txt
if [[ ! -f $repo/cli/target/kcfs-cli.jar || ! -f $repo/csi-node/target/kcfs-csi-node.jar || ! -f $test_classpath \
      || ! -f $repo/csi-node/target/test-classes/dev/kcfs/agent/GuestVerityPolicy.class ]]; then
    echo "verity-vm: building the jars (./mvnw -pl cli,csi-node -am -DskipTests package dependency:build-classpath)"
    (cd "$repo" && ./mvnw -B -q -pl cli,csi-node -am -DskipTests package dependency:build-classpath \
        -Dmdep.includeScope=test -Dmdep.outputFile=target/test-classpath.txt)
fi

# the jlinked JRE in $work/guest/jre is kept: build-rootfs.sh reuses it while the JDK is the same
rm -rf "$work/guest/initrd" "$work/guest/vm" "$work/kernel" "$work"/*.img "$work/initrd.gz"
mkdir -p "$work/kernel"
# --- the kernel and its modules ------------------------------------------------------------------
dpkg-deb -x "$deb" "$work/kernel"
vmlinuz=$(ls "$work"/kernel/boot/vmlinuz-*)
kver=${vmlinuz##*/vmlinuz-}
grep -q '^CONFIG_FS_VERITY=y' "$work/kernel/boot/config-$kver" || die "$deb: its kernel has no CONFIG_FS_VERITY=y"
moddir=$work/kernel/lib/modules/$kver
initrd_root=$work/guest/initrd
mkdir -p "$initrd_root"/{bin,modules}
# The package has no modules.dep (depmod runs at install): read each module's depends= from its
# .modinfo section and load dependencies first.
declare -A loaded=()
order=()
add_module() {
    local name=$1 ko deps d
    [[ -n ${loaded[$name]:-} ]] && return 0
    loaded[$name]=1
    if grep -q "/$name\.ko" "$moddir/modules.builtin"; then return 0; fi
    ko=$(find "$moddir/kernel" -name "$name.ko*" | head -1)
    [[ -n $ko ]] || die "$deb: module $name is neither built in nor in the package"
    case $ko in
        *.xz) xz -dc "$ko" > "$initrd_root/modules/$name.ko" ;;
        *.zst) zstd -qdc "$ko" > "$initrd_root/modules/$name.ko" ;;
        *) cp "$ko" "$initrd_root/modules/$name.ko" ;;
    esac
    deps=$(tr '\0' '\n' < "$initrd_root/modules/$name.ko" | sed -n 's/^depends=//p' | head -1)
    for d in ${deps//,/ }; do add_module "$d"; done
    order+=("$name")
}
# virtio_blk: the disks; ext4 (the store, with verity); erofs (file-backed) and overlay: composefs
for m in virtio_blk ext4 erofs overlay; do add_module "$m"; done
printf '%s\n' "${order[@]}" > "$initrd_root/modules/modules.order"
cp "$busybox" "$initrd_root/bin/busybox"
install -m 0755 "$here/guest/init" "$initrd_root/init"
(cd "$initrd_root" && find . | "$busybox" cpio -o -H newc 2> /dev/null | gzip -1) > "$work/initrd.gz"

# --- the system disk: JRE + glibc + jars (deploy/images/build-rootfs.sh), busybox, tools, tests -----
"$repo/deploy/images/build-rootfs.sh" "$jdk" "$work/guest" vm "$repo/csi-node/target/kcfs-csi-node.jar" \
    "$repo/csi-node/target/lib" > /dev/null
root=$work/guest/vm/rootfs
cp "$repo/cli/target/kcfs-cli.jar" "$repo"/cli/target/lib/*.jar "$root/app/lib/"
mkdir -p "$root/app/test-classes" "$root/app/test-lib"
cp -R "$repo/csi-node/target/test-classes/." "$root/app/test-classes/"
rm -f "$root"/app/test-classes/logback-test.xml
# csi-node's test classpath (the mock API server, the registry fixtures of core's tests, ...)
tr ':' '\n' < "$test_classpath" | while read -r entry; do
    if [[ -f $entry ]]; then cp -n "$entry" "$root/app/test-lib/"
    elif [[ -d $entry ]]; then cp -R "$entry/." "$root/app/test-classes/"
    fi
done
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,run,mnt,verity-vm,var/lib}
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
    [[ -e $root/bin/$applet ]] || ln -s busybox "$root/bin/$applet"
done
# independent checkers: fsverity measure (FS_IOC_MEASURE_VERITY) and filefrag (where an object's
# bytes lie on the store disk, for the tamper test); dynamic, so their libraries come along
# and docker-registry: the registry the node agent pulls from in GuestVerityPolicy
for tool in fsverity filefrag docker-registry; do
    src=$(command -v "$tool")
    rm -f "$root/bin/$tool"
    cp -L "$src" "$root/bin/$tool"
    [[ $tool == docker-registry ]] && cp -L "$src" "$root/usr/bin/$tool"   # TestRegistry's fixed path
    ldd "$src" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | while read -r lib; do
        [[ -e $root$lib ]] || { mkdir -p "$root$(dirname "$lib")"; cp -L "$lib" "$root$lib"; }
    done
done
install -m 0755 "$here/guest/guest-main.sh" "$here/guest/verity-test.sh" "$root/verity-vm/"
cp -R "$repo/crds" "$root/verity-vm/crds"   # the mock API server of GuestVerityPolicy learns the CRDs
"$here/guest/make-testdata.sh" "$root/verity-vm/data"
# The options of every JVM in the guest (verity-test.sh reads them): C1 only, one GC thread, a small
# heap. Under emulation loading classes dominates a JVM start, so CDS archives are made with the
# same options in the guest's own paths (a chroot with /proc): the JDK's classes for every JVM, and
# what a `kcfs store add` loads for the CLI and kcfs-node runs (their class path is the same).
# JVM warnings go to stderr: the script reads digests from stdout.
jvm_options="-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:-UsePerfData -Xmx384m -Xss4m -Xlog:all=warning:stderr"
jvm_options+=" --enable-native-access=ALL-UNNAMED -Djna.tmpdir=/tmp"
echo "$jvm_options" > "$root/verity-vm/jvm-options"
# An explicit class path: a CDS archive records it, and "/app/lib/*" expands in directory order,
# which differs between this directory and the guest's ext4.
classpath=$(cd "$root" && ls app/lib/*.jar | sort | sed 's|^|/|' | paste -sd:)
echo "$classpath" > "$root/verity-vm/classpath"
if [[ $(id -u) -eq 0 ]]; then
    # shellcheck disable=SC2016 # expanded by the inner sh
    unshare --mount --propagation private sh -c '
        mount -t proc proc "$1/proc" &&
        chroot "$1" /opt/java/bin/java $2 -Xshare:dump > /dev/null &&
        chroot "$1" /opt/java/bin/java $2 -XX:ArchiveClassesAtExit=/app/kcfs.jsa -cp "$3" dev.kcfs.cli.Kcfs \
            store --store /tmp/cds-store add /verity-vm/data/src > /dev/null 2>&1 &&
        chroot "$1" /opt/java/bin/java $2 -XX:SharedArchiveFile=/app/kcfs.jsa -Xshare:on -cp "$3" dev.kcfs.cli.Kcfs \
            --help > /dev/null' _ "$root" "$jvm_options" "$classpath" \
        || die "could not make or use the CDS archives in $root"
    rm -rf "${root:?}"/tmp/* "${root:?}"/tmp/.[!.]*
else
    echo "verity-vm: not root, so no CDS archives (chroot): JVMs start slower in the guest"
fi
size_mb=$(( $(du -sm "$root" | cut -f1) * 13 / 10 + 64 ))
mkfs.ext4 -q -F -L kcfs-sys -d "$root" "$work/sys.img" "${size_mb}M" > /dev/null
# the store: 4 KiB blocks (fs-verity on ext4 needs the Merkle tree block size <= the page and
# fs block size; 1 KiB blocks give "Unsupported log_blocksize") and the verity feature
mkfs.ext4 -q -F -L kcfs-store -b 4096 -O verity "$work/store.img" 256M > /dev/null

# --- boot --------------------------------------------------------------------------------------
# TCG by default: CI machines have no usable /dev/kvm (where one exists, nested, qemu 7.2 failed
# to set MSR 0x10a with -cpu host), and TCG is what the time budget is measured under
accel=${KCFS_VM_ACCEL:-tcg}
case $accel in
    # Without cmpxchg16b: under qemu 7.2's TCG this kernel's SLUB fast path (a per-CPU
    # cmpxchg16b) ends in double faults and corrupted memory in about a third of the boots with
    # -cpu max or qemu64 (seen here); without the instruction SLUB takes its locked path and
    # every boot came up. Single-threaded TCG: one vCPU is all the guest uses.
    tcg) accel_args=(-accel tcg,thread=single -cpu qemu64,-cx16) ;;
    kvm) accel_args=(-accel kvm -cpu host) ;;
    *) die "KCFS_VM_ACCEL=$accel: use kvm or tcg" ;;
esac
echo "verity-vm: kernel $kver from $(basename "$deb"), qemu $accel; guest prepared in $(elapsed) s"
boot_started=$(date +%s.%N)
set +e
timeout "${KCFS_VM_TIMEOUT:-540}" "$qemu" "${accel_args[@]}" -m 2048 -smp 1 -nographic -no-reboot \
    -kernel "$vmlinuz" -initrd "$work/initrd.gz" \
    -append "console=ttyS0 panic=-1 loglevel=4 rdinit=/init" \
    -drive file="$work/sys.img",format=raw,if=virtio \
    -drive file="$work/store.img",format=raw,if=virtio \
    < /dev/null 2>&1 | sed -u 's/\r$//' | tee "$work/console.log"
qemu_rc=${PIPESTATUS[0]}
set -e
guest_s=$(awk -v s="$boot_started" -v n="$(date +%s.%N)" 'BEGIN {printf "%.1f", n - s}')

passed=$(grep -c '^KCFS-VM: PASS ' "$work/console.log" || true)
failed=$(grep -c -E '^KCFS-VM: (FAIL|FATAL) ' "$work/console.log" || true)
boot=$(sed -n 's/^KCFS-VM: booted in \([0-9.]*\) s.*/\1/p' "$work/console.log")
echo
echo "verity-vm: guest booted to userspace in ${boot:-?} s, qemu ran ${guest_s} s, whole run $(elapsed) s"
if ((qemu_rc == 124)); then
    die "FAILED: the guest did not finish within ${KCFS_VM_TIMEOUT:-540} s (log: $work/console.log)"
fi
if ! grep -q '^KCFS-VM: EXIT 0 ' "$work/console.log" || ((failed > 0)) || ((passed == 0)); then
    grep -E '^KCFS-VM: (FAIL|FATAL) ' "$work/console.log" >&2 || true
    die "FAILED: $failed failed, $passed passed (qemu exit $qemu_rc; log: $work/console.log)"
fi
echo "verity-vm: all $passed guest assertions passed"
