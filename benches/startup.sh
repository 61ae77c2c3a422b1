#!/usr/bin/env bash
# Release binary size and start-up time to the first frame (benches/README.md, "Size and
# start-up"). Prints a markdown table. Run by scripts/bench; alone:
#   benches/startup.sh [--runs N] [BINARY]     (default: target/release/palabre, 10 runs)
# Needs Xvfb and binutils' strip. The window runs under a private Xvfb with empty settings and
# PALABRE_EXIT_AFTER_FIRST_FRAME=1: it prints first_frame_ms (from the first line of main to the
# end of the first frame's layout) and closes itself.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=10 bin=target/release/palabre
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift ;;
    *) bin="$1" ;;
  esac
  shift
done
[ -x "$bin" ] || { echo "benches/startup.sh: no binary at $bin (cargo build --release)" >&2; exit 1; }

work=$(mktemp -d /tmp/palabre-startup.XXXXXX)
xvfb_pid=
cleanup() {
  [ -n "$xvfb_pid" ] && { kill "$xvfb_pid" 2>/dev/null || true; wait "$xvfb_pid" 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT

# Sizes: as built (the release profile keeps symbols) and stripped (what packages ship).
cp "$bin" "$work/palabre"
strip "$work/palabre"
size_built=$(stat -c %s "$bin")
size_stripped=$(stat -c %s "$work/palabre")

# A private X server on a free display (-displayfd writes its number when it is ready).
Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 3>"$work/display" &
xvfb_pid=$!
for _ in $(seq 100); do [ -s "$work/display" ] && break; sleep 0.05; done
display=":$(tr -d '[:space:]' < "$work/display")"
[ "$display" != ":" ] || { echo "benches/startup.sh: Xvfb did not start" >&2; exit 1; }

launch() {
  env -u WAYLAND_DISPLAY DISPLAY="$display" PALABRE_CONFIG_DIR="$work/config" \
    PALABRE_INSTANCE_DIR="$work/instance" PALABRE_EXIT_AFTER_FIRST_FRAME=1 RUST_LOG=off "$@"
}

# One run first to warm the page cache and Mesa's shader cache, as a user's second start would.
launch "$bin" >/dev/null 2>&1 || true
first=() wall=()
for _ in $(seq "$runs"); do
  start=$(date +%s%N)
  out=$(launch "$bin" 2>&1 >/dev/null) || { echo "$out" >&2; exit 1; }
  end=$(date +%s%N)
  ms=$(grep -o 'first_frame_ms=[0-9.]*' <<<"$out" | cut -d= -f2)
  [ -n "$ms" ] || { echo "benches/startup.sh: no first_frame_ms in:" >&2; echo "$out" >&2; exit 1; }
  first+=("$ms")
  wall+=("$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", (b - a) / 1e6 }')")
done

# median and max of the arguments
stats() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.0f|%.0f", m, v[NR] }'; }
IFS='|' read -r first_med first_max <<<"$(stats "${first[@]}")"
IFS='|' read -r wall_med wall_max <<<"$(stats "${wall[@]}")"
mb() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1e6 }'; }
verdict() { awk -v v="$1" -v goal="$2" 'BEGIN { print (v <= goal) ? "met" : "**missed**" }'; }

echo "### Size and start-up ($runs runs under Xvfb, $(basename "$bin"))"
echo
echo "| measure | median | max | goal | |"
echo "|---|---:|---:|---:|---|"
echo "| release binary, stripped | $(mb "$size_stripped") | | ≤ 25 MB | $(verdict "$size_stripped" 25000000) |"
echo "| release binary, as built | $(mb "$size_built") | | | |"
echo "| start → first frame | ${first_med} ms | ${first_max} ms | ≤ 500 ms | $(verdict "$first_max" 500) |"
echo "| start → exit (wall, incl. closing) | ${wall_med} ms | ${wall_max} ms | | |"
if command -v hyperfine >/dev/null 2>&1; then
  echo
  hyperfine --warmup 1 --runs "$runs" --style basic -N "env -u WAYLAND_DISPLAY DISPLAY=$display PALABRE_CONFIG_DIR=$work/config PALABRE_INSTANCE_DIR=$work/instance PALABRE_EXIT_AFTER_FIRST_FRAME=1 RUST_LOG=off $bin" 2>&1
fi
