#!/usr/bin/env bash
# Bake the default project into build/ and run its whole workflow on the local executor, with the engine installed
# from this checkout (scripts/setup.sh installs packages/sm-engine editable; the project's pin points at it too).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/cookiecutter --no-input -f -o build .
cd build/mpg_predictor
../../.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
../../.venv/bin/mpg-predictor run
