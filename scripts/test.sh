#!/usr/bin/env bash
# Run the engine's tests (packages/sm-engine/tests), then the template's tests (tests/), each on 2 workers with its 15
# slowest tests listed. Extra arguments go to both runs (e.g. -m "not generated", -k default); a suite they leave
# empty is skipped rather than failed, but without extra arguments an empty suite fails.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

suite() {
    local status=0
    .venv/bin/python -m pytest -n 2 --durations=15 "$1" "${@:2}" || status=$?
    if [ "$status" -eq 5 ] && [ "$#" -gt 1 ]; then
        echo "(no test of $1 matches the extra arguments)"
        status=0
    fi
    return "$status"
}

status=0
suite packages/sm-engine/tests "$@" || status=$?
suite tests "$@" || status=$?
exit "$status"
