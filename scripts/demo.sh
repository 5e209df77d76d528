#!/usr/bin/env bash
# The demo end to end: set up, then let tuner tune the trace-log pipeline (jobs/tracelog.yaml)
# with real containers, print the best configuration beside the default one, and what the
# study says: which knobs matter, would raising numChunk help, where the CPU goes.
# Each run starts a fresh study in demo.db; trial folders go to results/, the report to
# demo-report.html.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
TRIALS=${TRIALS:-40}
export TUNER_STORAGE=sqlite:///demo.db
rm -f demo.db
echo "==> tuner optimize jobs/tracelog.yaml --n-trials $TRIALS --workload dataSize=small (TPE; about 5 s a trial)" >&2
.venv/bin/tuner optimize jobs/tracelog.yaml --n-trials "$TRIALS" --seed 1 --workload dataSize=small
echo "==> tuner importance" >&2
.venv/bin/tuner importance
echo "==> tuner effect numChunk" >&2
.venv/bin/tuner effect numChunk
echo "==> tuner profile compare --param numChunk" >&2
.venv/bin/tuner profile compare --param numChunk -n 4
.venv/bin/tuner report -o demo-report.html
echo "==> open demo-report.html; browse with: TUNER_STORAGE=sqlite:///demo.db .venv/bin/tuner dashboard" >&2
.venv/bin/tuner best
