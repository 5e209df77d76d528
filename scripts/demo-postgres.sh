#!/usr/bin/env bash
# The second demo: tune PostgreSQL 15 under pgbench (jobs/postgres.yaml) with real containers,
# confirm the best configurations against PostgreSQL's defaults side by side, and say what
# mattered. A fresh study in postgres-demo.db; trial folders in results/postgres/.
# About 12 s a trial: 30 trials and 6 rounds of confirmation (4 configurations) take about
# 12 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
TRIALS=${TRIALS:-30}
export TUNER_STORAGE=sqlite:///postgres-demo.db
rm -f postgres-demo.db
echo "==> tuner optimize jobs/postgres.yaml --n-trials $TRIALS --workload clients=8 --confirm 3 --confirm-runs 6" >&2
.venv/bin/tuner optimize jobs/postgres.yaml --n-trials "$TRIALS" --seed 1 --workload clients=8 \
    --confirm 3 --confirm-runs 6
echo "==> tuner importance" >&2
.venv/bin/tuner importance
echo "==> tuner effect synchronousCommit" >&2
.venv/bin/tuner effect synchronousCommit
.venv/bin/tuner report -o postgres-report.html
echo "==> open postgres-report.html" >&2
