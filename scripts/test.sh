#!/usr/bin/env bash
# Run the engine's tests (packages/sm-engine/tests) and the template's tests (tests/) on 2 workers, with the 15
# slowest listed; extra arguments go to both pytest runs (e.g. -m "not generated").
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
pytest=(.venv/bin/python -m pytest -n 2 --durations=15)
"${pytest[@]}" packages/sm-engine/tests "$@"
"${pytest[@]}" tests "$@"
