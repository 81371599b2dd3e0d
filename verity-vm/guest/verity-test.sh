#!/bin/sh
# The guest's assertions (busybox sh, on the verity kernel). Every check prints one line
# "KCFS-VM: PASS what" or "KCFS-VM: FAIL what: why"; the exit status is the number of failures.
# The store is an ext4 with the verity feature on /dev/vdb; test data is in /verity-vm/data
# (written by make-testdata.sh): src/ for `kcfs store add`, oci/ (the tree layer/) for `kcfs pull`.
data=/verity-vm/data
S=/store/kcfs
failures=0

pass() { echo "KCFS-VM: PASS $*"; }
fail() { echo "KCFS-VM: FAIL $*"; failures=$((failures + 1)); }
note() { echo "KCFS-VM: NOTE $*"; }
uptime_s() { cut -d' ' -f1 /proc/uptime; }
# A JVM start costs seconds under emulation: run.sh chose the options and made CDS archives with them.
JAVA="/opt/java/bin/java $(cat /verity-vm/jvm-options)"
CDS=""
[ -f /app/kcfs.jsa ] && CDS="-XX:SharedArchiveFile=/app/kcfs.jsa"
CP=$(cat /verity-vm/classpath)
kcfs() { $JAVA $CDS -cp "$CP" dev.kcfs.cli.Kcfs "$@"; }
csi() { $JAVA -cp '/app/test-classes:/app/lib/*' dev.kcfs.csi.GuestCsiClient /run/csi.sock "$@"; }

# every regular file under $1 reads back through $2 byte for byte; prints what differs
same_tree() {
    bad=0
    for f in $(cd "$1" && find . -type f); do
        cmp -s "$1/$f" "$2/$f" || { echo "  differs or unreadable: $f"; bad=1; }
    done
    for l in $(cd "$1" && find . -type l); do
        [ "$(readlink "$1/$l")" = "$(readlink "$2/$l")" ] || { echo "  symlink differs: $l"; bad=1; }
    done
    [ $bad = 0 ]
}
# the kernel's fs-verity digest of a file (FS_IOC_MEASURE_VERITY), as hex; empty when it has none
measured() { fsverity measure "$1" 2> /dev/null | sed -n 's/^sha256:\([0-9a-f]*\) .*/\1/p'; }
# kcfs's object path of a file's fs-verity digest (computed in user space by the fsverity tool)
object_of() {
    d=$(fsverity digest "$1" | sed -n 's/^sha256:\([0-9a-f]*\) .*/\1/p')
    echo "$S/objects/$(echo "$d" | cut -c1-2)/$(echo "$d" | cut -c3-)"
}
shared_mount_options() { grep " $S/mounts/$1 " /proc/self/mountinfo | sed 's/.* - //' | head -1; }

mkdir -p /store /mnt/src /mnt/app /mnt/pinned /mnt/hand /var/lib/kubelet
mount -t ext4 /dev/vdb /store || { fail "mount the ext4 store disk /dev/vdb"; exit 1; }
if [ -n "$CDS" ] && ! $JAVA $CDS -Xshare:on -cp "$CP" dev.kcfs.cli.Kcfs --help > /dev/null 2>&1; then
    note "the CDS archive /app/kcfs.jsa is not usable here: JVMs start without it"
fi
note "store filesystem: $(grep ' /store ' /proc/mounts)"

# ---------------------------------------------------------------- add and pull enable verity
t=$(uptime_s)
src_digest=$(kcfs store --store $S add --name src $data/src) || fail "kcfs store add exited non-zero"
app_digest=$(kcfs pull --store $S --name app oci:$data/oci:v1) || fail "kcfs pull oci: exited non-zero"
note "add + pull took $(awk -v a="$t" -v b="$(uptime_s)" 'BEGIN {print b - a}') s: src=$src_digest app=$app_digest"

