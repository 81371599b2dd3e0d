# Sourced by node.sh and scenario.sh. until_ok SECONDS WHAT COMMAND...: runs COMMAND every second
# until it succeeds; after SECONDS it calls the sourcing script's fail with WHAT. Sets waited to
# the seconds it took.
until_ok() {
  local limit="$1" what="$2"; shift 2
  local start=$SECONDS
  until "$@" >/dev/null 2>&1; do
    ((SECONDS - start < limit)) || fail "$what: not true after ${limit}s"
    sleep 1
  done
  waited=$((SECONDS - start))
}
