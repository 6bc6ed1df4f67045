#!/usr/bin/env bash
# Scale benchmark: a full `obsc build --all` of the shipped platform plus N generated managed
# namespaces (spread over dev, test and prod), for each N given (default 10 100 1000).
# Reports wall time (best of 3 runs) and peak resident memory of the whole process.
#
#   bash bench/scale.sh            # builds obsc in release mode first
#   bash bench/scale.sh 10 100 1000 5000
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=target/release/obsc
# BENCH_DIR picks the filesystem the output goes to (e.g. /dev/shm to leave the disk out).
work=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/obsc-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
# Dashboard directories are read relative to the parent of the platform file's directory.
mkdir -p "$work/environments"
ln -s "$PWD/dashboards" "$work/dashboards"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10 100 1000)

printf '%-8s %-10s %-12s %-10s\n' "N" "wall_s" "peak_rss_MB" "files"
for n in "${sizes[@]}"; do
  platform="$work/environments/platform-$n.ncl"
  {
    echo "(import \"$PWD/environments/platform.ncl\") & { namespaces = {"
    envs=(dev test prod)
    for i in $(seq 1 "$n"); do
      env=${envs[$((i % 3))]}
      if [ $((i % 10)) -eq 0 ]; then tier=', default_tier = "partner-team"'; else tier=''; fi
      printf '  "bench-%05d-%s" = { environment = "%s"%s },\n' "$i" "$env" "$env" "$tier"
    done
    echo "} }"
  } > "$platform"
  best=""
  peak=0
  for run in 1 2 3; do
    rm -rf "$work/out"
    # Let the filesystem finish the previous run's deletions first: they are not this run's cost.
    sync
    /usr/bin/time -f '%e %M' -o "$work/time" "$bin" --platform "$platform" build --all -o "$work/out" >/dev/null 2>"$work/stderr" || {
      cat "$work/stderr" >&2
      exit 1
    }
    read -r wall rss_kb < "$work/time"
    if [ -z "$best" ] || awk "BEGIN{exit !($wall < $best)}"; then best=$wall; fi
    if [ "$rss_kb" -gt "$peak" ]; then peak=$rss_kb; fi
  done
  files=$(find "$work/out" -type f | wc -l)
  printf '%-8s %-10s %-12s %-10s\n' "$n" "$best" "$((peak / 1024))" "$files"
done
