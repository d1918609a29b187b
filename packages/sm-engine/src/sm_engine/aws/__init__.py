"""The aws executor: the workflow's requests sent to Amazon SageMaker through boto3."""
