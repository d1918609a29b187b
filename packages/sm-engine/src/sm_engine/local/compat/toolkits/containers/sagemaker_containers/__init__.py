"""Local stand-in for `sagemaker_containers` (aws/sagemaker-containers): the parts that inference scripts import."""
