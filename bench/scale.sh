#!/usr/bin/env bash
# Scale benchmark: a full `obsc build --all` of the shipped platform plus N generated managed
# namespaces (spread over dev, test and prod, every tenth on the partner-team tier), for each N
# given (default 0 1000 5000 10000), beside `nickel export` of the very same input in the same
# run. Per N it reports:
#   wall_s       best of 3 runs, whole process
#   rss_MB       the highest peak resident memory of those runs
#   files bytes  what the build wrote
#   largest_KiB  the largest object file (a ConfigMap, a Deployment...; not the config copies)
#   nickel_s     `nickel export` of the same platform file, best of 3
#   ratio        wall_s / nickel_s
#
#   bash bench/scale.sh                 # builds obsc in release mode first
#   bash bench/scale.sh 100 1000        # other sizes
#   BENCH_DIR=/dev/shm bash bench/scale.sh   # output on tmpfs, to leave the disk out
#
# Needs the nickel CLI on PATH (`cargo install --locked nickel-lang-cli --version 1.18.0`, the
# version the nickel-lang-core obsc links is released with); without it the two nickel columns
# say "-".
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=$PWD/target/release/obsc
work=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/obsc-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
# Dashboard directories are read relative to the parent of the platform file's directory.
mkdir -p "$work/environments"
ln -s "$PWD/dashboards" "$work/dashboards"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(0 1000 5000 10000)

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); output on $(df -P "$work" | awk 'NR==2 {print $1}')"
echo "obsc: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo '+changes'); nickel: $(nickel --version 2>/dev/null || echo 'not installed')"
echo
echo "| N | wall_s | rss_MB | files | bytes | largest_KiB | nickel_s | ratio |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|"

# best-of-3 wall time (and the highest peak RSS) of a command; its output goes to $work/stdout.
measure() {
  local best="" peak=0 wall rss_kb
  for _ in 1 2 3; do
    rm -rf "$work/out"
    # Let the filesystem finish the previous run's deletions first: they are not this run's cost.
    sync
    /usr/bin/time -f '%e %M' -o "$work/time" "$@" >"$work/stdout" 2>"$work/stderr" || {
      cat "$work/stderr" >&2
      exit 1
    }
    read -r wall rss_kb <"$work/time"
    if [ -z "$best" ] || awk "BEGIN{exit !($wall < $best)}"; then best=$wall; fi
    if [ "$rss_kb" -gt "$peak" ]; then peak=$rss_kb; fi
  done
  echo "$best $((peak / 1024))"
}

for n in "${sizes[@]}"; do
  platform="$work/environments/platform-$n.ncl"
  {
    echo "(import \"$PWD/environments/platform.ncl\") & { namespaces = {"
    envs=(dev test prod)
    for ((i = 1; i <= n; i++)); do
      env=${envs[$((i % 3))]}
      if [ $((i % 10)) -eq 0 ]; then tier=', default_tier = "partner-team"'; else tier=''; fi
      printf '  "bench-%05d-%s" = { environment = "%s"%s },\n' "$i" "$env" "$env" "$tier"
    done
    echo "} }"
  } >"$platform"
  read -r wall rss < <(measure "$bin" --platform "$platform" build --all -o "$work/out")
  # The last run's output is still there: count it.
  files=$(find "$work/out" -type f | wc -l)
  bytes=$(find "$work/out" -type f -printf '%s\n' | awk '{s += $1} END {print s}')
  largest=$(find "$work/out" -path '*/config' -prune -o -type f -name '*.yaml' ! -name kustomization.yaml -printf '%s\n' | sort -n | tail -1)
  if command -v nickel >/dev/null 2>&1; then
    read -r nickel _ < <(measure nickel export --format json "$platform")
    ratio=$(awk "BEGIN {printf \"%.1f\", $wall / $nickel}")
  else
    nickel=- ratio=-
  fi
  printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$n" "$wall" "$rss" "$files" "$bytes" "$((largest / 1024))" "$nickel" "$ratio"
done
