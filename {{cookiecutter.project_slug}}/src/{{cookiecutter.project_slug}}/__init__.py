"""{{ cookiecutter.project_name }}: the project's package. The machinery (config schema, requests, executors, CLI) is
the sm-template-engine dependency; this package is the place for Python code of the project's own."""

__version__ = "0.1.0"
