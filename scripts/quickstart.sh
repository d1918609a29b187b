#!/usr/bin/env bash
# Bake the default project into build/ and run its whole workflow on the local executor.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/cookiecutter --no-input -f -o build .
cd build/mpg_predictor
../../.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
../../.venv/bin/python -m mpg_predictor run
