"""`python -m <package>` runs the command line."""

from .cli import app

app()