checked=0
bad=0
for f in $S/objects/*/* $S/images/*.cfs; do
    case $f in
        */images/*) want=$(basename "$f" .cfs) ;;
        *) want=$(basename "$(dirname "$f")")$(basename "$f") ;;
    esac
    got=$(measured "$f")
    checked=$((checked + 1))
    if [ "$got" != "$want" ]; then
        echo "  $f: kernel measures '${got:-no fs-verity}', its name says $want"
        bad=$((bad + 1))
    fi
done
# src: 28 distinct bodies over 64 bytes (motd is inline, one file a duplicate), app: 2 (run is
# inline); 2 images
objects=$(ls $S/objects/*/* | wc -l)
if [ $bad = 0 ] && [ "$objects" = 30 ] && [ "$checked" = 32 ]; then
    pass "store add and pull enabled fs-verity on all $objects objects and 2 images; FS_IOC_MEASURE_VERITY equals every name"
else
    fail "verity after add/pull: $bad of $checked files differ or lack verity ($objects objects, expected 30)"
fi

# ---------------------------------------------------------------- mount -o verity reads back
if kcfs mount --store $S -o verity src /mnt/src && kcfs mount --store $S -o verity app /mnt/app; then
    opts_src=$(shared_mount_options "$src_digest")
    opts_app=$(shared_mount_options "$app_digest")
    note "shared mount of src: $opts_src"
    case "$opts_src,$opts_app" in
        *verity=require*,*verity=require*) pass "kcfs mount -o verity made overlay mounts with verity=require" ;;
        *) fail "kcfs mount -o verity: shared mounts lack verity=require: '$opts_src' / '$opts_app'" ;;
    esac
    if same_tree $data/src /mnt/src && same_tree $data/layer /mnt/app; then
        pass "every file of both images reads back identical to its source through the verity mount"
    else
        fail "files read through the verity mount differ from their source"
    fi
else
    fail "kcfs mount -o verity failed"
fi
kcfs umount --store $S /mnt/src
kcfs umount --store $S /mnt/app

# ---------------------------------------------------------------- digest= pinned mounts
image=$S/images/$src_digest.cfs
cp $image /tmp/changed.cfs
# one byte of the image changed (past the superblock, so only the digest check can notice)
printf 'X' | dd of=/tmp/changed.cfs bs=1 seek=2000 conv=notrunc 2> /dev/null
out=$(kcfs mount -o basedir=$S/objects,digest=$src_digest,verity $image /mnt/pinned 2>&1)
if [ $? = 0 ] && cmp -s $data/src/usr/lib/big.bin /mnt/pinned/usr/lib/big.bin; then
    pass "a digest=-pinned verity mount of the stored image (kernel-measured digest) mounts"
    umount /mnt/pinned
else
    fail "digest=-pinned mount of the unchanged image: $out"
fi
out=$(kcfs mount -o basedir=$S/objects,digest=$src_digest /tmp/changed.cfs /mnt/pinned 2>&1)
rc=$?
if [ $rc != 0 ] && echo "$out" | grep -q "refusing to mount" && ! grep -q " /mnt/pinned " /proc/mounts; then
    pass "a digest=-pinned mount of an image whose bytes changed is refused: $out"
else
    fail "digest=-pinned mount of a changed image was not refused (exit $rc): $out"
    umount /mnt/pinned 2> /dev/null
fi

# ---------------------------------------------------------------- an object without verity
mkdir -p /tmp/hand/etc
head -c 20000 /dev/urandom > /tmp/hand/etc/handmade
cp $data/src/usr/lib/one-block /tmp/hand/etc/shared
obj=$(object_of /tmp/hand/etc/handmade)
mkdir -p "$(dirname "$obj")"
cp /tmp/hand/etc/handmade "$obj"   # copied in by hand: the store never enabled verity on it
hand_digest=$(kcfs store --store $S add --name hand /tmp/hand)
if [ -n "$(measured "$obj")" ]; then
    fail "the hand-copied object $obj has fs-verity (the test needs one without)"
fi
out=$(kcfs mount --store $S -o verity hand /mnt/hand 2>&1)
rc=$?
if [ $rc != 0 ] && echo "$out" | grep -q "no fs-verity" && echo "$out" | grep -q "$(basename "$obj")" \
        && ! grep -q " /mnt/hand " /proc/mounts; then
    pass "a verity mount of an image with a hand-copied object fails clearly: $out"
