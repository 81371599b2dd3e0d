#!/usr/bin/env bash
# kcfs mkcomposefs side by side with upstream's C mkcomposefs (issue 13): both tools run
# alternately in one script (kcfs, C, C, kcfs, kcfs, C, ...) so that they see the same machine
# load, and the script prints per tool the median wall time, CPU time (user + sys) and peak RSS
# of the whole process, then the ratios kcfs / C. Outputs are compared byte for byte (cmp).
#
#   MKCOMPOSEFS_REF=/path/to/mkcomposefs bench/vs-upstream.sh [--busy] [--runs N] [JOB...]
#
# Jobs (default: all):
#   f36        f36-x86_64-silverblue dump -> image (asset from $KCFS_SHARED, default ../shared)
#   usr-dump   a dump of /usr (made once by kcfs) -> image
#   share-warm /usr/share directory -> image, warm page cache
#   usr-cold   /usr directory -> image, cold page cache (caches dropped before every run; root)
#   store      /usr/share directory -> image + --digest-store into an empty store, warm cache
#
# --busy     keep the other core busy: a second process spins for the whole run
# --runs N   runs per tool and job (default 5; usr-cold and store default to 3)
# Environment: MKCOMPOSEFS_REF (required), BENCH_DIR (work dir; default a new one in /var/tmp),
# KCFS_SHARED, STORE_SRC (source tree of the store job, default /usr/share),
# THREADS (--threads for both tools, default 2: upstream's default).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
kcfs="$top/bin/kcfs"
shared=${KCFS_SHARED:-$top/../shared}
threads=${THREADS:-2}
store_src=${STORE_SRC:-/usr/share}
busy=false
runs=""
jobs=()
while (($#)); do
  case "$1" in
    --busy) busy=true ;;
    --runs) runs=$2; shift ;;
    --runs=*) runs=${1#--runs=} ;;
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) jobs+=("$1") ;;
  esac
  shift
