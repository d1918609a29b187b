"""sm-engine: config/project.yaml -> SageMaker API requests -> the local or the aws executor, the CLI and the Pipelines
definition. The public API is documented in the package README."""

__version__ = "0.3.1"