else
    fail "verity mount of an image with an object without verity (exit $rc): $out"
    kcfs umount --store $S /mnt/hand 2> /dev/null
fi
out=$(kcfs mount --store $S -o tryverity hand /mnt/hand 2>&1)
rc=$?
opts=$(shared_mount_options "$hand_digest")
if [ $rc = 0 ] && echo "$out" | grep -q "WITHOUT verity" && ! echo "$opts" | grep -q verity= \
        && same_tree /tmp/hand /mnt/hand; then
    pass "tryverity mounts it without verity and says so: $out"
else
    fail "tryverity mount of an image with an object without verity (exit $rc, options '$opts'): $out"
fi
kcfs umount --store $S /mnt/hand 2> /dev/null

# ---------------------------------------------------------------- tamper with one object's bytes
victim=$(object_of $data/src/bin/victim)
# physical block of the object's first data block, from FIEMAP on the mounted store
block=$(filefrag -v -b4096 "$victim" | awk '$1 == "0:" {sub(/\.\..*/, "", $4); print $4; exit}')
umount /store
if [ -z "$block" ] || grep -q ' /store ' /proc/mounts; then
    fail "cannot find the victim object's block on /dev/vdb (filefrag: '$block')"
else
    dd if=/dev/vdb of=/tmp/block bs=4096 skip="$block" count=1 2> /dev/null
    before=$(md5sum < /tmp/block)
    # flip byte 100 of the block: write its complement
    byte=$(dd if=/tmp/block bs=1 skip=100 count=1 2> /dev/null | od -An -tu1 | tr -d ' ')
    printf "$(printf '\\%03o' $((255 - byte)))" | dd of=/tmp/block bs=1 seek=100 conv=notrunc 2> /dev/null
    dd if=/tmp/block of=/dev/vdb bs=4096 seek="$block" count=1 conv=notrunc,fsync 2> /dev/null
    blockdev --flushbufs /dev/vdb
    echo 3 > /proc/sys/vm/drop_caches
    note "changed byte 100 of block $block of /dev/vdb (object $victim): $before -> $(md5sum < /tmp/block)"
fi
mount -t ext4 /dev/vdb /store || { fail "remount the store after tampering"; exit $failures; }
if [ "$(measured "$victim")" = "$(basename "$(dirname "$victim")")$(basename "$victim")" ]; then
    note "the tampered object still measures as its name (verity metadata intact; the data block is wrong)"
fi
kcfs mount --store $S -o verity src /mnt/src || fail "verity mount of src after tampering"
err=$(cat /mnt/src/bin/victim 2>&1 > /dev/null)
rc=$?
if [ $rc != 0 ] && echo "$err" | grep -q "Input/output error"; then
    pass "reading the tampered file through the verity mount fails with EIO: $err"
else
    fail "reading the tampered file through the verity mount did not fail with EIO (exit $rc): $err"
fi
rm -rf /tmp/others && cp -a $data/src /tmp/others && rm /tmp/others/bin/victim
if same_tree /tmp/others /mnt/src; then
    pass "every other file still reads back identical"
else
    fail "files other than the tampered one do not read back"
fi
note "kernel: $(dmesg | grep -i -E 'corrupt|fs-verity digest' | tail -2 | tr '\n' ' ')"
kcfs umount --store $S /mnt/src

# ---------------------------------------------------------------- the CSI plugin, then fsck
target=/var/lib/kubelet/pods/uid-vol-src/volumes/kubernetes.io~csi/src/mount
target_app=/var/lib/kubelet/pods/uid-vol-app/volumes/kubernetes.io~csi/app/mount
mkdir -p "$(dirname $target)" "$(dirname $target_app)"
start_node() { # VERITY
    rm -f /run/csi.sock
    $JAVA $CDS -cp "$CP" dev.kcfs.node.NodeMain --endpoint unix:///run/csi.sock --node-id vm --no-agent \
        --store $S --kubelet-dir /var/lib/kubelet --metrics-port -1 --verity "$1" > /tmp/node-$1.log 2>&1 &
    node_pid=$!
    for i in $(seq 1 600); do
        [ -S /run/csi.sock ] && return 0
        kill -0 $node_pid 2> /dev/null || break
        sleep 0.2
    done
    fail "kcfs-node --verity $1 did not start: $(tail -5 /tmp/node-$1.log)"
    return 1
}
stop_node() { kill $node_pid; wait $node_pid 2> /dev/null; }

