#!/usr/bin/env bash
# The by-hand baseline of bench/orchestration-overhead.ts: what a person runs
# on the training machine for one training, in a persistent clone.
#
#   bench/by-hand.sh <clone-dir> <commit> <venv>
#
# Prints one line per step, `@@step <name> <start> <end>` (epoch seconds), so
# the benchmark can compare step by step with cd4ml's stage durations.
set -euo pipefail

dir=$1
commit=$2
venv=$3

export PATH="$venv/bin:$PATH" VIRTUAL_ENV="$venv"
export DVC_NO_ANALYTICS=1 DVC_NO_UPDATE_CHECK=1 GIT_TERMINAL_PROMPT=0
cd "$dir"

step() {
  local name=$1 t0 t1
  shift
  t0=$EPOCHREALTIME
  "$@"
  t1=$EPOCHREALTIME
  echo "@@step $name $t0 $t1"
}

checkout() {
  git fetch --quiet origin
  git checkout --quiet --force --detach "$commit"
}

step checkout checkout
# --allow-missing: the commit's dvc.lock may name pipeline outputs nobody pushed
# yet (repro is about to rebuild them); plain `dvc pull` fails on those.
step dvc-pull dvc pull --quiet --allow-missing
step dvc-repro dvc repro --quiet
step dvc-push dvc push --quiet
