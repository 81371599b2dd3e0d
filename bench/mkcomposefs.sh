#!/usr/bin/env bash
# Whole-process benchmarks of `kcfs mkcomposefs` against the reference figures of upstream's C tool
# on this machine kind (issue 2). Prints wall time (median of hyperfine runs) and peak RSS.
#
#   bench/mkcomposefs.sh [all|dump|usr-dump|usr-dir|usr-store|verity]
#
# dump       f36-x86_64-silverblue dump -> image     (C: 1.17 s, 120 MiB)
# usr-dump   dump of /usr (built by this script)      (C: 3.15 s, 180 MiB)
# usr-dir    /usr directory -> image, 2 threads       (C: 14.2 s)
# usr-store  /usr -> image + --digest-store (empty)   (C: 128 s)
# verity     fs-verity digest of a 1 GiB file         (goal >= 1.2 GB/s per thread)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
kcfs="$top/bin/kcfs"
what=${1:-all}
work=${BENCH_DIR:-$(mktemp -d /var/tmp/kcfs-bench.XXXXXX)}
shared=${KCFS_SHARED:-$top/../shared}
runs=${RUNS:-5}
mkdir -p "$work"
"$kcfs" --help >/dev/null   # builds the jars on first use

rss() { # peak RSS in MiB of one run of the command
  /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -n1 | awk '{printf "%.0f MiB", $1/1024}'
}

bench() { # name, command...
  local name=$1; shift
  echo "== $name"
  hyperfine --style basic --warmup 1 --runs "$runs" --export-json "$work/$name.json" "$*" 2>&1 \
    | grep -E 'Time|Range' || true
  echo "peak RSS: $(rss "$@")"
}

if [[ $what == all || $what == dump ]]; then
  dump="$work/f36.dump"
  [[ -f $dump ]] || gzip -dc "$shared/composefs/assets/f36-x86_64-silverblue.dump.gz" > "$dump"
  bench dump "$kcfs" mkcomposefs --from-file "$dump" "$work/f36.cfs"
fi
if [[ $what == all || $what == usr-dump ]]; then
  [[ -f $work/usr.dump ]] || { "$kcfs" mkcomposefs /usr "$work/usr-tmp.cfs" && "$kcfs" info dump "$work/usr-tmp.cfs" > "$work/usr.dump"; }
  echo "usr.dump: $(wc -l < "$work/usr.dump") entries"
  bench usr-dump "$kcfs" mkcomposefs --from-file "$work/usr.dump" "$work/usr2.cfs"
fi
if [[ $what == all || $what == usr-dir ]]; then
  echo "== usr-dir, cold page cache (dropped before each run)"
  hyperfine --style basic --runs 3 --prepare 'sync; echo 3 > /proc/sys/vm/drop_caches' \
    "$kcfs mkcomposefs --threads 2 /usr $work/usr.cfs" 2>&1 | grep -E 'Time|Range' || true
  bench usr-dir-warm "$kcfs" mkcomposefs --threads 2 /usr "$work/usr.cfs"
fi
if [[ $what == all || $what == usr-store ]]; then
  echo "== usr-store (3 runs, each into an empty store)"
  for i in 1 2 3; do
    rm -rf "$work/store"
    /usr/bin/time -f "wall %e s, peak RSS %M KiB" "$kcfs" mkcomposefs --threads 2 --digest-store "$work/store" /usr "$work/usr-s.cfs"
  done
fi
if [[ $what == all || $what == verity ]]; then
  f="$work/1g.bin"
  [[ -f $f ]] || head -c 1073741824 /dev/urandom > "$f"
  cat "$f" > /dev/null
  echo "== verity (one thread, in process)"
  "$top/bench/java.sh" dev.kcfs.verity.FsVerityBenchmark "$f" 7 | tail -n 1
  bench verity-process "$kcfs" info measure-file "$f"
  echo "(fsverity digest, C + OpenSSL, for comparison)"; hyperfine --style basic --runs 3 "fsverity digest $f" 2>&1 | grep -E 'Time' || true
fi
echo "work dir: $work"
