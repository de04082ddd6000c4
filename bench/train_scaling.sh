#!/usr/bin/env bash
# Data-parallel scaling of amt_ref_train on this host (docs/distributed.md): the default config for a fixed
# number of optimizer steps, gate skipped (it is not what is measured), as
#   1 rank × batch 8 · 2 ranks × batch 4 (the same global batch) · 2 ranks × batch 8 (the --nproc 2 default).
# Prints images/s (every rank's images, the last logged value: the mean since the start of training) per row.
# Usage: bash bench/train_scaling.sh [STEPS] [BUILD_DIR]    (run it on an otherwise idle machine)
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS=${1:-150}
BUILD=${2:-build}
OUT=$(mktemp -d /tmp/amt-train-scaling-XXXXXX)
trap 'rm -rf "$OUT"' EXIT
row() {
  local name=$1; shift
  "$BUILD/amt_ref_train" --gate skip --max-steps "$STEPS" --plain --out "$OUT/$name" "$@" >/dev/null 2>"$OUT/$name.err" ||
    { echo "bench/train_scaling.sh: $name failed:" >&2; tail -3 "$OUT/$name.err" >&2; exit 1; }
  local ips
  ips=$(tail -1 "$OUT/$name/train_log.jsonl" | sed -E 's/.*"images_per_s":([0-9.eE+-]+).*/\1/')
  printf '| %s | %s | %.1f |\n' "$name" "$*" "$ips"
}
echo "| run | options | images/s |"
echo "|---|---|---|"
row one-rank-b8 --batch-size 8
row two-ranks-b4 --nproc 2 --batch-size 4
row two-ranks-b8 --nproc 2 --batch-size 8
