"""A SageMaker project driven by config/project.yaml: the request builders, the executors and the CLI."""

__version__ = "0.1.0"
