#!/usr/bin/env bash
# Create .venv (if missing), install the engine (packages/sm-engine, editable, with its test and mlflow extras) and
# requirements-dev.txt into it. Quiet, but pip's errors still show.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
pip=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)
"${pip[@]}" --upgrade pip
"${pip[@]}" -e 'packages/sm-engine[test,mlflow]' -r requirements-dev.txt