if start_node REQUIRED; then
    out=$(csi publish vol-src $target src -- stats vol-src $target)
    note "kcfs-node --verity REQUIRED: $out"
    opts=$(shared_mount_options "$src_digest")
    if echo "$out" | grep -q "^OK published" && echo "$opts" | grep -q "verity=require"; then
        pass "the CSI plugin (verity REQUIRED) published src with verity=require"
    else
        fail "CSI publish with verity REQUIRED: $out; shared mount options '$opts'"
    fi
    err=$(cat $target/bin/victim 2>&1 > /dev/null)
    if [ $? != 0 ] && echo "$err" | grep -q "Input/output error" && cmp -s $data/src/usr/lib/big.bin $target/usr/lib/big.bin; then
        pass "the pod volume serves EIO for the tampered file, not its wrong bytes, and other files intact"
    else
        fail "the pod volume served the tampered file or broke other files: $err"
    fi

    out=$(kcfs store --store $S fsck 2>&1)
    rc=$?
    note "fsck: $(echo "$out" | tr '\n' ' ')"
    if [ $rc != 0 ] && echo "$out" | grep -q "quarantined: .*$(basename "$victim")" \
            && [ ! -e "$victim" ] && [ -n "$(ls $S/quarantine/)" ]; then
        pass "kcfs store fsck names the tampered object and quarantines it"
    else
        fail "kcfs store fsck did not quarantine $victim (exit $rc)"
    fi
    out=$(csi stats vol-src $target)
    if echo "$out" | grep -q "abnormal=true" && echo "$out" | grep -q "$(basename "$victim" | cut -c1-8)"; then
        pass "NodeGetVolumeStats reports the volume abnormal: $out"
    else
        fail "NodeGetVolumeStats after fsck quarantined an object of the volume's image: $out"
    fi
    out=$(csi unpublish vol-src $target -- publish vol-hand $target hand)
    if echo "$out" | grep -q "ERROR.*no fs-verity"; then
        pass "the CSI plugin (verity REQUIRED) refuses an image with an object without verity: $(echo "$out" | tail -1)"
    else
        fail "CSI publish of the hand image with verity REQUIRED: $out"
    fi
    stop_node
fi

if start_node IF_SUPPORTED; then
    out=$(csi publish vol-app $target_app app)
    opts=$(shared_mount_options "$app_digest")
    note "kcfs-node --verity IF_SUPPORTED: $out; $(grep -m1 'mounted image' /tmp/node-IF_SUPPORTED.log)"
    if echo "$out" | grep -q "^OK published" && echo "$opts" | grep -q "verity=require" \
            && same_tree $data/layer $target_app; then
        pass "the CSI plugin (verity IF_SUPPORTED) mounted app with verity=require, as this kernel has fs-verity"
    else
        fail "CSI publish with verity IF_SUPPORTED: $out; shared mount options '$opts'"
    fi
    stop_node
fi

# ---------------------------------------------------------------- spec.verity through the node agent
# The agent and the plugin as kcfs-node wires them, a mock API server and docker-registry, in one JVM
# (GuestVerityPolicy prints its own PASS/FAIL lines); its node directory is on the verity store disk.
$JAVA -Xmx512m -Dkcfs.crds.dir=/verity-vm/crds -cp '/app/test-classes:/app/lib/kcfs-csi-node.jar:/app/test-lib/*' \
    dev.kcfs.agent.GuestVerityPolicy \
    /store/agent-node > /tmp/policy.log 2>&1
rc=$?
grep '^KCFS-VM: ' /tmp/policy.log
failures=$((failures + rc))
if [ $rc != 0 ] && ! grep -q '^KCFS-VM: FAIL' /tmp/policy.log; then
    fail "GuestVerityPolicy exited $rc: $(tail -20 /tmp/policy.log)"
fi
exit $failures
