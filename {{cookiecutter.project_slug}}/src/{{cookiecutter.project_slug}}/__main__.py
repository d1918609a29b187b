"""`python -m {{ cookiecutter.project_slug }}` runs the command line."""

from .cli import app

app()
