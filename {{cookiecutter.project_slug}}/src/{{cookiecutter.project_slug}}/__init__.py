"""{{ cookiecutter.project_name }}: a SageMaker project driven by config/project.yaml."""

__version__ = "0.1.0"
