#!/usr/bin/env bash
# A/B the step load (perf/bench_steps.py steps) on two or more git refs in one run, rounds interleaved.
# The bench arguments may start with its mode: `-- scaling --workers-list 1,2 ...` A/Bs the scaling curve.
#
#   source /work/main/.services/env
#   flock /work/wt/heavy.lock perf/steps_ab.sh base:main after:HEAD -- --rates 1000,1500 --hold 45 --workers 2 --mockup-workers 1
#   perf/steps_ab.sh --rounds 3 --name fullload base:c137887 after:fullload -- --rates 1500 --hold 60
#
# Each ref is checked out in its own detached worktree (removed at the end) and measured with THIS tree's
# bench_steps.py, run from inside that worktree (so its workers and simulator run that ref's code). Rounds
# interleave (base, after, base, after, ...) so a noisy neighbour hits every side alike. Each run's JSON and
# report go to perf/reports/<name>-<label>-r<round>/; the end prints one line per run and step: sustained
# leads/min, e2e p50/p95, and CPU ms per lead per process kind.
# The caller's PYTHONPATH is kept after the ref's tree: e.g. a `pip install --target DIR` of a package that
# a ref needs and the box lacks (PYTHONPATH=DIR perf/...).
set -euo pipefail

rounds=2
name="ab-$(date -u +%Y%m%d-%H%M)"
specs=()
while (($#)); do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --name) name="$2"; shift 2 ;;
    --) shift; break ;;
    *:*) specs+=("$1"); shift ;;
    *) echo "usage: $0 [--rounds N] [--name NAME] label:ref label:ref [-- bench_steps.py steps args]" >&2; exit 2 ;;
  esac
done
((${#specs[@]} >= 2)) || { echo "usage: $0 [--rounds N] [--name NAME] label:ref label:ref [-- args]" >&2; exit 2; }
args=("$@")
mode=steps
if ((${#args[@]})) && [[ ${args[0]} == steps || ${args[0]} == scaling ]]; then
  mode="${args[0]}"
  args=("${args[@]:1}")
fi
((${#args[@]})) || args=(--rates 1000,1500 --hold 45 --workers 2 --mockup-workers 1)

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
script="$here/perf/bench_steps.py"
scratch="$(mktemp -d /tmp/steps-ab.XXXXXX)"
# shellcheck source=perf/ab_worktrees.sh
source "$here/perf/ab_worktrees.sh"
ab_worktrees "$here" "$scratch" "${specs[@]}"
echo "workload: bench_steps.py $mode ${args[*]}; $rounds interleaved round(s); reports in $here/perf/reports/$name-*"

for ((round = 1; round <= rounds; round++)); do
  for label in "${labels[@]}"; do
    folder="$name-$label-r$round"
    log="$scratch/$folder.log"
    if (cd "$scratch/$label" && PYTHONPATH="$scratch/$label${PYTHONPATH:+:$PYTHONPATH}" python "$script" "$mode" "${args[@]}" --date "$folder") >"$log" 2>&1; then
      grep -E '^(offered |\{)' "$log" | sed "s/^/round $round $label: /"
    else
      echo "$label round $round failed: see $log" >&2
      tail -5 "$log" >&2
    fi
  done
done
