# shellcheck shell=bash
# Sourced by perf/*_ab.sh: one detached git worktree per `label:ref`, removed when the script exits.
#
#   source "$(dirname "${BASH_SOURCE[0]}")/ab_worktrees.sh"
#   ab_worktrees "$here" "$scratch" "${specs[@]}"      # sets labels=(...); worktree of label L: $scratch/L
#
# Each A/B script measures every ref with its OWN copy of the benchmark, run from inside the ref's
# worktree, so the workers and the simulator import that ref's code.

labels=()

_ab_cleanup() {
  for label in "${labels[@]}"; do
    git -C "$_ab_repo" worktree remove --force "$_ab_scratch/$label" >/dev/null 2>&1 || true
  done
  git -C "$_ab_repo" worktree prune >/dev/null 2>&1 || true
}

ab_worktrees() {
  _ab_repo="$1" _ab_scratch="$2"
  shift 2
  trap _ab_cleanup EXIT
  local spec label ref commit
  for spec in "$@"; do
    label="${spec%%:*}" ref="${spec#*:}"
    commit="$(git -C "$_ab_repo" rev-parse --verify "$ref^{commit}")"
    git -C "$_ab_repo" worktree add --detach "$_ab_scratch/$label" "$commit" >/dev/null 2>&1
    labels+=("$label")
    echo "$label = $ref ($(git -C "$_ab_repo" log -1 --format='%h %s' "$commit" | cut -c1-90))"
  done
}
