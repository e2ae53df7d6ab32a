#!/usr/bin/env bash
# A/B the lightest-path profile (perf/profile_worker.py) on two git refs in one run.
#
#   source /work/main/.services/env
#   perf/profile_ab.sh base:main after:HEAD                       # 2 interleaved rounds, the defaults below
#   perf/profile_ab.sh --rounds 3 base:main after:cpu -- --leads 2000 --rate 6000 --workers 2
#
# Each ref is checked out in its own detached worktree (removed at the end) and measured with THIS tree's
# profile_worker.py, run from inside that worktree (so its workers run that ref's code). Rounds interleave
# (base, after, base, after, ...) so a noisy neighbour hits both sides alike. Each run prints its py-spy
# summary into the log directory; the end prints one line per run and the mean per label:
# throughput (leads/min) and the worker processes' CPU per lead (ms).
# PROFILE_AB_LOCK=<file>: take `flock <file>` around each run (a shared box's heavy-work lock), not the whole A/B.
# The caller's PYTHONPATH is kept after the ref's tree: e.g. a `pip install --target DIR` of a package that
# a ref needs and the box lacks (PYTHONPATH=DIR perf/...).
set -euo pipefail

rounds=2
specs=()
while (($#)); do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --) shift; break ;;
    *:*) specs+=("$1"); shift ;;
    *) echo "usage: $0 [--rounds N] label:ref label:ref [-- profile_worker.py args]" >&2; exit 2 ;;
  esac
done
((${#specs[@]} >= 2)) || { echo "usage: $0 [--rounds N] label:ref label:ref [-- profile_worker.py args]" >&2; exit 2; }
args=("$@")
((${#args[@]})) || args=(--leads 2000 --rate 6000 --workers 2)

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
script="$here/perf/profile_worker.py"
scratch="$(mktemp -d /tmp/profile-ab.XXXXXX)"
logs="$scratch/logs"
mkdir -p "$logs"
# shellcheck source=perf/ab_worktrees.sh
source "$here/perf/ab_worktrees.sh"
ab_worktrees "$here" "$scratch" "${specs[@]}"
echo "workload: profile_worker.py ${args[*]}; $rounds interleaved round(s); logs in $logs"

results="$scratch/results.tsv"
for ((round = 1; round <= rounds; round++)); do
  for label in "${labels[@]}"; do
    log="$logs/$label-round$round.txt"
    run=(env PYTHONPATH="$scratch/$label${PYTHONPATH:+:$PYTHONPATH}" python "$script" "${args[@]}")
    [[ -n "${PROFILE_AB_LOCK:-}" ]] && run=(flock "$PROFILE_AB_LOCK" "${run[@]}")
    (cd "$scratch/$label" && "${run[@]}") >"$log" 2>&1 || { echo "$label round $round failed: see $log" >&2; tail -5 "$log" >&2; continue; }
    line="$(grep -E '^throughput ' "$log" | tail -1)"
    per_min="$(sed -E 's/^throughput ([0-9.]+) leads\/min.*/\1/' <<<"$line")"
    ms="$(sed -E 's/.* = ([0-9.]+) ms per lead.*/\1/' <<<"$line")"
    p95="$(sed -E 's/.*p95 ([0-9.]+) s.*/\1/' <<<"$line")"
    lost="$(sed -E 's/.*lost ([0-9]+).*/\1/' <<<"$line")"
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$label" "$per_min" "$ms" "$p95" "$lost" >>"$results"
    printf 'round %d  %-8s %8s leads/min  %6s ms CPU/lead  p95 %s s  lost %s\n' "$round" "$label" "$per_min" "$ms" "$p95" "$lost"
  done
done

echo
echo "| label | round | leads/min | worker CPU ms/lead | p95 s | lost |"
echo "|---|---|---|---|---|---|"
sort -k2,2 -k1,1n "$results" | awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s |\n", $2, $1, $3, $4, $5, $6 }'
awk -F'\t' '{ n[$2]++; r[$2] += $3; c[$2] += $4 } END { for (l in n) printf "| %s | mean of %d | %.0f | %.1f | | |\n", l, n[l], r[l] / n[l], c[l] / n[l] }' "$results" | sort