done
((${#jobs[@]})) || jobs=(f36 usr-dump share-warm usr-cold store)

ref=${MKCOMPOSEFS_REF:-}
if [[ -z $ref ]]; then
  echo "reference not given: set MKCOMPOSEFS_REF to upstream's mkcomposefs (containers/composefs v1.0.8)" >&2
  exit 2
fi
[[ -x $ref ]] || { echo "MKCOMPOSEFS_REF=$ref is not an executable" >&2; exit 2; }

work=${BENCH_DIR:-$(mktemp -d /var/tmp/kcfs-vs.XXXXXX)}
mkdir -p "$work"
"$kcfs" --help >/dev/null   # builds the jars on first use

spinner=""
cleanup() { [[ -z $spinner ]] || kill "$spinner" 2>/dev/null || true; }
trap cleanup EXIT
if $busy; then
  bash -c 'while :; do :; done' &
  spinner=$!
fi

java_version=$("${JAVA_HOME:+$JAVA_HOME/bin/}java" -version 2>&1 | head -n1)
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)," \
  "other core busy: $busy, $java_version${KCFS_JAVA_OPTS:+, KCFS_JAVA_OPTS=$KCFS_JAVA_OPTS}"
printf '%-11s %-5s %9s %9s %9s   %s\n' job tool wall_s cpu_s rss_MiB "runs (wall s)"

median() { sort -g | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }

# one timed run: appends "wall cpu rss_kib" to FILE; the command's output goes to $work/last.log.
# PREPARE is evaluated first with $side set to k (kcfs) or c (the reference).
timed() { # FILE SIDE PREPARE CMD...
  local file=$1 side=$2 prepare=$3; shift 3
  eval "$prepare"
  if ! /usr/bin/time -o "$work/time.out" -f '%e %U %S %M' "$@" >"$work/last.log" 2>&1; then
    echo "failed: $*" >&2; cat "$work/last.log" >&2; exit 1
  fi
  awk '{printf "%s %.2f %s\n", $1, $2 + $3, $4}' "$work/time.out" >> "$file"
}

# JOB PREPARE KCFS-CMD -- REF-CMD: alternates the two, prints medians and ratios
compare() {
  local job=$1 prepare=$2; shift 2
  local kcmd=() rcmd=() n=$job_runs
  while [[ $1 != -- ]]; do kcmd+=("$1"); shift; done
  shift; rcmd=("$@")
  : > "$work/$job.kcfs"; : > "$work/$job.ref"
  if [[ $prepare == : ]]; then   # one unmeasured run of each first: page cache, dentries, jars
    timed /dev/null k : "${kcmd[@]}"; timed /dev/null c : "${rcmd[@]}"
  fi
  for ((i = 0; i < n; i++)); do
    if ((i % 2)); then
      timed "$work/$job.ref" c "$prepare" "${rcmd[@]}"; timed "$work/$job.kcfs" k "$prepare" "${kcmd[@]}"
    else
      timed "$work/$job.kcfs" k "$prepare" "${kcmd[@]}"; timed "$work/$job.ref" c "$prepare" "${rcmd[@]}"
    fi
  done
  local t c w u r
  declare -A m
  for t in kcfs ref; do
    m[$t.w]=$(cut -d' ' -f1 "$work/$job.$t" | median)
    m[$t.c]=$(cut -d' ' -f2 "$work/$job.$t" | median)
    m[$t.r]=$(cut -d' ' -f3 "$work/$job.$t" | median | awk '{printf "%.0f", $1 / 1024}')
    printf '%-11s %-5s %9.2f %9.2f %9s   %s\n' "$job" "$([[ $t == ref ]] && echo C || echo kcfs)" \
      "${m[$t.w]}" "${m[$t.c]}" "${m[$t.r]}" "$(cut -d' ' -f1 "$work/$job.$t" | tr '\n' ' ')"
  done
  awk -v j="$job" -v kw="${m[kcfs.w]}" -v cw="${m[ref.w]}" -v kc="${m[kcfs.c]}" -v cc="${m[ref.c]}" \
      -v kr="${m[kcfs.r]}" -v cr="${m[ref.r]}" \
    'BEGIN {printf "%-11s ratio kcfs/C: wall %.2fx, cpu %.2fx, rss %.2fx\n", j, kw/cw, kc/cc, kr/cr}'
}

same() { # A B: byte identity of the two tools' outputs
  if cmp -s "$1" "$2"; then echo "            outputs byte-identical"; else echo "            OUTPUTS DIFFER: $1 $2"; fi
}

run_default=${runs:-5}
for job in "${jobs[@]}"; do
  job_runs=$run_default
  case "$job" in
    f36)
      asset="$shared/composefs/assets/f36-x86_64-silverblue.dump.gz"
      if [[ ! -f $asset ]]; then echo "f36: skipped, $asset not found (set KCFS_SHARED)"; continue; fi
      [[ -f $work/f36.dump ]] || gzip -dc "$asset" > "$work/f36.dump"
      compare f36 : "$kcfs" mkcomposefs --from-file "$work/f36.dump" "$work/f36.k.cfs" \
        -- "$ref" --from-file "$work/f36.dump" "$work/f36.c.cfs"
      same "$work/f36.k.cfs" "$work/f36.c.cfs" ;;
    usr-dump)
      if [[ ! -f $work/usr.dump ]]; then
        "$kcfs" mkcomposefs /usr "$work/usr-tmp.cfs" && "$kcfs" info dump "$work/usr-tmp.cfs" > "$work/usr.dump"
        rm -f "$work/usr-tmp.cfs"
      fi
      compare usr-dump : "$kcfs" mkcomposefs --from-file "$work/usr.dump" "$work/usr-dump.k.cfs" \
        -- "$ref" --from-file "$work/usr.dump" "$work/usr-dump.c.cfs"
      same "$work/usr-dump.k.cfs" "$work/usr-dump.c.cfs"
      echo "            ($(wc -l < "$work/usr.dump") entries)" ;;
    share-warm)
      compare share-warm : "$kcfs" mkcomposefs --threads="$threads" /usr/share "$work/share.k.cfs" \
        -- "$ref" --threads="$threads" /usr/share "$work/share.c.cfs"
      same "$work/share.k.cfs" "$work/share.c.cfs" ;;
    usr-cold)
      [[ -n $runs ]] || job_runs=3
      compare usr-cold 'sync; echo 3 > /proc/sys/vm/drop_caches' \
        "$kcfs" mkcomposefs --threads="$threads" /usr "$work/usr.k.cfs" \
        -- "$ref" --threads="$threads" /usr "$work/usr.c.cfs"
      same "$work/usr.k.cfs" "$work/usr.c.cfs" ;;
    store)
      [[ -n $runs ]] || job_runs=3
      compare store "rm -rf '$work/store.'\$side; sync" \
        "$kcfs" mkcomposefs --threads="$threads" --digest-store="$work/store.k" "$store_src" "$work/store.k.cfs" \
        -- "$ref" --threads="$threads" --digest-store="$work/store.c" "$store_src" "$work/store.c.cfs"
      same "$work/store.k.cfs" "$work/store.c.cfs"
      (cd "$work/store.k" && find . -type f -printf '%P %s\n' | sort) > "$work/store.k.list"
      (cd "$work/store.c" && find . -type f -printf '%P %s\n' | sort) > "$work/store.c.list"
      if cmp -s "$work/store.k.list" "$work/store.c.list"; then
        echo "            stores hold the same objects ($(wc -l < "$work/store.k.list") files, same sizes)"
      else
        echo "            STORES DIFFER: $work/store.k.list $work/store.c.list"
      fi ;;
    *) echo "unknown job: $job" >&2; exit 2 ;;
  esac
done
echo "# work dir: $work"
