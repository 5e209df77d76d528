#!/usr/bin/env bash
# Runs the whole test suite: the demo's Go tests, then pytest (real Docker; see README).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "==> go test (jobs/tracelog)" >&2
(cd jobs/tracelog && GOFLAGS= GOPROXY=off CGO_ENABLED=0 go test ./...)
echo "==> ruff check (pyflakes rules: unused names, undefined names, syntax)" >&2
.venv/bin/ruff check --quiet --select F,E9 tuner tests bench
echo "==> pytest" >&2
exec .venv/bin/python -m pytest -q "$@"
