"""`python -m sm_engine`: the engine's command line, run on the project in the current folder."""

from sm_engine.cli import app

app(prog_name="sm-engine")
