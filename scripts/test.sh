#!/usr/bin/env bash
# Run the template's own tests (tests/) on 2 workers; extra arguments go to pytest (e.g. -m "not generated").
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python -m pytest -n 2 tests "$@"
