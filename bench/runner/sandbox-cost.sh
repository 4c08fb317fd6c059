#!/usr/bin/env bash
# The sandbox's own cost, without the runner: bench/runner's step (2,000 short processes, then
# 100,000 lines) run by plain `sh` and by `sh` under bwrap with the runner's options
# (runner/sandbox.ts), alternating, output to a pipe read by `cat > /dev/null`. Prints each
# round and the median of the per-round ratios. Usage: bench/runner/sandbox-cost.sh [rounds]
set -euo pipefail
rounds=${1:-10}
dir=$(mktemp -d "${PWD}/.sandbox-cost-XXXXXX")
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/job/src" "$dir/job/home"
cat > "$dir/job/src/work.sh" <<'SH'
i=0
while [ $i -lt 2000 ]; do /bin/echo "step command $i: compiling src/module-$i.ts -> dist/module-$i.js"; i=$((i+1)); done
seq 1 100000 | sed 's|^|  ✓ test case |; s|$| passed (3 ms) in src/components/widget.test.ts|'
SH
bwrap=(/usr/bin/bwrap --die-with-parent --unshare-pid --unshare-ipc --cap-drop ALL --ro-bind / / --dev /dev --proc /proc --tmpfs /tmp
  --tmpfs "$dir" --bind "$dir/job" "$dir/job" --remount-ro "$dir" --chdir "$dir/job/src" --clearenv --setenv PATH "$PATH" --setenv HOME "$dir/job/home" --)
ms() { local t0 t1; t0=$(date +%s%N); "$@" 2>&1 | cat > /dev/null; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000000 )); }
ratios=()
cd "$dir/job/src"
for r in $(seq 1 "$rounds"); do
  if (( r % 2 )); then a=$(ms sh work.sh); b=$(ms "${bwrap[@]}" sh work.sh); else b=$(ms "${bwrap[@]}" sh work.sh); a=$(ms sh work.sh); fi
  ratio=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", b / a }')
  ratios+=("$ratio")
  echo "round $r: sh $a ms, bwrap + sh $b ms (${ratio}×)"
done
median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
echo "SUMMARY sandbox cost: bwrap + sh / sh = ${median}× (median of $rounds paired rounds)"
