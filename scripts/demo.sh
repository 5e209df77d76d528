#!/usr/bin/env bash
# The demo end to end: set up, then let tuner tune the trace-log pipeline (jobs/tracelog.yaml)
# with real containers, and print the best configuration beside the default one.
# Each run starts a fresh study in demo.db; trial logs go to results/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
TRIALS=${TRIALS:-40}
rm -f demo.db
echo "==> tuner optimize jobs/tracelog.yaml --n-trials $TRIALS (TPE; a few minutes)" >&2
.venv/bin/tuner optimize jobs/tracelog.yaml --n-trials "$TRIALS" --seed 1 --storage sqlite:///demo.db
