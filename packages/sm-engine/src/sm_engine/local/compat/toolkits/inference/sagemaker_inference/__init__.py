"""Local stand-in for `sagemaker_inference` (aws/sagemaker-inference-toolkit): the modules handler scripts import."""
