"""Local stand-in for `sagemaker_training` (aws/sagemaker-training-toolkit): its `environment` module."""
