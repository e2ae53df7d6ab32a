#!/usr/bin/env bash
# A/B the enrich stage alone (perf/bench_enrich.py) on two or more git refs in one run, rounds interleaved,
# each run on an empty Redis database of its own (robots.txt, MX and rate windows start cold every time).
#
#   source /work/main/.services/env
#   flock /work/wt/heavy.lock perf/enrich_ab.sh --redis-db 11 --rounds 3 base:main after:HEAD -- --leads 600 --tiers 1,3
#   perf/enrich_ab.sh --redis-db 11 --count base:main after:HEAD -- --leads 100 --tiers 3
#   pip install --target /tmp/hiredis-site hiredis    # hiredis for these runs only, not in the shared environment
#   perf/enrich_ab.sh --redis-db 11 --site /tmp/hiredis-site --no-hiredis py a:HEAD py:HEAD
#
# --redis-db N   the Redis database (on LEADSTREAM_REDIS_URL's server) the runs use; it must be empty at the
#                start and is emptied (FLUSHDB) before every run: give one nobody else uses.
# --site DIR    a directory of extra packages (pip install --target DIR ...) on every run's PYTHONPATH, after
#                the ref's checkout: e.g. hiredis, without installing it where other processes would load it.
# --no-hiredis L comma-separated labels run with hiredis hidden (redis-py then parses replies in Python).
#                Each label's line at the start says whether its runs load hiredis.
# --count        instead of timing, run each ref once under MONITOR and print the Redis commands the
#                benchmark's client sent on that database per enriched lead (warm-up leads included;
#                commands run inside Lua scripts are not client commands and are listed apart).
# Each ref is checked out in its own detached worktree (removed at the end) and measured with ITS OWN
# perf/bench_enrich.py: the benchmark puts its own checkout first on sys.path, so whichever copy runs is
# the code measured (PYTHONPATH=<other checkout> does not change that).
set -euo pipefail

usage() {
  echo "usage: $0 --redis-db N [--rounds N] [--site DIR] [--no-hiredis L,..] [--count] label:ref ... [-- bench_enrich.py args]" >&2
  exit 2
}

rounds=2
db=""
no_hiredis=","
site=""
count=0
specs=()
while (($#)); do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --redis-db) db="$2"; shift 2 ;;
    --no-hiredis) no_hiredis=",$2,"; shift 2 ;;
    --site) site="$(cd "$2" && pwd)"; shift 2 ;;
    --count) count=1; shift ;;
    --) shift; break ;;
    *:*) specs+=("$1"); shift ;;
    *) usage ;;
  esac
done
if [[ -z $db ]] || ((${#specs[@]} == 0)); then usage; fi
args=("$@")
((${#args[@]})) || args=(--leads 600 --tiers "1,3")

server="${LEADSTREAM_REDIS_URL:?source the services env first}"
server="${server%/*}"
url="$server/$db"
cli=(redis-cli -u "$url")
[[ "$("${cli[@]}" DBSIZE)" == 0 ]] || { echo "enrich_ab: Redis database $db is not empty: pick another" >&2; exit 1; }

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
scratch="$(mktemp -d /tmp/enrich-ab.XXXXXX)"
mkdir -p "$scratch/no-hiredis"
echo 'raise ImportError("hiredis hidden by perf/enrich_ab.sh")' >"$scratch/no-hiredis/hiredis.py"
# shellcheck source=perf/ab_worktrees.sh
source "$here/perf/ab_worktrees.sh"
ab_worktrees "$here" "$scratch" "${specs[@]}"
trap '"${cli[@]}" FLUSHDB >/dev/null; _ab_cleanup' EXIT

pythonpath() {  # label: the PYTHONPATH of the label's runs
  local path="$scratch/$1"
  if [[ $no_hiredis == *",$1,"* ]]; then path="$scratch/no-hiredis:$path"; fi
  if [[ -n $site ]]; then path="$path:$site"; fi
  echo "$path"
}

run() {  # label log: one benchmark run of the label's worktree
  "${cli[@]}" FLUSHDB >/dev/null
  (cd "$scratch/$1" && PYTHONPATH="$(pythonpath "$1")" LEADSTREAM_REDIS_URL="$url" python perf/bench_enrich.py "${args[@]}") >"$2" 2>&1
}

for label in "${labels[@]}"; do
  echo "$label: hiredis $(cd "$scratch/$label" && PYTHONPATH="$(pythonpath "$label")" python -c \
    'import redis.utils as u; print("loaded" if u.HIREDIS_AVAILABLE else "not loaded")')"
done

if ((count)); then
  echo "workload: bench_enrich.py ${args[*]}; Redis commands on db $db per enriched lead (MONITOR)"
  for label in "${labels[@]}"; do
    "${cli[@]}" MONITOR >"$scratch/$label.monitor" &
    monitor=$!
    for _ in $(seq 100); do  # MONITOR answers OK once it listens: count from the first command on
      [[ -s "$scratch/$label.monitor" ]] && break
      sleep 0.05
    done
    run "$label" "$scratch/$label.log" || { echo "$label failed: see $scratch/$label.log" >&2; tail -5 "$scratch/$label.log" >&2; }
    kill "$monitor"
    wait "$monitor" 2>/dev/null || true
    # Every enriched lead, the 20 warm-up leads of each round included (the outcomes dict counts them all).
    leads="$(grep -oE "\{[^}]*\}" "$scratch/$label.log" | grep -oE ": [0-9]+" | awk '{n += $2} END {print n}')"
    echo "$label: $leads leads; client commands per lead:"
    grep -F "[$db " "$scratch/$label.monitor" | grep -vF "[$db lua]" | grep -v '"FLUSHDB"' | awk '{print $4}' | sort | uniq -c |
      awk -v n="$leads" '{t += $1; printf "  %-10s %6d  %.2f\n", $2, $1, $1 / n} END {printf "  %-10s %6d  %.2f\n", "total", t, t / n}'
    echo "  inside Lua scripts (not round trips): $(grep -cF "[$db lua]" "$scratch/$label.monitor")"
  done
  exit 0
fi

echo "workload: bench_enrich.py ${args[*]}; $rounds interleaved round(s); Redis db $db"
for ((round = 1; round <= rounds; round++)); do
  for label in "${labels[@]}"; do
    log="$scratch/$label-r$round.log"
    if run "$label" "$log"; then
      grep -E '^round ' "$log" | sed -E "s/^round [0-9]+/round $round $label:/"
    else
      echo "$label round $round failed: see $log" >&2
      tail -5 "$log" >&2
    fi
  done
done
