"""Container-side helpers of sm-engine: what every job script and inference handler needs inside a SageMaker
container (the contract's paths and variables, channel reading, metric lines, payload decoding and encoding, model
artefacts, the exact fast serving paths).

Only numpy and pandas (and scikit-learn for `fast_sklearn`) are imported, which every AWS framework container
ships. The engine adds this package to the uploaded code (the processing job's code input and sourcedir.tar.gz), so
`import sm_runtime` works in the container as it does locally.
"""
