"""The local executor: a drop-in for boto3.client("sagemaker") and ("sagemaker-runtime") on this machine."""
