"""`python -m {{ cookiecutter.project_slug }}`: the engine's command line, run on this project."""

from sm_engine.cli import app

app()
